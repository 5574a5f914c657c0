#!/usr/bin/env python3
"""Streaming a dataset larger than the memory budget (issue 16, item 2): peak resident memory
and images/s probing a generated 224 x 224 image folder, beside the in-memory path on a set
that fits, interleaved in one run.

The data: --count PNG pictures of 256 x 256 (smooth colour fields plus noise, 10 class
folders), written once into out/bench/streaming/ with numpy (the tests' PNG writer); the transform resizes the
shorter side to 256 and crops 224 x 224, as ImageNet evaluation does. The model: a seeded
conv net on [3, 224, 224] (conv 7x7/4 with 16 channels, ReLU, 4x4 average pool, linear to 10).

Rows (JSON lines, "impl": "advlens"):
- stream_probe_images_per_s: a `probe` (kind activations, reduction mean, every unit of the
  conv layer) over all --count images of the streamed set, daemon started with
  --memory-limit --budget-mb (the decoded set is --count x 602 KB: 3 GB for 5,000 images),
  images decoded per batch; median of --rounds;
- stream_peak_rss_mb: that daemon's VmHWM after the rounds (target <= 2048 for 50,000 images);
- memory_load_probe_images_per_s: the in-memory path on the first --fits images (hard links
  to the same files) in a daemon with the default budget: dataset/load (which decodes every
  image) then the same probe, per image; median of --rounds, interleaved with the streamed rounds;
- memory_probe_images_per_s: that probe alone on the decoded set (the model's speed: the
  ceiling decoding per batch is measured against);
- memory_peak_rss_mb: the in-memory daemon's VmHWM (it holds --fits x 602 KB);
- stream_vs_memory: stream_probe_images_per_s / memory_load_probe_images_per_s (1.0: streaming
  costs nothing beyond decoding, which both do once per image).
Each probe clears the activation cache first, so every image is decoded and run.

Usage: python3 bench/streaming_bench.py [--advlensd .build/release/advlensd] [--count 5000]
       [--fits 500] [--budget-mb 256] [--rounds 2]
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_bench import ROOT, Daemon  # noqa: E402

sys.path.insert(0, str(ROOT / "Tests/python"))
from test_datasets import png, safetensors  # noqa: E402 - the PNG and safetensors writers the tests use

SIDE = 256
CLASSES = 10


def generate(root, count):
    """count pictures in root/big/c<k>/, once (a marker file records the count)."""
    marker = root / f"big-{count}.done"
    if marker.exists():
        return
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    for k in range(CLASSES):
        (root / "big" / f"c{k}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        k = i % CLASSES
        a, b = rng.uniform(1, 6, 2)
        base = np.stack([np.sin(a * xx + k), np.cos(b * yy - k), xx * yy * a], axis=-1) * 90 + 128
        picture = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
        png(root / "big" / f"c{k}" / f"{i:06d}.png", picture)
    marker.write_text(str(count))


def fits_folder(root, count, fits):
    """root/fits-<n>/: hard links to the first `fits` pictures (in dataset order)."""
    folder = root / f"fits-{fits}-of-{count}"
    if folder.exists():
        return folder
    files = sorted((root / "big").glob("c*/*.png"))[:fits]
    for f in files:
        (folder / f.parent.name).mkdir(parents=True, exist_ok=True)
        os.link(f, folder / f.parent.name / f.name)
    return folder


def model_files(root):
    rng = np.random.default_rng(1)
    spec = {"name": "bench224", "input": {"shape": [3, 224, 224], "range": [0, 1]}, "classes": [f"k{i}" for i in range(CLASSES)],
            "layers": [{"type": "conv2d", "name": "conv", "in_channels": 3, "out_channels": 16, "kernel_size": 7, "stride": 4},
                       {"type": "relu", "name": "relu"},
                       {"type": "adaptiveavgpool2d", "name": "pool", "output_size": 4},
                       {"type": "flatten", "name": "flat"},
                       {"type": "linear", "name": "fc", "in_features": 256, "out_features": CLASSES}]}
    tensors = {"conv.weight": rng.normal(0, 0.1, (16, 3, 7, 7)), "conv.bias": rng.normal(0, 0.1, 16),
               "fc.weight": rng.normal(0, 0.3, (CLASSES, 256)), "fc.bias": np.zeros(CLASSES)}
    (root / "bench224.json").write_text(json.dumps(spec))
    safetensors(root / "bench224.safetensors", tensors)


def peak_rss_mb(d):
    for line in pathlib.Path(f"/proc/{d.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Side:
    """One daemon with the model loaded, extra daemon args given."""

    def __init__(self, binary, root, args):
        self.d = Daemon(binary, args=args)
        self.d.call("initialize", {"rootPath": str(root)})
        self.d.call("model/load", {"name": "m", "spec": "bench224.json", "weights": "bench224.safetensors"})

    def load(self, folder):
        return self.d.call("dataset/load", {"name": "set", "kind": "imagefolder", "path": folder, "model": "m", "resize": SIDE})["datasets"][0]

    def probe(self):
        self.d.call("cache/clear", {})
        r = self.d.call("probe", {"model": "m", "layer": "conv", "kind": "activations", "reduction": "mean", "dataset": {"name": "set"}})
        return r["count"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--fits", type=int, default=500)
    ap.add_argument("--budget-mb", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--data", default=str(ROOT / "out/bench/streaming"))
    args = ap.parse_args()
    root = pathlib.Path(args.data)
    root.mkdir(parents=True, exist_ok=True)
    generate(root, args.count)
    fits = fits_folder(root, args.count, args.fits)
    model_files(root)

    stream = Side(args.advlensd, root, ["--memory-limit", str(args.budget_mb * 1_000_000)])
    summary = stream.load("big")
    assert "streamed" in summary, summary
    memory = Side(args.advlensd, root, [])
    stream_rates, load_rates, probe_rates = [], [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        n = stream.probe()
        stream_rates.append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        held = memory.load(fits.name)
        assert "streamed" not in held, held
        n = memory.probe()
        load_rates.append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        n = memory.probe()
        probe_rates.append(n / (time.perf_counter() - t))
    rows = [("stream_probe_images_per_s", statistics.median(stream_rates), "images/s"),
            ("stream_peak_rss_mb", peak_rss_mb(stream.d), "MB"),
            ("memory_load_probe_images_per_s", statistics.median(load_rates), "images/s"),
            ("memory_probe_images_per_s", statistics.median(probe_rates), "images/s"),
            ("memory_peak_rss_mb", peak_rss_mb(memory.d), "MB"),
            ("stream_vs_memory", statistics.median(stream_rates) / statistics.median(load_rates), "x")]
    print(json.dumps({"impl": "advlens", "row": "info", "streaming": {
        "count": args.count, "fits": args.fits, "budgetMB": args.budget_mb, "decodedMB": round(summary["streamed"]["decodedBytes"] / 1e6),
        "cacheMB": round(summary["streamed"]["cacheBytes"] / 1e6)}}), flush=True)
    for row, value, unit in rows:
        print(json.dumps({"impl": "advlens", "row": row, "value": round(value, 3), "unit": unit}), flush=True)
    stream.d.close()
    memory.d.close()


if __name__ == "__main__":
    main()
