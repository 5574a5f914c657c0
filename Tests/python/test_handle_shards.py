"""Kept results beyond the row threshold (issue 16, item 3), through the real daemon and the
Python client: an attack's adversarial and clean images above `advlensd --shard-threshold` go
to safetensors shard files beside the cache database (readable by any safetensors reader),
come back bit-identical after a restart, count against --cache-limit (refused with a clear
error only when it is exhausted, leaving no file behind), disappear with handle/drop and
cache/clear, fail with a clear error when damaged, and a dead writer's leftovers are swept
when the database is next opened. All data is generated here."""
import json
import pathlib
import struct
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
sys.path.insert(0, str(ROOT / "Tests/python"))

import advlens  # noqa: E402
from advlens.errors import AdvLensError  # noqa: E402
from test_datasets import identity_model  # noqa: E402

SHAPE = [3, 8, 8]     # 768 bytes an image as floats
THRESHOLD = 20_000    # 30 adversarial + 30 clean images take 46 KB: sharded; 2 + 2 take 3 KB: a row


def read_safetensors(path):
    """{name: array} of a safetensors file, with numpy only."""
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"])
    return out


def daemon(advlensd, root, cache, *more):
    return advlens.Client(daemon=str(advlensd), root=str(root), progress=False,
                          daemon_args=["--cache", str(cache), "--shard-threshold", str(THRESHOLD), *more])


def setup(client, root):
    identity_model(client, root, "id", SHAPE)
    rng = np.random.default_rng(5)
    np.save(root / "x.npy", rng.random((30, *SHAPE), dtype=np.float32) * np.float32(0.8) + np.float32(0.1))
    client.call("dataset/load", name="d", kind="npy", images="x.npy")


def pixels(client, handle):
    """A handle's images as the daemon reads them back (the identity model's logits)."""
    r = client.call("predict", model="id", inputs={"handle": handle}, returnLogits=True)
    return np.array([p["logits"] for p in r.predictions], dtype=np.float32).reshape([-1] + SHAPE)


def attack(client, count):
    return client.call("attack", {"model": "id", "method": "fgsm", "epsilon": 0.05,
                                  "inputs": {"dataset": "d", "indices": list(range(count))}})["handle"]


def shard_files(cache):
    folder = pathlib.Path(str(cache) + ".shards")
    return sorted(p.name for p in folder.glob("*.safetensors")) if folder.exists() else []


def test_a_large_result_is_kept_in_shards_that_survive_a_restart_and_go_with_their_handle(advlensd, tmp_path):
    cache = tmp_path / "cache" / "cache.sqlite"
    with daemon(advlensd, tmp_path, cache) as client:
        setup(client, tmp_path)
        big = attack(client, 30)
        files = shard_files(cache)
        assert [f.split("-")[-1] for f in files] == ["clean0.safetensors", "images0.safetensors"], files
        small = attack(client, 2)
        assert shard_files(cache) == files          # a small result stays in its row
        before = pixels(client, big)
        # The shards are plain safetensors: the adversarial images and the clean ones.
        stored = {f.split("-")[-1]: read_safetensors(pathlib.Path(str(cache) + ".shards") / f) for f in files}
        np.testing.assert_array_equal(stored["images0.safetensors"]["images"], before)
        np.testing.assert_array_equal(stored["clean0.safetensors"]["clean"], np.load(tmp_path / "x.npy"))
        listed = {h["handle"]: h for h in client.call("handle/list").handles}
        assert listed[big]["bytes"] == 2 * 30 * 768 and listed[big]["count"] == 30
        # cache/stats counts the shard files on disk beside the database.
        stats = client.call("cache/stats")
        sizes = [(pathlib.Path(str(cache) + ".shards") / f).stat().st_size for f in files]
        assert stats["shardFiles"] == 2 and stats["shardBytes"] == sum(sizes) > 2 * 30 * 768, (stats, sizes)
        assert stats["databaseBytes"] == cache.stat().st_size + pathlib.Path(str(cache) + "-wal").stat().st_size
        assert stats["fileBytes"] == stats["databaseBytes"] + stats["shardBytes"]
    with daemon(advlensd, tmp_path, cache) as client:   # a restart reads the same bits
        setup(client, tmp_path)
        np.testing.assert_array_equal(pixels(client, big), before)
        assert pixels(client, small).shape == (2, *SHAPE)
        # probe reads a sharded handle's clean images too (class histograms need the sources).
        probe = client.call("probe", model="id", layer="id", kind="classHistograms", units=[0], reduction="mean",
                            dataset={"name": "d"}, adversarial={"handle": big}, adversarials="all")
        assert probe.adversarialCount == 30
        client.call("handle/drop", handle=big)
        assert shard_files(cache) == []
        again = attack(client, 30)
        assert len(shard_files(cache)) == 2
        cleared = client.call("cache/clear", what=["handles"])
        assert shard_files(cache) == [] and cleared["stats"]["shardFiles"] == cleared["stats"]["shardBytes"] == 0
        with pytest.raises(AdvLensError) as e:
            pixels(client, again)
        assert e.value.code == -32001


def test_a_damaged_shard_is_a_clear_error_and_the_daemon_keeps_serving(advlensd, tmp_path):
    cache = tmp_path / "c.sqlite"
    with daemon(advlensd, tmp_path, cache) as client:
        setup(client, tmp_path)
        h = attack(client, 30)
        shard = pathlib.Path(str(cache) + ".shards") / next(f for f in shard_files(cache) if f.endswith("images0.safetensors"))
        data = bytearray(shard.read_bytes())
        data[-5] ^= 0x40
        shard.write_bytes(bytes(data))
        with pytest.raises(AdvLensError) as e:
            pixels(client, h)
        assert "checksum" in str(e.value) and shard.name in str(e.value) and "handle/drop" in str(e.value), str(e.value)
        shard.unlink()
        with pytest.raises(AdvLensError) as e:
            pixels(client, h)
        assert "missing" in str(e.value) and shard.name in str(e.value), str(e.value)
        assert [x["handle"] for x in client.call("handle/list").handles] == [h]
        client.call("handle/drop", handle=h)            # drops the row and the remaining shard
        assert shard_files(cache) == []


def test_shards_count_against_the_cap_and_a_refusal_leaves_no_file(advlensd, tmp_path):
    cache = tmp_path / "c.sqlite"
    with daemon(advlensd, tmp_path, cache, "--cache-limit", "70000") as client:
        setup(client, tmp_path)
        attack(client, 30)                              # 46 KB of 70 KB
        files = shard_files(cache)
        with pytest.raises(AdvLensError) as e:
            attack(client, 30)
        assert e.value.code == -32011 and "cache cap of 70000 bytes" in str(e.value) and "handle/drop" in str(e.value)
        assert shard_files(cache) == files


def test_a_dead_writers_unreferenced_shards_are_swept_at_open(advlensd, tmp_path):
    cache = tmp_path / "c.sqlite"
    gone = subprocess.Popen(["true"])
    gone.wait()
    folder = pathlib.Path(str(cache) + ".shards")
    with daemon(advlensd, tmp_path, cache) as client:
        setup(client, tmp_path)
        h = attack(client, 30)
        kept = shard_files(cache)
    # What a writer killed between its rename and its row's commit (or mid-write) leaves.
    (folder / f"s{gone.pid}-0123456789abcdef-images0.safetensors").write_bytes(b"x" * 100)
    (folder / f".s{gone.pid}-0123456789abcdef-clean0.safetensors.tmp-{gone.pid}-7").write_bytes(b"half")
    (folder / "notes.txt").write_text("not ours: left alone")
    with daemon(advlensd, tmp_path, cache) as client:
        setup(client, tmp_path)
        assert pixels(client, h).shape == (30, *SHAPE)
        assert sorted(p.name for p in folder.iterdir()) == sorted(kept + ["notes.txt"])
