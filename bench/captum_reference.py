#!/usr/bin/env python3
"""Captum reference for bench/explain_bench.py: the same explanations in-process (issue 6).

Rows (JSON lines, "impl": "captum", model mnist-small, unit ms, the lowest round median of
--calls calls in --rounds rounds after warm-up (as bench/explain_bench.py), torch.set_num_threads(--threads), the committed trained weights, the first test
image of AdvLens's split (= {"dataset": "mnist-test", "indices": [0]}), target = predicted):
- explain_gxa_saliency_p50: Saliency + LayerGradientXActivation at net[4] and net[8]
- explain_saliency_p50: Saliency
- explain_ablation128_p50: LayerFeatureAblation(net, net[8]) over its 128 units,
  perturbations_per_eval=128 (one batched pass)
- explain_ig50_p50: IntegratedGradients(n_steps=50) (method gausslegendre, its default)
- explain_gradcam_p50: LayerGradCam(net, net[4])

Usage: python3 bench/captum_reference.py [--threads 2] [--calls 300] [--weights-dir Tests/AttacksTests/Fixtures]
Requires torch, safetensors, captum (see scripts/make_explain_fixtures.py for installing it).
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_train_reference import ARCHS, DATA, load_mnist_csv, self_check_rng, stratified_split  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5, help="the calls are split into rounds; value = the lowest round median")
    ap.add_argument("--weights-dir", default=os.path.join(ROOT, "Tests", "AttacksTests", "Fixtures"))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    import captum
    from captum.attr import (IntegratedGradients, LayerFeatureAblation, LayerGradCam, LayerGradientXActivation,
                             Saliency)
    from safetensors.torch import load_file

    net = ARCHS["mnist-small"]()
    net.load_state_dict(load_file(os.path.join(args.weights_dir, "mnist-small", "model.safetensors")), strict=True)
    net.eval()
    self_check_rng()
    images, labels = load_mnist_csv(DATA)
    _, test_idx = stratified_split(labels.tolist(), 100, 0)
    x = images[sorted(test_idx)[0]:sorted(test_idx)[0] + 1].clone().float()
    with torch.no_grad():
        t = int(net(x).argmax(1))
    sal, ig = Saliency(net), IntegratedGradients(net)
    gxa4, gxa8 = LayerGradientXActivation(net, net[4]), LayerGradientXActivation(net, net[8])
    ablation, cam = LayerFeatureAblation(net, net[8]), LayerGradCam(net, net[4])
    rows = {
        "explain_gxa_saliency_p50": lambda: (sal.attribute(x, target=t), gxa4.attribute(x, target=t), gxa8.attribute(x, target=t)),
        "explain_saliency_p50": lambda: sal.attribute(x, target=t),
        "explain_ablation128_p50": lambda: ablation.attribute(x, target=t, perturbations_per_eval=128),
        "explain_ig50_p50": lambda: ig.attribute(x, baselines=0.0, target=t, n_steps=50),
        "explain_gradcam_p50": lambda: cam.attribute(x, target=t),
    }
    for row, fn in rows.items():
        for _ in range(20):
            fn()
        times, medians = [], []
        for _ in range(args.rounds):
            block = []
            for _ in range(max(1, args.calls // args.rounds)):
                t0 = time.perf_counter()
                fn()
                block.append((time.perf_counter() - t0) * 1e3)
            medians.append(statistics.median(block))
            times += block
        times.sort()
        print(json.dumps({"impl": "captum", "model": "mnist-small", "row": row, "value": round(min(medians), 4), "unit": "ms",
                          "p50_all": round(statistics.median(times), 4), "p90": round(times[int(0.9 * len(times))], 4),
                          "calls": len(times), "rounds": args.rounds, "threads": args.threads,
                          "captum_version": captum.__version__, "torch_version": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
