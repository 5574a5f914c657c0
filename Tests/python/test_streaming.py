"""Datasets larger than the memory budget, streamed (dataset/load decodes their images per
batch through a bounded cache), through the real daemon and the Python client: an image
folder several times a small --memory-limit gives the same predictions, probe activations and
attack (run a chunk at a time when streamed, its result written to shard files as it goes) as a
daemon that holds it in memory, while the daemon's peak resident memory (VmHWM) stays below a
bound set by the budget; `npy` pairs (NCHW, NHWC, uint8) load in memory and
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
from test_datasets import cifar_records, identity_model, png, safetensors  # noqa: E402
from test_handle_shards import read_safetensors  # noqa: E402

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


def kept(cache, array):
    """A kept result's array ("images" or "clean") read from its shard files, in row order."""
    files = sorted(pathlib.Path(str(cache) + ".shards").glob(f"*-{array}*.safetensors"),
                   key=lambda f: int(f.name.split("-")[-1][len(array):-len(".safetensors")]))
    return np.concatenate([read_safetensors(f)[array] for f in files])


def run_all(client, root):
    """Loads the folder, then predicts, probes, evaluates and attacks all of it (and explains one image); the peak RSS is read
    after the passes over the set and again after the attack over all of it (PGD, which runs a chunk at a time when streamed
    and writes its result to shard files as it goes); the explanation's working memory is one image's, so it comes last."""
    small_cnn(client, root)
    loaded = client.call("dataset/load", name="big", kind="imagefolder", path="big", model="cnn", resize=SIDE).datasets[0]
    every = {"dataset": "big"}
    logits = [p["logits"] for p in client.call("predict", model="cnn", inputs=every, returnLogits=True).predictions]
    probe = client.call("probe", model="cnn", layer="conv", kind="activations", reduction="mean", dataset={"name": "big"})
    top = client.call("probe", model="cnn", layer="fc", kind="topActivations", units=[0, 3], k=5, inputs={"dataset": "big"})
    sample = client.call("predict", model="cnn", inputs={"dataset": "big", "sample": 40, "seed": 3, "stratified": True},
                         returnLogits=True)
    clean = client.call("evaluate", model="cnn", dataset="big").cleanAccuracy
    peak = peak_rss(client)
    attack = client.call("attack", {"model": "cnn", "inputs": every, "method": "pgd", "epsilon": 0.03, "stepSize": 0.01, "steps": 4,
                                    "target": "random"})
    attack_peak = peak_rss(client)
    # One image explained (its methods' working memory is the request's, not the dataset's).
    explained = client.call("explainPrediction", {"model": "cnn", "input": {"dataset": "big", "indices": [417]}, "topNeurons": 3})
    untimed = {k: v for k, v in explained.items() if k not in ("elapsedMs", "timingsMs")}   # wall times differ
    clean = (clean, json.dumps(untimed, sort_keys=True, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    return loaded, logits, probe.activations, top.top, [p["logits"] for p in sample.predictions], attack, (peak, attack_peak), clean


def test_a_folder_past_the_budget_is_streamed_with_the_in_memory_results_in_bounded_memory(advlensd, folder, tmp_path):
    caches = tmp_path / "small.sqlite", tmp_path / "big.sqlite"
    with advlens.Client(daemon=str(advlensd), root=str(folder), progress=False,
                        daemon_args=["--memory-limit", str(BUDGET), "--cache", str(caches[0])]) as small:
        small_cnn(small, folder)
        baseline = peak_rss(small)
        streamed = run_all(small, folder)
        stats = small.call("dataset/info", name="big")
        # Returned inline, the 600 adversarial images would pass a message's limit: they stay in the handle.
        with pytest.raises(AdvLensError) as e:
            small.call("attack", {"model": "cnn", "inputs": {"dataset": "big"}, "method": "fgsm", "return": {"images": True}})
        assert e.value.code == -32011 and "params.return.images" in str(e.value) and "--max-message-bytes" in str(e.value), str(e.value)
    with advlens.Client(daemon=str(advlensd), root=str(folder), progress=False, daemon_args=["--cache", str(caches[1])]) as big:
        held = run_all(big, folder)

    decoded = COUNT * 3 * SIDE * SIDE * 4
    assert streamed[0]["streamed"]["decodedBytes"] == decoded and decoded > 4 * BUDGET
    assert streamed[0]["streamed"]["cacheBytes"] <= BUDGET // 4
    assert "streamed" not in held[0] and held[0]["count"] == COUNT
    assert stats["streamed"] == streamed[0]["streamed"]
    # Bit-identical predictions, activations, top images, samples and adversarial results.
    assert streamed[1] == held[1] and streamed[2] == held[2] and streamed[3] == held[3] and streamed[4] == held[4]
    assert streamed[7] == held[7]
    assert streamed[5]["samples"] == held[5]["samples"] and len(held[5]["samples"]) == COUNT
    untimed = ("elapsedMs", "imagesPerSecond")
    assert {k: v for k, v in streamed[5]["summary"].items() if k not in untimed} == {k: v for k, v in held[5]["summary"].items() if k not in untimed}
    assert streamed[5]["config"] == held[5]["config"]
    # The kept results (both past the shard threshold, in shard files) hold the same images.
    for array in ("images", "clean"):
        a, b = kept(caches[0], array), kept(caches[1], array)
        assert a.shape == b.shape == (COUNT, 3, SIDE, SIDE) and np.array_equal(a, b), array
    # Peak memory: the daemon with its model, plus the budget (labels and cache) and the
    # working memory of a batch (as many images as the cache holds: their floats, the
    # forward pass, the decoders' buffers), which the budget bounds again; measured baseline
    # + 1.5 to 2.4 budgets here (more when the machine is loaded: the decoding threads' buffers),
    # whatever COUNT is, while the set takes 4.9 budgets decoded. The attack's chunk is a
    # quarter of the images the cache holds, of which PGD keeps about a dozen copies (clean,
    # clipped, iterate, gradient, best so far, the judged batch): under a budget again.
    assert streamed[6][0] < baseline + 3 * BUDGET, (streamed[6], baseline)
    assert streamed[6][1] < baseline + 3 * BUDGET, (streamed[6], baseline)
    assert held[6][0] > baseline + decoded   # the in-memory daemon does hold them


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


def test_cifar_and_npz_past_the_budget_are_streamed_with_the_in_memory_images(advlensd, tmp_path):
    """CIFAR parts and `.npz` archives of uncompressed images past the budget are streamed (read
    a record or a byte range at a time) and give the images a daemon holding them gives; a
    compressed archive past it cannot be read by range and is refused, saying how to store it."""
    rng = np.random.default_rng(9)
    ten = tmp_path / "cifar"
    ten.mkdir()
    labels, px = rng.integers(0, 10, 60), rng.integers(0, 256, (60, 3, 32, 32))
    (ten / "data_batch_1.bin").write_bytes(cifar_records(labels[:35], px[:35]))
    (ten / "data_batch_2.bin").write_bytes(cifar_records(labels[35:], px[35:]))
    (ten / "test_batch.bin").write_bytes(cifar_records(labels[:3], px[:3]))
    x = rng.random((40, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 4, 40)
    np.savez(tmp_path / "plain.npz", images=x, labels=y)
    np.savez_compressed(tmp_path / "packed.npz", images=x, labels=y)
    picks = [59, 0, 34, 35, 17]
    results = {}
    for budget in (None, 150_000):   # the 60 CIFAR images take 737 KB as floats, the 40 npz ones 492 KB
        args = [] if budget is None else ["--memory-limit", str(budget)]
        with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False, daemon_args=args) as client:
            identity_model(client, tmp_path, "id", [3, 32, 32])
            c = client.call("dataset/load", name="c", kind="cifar", path="cifar", part="train").datasets[0]
            n = client.call("dataset/load", name="n", kind="npz", path="plain.npz", layout="NCHW").datasets[0]
            assert ("streamed" in c) == ("streamed" in n) == (budget is not None), (c, n)
            assert c["classCounts"] == np.bincount(labels, minlength=10).tolist() and n["count"] == 40
            got = {}
            for name, idx in (("c", picks), ("n", [39, 0, 7])):
                r = client.call("predict", model="id", inputs={"dataset": name, "indices": idx}, returnLogits=True)
                got[name] = (np.array([p["logits"] for p in r.predictions], dtype=np.float32), [p["label"] for p in r.predictions])
            whole = client.call("predict", model="id", inputs={"dataset": "c"}).predictions
            got["all"] = [p["label"] for p in whole]
            if budget is not None:
                with pytest.raises(AdvLensError) as e:
                    client.call("dataset/load", name="p", kind="npz", path="packed.npz", layout="NCHW")
                message = str(e.value)
                assert e.value.code == -32011 and "packed.npz" in message and "numpy.savez, not savez_compressed" in message, message
            results[budget] = got
    held, streamed = results[None], results[150_000]
    for name in ("c", "n"):
        assert np.array_equal(held[name][0], streamed[name][0]) and held[name][1] == streamed[name][1]
    np.testing.assert_array_equal(held["c"][0].reshape(-1, 3, 32, 32), (px[picks] / 255).astype(np.float32))
    np.testing.assert_array_equal(held["n"][0].reshape(-1, 3, 32, 32), x[[39, 0, 7]])
    assert held["all"] == streamed["all"] == labels.tolist()


def test_streamed_batches_outside_the_models_range_are_refused_by_probe_and_evaluate(advlensd, tmp_path):
    """A streamed set is never read whole, so its batches are range-checked as probe and
    evaluate read them (as predict's are), the error naming the field and the images."""
    x = np.random.default_rng(3).random((30, 3, 8, 6), dtype=np.float32)
    x[17, 0, 0, 0] = 255   # one pixel in 0...255 in the second batch
    np.save(tmp_path / "x.npy", x)
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False,
                        daemon_args=["--memory-limit", str(10_000)]) as client:
        identity_model(client, tmp_path, "id", [3, 8, 6])
        assert "streamed" in client.call("dataset/load", name="s", kind="npy", images="x.npy").datasets[0]
        calls = [("probe", {"model": "id", "layer": "id", "kind": "activations", "dataset": {"name": "s"}, "batchSize": 10}, "params.dataset"),
                 ("probe", {"model": "id", "layer": "id", "kind": "activations", "inputs": {"dataset": "s"}, "batchSize": 10}, "params.inputs"),
                 ("evaluate", {"model": "id", "dataset": "s", "batchSize": 10}, "params.dataset"),
                 ("evaluate", {"model": "id", "inputs": {"dataset": "s"}, "batchSize": 10}, "params.inputs"),
                 ("predict", {"model": "id", "inputs": {"dataset": "s"}}, "params.inputs")]
        for method, params, field in calls:
            with pytest.raises(AdvLensError) as e:
                client.call(method, params)
            message = str(e.value)
            assert e.value.code == -32602 and message.startswith(f"{field}: images ") and 'of dataset "s": values span [' in message, message
            assert "outside the model's input range [0, 1]" in message, message
        # The images before the bad one are fine: a selection without it passes.
        assert client.call("predict", model="id", inputs={"dataset": "s", "indices": list(range(17))}).count == 17


def test_a_chunked_attack_cancelled_keeps_the_chunks_attacked(advlensd, tmp_path):
    """Cancelled while a later chunk runs, an attack over a streamed set answers -32800 with the
    samples of the chunks reached, and keeps them (and only them) under its handle."""
    x = np.random.default_rng(6).random((200, 3, 16, 16), dtype=np.float32) * np.float32(0.8) + np.float32(0.1)
    np.save(tmp_path / "x.npy", x)
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False,
                        daemon_args=["--memory-limit", str(400_000)]) as client:
        identity_model(client, tmp_path, "id", [3, 16, 16])
        assert "streamed" in client.call("dataset/load", name="s", kind="npy", images="x.npy").datasets[0]
        seen = []

        def cancel_in_the_second_chunk(value):
            message = value.get("message", "")
            seen.append(message)
            if message.startswith("images ") and not message.startswith("images 1-"):
                for request_id in list(client._pending):
                    client.cancel(request_id)

        with pytest.raises(AdvLensError) as e:
            client.call("attack", {"model": "id", "inputs": {"dataset": "s"}, "method": "pgd", "steps": 1000, "epsilon": 0.05,
                                   "earlyStop": False}, progress=cancel_in_the_second_chunk)
        assert e.value.code == -32800, str(e.value)
        partial = e.value.data
        count = len(partial["samples"])
        assert 0 < count < 200 and [s["source"] for s in partial["samples"]] == list(range(count))
        assert partial["summary"]["stoppedEarly"] is True and partial["summary"]["count"] == count
        kept = [h for h in client.call("handle/list").handles if h["handle"] == partial["handle"]]
        assert kept and kept[0]["count"] == count, kept
