#!/usr/bin/env python3
"""Generate the PyTorch reference fixtures for the Swift NN tests.

    python3 scripts/make_fixtures.py [--out Tests/NNTests/Fixtures]

Everything is seeded, float32 and computed on the CPU. Output (see the README.md
written next to the fixtures for every key and how it was made):

  equivalence/model.json, equivalence/model.safetensors, equivalence/cases.safetensors
  mnist-small/model.json, mnist-small/model.safetensors, mnist-small/cases.safetensors
  losses.safetensors
  README.md

Requires torch and safetensors (pip install torch safetensors).

Model convention (the AdvLens format): the weights file is exactly the state_dict of
the `nn.Sequential` built from the spec's "layers". The spec's input mean/std
normalisation is applied before that Sequential by a wrapper that has no parameters
and no buffers in the exported state_dict.

Train-mode cases: dropout is disabled by putting the Dropout modules of a deep copy
of the model in eval() while every other module (the BatchNorm layers) stays in
train(). One single train-mode forward is run, so the running statistics are updated
exactly once; the input gradient (sum CE) and the parameter gradients (mean CE) are
both taken from that one graph with torch.autograd.grad.
"""
import argparse
import copy
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_num_threads(1)  # deterministic reductions, and plenty fast for these sizes


# --------------------------------------------------------------------------- builder

class Residual(nn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body = body
        self.shortcut = shortcut  # empty Sequential = identity

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else v


def build_layer(spec):
    t = spec["type"]
    if t == "conv2d":
        return nn.Conv2d(spec["in_channels"], spec["out_channels"], _pair(spec["kernel_size"]),
                         stride=_pair(spec.get("stride", 1)), padding=_pair(spec.get("padding", 0)),
                         bias=spec.get("bias", True))
    if t == "linear":
        return nn.Linear(spec["in_features"], spec["out_features"], bias=spec.get("bias", True))
    if t == "relu":
        return nn.ReLU()
    if t == "maxpool2d":
        k = _pair(spec["kernel_size"])
        return nn.MaxPool2d(k, stride=_pair(spec.get("stride", k)), padding=_pair(spec.get("padding", 0)))
    if t == "avgpool2d":
        k = _pair(spec["kernel_size"])
        # count_include_pad=True is PyTorch's default; only matters with padding > 0
        return nn.AvgPool2d(k, stride=_pair(spec.get("stride", k)), padding=_pair(spec.get("padding", 0)))
    if t == "batchnorm2d":
        return nn.BatchNorm2d(spec["num_features"], eps=spec.get("eps", 1e-5), momentum=spec.get("momentum", 0.1))
    if t == "dropout":
        return nn.Dropout(spec.get("p", 0.5))
    if t == "flatten":
        return nn.Flatten()
    if t == "residual":
        return Residual(build_sequential(spec["body"]), build_sequential(spec.get("shortcut", [])))
    raise ValueError(f"unknown layer type {t!r}")


def build_sequential(layers):
    for i, l in enumerate(layers):
        assert l["name"] == str(i), f"layer names must be Sequential indices, got {l['name']!r} at {i}"
    return nn.Sequential(*[build_layer(l) for l in layers])


class AdvLensModel(nn.Module):
    """(x - mean[c]) / std[c] then the Sequential. Only `net` is exported."""

    def __init__(self, spec):
        super().__init__()
        c = spec["input"]["shape"][0]
        mean = torch.tensor(spec["input"]["mean"], dtype=torch.float32)
        std = torch.tensor(spec["input"]["std"], dtype=torch.float32)
        if mean.numel() == 1:
            mean = mean.expand(c)
        if std.numel() == 1:
            std = std.expand(c)
        self.register_buffer("mean", mean.reshape(1, c, 1, 1).clone(), persistent=False)
        self.register_buffer("std", std.reshape(1, c, 1, 1).clone(), persistent=False)
        self.net = build_sequential(spec["layers"])

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


# --------------------------------------------------------------------------- specs

def conv(name, cin, cout, k, stride=1, padding=0, bias=True):
    return {"name": name, "type": "conv2d", "in_channels": cin, "out_channels": cout,
            "kernel_size": k, "stride": stride, "padding": padding, "bias": bias}


def bn(name, n):
    return {"name": name, "type": "batchnorm2d", "num_features": n, "eps": 1e-5, "momentum": 0.1}


def relu(name):
    return {"name": name, "type": "relu"}


def maxpool(name, k, stride=None, padding=0):
    return {"name": name, "type": "maxpool2d", "kernel_size": k, "stride": k if stride is None else stride,
            "padding": padding}


def avgpool(name, k, stride=None, padding=0):
    return {"name": name, "type": "avgpool2d", "kernel_size": k, "stride": k if stride is None else stride,
            "padding": padding}


def linear(name, fin, fout, bias=True):
    return {"name": name, "type": "linear", "in_features": fin, "out_features": fout, "bias": bias}


def mnist_small_spec():
    return {
        "name": "mnist-small",
        "input": {"shape": [1, 28, 28], "range": [0, 1], "mean": [0], "std": [1]},
        "classes": [str(i) for i in range(10)],
        "layers": [
            conv("0", 1, 16, 5), relu("1"), maxpool("2", 2),
            conv("3", 16, 32, 5), relu("4"), maxpool("5", 2),
            {"name": "6", "type": "flatten"},
            linear("7", 512, 128), relu("8"), linear("9", 128, 10),
        ],
    }


def equivalence_spec():
    # 3x16x16 -> conv/bn/relu 8x16x16 -> maxpool 8x8x8 -> res 8x8x8 -> res(stride 2) 16x4x4
    # -> avgpool 16x2x2 -> flatten 64 -> 32 -> 10.
    # A few kernel/stride/padding values are written in the [h, w] form on purpose.
    return {
        "name": "equivalence",
        "input": {"shape": [3, 16, 16], "range": [0, 1],
                  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "classes": [f"c{i}" for i in range(10)],
        "layers": [
            conv("0", 3, 8, 3, 1, 1),
            bn("1", 8),
            relu("2"),
            maxpool("3", 2),
            {"name": "4", "type": "residual",
             "body": [conv("0", 8, 8, 3, 1, 1), bn("1", 8), relu("2"), conv("3", 8, 8, [3, 3], [1, 1], [1, 1]),
                      bn("4", 8)],
             "shortcut": []},
            relu("5"),
            {"name": "6", "type": "residual",
             "body": [conv("0", 8, 16, 3, 2, 1), bn("1", 16), relu("2"), conv("3", 16, 16, 3, 1, 1, bias=False)],
             "shortcut": [conv("0", 8, 16, 1, 2, 0)]},
            relu("7"),
            avgpool("8", [2, 2], [2, 2], 0),
            {"name": "9", "type": "flatten"},
            linear("10", 64, 32),
            relu("11"),
            {"name": "12", "type": "dropout", "p": 0.5},
            linear("13", 32, 10),
        ],
    }


# --------------------------------------------------------------------------- helpers

def f32(t):
    return t.detach().to(torch.float32).contiguous().clone()


def save(tensors, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, path)


def write_model(model, spec, d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.json"), "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")
    sd = {k: (v if v.dtype == torch.int64 else f32(v)) for k, v in model.net.state_dict().items()}
    save(sd, os.path.join(d, "model.safetensors"))
    return sd


def bn_prefixes(net):
    return [name for name, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)]


def grads(model, x, labels):
    """Forward once; return logits, input grad of sum-CE, param grads of mean-CE."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    ce_sum = F.cross_entropy(logits, labels, reduction="sum")
    (gx,) = torch.autograd.grad(ce_sum, [x], retain_graph=True)
    names, params = zip(*[(n, p) for n, p in model.net.named_parameters()])
    ce_mean = F.cross_entropy(logits, labels, reduction="mean")
    gp = torch.autograd.grad(ce_mean, list(params))
    return logits, gx, dict(zip(names, gp))


def sanity(title, tensors):
    print(f"== {title}")
    for k, v in tensors.items():
        fv = v.float()
        print(f"  {k:42s} {str(list(v.shape)):16s} max|.|={fv.abs().max().item():.6g}")


# --------------------------------------------------------------------------- fixtures

def make_equivalence(out):
    torch.manual_seed(1234)
    spec = equivalence_spec()
    model = AdvLensModel(spec)
    # non-trivial BN affine parameters
    with torch.no_grad():
        for m in model.net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
    # non-trivial running statistics: 5 train-mode forwards on random data
    model.train()
    with torch.no_grad():
        for _ in range(5):
            model(torch.rand(8, 3, 16, 16) * 1.2 - 0.1)
    model.eval()
    sd = write_model(model, spec, os.path.join(out, "equivalence"))

    x = torch.rand(4, 3, 16, 16)
    labels = torch.randint(0, 10, (4,))
    cases = {"input": f32(x), "labels": labels.to(torch.float32)}

    # eval mode
    logits, gx, gp = grads(model, x, labels)
    cases["logits"] = f32(logits)
    cases["input_grad"] = f32(gx)
    for k, g in gp.items():
        cases[f"param_grad.{k}"] = f32(g)

    # train mode, dropout disabled (Dropout modules in eval, BN in train), one forward
    tm = copy.deepcopy(model)
    tm.train()
    for m in tm.net.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    logits_t, gx_t, gp_t = grads(tm, x, labels)
    cases["train_logits"] = f32(logits_t)
    cases["train_input_grad"] = f32(gx_t)
    for k, g in gp_t.items():
        cases[f"train_param_grad.{k}"] = f32(g)
    mods = dict(tm.net.named_modules())
    for p in bn_prefixes(tm.net):
        cases[f"train_running_mean.{p}"] = f32(mods[p].running_mean)
        cases[f"train_running_var.{p}"] = f32(mods[p].running_var)

    save(cases, os.path.join(out, "equivalence", "cases.safetensors"))
    sanity("equivalence/model.safetensors", sd)
    sanity("equivalence/cases.safetensors", cases)
    return sorted(sd), sorted(cases), bn_prefixes(model.net)


def cw_margin(z, cls, kappa, targeted):
    onehot = F.one_hot(cls, z.shape[1]).bool()
    z_cls = z.gather(1, cls[:, None]).squeeze(1)
    z_other = z.masked_fill(onehot, float("-inf")).max(dim=1).values
    m = (z_other - z_cls) if targeted else (z_cls - z_other)
    return torch.clamp(m, min=-kappa)


def make_losses(out):
    torch.manual_seed(4321)
    n, k, kappa = 6, 10, 0.5
    logits = torch.randn(n, k) * 3
    labels = torch.randint(0, k, (n,))
    targets = (labels + torch.randint(1, k, (n,))) % k  # target != label
    # make sure both branches of the C&W clamp are exercised
    labels[0] = logits[0].argmax()           # untargeted margin > 0 (not clamped)
    targets[1] = logits[1].argmax()          # targeted margin < -kappa (clamped) ...
    logits[1, targets[1]] += 1.0             # ... by widening the gap to the runner-up
    labels[1] = (targets[1] + 1) % k
    assert (targets != labels).all()
    t = {"logits": f32(logits), "labels": labels.float(), "targets": targets.float()}

    z = logits.clone().requires_grad_(True)
    ce = F.cross_entropy(z, labels, reduction="mean")
    (g,) = torch.autograd.grad(ce, [z])
    t["ce_mean"] = f32(ce).reshape(1)
    t["ce_per_sample"] = f32(F.cross_entropy(logits, labels, reduction="none"))
    t["ce_grad_mean"] = f32(g)

    clean = torch.randn(n, k) * 3
    adv = (clean + torch.randn(n, k)).requires_grad_(True)
    kl = F.kl_div(F.log_softmax(adv, dim=1), F.softmax(clean, dim=1), reduction="batchmean")
    (gk,) = torch.autograd.grad(kl, [adv])
    t["kl_clean_logits"] = f32(clean)
    t["kl_adv_logits"] = f32(adv)
    t["kl_batchmean"] = f32(kl).reshape(1)
    t["kl_grad_adv"] = f32(gk)

    for name, cls, targeted in (("cw_untargeted", labels, False), ("cw_targeted", targets, True)):
        z = logits.clone().requires_grad_(True)
        m = cw_margin(z, cls, kappa, targeted)
        (gc,) = torch.autograd.grad(m.sum(), [z])
        t[name] = f32(m)
        t[name + "_grad"] = f32(gc)
        clamped = int((m <= -kappa).sum())
        assert 0 < clamped < n, f"{name}: want both clamped and unclamped samples, got {clamped} clamped"
        # keep away from the kink and from argmax ties, where the gradient is ambiguous
        raw = cw_margin(logits, cls, 1e9, targeted)
        assert ((raw + kappa).abs() > 1e-2).all(), f"{name}: a margin sits on the clamp"
    top2 = logits.topk(3, dim=1).values
    assert ((top2[:, 0] - top2[:, 1]).abs() > 1e-3).all() and ((top2[:, 1] - top2[:, 2]).abs() > 1e-3).all()

    save(t, os.path.join(out, "losses.safetensors"))
    sanity("losses.safetensors", t)
    for name in ("cw_untargeted", "cw_targeted"):
        print(f"  {name}: {int((t[name] <= -kappa).sum())} of {n} samples clamped at -kappa")
    return sorted(t)


def make_mnist_small(out):
    torch.manual_seed(0)
    spec = mnist_small_spec()
    model = AdvLensModel(spec).eval()  # PyTorch default initialisation, seed 0
    sd = write_model(model, spec, os.path.join(out, "mnist-small"))
    torch.manual_seed(1)
    x = torch.rand(2, 1, 28, 28)
    labels = torch.tensor([3, 7])
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    (gx,) = torch.autograd.grad(F.cross_entropy(logits, labels, reduction="sum"), [xg])
    cases = {"input": f32(x), "labels": labels.float(), "logits": f32(logits), "input_grad": f32(gx)}
    save(cases, os.path.join(out, "mnist-small", "cases.safetensors"))
    sanity("mnist-small/model.safetensors", sd)
    sanity("mnist-small/cases.safetensors", cases)
    return sorted(sd), sorted(cases)


# --------------------------------------------------------------------------- README

def write_readme(out, eq_model_keys, eq_case_keys, bn_names, loss_keys, ms_model_keys, ms_case_keys):
    import safetensors
    sizes = []
    for root, _, files in os.walk(out):
        for f in sorted(files):
            if f == "README.md":
                continue
            p = os.path.join(root, f)
            sizes.append((os.path.relpath(p, out), os.path.getsize(p)))
    sizes.sort()

    def keylist(keys):
        return "\n".join(f"- `{k}`" for k in keys)

    eq_params = [k for k in eq_case_keys if k.startswith("param_grad.")]
    lines = f"""# NN test fixtures (generated — do not edit)

Made by `python3 scripts/make_fixtures.py` with torch {torch.__version__}, safetensors
{safetensors.__version__}, Python {sys.version.split()[0]}, on the CPU, float32,
`torch.set_num_threads(1)`. Re-running the script rewrites every file here; all random
numbers come from `torch.manual_seed` (1234 for equivalence, 4321 for losses, 0 and 1
for mnist-small). Exact bits may differ across torch versions/CPUs; compare with a
tolerance (about 1e-4 relative for logits and gradients is comfortable).

## Conventions

- A model is `model.json` (AdvLens spec) + `model.safetensors`, whose keys are exactly
  the `state_dict()` of the `nn.Sequential` built from `layers` (conv weight
  `[out,in,kh,kw]`, linear weight `[out,in]`, F32; BatchNorm `num_batches_tracked` is
  I64, shape `[]`).
- The spec's `input.mean`/`input.std` are applied inside the model, before the
  Sequential: the network sees `(x - mean[c]) / std[c]` where `x` is the raw input in
  `input.range`. That step has no parameters and nothing in the state_dict.
- `residual` = `body(x) + shortcut(x)`, `shortcut: []` = identity; keys look like
  `4.body.0.weight`, `6.shortcut.0.weight`.
- Labels/targets are stored as F32 holding integers.
- Scalars (`ce_mean`, `kl_batchmean`) are stored with shape `[1]`.
- CE = `F.cross_entropy` (log-softmax + NLL).
- Some train-mode gradients are mathematically zero and come out as ~1e-8 float noise
  (the bias of a conv followed by BatchNorm): compare with an absolute tolerance too.
- BatchNorm in train mode normalises with the biased batch variance (divide by N*H*W)
  and updates `running_var` with the unbiased one (divide by N*H*W - 1):
  `running = (1 - momentum) * running + momentum * batch_stat`, momentum 0.1.

## Files

| file | bytes |
| --- | --- |
""" + "\n".join(f"| `{p}` | {s} |" for p, s in sizes) + f"""

Total: {sum(s for _, s in sizes)} bytes.

## equivalence/

A small model using every layer type (conv2d with and without bias, batchnorm2d, relu,
maxpool2d, avgpool2d, residual with identity and with a conv shortcut, flatten,
linear, dropout), input `[3,16,16]`, range `[0,1]`, mean `[0.485,0.456,0.406]`, std
`[0.229,0.224,0.225]`. Some kernel/stride/padding fields use the `[h, w]` form.
Made with seed 1234 and PyTorch default initialisation, then every BatchNorm's weight
set uniform in [0.5, 1.5] and bias normal(0, 0.2), then 5 train-mode forward passes
(no grad) on `rand(8,3,16,16)*1.2-0.1` so the running statistics are non-trivial
(`num_batches_tracked` = 5). The exported weights are the state after those passes.

`model.safetensors` keys:

{keylist(eq_model_keys)}

`cases.safetensors` keys:

- `input` `[4,3,16,16]`, uniform in [0,1); `labels` `[4]`.
- Eval mode (`model.eval()`, so BN uses running stats and dropout is the identity):
  - `logits` `[4,10]`.
  - `input_grad` `[4,3,16,16]` = d/d input of `cross_entropy(logits, labels, reduction='sum')`.
  - `param_grad.<state_dict key>` = d/d param of `cross_entropy(logits, labels, reduction='mean')`,
    one per trainable parameter (not for running stats / num_batches_tracked):
{chr(10).join('    - `' + k + '`' for k in eq_params)}
- Train mode with dropout disabled: a deep copy of the eval model, `.train()`, then each
  `nn.Dropout` module put back in `.eval()` (so dropout is the identity, BN layers use
  batch statistics). ONE forward pass on the same `input`; both gradients come from that
  one graph, so the running statistics were updated exactly once:
  - `train_logits` `[4,10]`.
  - `train_input_grad` = d/d input of sum-CE.
  - `train_param_grad.<state_dict key>` = d/d param of mean-CE (same keys as above).
  - `train_running_mean.<bn>` / `train_running_var.<bn>` = the BN running statistics
    after that one forward (start from the values in `model.safetensors`), for
    `<bn>` in: {', '.join('`' + b + '`' for b in bn_names)}.

## losses.safetensors

Seed 4321. N = 6 samples, K = 10 classes.

- `logits` `[6,10]` = `randn*3`; `labels` `[6]`; `targets` `[6]` (target != label).
  `labels[0]` is set to the argmax of row 0, `targets[1]` to the argmax of row 1
  (whose logit is then raised by 1.0, and `labels[1]` set to `(targets[1]+1) % 10`), so
  both C&W branches (clamped and not) occur for both variants.
- `ce_mean` `[1]` = `cross_entropy(logits, labels, reduction='mean')`.
- `ce_per_sample` `[6]` = `cross_entropy(..., reduction='none')`.
- `ce_grad_mean` `[6,10]` = d `ce_mean` / d logits.
- `kl_clean_logits` `[6,10]` = `randn*3`; `kl_adv_logits` = clean + `randn`.
- `kl_batchmean` `[1]` = `F.kl_div(F.log_softmax(adv,1), F.softmax(clean,1), reduction='batchmean')`
  = (1/N) sum_i sum_j p_clean log(p_clean / p_adv), i.e. KL(clean || adv) as TRADES uses it.
- `kl_grad_adv` `[6,10]` = d `kl_batchmean` / d adv logits (= (softmax(adv) - softmax(clean)) / N).
- C&W margin, kappa = 0.5, Z = `logits`:
  - `cw_untargeted` `[6]` = `max(Z_y - max_{{j != y}} Z_j, -kappa)` with y = `labels`.
  - `cw_targeted` `[6]` = `max(max_{{j != t}} Z_j - Z_t, -kappa)` with t = `targets`.
  - `cw_untargeted_grad`, `cw_targeted_grad` `[6,10]` = d (sum over samples) / d Z: zero
    for clamped samples, otherwise +1/-1 at the two logits involved. No sample sits on
    the clamp or has tied logits.

All keys: {', '.join('`' + k + '`' for k in loss_keys)}.

## mnist-small/

The built-in `mnist-small` architecture with PyTorch's default initialisation after
`torch.manual_seed(0)` (layers built in index order), eval mode.

`model.safetensors` keys: {', '.join('`' + k + '`' for k in ms_model_keys)}.

`cases.safetensors` (seed 1 for the input): `input` `[2,1,28,28]` uniform in [0,1);
`labels` `[2]` = [3, 7]; `logits` `[2,10]` (eval); `input_grad` `[2,1,28,28]` = d/d
input of `cross_entropy(logits, labels, reduction='sum')`.
All keys: {', '.join('`' + k + '`' for k in ms_case_keys)}.
"""
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(lines)
    print("== sizes")
    for p, s in sizes:
        print(f"  {p:36s} {s:8d} B")
    print(f"  total {sum(s for _, s in sizes)} B")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "NNTests", "Fixtures"))
    a = ap.parse_args()
    out = os.path.normpath(a.out)
    os.makedirs(out, exist_ok=True)
    print(f"torch {torch.__version__}; writing to {out}")
    eq_m, eq_c, bn_names = make_equivalence(out)
    loss_keys = make_losses(out)
    ms_m, ms_c = make_mnist_small(out)
    write_readme(out, eq_m, eq_c, bn_names, loss_keys, ms_m, ms_c)


if __name__ == "__main__":
    main()
