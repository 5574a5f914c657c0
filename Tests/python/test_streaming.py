"""Datasets larger than the memory budget, streamed (dataset/load decodes their images per
batch through a bounded cache), through the real daemon and the Python client: an image
folder several times a small --memory-limit gives the same predictions, probe activations and
attack as a daemon that holds it in memory, while the daemon's peak resident memory (VmHWM)
stays below a bound set by the budget; `npy` pairs (NCHW, NHWC, uint8) load in memory and
streamed alike. All data is generated here."""
import json
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
sys.path.insert(0, str(ROOT / "Tests/python"))

import advlens  # noqa: E402
from advlens.errors import AdvLensError  # noqa: E402
from test_datasets import identity_model, png, safetensors  # noqa: E402

SIDE = 128           # images are [3, 128, 128]: 196,608 bytes as floats
COUNT = 600          # 118 MB decoded
BUDGET = 24_000_000  # the small daemon's --memory-limit


def peak_rss(client):
    """The daemon's peak resident set (VmHWM), in bytes."""
    for line in pathlib.Path(f"/proc/{client.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def small_cnn(client, directory):
    """A seeded conv net on [3, SIDE, SIDE] images with 5 classes (weights from numpy)."""
    spec = {"name": "cnn", "input": {"shape": [3, SIDE, SIDE], "range": [0, 1]}, "classes": [f"k{i}" for i in range(5)],
            "layers": [{"type": "conv2d", "name": "conv", "in_channels": 3, "out_channels": 8, "kernel_size": 5, "stride": 4},
                       {"type": "relu", "name": "relu"},
                       {"type": "adaptiveavgpool2d", "name": "pool", "output_size": 4},
                       {"type": "flatten", "name": "flat"},
                       {"type": "linear", "name": "fc", "in_features": 128, "out_features": 5}]}
    rng = np.random.default_rng(7)
    (directory / "cnn.json").write_text(json.dumps(spec))
    safetensors(directory / "cnn.safetensors", {
        "conv.weight": rng.normal(0, 0.2, (8, 3, 5, 5)), "conv.bias": rng.normal(0, 0.1, 8),
        "fc.weight": rng.normal(0, 0.5, (5, 128)), "fc.bias": rng.normal(0, 0.1, 5)})
    client.call("model/load", name="cnn", spec="cnn.json", weights="cnn.safetensors")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """COUNT PNGs of SIDE+8 pixels in 5 class folders (smooth colour fields plus noise)."""
    root = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:SIDE + 8, 0:SIDE + 8] / (SIDE + 8)
    for i in range(COUNT):
        k = i % 5
        base = np.stack([np.sin(3 * xx + k), np.cos(2 * yy - k), xx * yy], axis=-1) * 100 + 120
        png(root / f"big/c{k}/{i:04d}.png", np.clip(base + rng.normal(0, 20, base.shape), 0, 255))
    return root


def run_all(client, root):
    """Loads the folder, then predicts, probes, evaluates and attacks all of it (and explains one image); the peak RSS is read
    after the passes over the set (the explanation's and the attack's working memory are their images', so they come last)."""
    small_cnn(client, root)
    loaded = client.call("dataset/load", name="big", kind="imagefolder", path="big", model="cnn", resize=SIDE).datasets[0]
    every = {"dataset": "big"}
    logits = [p["logits"] for p in client.call("predict", model="cnn", inputs=every, returnLogits=True).predictions]
    probe = client.call("probe", model="cnn", layer="conv", kind="activations", reduction="mean", dataset={"name": "big"})
    top = client.call("probe", model="cnn", layer="fc", kind="topActivations", units=[0, 3], k=5, dataset={"name": "big"})
    sample = client.call("predict", model="cnn", inputs={"dataset": "big", "sample": 40, "seed": 3, "stratified": True},
                         returnLogits=True)
    clean = client.call("evaluate", model="cnn", dataset="big").cleanAccuracy
    peak = peak_rss(client)
    # One image explained (its methods' working memory is the request's, not the dataset's).
    explained = client.call("explainPrediction", {"model": "cnn", "input": {"dataset": "big", "indices": [417]}, "topNeurons": 3})
    untimed = {k: v for k, v in explained.items() if k not in ("elapsedMs", "timingsMs")}   # wall times differ
    clean = (clean, json.dumps(untimed, sort_keys=True, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    attack = client.call("attack", {"model": "cnn", "inputs": every, "method": "fgsm", "epsilon": 0.03})
    return loaded, logits, probe.activations, top.top, [p["logits"] for p in sample.predictions], attack, peak, clean


def test_a_folder_past_the_budget_is_streamed_with_the_in_memory_results_in_bounded_memory(advlensd, folder):
    with advlens.Client(daemon=str(advlensd), root=str(folder), progress=False,
                        daemon_args=["--memory-limit", str(BUDGET)]) as small:
        small_cnn(small, folder)
        baseline = peak_rss(small)
        streamed = run_all(small, folder)
        stats = small.call("dataset/info", name="big")
    with advlens.Client(daemon=str(advlensd), root=str(folder), progress=False) as big:
        held = run_all(big, folder)

    decoded = COUNT * 3 * SIDE * SIDE * 4
    assert streamed[0]["streamed"]["decodedBytes"] == decoded and decoded > 4 * BUDGET
    assert streamed[0]["streamed"]["cacheBytes"] <= BUDGET // 4
    assert "streamed" not in held[0] and held[0]["count"] == COUNT
    assert stats["streamed"] == streamed[0]["streamed"]
    # Bit-identical predictions, activations, top images, samples and adversarial results.
    assert streamed[1] == held[1] and streamed[2] == held[2] and streamed[3] == held[3] and streamed[4] == held[4]
    assert streamed[7] == held[7]
    assert streamed[5]["samples"] == held[5]["samples"] and streamed[5]["summary"]["successRate"] == held[5]["summary"]["successRate"]
    # Peak memory: the daemon with its model, plus the budget (labels and cache) and the
    # working memory of a batch (as many images as the cache holds: their floats, the
    # forward pass, the decoders' buffers), which the budget bounds again; measured about
    # baseline + 2.5 budgets here, whatever COUNT is, while the set takes 4.9 budgets decoded.
    assert streamed[6] < baseline + 3 * BUDGET, (streamed[6], baseline)
    assert held[6] > baseline + decoded   # the in-memory daemon does hold them


def test_a_streamed_image_that_breaks_later_is_a_clear_error(advlensd, tmp_path):
    rng = np.random.default_rng(2)
    for i in range(40):
        png(tmp_path / f"set/c{i % 2}/{i:02d}.png", rng.integers(0, 256, (64, 64, 3)))
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False,
                        daemon_args=["--memory-limit", str(1_000_000)]) as client:
        r = client.call("dataset/load", name="s", kind="imagefolder", path="set", shape=[3, 64, 64])
        assert r.datasets[0]["streamed"]["decodedBytes"] == 40 * 3 * 64 * 64 * 4
        identity_model(client, tmp_path, "id", [3, 64, 64])
        (tmp_path / "set/c1/17.png").write_bytes(b"not a png")
        with pytest.raises(AdvLensError) as e:
            client.call("predict", model="id", inputs={"dataset": "s"})
        assert "set/c1/17.png" in str(e.value) and "not a readable image" in str(e.value), str(e.value)
        # The other images still read (and the daemon is alive).
        ok = client.call("predict", model="id", inputs={"dataset": "s", "indices": [0, 1, 2]})
        assert ok.count == 3


def npy_pair(directory, x, y, name):
    np.save(directory / f"{name}-x.npy", x)
    np.save(directory / f"{name}-y.npy", y)
    return f"{name}-x.npy", f"{name}-y.npy"


@pytest.mark.parametrize("budget", [None, 10_000])
def test_npy_pairs_load_nchw_nhwc_and_uint8_in_memory_and_streamed(advlensd, tmp_path, budget):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (30, 8, 6, 3), dtype=np.uint8)    # NHWC uint8: 4.3 KB stored, 17 KB as floats
    y = rng.integers(0, 4, 30).astype(np.int64)
    xs, ys = npy_pair(tmp_path, x, y, "u8")
    f = rng.random((30, 3, 8, 6), dtype=np.float32)             # NCHW float32: 17 KB
    fx, fy = npy_pair(tmp_path, f, y, "f4")
    args = [] if budget is None else ["--memory-limit", str(budget)]
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False, daemon_args=args) as client:
        identity_model(client, tmp_path, "id", [3, 8, 6])
        a = client.call("dataset/load", name="a", kind="npy", images=xs, labels=ys, layout="NHWC").datasets[0]
        b = client.call("dataset/load", name="b", kind="npy", images=fx, labels=fy).datasets[0]
        assert ("streamed" in a) == (budget is not None) and ("streamed" in b) == (budget is not None)
        assert a["count"] == b["count"] == 30 and a["classCounts"] == np.bincount(y, minlength=4).tolist()
        picks = [29, 0, 7, 7, 13]
        for name, want in (("a", x.transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255)), ("b", f)):
            r = client.call("predict", model="id", inputs={"dataset": name, "indices": picks}, returnLogits=True)
            got = np.array([p["logits"] for p in r.predictions], dtype=np.float32).reshape(len(picks), 3, 8, 6)
            np.testing.assert_array_equal(got, want[picks])
            assert [p["label"] for p in r.predictions] == y[picks].tolist()
        np.save(tmp_path / "float-y.npy", y.astype(np.float32))
        with pytest.raises(AdvLensError) as e:
            client.call("dataset/load", name="c", kind="npy", images=xs, labels="float-y.npy")
        assert "float-y.npy" in str(e.value) and "expected an integer array for labels" in str(e.value), str(e.value)
        np.save(tmp_path / "short-y.npy", y[:29])
        with pytest.raises(AdvLensError) as e:
            client.call("dataset/load", name="c", kind="npy", images=fx, labels="short-y.npy")
        assert "params.labels: 29 labels for 30 images" in str(e.value)
        with pytest.raises(AdvLensError) as e:
            client.call("dataset/load", name="c", kind="npy", images=fx, layout="NWHC")
        assert "params.layout" in str(e.value)
