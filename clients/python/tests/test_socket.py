"""Connecting to a socket daemon (the shell client's kind), shared state across clients, and
starting one when nothing answers."""
import os
import signal
import tempfile
import time

import numpy as np

import advlens
from advlens.daemon import socket_answers
from conftest import load_fixtures


def test_two_socket_clients_share_models_and_handles(socket_daemon, root):
    with advlens.Client(socket=socket_daemon, root=root, start=False, progress=False) as first:
        assert first.socket_path == socket_daemon and first.process is None
        load_fixtures(first)
        attack = first.attack("digits", "fgsm", advlens.dataset("mnist-test", [0, 1, 2]))
        with advlens.Client(socket=socket_daemon, root=root, start=False, progress=False) as second:
            assert "digits" in [m["name"] for m in second.model_list().models]
            again = second.predict("digits", attack.handle)
            assert [p["predicted"] for p in again.predictions] == [s["adversarialLabel"] for s in attack.samples]
            out = second.predict("digits", attack.originals, return_logits=True)
            assert np.asarray([p["logits"] for p in out.predictions]).shape == (3, 10)
    # Closing a socket client ends its connection, not the daemon.
    assert socket_answers(socket_daemon)


def test_socket_client_starts_a_daemon_when_none_answers(daemon, root):
    directory = tempfile.mkdtemp(prefix="advlens-py-", dir="/tmp")
    path = os.path.join(directory, "sub", "daemon.sock")
    try:
        with advlens.Client(socket=path, daemon=daemon, root=root, progress=False) as c:
            assert c.model_create("m", architecture="mnist-small").name == "m"
        assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
        assert socket_answers(path)
        with advlens.Client(socket=path, start=False, root=root, progress=False) as c:
            assert [m["name"] for m in c.model_list().models] == ["m"]
    finally:
        pid_file = os.path.join(os.path.dirname(path), "daemon.pid")
        if os.path.exists(pid_file):
            pid = int(open(pid_file).read())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not socket_answers(path):
                    break
                time.sleep(0.05)
