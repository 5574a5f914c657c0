#!/usr/bin/env python3
"""explainPrediction latency through the daemon: what a client waits for (issue 6).

Rows (JSON lines, "impl": "advlens", model mnist-small, unit ms, median of --calls warm
calls over stdio with Content-Length framing, one MNIST test image: {"dataset":
"mnist-test", "indices": [0]}, maps returned as tensors). The calls are split into --rounds
rounds and "value" is the lowest round median (the VM is shared: other load inflates whole
rounds); "p50_all" is the median over every call:
- explain_gxa_saliency_p50: methods gradientTimesActivation + saliency at the default layers
  (the 32 channels of layer 4 and the 128 units of layer 8)
- explain_saliency_p50: saliency alone
- explain_ablation128_p50: influence (ablation) over the 128 units of layer 8; units that are
  already zero are exact zeros and not run (the "live" key says how many ran)
- explain_ig50_p50: integrated gradients, 50 steps, Gauss-Legendre (Captum's default)
- explain_gradcam_p50: Grad-CAM at layer 4
Each row also carries p90 and the daemon's own elapsedMs median. bench/captum_reference.py
measures the same rows with Captum in-process; bench/compare.py puts them side by side.

Usage: python3 bench/explain_bench.py [--advlensd .build/release/advlensd]
       [--weights-dir Tests/AttacksTests/Fixtures] [--calls 300]
"""
import argparse
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_bench import ROOT, Daemon  # noqa: E402

ROWS = {
    "explain_gxa_saliency_p50": {"methods": ["gradientTimesActivation", "saliency"]},
    "explain_saliency_p50": {"methods": ["saliency"]},
    "explain_ablation128_p50": {"methods": ["influence"], "layers": ["8"]},
    "explain_ig50_p50": {"methods": ["integratedGradients"], "steps": 50},
    "explain_gradcam_p50": {"methods": ["gradCam"], "gradCamLayer": "4"},
}


def main():
    import json
    ap = argparse.ArgumentParser()
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--weights-dir", default=str(ROOT / "Tests/AttacksTests/Fixtures"))
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5, help="the calls are split into rounds; value = the lowest round median")
    args = ap.parse_args()
    weights = pathlib.Path(args.weights_dir) / "mnist-small"
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731 - paths must lie inside the daemon's root
    d = Daemon(args.advlensd)
    caps = d.call("initialize", {"rootPath": str(ROOT)})["capabilities"]
    d.call("model/load", {"name": "m", "spec": rel(weights / "model.json"), "weights": rel(weights / "model.safetensors")})
    # Split version 1 (dataset order): captum_reference.py explains test index 0 of that order.
    d.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": {"testPerClass": 100, "version": 1}})
    image = {"dataset": "mnist-test", "indices": [0]}
    for row, extra in ROWS.items():
        params = {"model": "m", "input": image, **extra}
        for _ in range(20):
            r = d.call("explainPrediction", params)
        times, inside, medians = [], [], []
        for _ in range(args.rounds):
            block = []
            for _ in range(max(1, args.calls // args.rounds)):
                t0 = time.perf_counter()
                r = d.call("explainPrediction", params)
                block.append((time.perf_counter() - t0) * 1e3)
                inside.append(r["elapsedMs"])
            medians.append(statistics.median(block))
            times += block
        times.sort()
        out = {"impl": "advlens", "model": "mnist-small", "row": row, "value": round(min(medians), 4), "unit": "ms",
               "p50_all": round(statistics.median(times), 4), "p90": round(times[int(0.9 * len(times))], 4),
               "daemon_elapsed_ms": round(statistics.median(inside), 4), "calls": len(times), "rounds": args.rounds,
               "blas_threads": caps["engine"]["blasThreads"]}
        if row == "explain_ablation128_p50":
            out["live"] = sum(1 for n in r["layers"][0]["neurons"] if n["activation"] != 0) if r["layers"] else None
            r2 = d.call("explainPrediction", {**params, "topNeurons": 128})
            out["live"] = sum(1 for n in r2["layers"][0]["neurons"] if n["activation"] != 0)
        print(json.dumps(out), flush=True)
    d.close()


if __name__ == "__main__":
    main()
