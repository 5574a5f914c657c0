"""Fixtures: the real daemon ($ADVLENSD, default .build/release/advlensd at the repo root), the
trained mnist-small fixture and the MNIST split, loaded once per test module."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "clients/python"))

import advlens  # noqa: E402
from advlens.daemon import socket_answers  # noqa: E402

MODEL_DIR = REPO / "Tests/AttacksTests/Fixtures/mnist-small"
DATA = REPO / "data/mnist_5k.csv.gz"


def daemon_path():
    path = pathlib.Path(os.environ.get("ADVLENSD") or REPO / ".build/release/advlensd")
    if not path.is_absolute():
        path = REPO / path
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make build` or set ADVLENSD")
    return str(path)


def workspace_root():
    """The repo, or (when data/ is a link elsewhere, as in a worktree) the directory holding both:
    the daemon refuses paths that resolve outside the root."""
    if not DATA.exists():
        raise FileNotFoundError(f"{DATA} is missing: run `make data`")
    return os.path.commonpath([str(REPO.resolve()), str(DATA.resolve())])


@pytest.fixture(scope="session")
def daemon():
    return daemon_path()


@pytest.fixture(scope="session")
def root():
    return workspace_root()


def load_fixtures(client):
    client.model_load("digits", spec=str(MODEL_DIR / "model.json"), weights=str(MODEL_DIR / "model.safetensors"))
    client.dataset_load("mnist", kind="mnist-csv", path=str(DATA.resolve()), split={"test_per_class": 20, "seed": 0})


@pytest.fixture(scope="module")
def client(daemon, root):
    with advlens.Client(daemon=daemon, root=root, progress=False) as c:
        load_fixtures(c)
        yield c


@pytest.fixture()
def socket_daemon(daemon):
    """A socket daemon of our own on a private path; stopped (by its pid) after the test."""
    directory = tempfile.mkdtemp(prefix="advlens-py-", dir="/tmp")
    path = os.path.join(directory, "daemon.sock")
    process = subprocess.Popen([daemon, "--listen", f"unix:{path}"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not socket_answers(path):
        assert process.poll() is None and time.monotonic() < deadline, "socket daemon did not start"
        time.sleep(0.05)
    yield path
    process.terminate()
    process.wait(10)
    shutil.rmtree(directory, ignore_errors=True)
