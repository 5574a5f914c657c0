#!/usr/bin/env python3
"""Peak resident memory of a ResNet-50 attack at ImageNet size (issue 15, item 6: a ResNet-50
attack on 64 images at 224x224 stays under 4 GiB of RSS).

One daemon: `model/create` resnet50 (1000 classes, [3, 224, 224], 25.6M parameters), an npz
dataset of --count seeded images loaded, then `attack` PGD (--steps steps, L∞ 8/255, every
image run to the end) on all of them. Rows (JSON lines, "impl": "advlens"):
- resnet50_model_rss_mb: the daemon's VmRSS after model/create and dataset/load;
- resnet50_pgd_peak_rss_mb: its VmHWM (peak) after the attack (the target: < 4096);
- resnet50_pgd_s: the attack's wall time (the machine's load shows here: no ratio).

Usage: python3 bench/memory_bench.py [--advlensd .build/release/advlensd] [--count 64] [--steps 2]
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_bench import ROOT, Daemon  # noqa: E402


def status_mb(d, field):
    for line in pathlib.Path(f"/proc/{d.proc.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--steps", type=int, default=2)
    args = ap.parse_args()
    root = pathlib.Path(tempfile.mkdtemp(prefix="advlens-memory-bench-"))
    images = np.random.default_rng(0).integers(0, 256, (args.count, 3, 224, 224), dtype=np.uint8)
    np.savez(root / "set.npz", images=images, labels=np.arange(args.count, dtype=np.int64) % 1000)
    d = Daemon(args.advlensd)
    d.call("initialize", {"rootPath": str(root)})
    d.call("model/create", {"name": "r", "architecture": "resnet50"})
    d.call("dataset/load", {"name": "set", "kind": "npz", "path": "set.npz", "layout": "NCHW"})
    rows = [("resnet50_model_rss_mb", status_mb(d, "VmRSS"))]
    began = time.perf_counter()
    d.call("attack", {"model": "r", "method": "pgd", "inputs": {"dataset": "set", "indices": list(range(args.count))},
                      "epsilon": 8 / 255, "stepSize": 2 / 255, "steps": args.steps, "earlyStop": False})
    rows += [("resnet50_pgd_peak_rss_mb", status_mb(d, "VmHWM")), ("resnet50_pgd_s", time.perf_counter() - began)]
    for name, value in rows:
        print(json.dumps({"impl": "advlens", "row": name, "value": round(value, 2), "images": args.count, "steps": args.steps}))


if __name__ == "__main__":
    main()
