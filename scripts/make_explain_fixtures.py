#!/usr/bin/env python3
"""Generate the Captum cross-check fixture for the Swift explanation tests (issue 6).

    python3 scripts/make_explain_fixtures.py [--images 4] [--out Tests/InterpretTests/Fixtures/captum_mnist-small.json]

Loads the committed trained mnist-small weights (Tests/AttacksTests/Fixtures/mnist-small,
a PyTorch state_dict in safetensors) strictly into the `nn.Sequential` of
bench/pytorch_reference.py, eval mode, float32, CPU, and takes the first N images of
AdvLens's test split (bench/pytorch_train_reference.py, bit-exact) with different labels. For each image and its
predicted class (the attribution target), it stores Captum's

  saliency              Saliency(net).attribute(x, target)            (abs=True, the default)
  input_x_gradient      InputXGradient(net).attribute(x, target)
  ig_gausslegendre      IntegratedGradients(net).attribute(x, baselines=0, target, n_steps=50)
                        (method "gausslegendre", Captum's default) and its convergence delta
  ig_riemann_trapezoid  the same with method="riemann_trapezoid"
  gradcam_3, gradcam_4  LayerGradCam(net, net[3] / net[4]).attribute(x, target,
                        relu_attributions=True): layer 3 is the last convolution, 4 its ReLU
  gradcam_4_upsampled   LayerAttribution.interpolate(gradcam_4, (28, 28), "bilinear")
  occlusion             Occlusion(net).attribute(x, target, sliding_window_shapes=(1, 4, 4),
                        strides=(1, 2, 2), baselines=0)

The images themselves are stored too, so the Swift tests need no dataset. Requires torch,
safetensors and captum (`pip install --no-deps captum` plus `pip install matplotlib`, which
captum.attr imports).
"""
import argparse
import hashlib
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from pytorch_train_reference import (  # noqa: E402  (bench/ is not a package)
    ARCHS, DATA, load_mnist_csv, self_check_rng, stratified_split)

WEIGHTS = os.path.join(ROOT, "Tests", "AttacksTests", "Fixtures", "mnist-small", "model.safetensors")
OUT = os.path.join(ROOT, "Tests", "InterpretTests", "Fixtures", "captum_mnist-small.json")


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--out", default=OUT)
    args = p.parse_args()
    torch.set_num_threads(1)
    import captum
    from captum.attr import (InputXGradient, IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion,
                             Saliency)
    from safetensors.torch import load_file

    net = ARCHS["mnist-small"]()
    net.load_state_dict(load_file(WEIGHTS), strict=True)
    net.eval()
    self_check_rng()
    images, labels = load_mnist_csv(DATA)
    _, test_idx = stratified_split(labels.tolist(), 100, 0)
    # The first test image of each of N different labels (the first few are all zeros).
    idx, seen = [], set()
    for i in sorted(test_idx):
        if int(labels[i]) not in seen and len(idx) < args.images:
            seen.add(int(labels[i]))
            idx.append(i)
    cases = []
    for i in idx:
        x = images[i:i + 1].clone().float()
        with torch.no_grad():
            logits = net(x)
        target = int(logits.argmax(1))
        ig = IntegratedGradients(net)
        ig_gl, delta_gl = ig.attribute(x, baselines=0.0, target=target, n_steps=50, return_convergence_delta=True)
        ig_tr, delta_tr = ig.attribute(x, baselines=0.0, target=target, n_steps=50, method="riemann_trapezoid",
                                       return_convergence_delta=True)
        cam4 = LayerGradCam(net, net[4]).attribute(x, target=target, relu_attributions=True)
        case = {
            "index": i, "label": int(labels[i]), "target": target,
            "image": flat(x), "logits": flat(logits),
            "saliency": flat(Saliency(net).attribute(x, target=target)),
            "input_x_gradient": flat(InputXGradient(net).attribute(x, target=target)),
            "ig_gausslegendre": flat(ig_gl), "ig_gausslegendre_delta": float(delta_gl),
            "ig_riemann_trapezoid": flat(ig_tr), "ig_riemann_trapezoid_delta": float(delta_tr),
            "gradcam_3": flat(LayerGradCam(net, net[3]).attribute(x, target=target, relu_attributions=True)),
            "gradcam_4": flat(cam4),
            "gradcam_4_upsampled": flat(LayerAttribution.interpolate(cam4, (28, 28), interpolate_mode="bilinear")),
            "occlusion": flat(Occlusion(net).attribute(x, target=target, sliding_window_shapes=(1, 4, 4),
                                                       strides=(1, 2, 2), baselines=0.0)),
        }
        cases.append(case)
    with open(WEIGHTS, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    out = {"model": "mnist-small", "weights": os.path.relpath(WEIGHTS, ROOT), "weights_sha256": sha,
           "captum_version": captum.__version__, "torch_version": torch.__version__,
           "ig_steps": 50, "occlusion": {"window": [4, 4], "stride": [2, 2], "baseline": 0.0},
           "gradcam_shape": [1, 8, 8], "cases": cases}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {args.out}: {len(cases)} images, targets {[c['target'] for c in cases]}", file=sys.stderr)


if __name__ == "__main__":
    main()
