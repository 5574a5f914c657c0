#!/usr/bin/env python3
"""probe speed through the daemon, cold and from the activation cache (issue 5).

Rows (JSON lines, "impl": "advlens", unit ms, wall time of one `probe` request over stdio):
- probe_top_madry_cold_ms: topActivations, every unit of mnist-madry's layer "4" (the ReLU of its
  second convolution: 64 channels of 14 x 14), k 10, over the 1,000-image MNIST test split, on an empty cache
  (the model runs on every image and the rows are written);
- probe_top_madry_warm_ms: the same request again: every image's activations come from the
  cache database (median of --repeats);
- probe_cache_speedup: cold / warm (target >= 10);
- probe_consistency_small_cold_ms / _warm_ms: consistency at mnist-small's layer 8 against a
  kept targeted-PGD handle of 200 images, first and repeated.
Each cold row clears the cache first (cache/clear). The daemon runs on a private cache file.

Usage: python3 bench/probe_bench.py [--advlensd .build/release/advlensd] [--models-dir out/models]
       [--repeats 5]
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_bench import ROOT, Daemon  # noqa: E402


def timed(d, params):
    t = time.perf_counter()
    r = d.call("probe", params)
    return (time.perf_counter() - t) * 1e3, r


def rows_cold_warm(d, name, params, repeats):
    d.call("cache/clear", {})
    cold, first = timed(d, params)
    warm = []
    for _ in range(repeats):
        ms, again = timed(d, params)
        warm.append(ms)
        assert json.dumps(again.get("top") or again.get("histograms"), sort_keys=True) == \
            json.dumps(first.get("top") or first.get("histograms"), sort_keys=True), "cached probe differs"
    w = statistics.median(warm)
    for row, value in ((f"{name}_cold_ms", cold), (f"{name}_warm_ms", w), (f"{name}_speedup", cold / w)):
        print(json.dumps({"impl": "advlens", "row": row, "value": round(value, 3)}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--models-dir", default=str(ROOT / "out/models"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731 - paths must lie inside the daemon's root
    d = Daemon(args.advlensd)
    d.call("initialize", {"rootPath": str(ROOT)})
    # Split version 1 (dataset order): the order the committed rows were measured with.
    d.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": {"testPerClass": 100, "version": 1}})
    madry = pathlib.Path(args.models_dir) / "mnist-madry"
    if (madry / "model.safetensors").exists():
        d.call("model/load", {"name": "madry", "spec": rel(madry / "model.json"), "weights": rel(madry / "model.safetensors")})
    else:
        d.call("model/create", {"name": "madry", "architecture": "mnist-madry", "seed": 0})
    rows_cold_warm(d, "probe_top_madry", {"model": "madry", "layer": "4", "kind": "topActivations", "k": 10,
                                          "dataset": {"name": "mnist-test"}}, args.repeats)
    small = ROOT / "Tests/AttacksTests/Fixtures/mnist-small"
    d.call("model/load", {"name": "small", "spec": rel(small / "model.json"), "weights": rel(small / "model.safetensors")})
    handle = d.call("attack", {"model": "small", "method": "pgd", "targeted": True, "target": "random", "steps": 20,
                               "stepSize": 0.05, "inputs": {"dataset": "mnist-test", "indices": list(range(0, 1000, 5))}})["handle"]
    rows_cold_warm(d, "probe_consistency_small", {"model": "small", "layer": "8", "kind": "consistency", "k": 20,
                                                  "dataset": {"name": "mnist-test"}, "adversarial": {"handle": handle}},
                   args.repeats)
    d.close()


if __name__ == "__main__":
    main()
