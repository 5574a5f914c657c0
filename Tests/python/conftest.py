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


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every daemon a test starts keeps its cache database (kept results, activation cache, run
    logs) in the test's own temporary directory: tests never touch ~/.cache nor share state."""
    cache_home = tmp_path / "xdg-cache"
    cache_home.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    return cache_home / "advlens" / "cache.sqlite"
