#!/usr/bin/env python3
"""torchattacks reference benchmark for AdvLens's attacks (see bench/README.md, "Attack reference").

    python3 bench/torchattacks_reference.py [--weights-dir DIR] [--threads 2] [--runs 3]
                                            [--max-row-seconds 600] [--rows fgsm,pgd40,...]
                                            [--models mnist-madry] [--quick]

Times torchattacks (and, for the paper's ensemble-optimization attack, a plain PyTorch
implementation) on the 256 test images (the first 256 indices, ascending, of AdvLens's
test split, see bench/pytorch_train_reference.py) for both built-in architectures.

stdout, one JSON object per line: an "info" row, then per model and attack
    {"impl": "torchattacks", "model": "mnist-small", "row": "attack_pgd40", "value": 160.2, "unit": "img/s", ...}
    {"impl": "torchattacks", "model": "mnist-small", "row": "attack_pgd40_robust", "value": 0.0039, "unit": "robust_acc", ...}
img/s = 256 / (median wall time of one attack call over the timed runs). Extra keys
("seconds", "runs", ...) are informational. Progress goes to stderr.

Weights (per architecture): --weights-dir DIR uses DIR/<arch>/model.safetensors. Without
it, the first TRAINED file of out/bench/weights/<arch>/model.safetensors and
Tests/AttacksTests/Fixtures/<arch>/model.safetensors is used ("trained" = at least 50%
clean accuracy on the 256 images; `advlens-bench` exports untrained weights to
out/bench/weights). Speed barely depends on the weights, but the attacks' early stopping
(C&W, DeepFool) does, so trained weights are what to compare. The info row names the
file, its SHA-256 and its clean accuracy.
"""
import argparse
import hashlib
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pytorch_train_reference import (  # noqa: E402
    ARCHS, DATA, load_mnist_csv, self_check_rng, stratified_split)

IMPL = "torchattacks"
ENSEMBLE_MODEL = "mnist-small+mnist-madry"

# row -> (torchattacks class, parameters); the same parameters as the fixtures
# (scripts/make_attack_fixtures.py), random starts on (torchattacks' defaults).
ATTACK_ROWS = {
    "fgsm": ("FGSM", {"eps": 0.3}),
    "pgd40": ("PGD", {"eps": 0.3, "alpha": 0.01, "steps": 40, "random_start": True}),
    "mifgsm10": ("MIFGSM", {"eps": 0.3, "alpha": 0.03, "steps": 10, "decay": 1.0}),
    "pgdl2_40": ("PGDL2", {"eps": 2.0, "alpha": 0.2, "steps": 40, "random_start": True}),
    "cw100": ("CW", {"c": 1.0, "kappa": 0.0, "steps": 100, "lr": 0.01}),
    "deepfool50": ("DeepFool", {"steps": 50, "overshoot": 0.02}),
    # The AutoAttack family at the paper's budgets (issue 17). torchattacks' own AutoAttack
    # class runs its gradient attacks at 10 steps, so "autoattack" composes its APGD, APGDT,
    # FAB (multi-targeted) and Square at 100 steps / 9 targets / 5,000 queries (below).
    "apgd100": ("APGD", {"norm": "Linf", "eps": 0.3, "steps": 100, "n_restarts": 1, "loss": "ce", "seed": 0}),
    "autoattack": ("autoattack", {"norm": "Linf", "eps": 0.3}),
}
AUTOATTACK_MEMBERS = [
    ("APGD", {"steps": 100, "n_restarts": 1, "loss": "ce", "seed": 0}),
    ("APGDT", {"steps": 100, "n_restarts": 1, "n_classes": 10, "seed": 0}),
    ("FAB", {"steps": 100, "n_restarts": 1, "multi_targeted": True, "n_classes": 10, "seed": 0}),
    ("Square", {"n_queries": 5000, "n_restarts": 1, "p_init": 0.8, "seed": 0}),
]


class AutoAttackStandard:
    """AutoAttack's standard version at the paper's budgets: each member on the points the
    earlier ones left robust (as autoattack.AutoAttack.run_standard_evaluation does)."""

    def __init__(self, net, norm, eps):
        import torchattacks
        self.net = net
        self.members = [getattr(torchattacks, c)(net, norm=norm, eps=eps, **p) for c, p in AUTOATTACK_MEMBERS]

    def __call__(self, x, y):
        adv = x.clone()
        with torch.no_grad():
            robust = self.net(x).argmax(1) == y
        for atk in self.members:
            idx = robust.nonzero().flatten()
            if idx.numel() == 0:
                break
            out = atk(x[idx], y[idx])
            with torch.no_grad():
                fooled = self.net(out).argmax(1) != y[idx]
            adv[idx[fooled]] = out[fooled]
            robust[idx[fooled]] = False
        return adv
ENSEMBLE_PARAMS = {"steps": 100, "lr": 0.01, "lambda": 0.05, "weights": [0.5, 0.5],
                   "target": "(label + 1) % 10", "distance": "squared L2", "init": "x* = x",
                   "box": "clip to [0, 1] after every Adam step"}
# DeepFool runs one image at a time: warm it up on a few images, not on all 256.
WARMUP_IMAGES = {"deepfool50": 8}


# ---------------------------------------------------------------- data and weights

def test_images(n):
    self_check_rng()
    images, labels = load_mnist_csv(DATA)
    _, test_idx = stratified_split(labels.tolist(), 100, 0)
    idx = sorted(test_idx)[:n]
    return idx, images[idx].contiguous(), labels[idx].contiguous()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@torch.no_grad()
def accuracy(net, x, y):
    return (net(x).argmax(1) == y).float().mean().item()


def load(arch, path):
    from safetensors.torch import load_file
    net = ARCHS[arch]()
    net.load_state_dict(load_file(path), strict=True)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def pick_weights(arch, weights_dir, x, y):
    """(net, description dict)."""
    if weights_dir:
        candidates = [os.path.join(weights_dir, arch, "model.safetensors")]
        if not os.path.exists(candidates[0]):
            raise SystemExit(f"{candidates[0]}: not found")
    else:
        candidates = [os.path.join(ROOT, "out", "bench", "weights", arch, "model.safetensors"),
                      os.path.join(ROOT, "Tests", "AttacksTests", "Fixtures", arch, "model.safetensors")]
    found = []
    for path in candidates:
        if os.path.exists(path):
            net = load(arch, path)
            acc = accuracy(net, x, y)
            found.append((net, path, acc))
            if acc >= 0.5 or weights_dir:
                break
    trained = [f for f in found if f[2] >= 0.5]
    if trained or found:
        net, path, acc = (trained or found)[0]
        desc = {"path": os.path.relpath(path, ROOT), "sha256": sha256(path), "clean_acc": round(acc, 4),
                "trained": acc >= 0.5}
    else:
        torch.manual_seed(0)
        net = ARCHS[arch]().eval()
        for p in net.parameters():
            p.requires_grad_(False)
        acc = accuracy(net, x, y)
        desc = {"path": None, "init": "PyTorch default, torch.manual_seed(0)", "clean_acc": round(acc, 4),
                "trained": False}
    if not desc["trained"]:
        print(f"[{arch}] WARNING: untrained weights (clean accuracy {acc:.3f}); early-stopping attacks "
              f"will not behave as on a real model", file=sys.stderr)
    return net, desc


# ---------------------------------------------------------------- the ensemble attack

def ensemble_attack(nets, x, y, steps=100, lr=0.01, lam=0.05):
    """The paper's ensemble-optimization attack (shared/PAPER.md section 2), targeted.

    For target t = (y + 1) % 10, minimise over x*, per image, summed over the batch:
        -log( sum_i a_i p_i(t | x*) ) + lam * ||x* - x||_2^2,   a_i = 1/k,
    with Adam(lr) on x* (initialised at x) and x* clipped to [0, 1] after every step.
    log(sum_i a_i p_i) is computed as logsumexp_i(log_softmax_i[t]) - log k.
    """
    t = (y + 1) % 10
    xs = x.clone().requires_grad_(True)
    opt = torch.optim.Adam([xs], lr=lr)
    log_k = math.log(len(nets))
    for _ in range(steps):
        logp = torch.stack([F.log_softmax(net(xs), dim=1).gather(1, t[:, None])[:, 0] for net in nets])
        log_mix = torch.logsumexp(logp, dim=0) - log_k
        loss = (-log_mix + lam * (xs - x).pow(2).flatten(1).sum(1)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            xs.clamp_(0.0, 1.0)
    return xs.detach()


@torch.no_grad()
def ensemble_predict(nets, x):
    return torch.stack([F.softmax(net(x), dim=1) for net in nets]).mean(0).argmax(1)


# ---------------------------------------------------------------- timing

def time_row(name, call, warm, runs, max_seconds):
    """Warm up once, then up to `runs` timed calls (fewer if their total passes max_seconds).
    Returns (median seconds, number of timed runs, output of the last call)."""
    t0 = time.perf_counter()
    warm()
    print(f"  {name}: warm-up {time.perf_counter() - t0:.2f} s", file=sys.stderr, flush=True)
    times, out = [], None
    for i in range(runs):
        torch.manual_seed(0)
        t0 = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t0)
        print(f"  {name}: run {i + 1} {times[-1]:.2f} s", file=sys.stderr, flush=True)
        if sum(times) >= max_seconds and i + 1 < runs:
            print(f"  {name}: stopping after {i + 1} run(s), {sum(times):.0f} s >= --max-row-seconds",
                  file=sys.stderr, flush=True)
            break
    return statistics.median(times), len(times), out


def emit(model, row, value, unit, **extra):
    obj = {"impl": IMPL, "model": model, "row": row, "value": round(value, 6), "unit": unit}
    obj.update(extra)
    print(json.dumps(obj), flush=True)


@torch.no_grad()
def clear_robust(net, adv, y, tol=1e-3):
    """Fraction whose true-class logit beats every other logit by >= tol."""
    logits = net(adv)
    true = logits.gather(1, y[:, None])[:, 0]
    other = logits.scatter(1, y[:, None], float("-inf")).max(1).values
    return ((true - other) >= tol).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights-dir", default=None,
                    help="use DIR/<arch>/model.safetensors (default: first trained of out/bench/weights "
                         "and Tests/AttacksTests/Fixtures)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per row after the warm-up (median)")
    ap.add_argument("--max-row-seconds", type=float, default=600.0,
                    help="stop timing a row after the run that brings its timed total past this")
    ap.add_argument("--rows", default=",".join(list(ATTACK_ROWS) + ["ensemble100"]),
                    help="comma-separated subset of: " + ", ".join(list(ATTACK_ROWS) + ["ensemble100"]))
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 run per row, 32 images")
    ap.add_argument("--models", default=",".join(ARCHS), help="the single-model rows' models (default: all)")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.images = 1, min(a.images, 32)
    rows = [r.strip() for r in a.rows.split(",") if r.strip()]
    for r in rows:
        if r not in ATTACK_ROWS and r != "ensemble100":
            raise SystemExit(f"unknown row {r!r}")

    import torchattacks

    torch.set_num_threads(a.threads)
    idx, x, y = test_images(a.images)
    nets, weights = {}, {}
    for arch in ARCHS:
        nets[arch], weights[arch] = pick_weights(arch, a.weights_dir, x, y)
        print(f"[{arch}] weights: {weights[arch]}", file=sys.stderr, flush=True)

    print(json.dumps({"impl": IMPL, "model": "-", "row": "info", "value": None, "unit": "-",
                      "torchattacks": torchattacks.__version__, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "python": platform.python_version(),
                      "images": len(idx), "runs": a.runs, "weights": weights}), flush=True)

    models = [m.strip() for m in a.models.split(",") if m.strip()]
    for arch, net in nets.items():
        if arch not in models:
            continue
        for row in rows:
            if row not in ATTACK_ROWS:
                continue
            cls_name, params = ATTACK_ROWS[row]
            atk = (AutoAttackStandard(net, **params) if cls_name == "autoattack"
                   else getattr(torchattacks, cls_name)(net, **params))
            nw = WARMUP_IMAGES.get(row, len(idx))
            secs, n, adv = time_row(f"{arch} {row}", lambda: atk(x, y), lambda: atk(x[:nw], y[:nw]),
                                    a.runs, a.max_row_seconds)
            emit(arch, f"attack_{row}", len(idx) / secs, "img/s", seconds=round(secs, 3), runs=n)
            emit(arch, f"attack_{row}_robust", accuracy(net, adv, y), "robust_acc",
                 robust_acc_clear=round(clear_robust(net, adv, y), 6))

    if "ensemble100" in rows:
        ens = [nets[arch] for arch in ARCHS]
        p = ENSEMBLE_PARAMS
        call = lambda: ensemble_attack(ens, x, y, p["steps"], p["lr"], p["lambda"])  # noqa: E731
        secs, n, adv = time_row(f"{ENSEMBLE_MODEL} ensemble100", call, call, a.runs, a.max_row_seconds)
        emit(ENSEMBLE_MODEL, "attack_ensemble100", len(idx) / secs, "img/s", seconds=round(secs, 3), runs=n,
             params=p)
        pred = ensemble_predict(ens, adv)
        t = (y + 1) % 10
        emit(ENSEMBLE_MODEL, "attack_ensemble100_robust", (pred == y).float().mean().item(), "robust_acc",
             target_rate=round((pred == t).float().mean().item(), 6),
             per_model={arch: {"robust_acc": round(accuracy(net, adv, y), 6),
                               "target_rate": round(accuracy(net, adv, t), 6)} for arch, net in nets.items()},
             l2_mean=round((adv - x).flatten(1).norm(dim=1).mean().item(), 6))


if __name__ == "__main__":
    main()
