"""The daemon's tensor memory, through the real daemon and the Python client: a repeated
request reuses the memory the previous one freed (no fresh pages, so almost no page faults,
even for activations far above glibc's 32 MiB mmap limit), and that memory is returned to the
system once the daemon has been idle for --release-memory-after seconds. The counts come from
/proc (minor page faults, VmRSS); nothing here depends on the machine's speed."""
import json
import pathlib
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
sys.path.insert(0, str(ROOT / "Tests/python"))

import advlens  # noqa: E402
from test_datasets import safetensors  # noqa: E402

SIDE, CHANNELS, BATCH = 224, 16, 16
# One conv output: 16 images x 16 x 224 x 224 floats = 51 MiB, above glibc's largest mmap
# threshold (32 MiB), so before the one-arena policy every call mapped it afresh.
ACTIVATION_PAGES = BATCH * CHANNELS * SIDE * SIDE * 4 // 4096


def wide_cnn(client, directory):
    """A seeded conv net whose first layer's output is ACTIVATION_PAGES pages at BATCH images.
    Its 9x9 kernel gives 121 multiply-adds per activation value, so its passes run layer by
    layer (a model with fewer than 100 runs image by image, and never holds a batch's
    activation: docs/engine.md)."""
    spec = {"name": "wide", "input": {"shape": [3, SIDE, SIDE], "range": [0, 1]}, "classes": ["a", "b", "c"],
            "layers": [{"type": "conv2d", "name": "conv", "in_channels": 3, "out_channels": CHANNELS, "kernel_size": 9, "padding": 4},
                       {"type": "relu", "name": "relu"},
                       {"type": "adaptiveavgpool2d", "name": "pool", "output_size": 2},
                       {"type": "flatten", "name": "flat"},
                       {"type": "linear", "name": "fc", "in_features": CHANNELS * 4, "out_features": 3}]}
    rng = np.random.default_rng(3)
    (directory / "wide.json").write_text(json.dumps(spec))
    safetensors(directory / "wide.safetensors", {
        "conv.weight": rng.normal(0, 0.1, (CHANNELS, 3, 9, 9)), "conv.bias": rng.normal(0, 0.1, CHANNELS),
        "fc.weight": rng.normal(0, 0.5, (3, CHANNELS * 4)), "fc.bias": rng.normal(0, 0.1, 3)})
    np.save(directory / "x.npy", rng.random((BATCH, 3, SIDE, SIDE), dtype=np.float32))
    np.save(directory / "y.npy", rng.integers(0, 3, BATCH))
    client.call("model/load", name="wide", spec="wide.json", weights="wide.safetensors")
    client.call("dataset/load", name="x", kind="npy", images="x.npy", labels="y.npy")


def minor_faults(client):
    return int(pathlib.Path(f"/proc/{client.process.pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


def resident_bytes(client):
    for line in pathlib.Path(f"/proc/{client.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/<pid>/status")


def predict(client):
    return client.call("predict", model="wide", inputs={"dataset": "x", "indices": list(range(BATCH))})


def test_a_repeated_request_reuses_freed_memory(advlensd, tmp_path):
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False,
                        daemon_args=["--release-memory-after", "3600"]) as client:
        wide_cnn(client, tmp_path)
        first = predict(client)
        before = minor_faults(client)
        second = predict(client)
        faults = minor_faults(client) - before
        assert second["predictions"] == first["predictions"]
        # Fresh memory would fault every page of each large activation in again.
        assert faults < ACTIVATION_PAGES // 8, f"{faults} page faults for a repeated predict (one activation is {ACTIVATION_PAGES} pages)"


def test_memory_is_released_once_idle(advlensd, tmp_path):
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False,
                        daemon_args=["--release-memory-after", "0.2"]) as client:
        wide_cnn(client, tmp_path)
        idle = resident_bytes(client)
        for _ in range(2):
            predict(client)
        # The request's activations (freed, at least one ACTIVATION_PAGES block) leave the
        # resident set within the idle delay; 20 s is a bound, not a speed expectation.
        deadline = time.monotonic() + 20
        while resident_bytes(client) > idle + ACTIVATION_PAGES * 4096 // 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        after = resident_bytes(client)
        assert after <= idle + ACTIVATION_PAGES * 4096 // 2, f"resident {after >> 20} MiB after idling, {idle >> 20} MiB before the requests"
        # The released memory is taken again by the next request, with the same answer.
        assert predict(client)["predictions"]


def test_the_release_delay_is_validated(advlensd):
    for bad in ["-1", "nan", "100000"]:
        run = subprocess.run([str(advlensd), "--release-memory-after", bad], input=b"", capture_output=True, timeout=60)
        assert run.returncode == 64, (bad, run.returncode, run.stderr)
        assert b"--release-memory-after" in run.stderr
