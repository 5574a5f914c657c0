#!/usr/bin/env python3
"""PyTorch reference values for trainStep's objectives (Tests/TrainingTests/ObjectivePyTorchTests).

    python3 scripts/make_training_fixtures.py [--out Tests/TrainingTests/Fixtures]

On the equivalence model of Tests/NNTests/Fixtures (batchnorm, residual blocks, input
normalisation), in train mode with dropout off (its Dropout modules in eval, as
scripts/make_fixtures.py does), for a fixed batch x, a fixed x* and labels, the losses as the
reference implementations write them:

- TRADES (trades.py): CE(f(x), y) + beta * KLDivLoss(size_average=False)(log_softmax(f(x*)),
  softmax(f(x))) / batch, beta 6;
- the consistent loss: CE(f(x), y) + CE(f(x*), y) + lambda * mean over the batch of the squared
  distance summed over the features of layers 7 and 11 (the outputs of net[7], net[11]),
  lambda 0.5;

with one backward each, and the batchnorm running statistics after the two train-mode
forwards (clean, then adversarial) that each objective makes. Output: objectives.safetensors.
Requires torch and safetensors; never run by `make test`.
"""
import argparse
import copy
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import AdvLensModel  # noqa: E402

torch.set_num_threads(1)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_model():
    d = os.path.join(ROOT, "Tests/NNTests/Fixtures/equivalence")
    spec = json.load(open(os.path.join(d, "model.json")))
    model = AdvLensModel(spec)
    model.net.load_state_dict(load_file(os.path.join(d, "model.safetensors")))
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    return model


def features(model, x, layers):
    """Logits and the outputs of the top-level layers named in `layers`."""
    h = (x - model.mean) / model.std
    kept = {}
    for i, layer in enumerate(model.net):
        h = layer(h)
        if str(i) in layers:
            kept[str(i)] = h
    return h, kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests/TrainingTests/Fixtures"))
    a = ap.parse_args()
    torch.manual_seed(77)
    x = torch.rand(4, 3, 16, 16)
    x_adv = (x + torch.empty_like(x).uniform_(-0.1, 0.1)).clamp(0, 1)
    y = torch.randint(0, 10, (4,))
    out = {"x": x, "x_adv": x_adv, "labels": y.to(torch.float32)}

    # TRADES, beta 6.
    model = load_model()
    names = [n for n, _ in model.net.named_parameters()]
    logits, logits_adv = model(x), model(x_adv)
    ce = F.cross_entropy(logits, y)
    kl = nn.KLDivLoss(reduction="sum")(F.log_softmax(logits_adv, dim=1), F.softmax(logits, dim=1)) / x.shape[0]
    loss = ce + 6.0 * kl
    grads = torch.autograd.grad(loss, list(model.net.parameters()))
    out["trades.loss"], out["trades.ce"], out["trades.kl"] = loss.reshape(1), ce.reshape(1), kl.reshape(1)
    for n, g in zip(names, grads):
        out["trades.grad." + n] = g
    for k, v in model.net.state_dict().items():
        if "running" in k:
            out["trades.buffer." + k] = v

    # The consistent loss, lambda 0.5, layers 7 and 11.
    model = load_model()
    logits, phi = features(model, x, {"7", "11"})
    logits_adv, phi_adv = features(model, x_adv, {"7", "11"})
    ce, ce_adv = F.cross_entropy(logits, y), F.cross_entropy(logits_adv, y)
    distance = sum((phi[k] - phi_adv[k]).pow(2).flatten(1).sum(1).mean() for k in phi)
    loss = ce + ce_adv + 0.5 * distance
    grads = torch.autograd.grad(loss, list(model.net.parameters()))
    out["consistent.loss"], out["consistent.distance"] = loss.reshape(1), distance.reshape(1)
    out["consistent.ce"], out["consistent.ce_adv"] = ce.reshape(1), ce_adv.reshape(1)
    for n, g in zip(names, grads):
        out["consistent.grad." + n] = g

    os.makedirs(a.out, exist_ok=True)
    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in out.items()}, os.path.join(a.out, "objectives.safetensors"))
    print("wrote", os.path.join(a.out, "objectives.safetensors"), "| trades", float(out["trades.loss"]),
          "| consistent", float(out["consistent.loss"]))


if __name__ == "__main__":
    main()
