"""Fixtures: the real daemon ($ADVLENSD, default .build/release/advlensd at the repo root), the
trained mnist-small fixture and the MNIST split, loaded once per test module."""
import _thread
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
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
def client(daemon):
    # As a user's own daemon runs: not confined, paths where they point.
    with advlens.Client(daemon=daemon, progress=False) as c:
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


@pytest.fixture()
def ctrl_c_after_progress():
    """Ctrl-C, as a user presses it, once the running request has reported progress.

    Returns (on_progress, begun): pass on_progress as the request's progress callback; a thread
    interrupts the main thread after the first "report" notification, so the work has visibly
    started and (given enough steps) cannot have finished. Python turns SIGINT into
    KeyboardInterrupt only when SIGINT was not ignored at start-up (a background job of a
    non-interactive shell, as under CI, starts with it ignored, and interrupt_main then does
    nothing): the test installs the default handler itself and restores the old one after."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    begun = threading.Event()

    def on_progress(value):
        if value["kind"] == "report":
            begun.set()

    def interrupt():
        # No deadline that a slow machine could meet: a daemon that never reports fails the
        # test below (begun unset) after this generous wait instead of hanging it.
        begun.wait(600)
        _thread.interrupt_main()

    threading.Thread(target=interrupt, daemon=True).start()
    try:
        yield on_progress, begun
    finally:
        signal.signal(signal.SIGINT, previous)
