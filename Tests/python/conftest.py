"""Shared fixtures for the Python end-to-end tests: where the built daemon and the data are."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def daemon_binary() -> pathlib.Path:
    """The daemon to test: $ADVLENSD, else the release build, else the debug build."""
    for candidate in (os.environ.get("ADVLENSD"), ROOT / ".build/release/advlensd", ROOT / ".build/debug/advlensd"):
        if candidate and pathlib.Path(candidate).is_file():
            return pathlib.Path(candidate)
    raise FileNotFoundError("advlensd is not built: run `make build`")


@pytest.fixture(scope="session")
def advlensd() -> pathlib.Path:
    return daemon_binary()


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return ROOT
