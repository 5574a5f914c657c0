#!/usr/bin/env python3
"""The adversarially trained model of the AutoAttack cross-check (issue 17, item 4), and
torchattacks' results on it.

    python3 scripts/make_robust_fixture.py train    [--epochs 20] [--seed 0] [--threads 1]
    python3 scripts/make_robust_fixture.py attacks  [--images 100] [--seed 0] [--threads 1]
                                                    [--keys apgd_ce,square,...]

A standard model's robust accuracy is 0 under almost any attack at the paper's MNIST epsilon
0.3, so a cross-check on it alone proves little. This script makes one that keeps some:

`train` trains the mnist-small architecture (bench/pytorch_reference.py, 321 KB of float32
weights) with PGD adversarial training (Madry et al.) on AdvLens's own MNIST split (the 4,000
training images of data/mnist_5k.csv.gz, `MNISTSplit`: StratifiedSplit seed 0, reimplemented bit
for bit in bench/pytorch_train_reference.py):

- `torch.manual_seed(seed)` before the model is built (PyTorch's default init) and every
  epoch's shuffle and random start come from that one generator: the run is reproducible;
- each batch of 64 is replaced by its PGD adversarials (L-inf, random start, TRAIN_STEPS steps of
  2.5 * eps / TRAIN_STEPS, model in eval mode while attacking) and the model takes one Adam step
  (lr 1e-3) on their cross-entropy;
- the training epsilon ramps linearly from 0 to TRAIN_EPS over the first RAMP_EPOCHS epochs
  (a model attacked at full strength from the start stays at chance on so few images);
- it writes Tests/AttacksTests/Fixtures/mnist-small-at/model.safetensors (the nn.Sequential's
  state_dict, which is AdvLens's weight format) and model.json (AdvLens's spec: the
  mnist-small spec under the name mnist-small-at).

`attacks` runs torchattacks 3.5.1 on the first --images test images (ascending test-split
indices, as the mnist-small fixture) at EPS, at the paper's budgets:

- `apgd_ce`: APGD, CE loss, 100 steps, 1 restart;
- `apgdt`: APGDT (targeted DLR) over the 9 other classes, 100 steps each;
- `fabt`: FAB with multi_targeted=True (FAB-T), 9 targets, 100 steps each;
- `square`: Square, 5,000 queries, p_init 0.8; `square_seed1`, `square_seed2` the same from seeds
  1 and 2, and `square.robust_accuracy_seeds` the robust accuracies of seeds 0, 1, 2 (its spread);
- `autoattack`: AutoAttack standard at those budgets (torchattacks' own AutoAttack class runs its
  gradient attacks at 10 steps), as the per-image worst case of the four runs above (an image
  is robust when APGD-CE, APGD-T, FAB-T and Square all failed on it), written whenever the four
  are in the file; `cumulative` is the robust accuracy after each member in that order.
  AutoAttack itself runs each member only on the images the earlier ones left robust: the
  same per image, except that torchattacks draws an attack's random starts for its whole batch,
  so a smaller batch gets other draws. Running the members on all images costs no more here,
  since the model keeps most images robust, and needs no second run of each.

Each attack is seeded by its `seed` argument (and `torch.manual_seed`) immediately before it
runs. Every adversarial is judged by one batched forward over all images. The results go to
Tests/AttacksTests/Fixtures/torchattacks_mnist-small-at.json: per attack `robust_accuracy`,
`robust_mask` (one character per image, "1" = still correct, in index order), the parameters
and the seconds torchattacks took. The weights' SHA-256 is stored beside them
(`weights_sha256`); Tests/python/test_robust_crosscheck.py compares AdvLens with them.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from pytorch_train_reference import (  # noqa: E402  (bench/ is not a package)
    ARCHS, DATA, load_mnist_csv, self_check_rng, stratified_split)
from make_attack_fixtures import dumps  # noqa: E402  (scripts/, this script's own folder)

FIXTURES = os.path.join(ROOT, "Tests", "AttacksTests", "Fixtures")
NAME = "mnist-small-at"
ARCH = "mnist-small"
MODEL_DIR = os.path.join(FIXTURES, NAME)
REFERENCE = os.path.join(FIXTURES, f"torchattacks_{NAME}.json")

TRAIN_EPS = 0.3
TRAIN_STEPS = 10
RAMP_EPOCHS = 5
BATCH = 64
LR = 1e-3

EPS = 0.3
BUDGETS = {
    "apgd_ce": ("APGD", {"norm": "Linf", "eps": EPS, "steps": 100, "n_restarts": 1, "loss": "ce"}),
    "apgdt": ("APGDT", {"norm": "Linf", "eps": EPS, "steps": 100, "n_restarts": 1, "n_classes": 10}),
    "fabt": ("FAB", {"norm": "Linf", "eps": EPS, "steps": 100, "n_restarts": 1, "multi_targeted": True,
                     "n_classes": 10}),
    "square": ("Square", {"norm": "Linf", "eps": EPS, "n_queries": 5000, "n_restarts": 1, "p_init": 0.8}),
}
ENSEMBLE = ["apgd_ce", "apgdt", "fabt", "square"]  # AutoAttack standard, in its order
# Square's spread: its seed-0 run is `square`; `square_seed<s>` are the same attack from seed s
# (separate keys, so several processes can run them at once: each takes minutes per 100 images).
SQUARE_SEEDS = [1, 2]
for _s in SQUARE_SEEDS:
    BUDGETS[f"square_seed{_s}"] = BUDGETS["square"]


def split():
    """(train x, train y, test indices ascending, test x, test y) of AdvLens's MNISTSplit."""
    self_check_rng()
    images, labels = load_mnist_csv(DATA)
    train_idx, test_idx = stratified_split(labels.tolist(), 100, 0)
    test_idx = sorted(test_idx)
    return images[train_idx], labels[train_idx], test_idx, images[test_idx], labels[test_idx]


def pgd(net, x, y, eps, steps, alpha):
    """L-inf PGD with a uniform random start (the training attack and the held-out check)."""
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        grad, = torch.autograd.grad(F.cross_entropy(net(adv), y), adv)
        adv = adv.detach() + alpha * grad.sign()
        adv = (x + (adv - x).clamp(-eps, eps)).clamp(0, 1)
    return adv.detach()


@torch.no_grad()
def correct(net, x, y):
    return net(x).argmax(1) == y


def train(args):
    xtr, ytr, _, xte, yte = split()
    torch.manual_seed(args.seed)
    net = ARCHS[ARCH]()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    n = len(xtr)
    for epoch in range(args.epochs):
        eps = TRAIN_EPS * min(1.0, (epoch + 1) / RAMP_EPOCHS)
        t0 = time.perf_counter()
        order = torch.randperm(n)
        total = 0.0
        for i in range(0, n, BATCH):
            idx = order[i:i + BATCH]
            net.eval()
            adv = pgd(net, xtr[idx], ytr[idx], eps, TRAIN_STEPS, 2.5 * eps / TRAIN_STEPS)
            net.train()
            loss = F.cross_entropy(net(adv), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        net.eval()
        clean = correct(net, xte, yte).float().mean().item()
        print(f"epoch {epoch + 1}: eps {eps:.3f}  adversarial loss {total / n:.4f}  test clean {clean:.4f}  "
              f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    torch.manual_seed(args.seed)
    robust = correct(net, pgd(net, xte, yte, EPS, 40, 0.01), yte).float().mean().item()
    print(f"test (1,000 images): clean {clean:.4f}, PGD-40 eps {EPS} {robust:.4f}", file=sys.stderr)

    from safetensors.torch import save_file
    os.makedirs(MODEL_DIR, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, os.path.join(MODEL_DIR, "model.safetensors"))
    spec = json.load(open(os.path.join(FIXTURES, ARCH, "model.json")))
    spec["name"] = NAME
    with open(os.path.join(MODEL_DIR, "model.json"), "w") as f:
        json.dump(spec, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {os.path.relpath(MODEL_DIR, ROOT)}/model.{{json,safetensors}}", file=sys.stderr)


def load_model():
    from safetensors.torch import load_file
    net = ARCHS[ARCH]()
    net.load_state_dict(load_file(os.path.join(MODEL_DIR, "model.safetensors")), strict=True)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def attack(net, key, x, y, seed):
    """(adversarials, seconds) of one torchattacks attack at its budget."""
    import torchattacks
    cls, params = BUDGETS[key]
    torch.manual_seed(seed)
    atk = getattr(torchattacks, cls)(net, **params, seed=seed)
    t0 = time.perf_counter()
    adv = atk(x, y).detach()
    return adv, time.perf_counter() - t0


def mask(flags):
    return "".join("1" if f else "0" for f in flags.tolist())


def attacks(args):
    import torchattacks
    _, _, test_idx, xte, yte = split()
    idx, x, y = test_idx[:args.images], xte[:args.images].contiguous(), yte[:args.images].contiguous()
    net = load_model()
    clean = correct(net, x, y)
    out = {
        "model": NAME,
        "weights": f"{NAME}/model.safetensors",
        "weights_sha256": sha256(os.path.join(MODEL_DIR, "model.safetensors")),
        "made_by": "python3 scripts/make_robust_fixture.py attacks",
        "torchattacks_version": torchattacks.__version__,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "seed": args.seed,
        "epsilon": EPS,
        "data": "data/mnist_5k.csv.gz",
        "split": "MNISTSplit (StratifiedSplit seed 0, 100 test images per class); first test indices ascending",
        "images": len(idx),
        "indices": idx,
        "clean_accuracy": clean.float().mean().item(),
        "clean_mask": mask(clean),
        "attacks": {},
    }
    keys = set(args.keys.split(",")) if args.keys else set(BUDGETS)
    if unknown := keys - set(BUDGETS):
        raise SystemExit(f"unknown keys {sorted(unknown)}")
    print(f"clean accuracy on {len(idx)}: {out['clean_accuracy']:.4f}", file=sys.stderr, flush=True)

    def record(key, robust, secs, **extra):
        cls, params = BUDGETS[key]
        out["attacks"][key] = {"torchattacks_class": cls, "params": params, "robust_accuracy":
                               round(robust.float().mean().item(), 6), "robust_mask": mask(robust),
                               "seconds": round(secs, 1), **extra}
        print(f"{key:10s} robust acc {robust.float().mean().item():.4f}  ({secs:.1f} s) {extra or ''}",
              file=sys.stderr, flush=True)
        write(out)

    for key in BUDGETS:
        if key not in keys:
            continue
        seed = int(key.rsplit("seed", 1)[1]) if key.startswith("square_seed") else args.seed
        adv, secs = attack(net, key, x, y, seed)
        record(key, correct(net, adv, y) & clean, secs, seed=seed)


def write(out):
    """Writes the reference after every attack, keeping the attacks it already holds for the same
    weights and images: runs with disjoint --keys (e.g. Square's seeds in other processes)
    add up in one file. A lock file serialises the writers."""
    import fcntl
    with open(os.path.join(tempfile.gettempdir(), "make_robust_fixture.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = dict(out, attacks={})
        if os.path.exists(REFERENCE):
            old = json.load(open(REFERENCE))
            if old["weights_sha256"] == out["weights_sha256"] and old["indices"] == out["indices"]:
                merged["attacks"] = old["attacks"]
        merged["attacks"] = {**merged["attacks"], **out["attacks"]}
        merged["attacks"] = {k: merged["attacks"][k] for k in BUDGETS if k in merged["attacks"]}
        if all(k in merged["attacks"] for k in ENSEMBLE):
            robust, cumulative = merged["clean_mask"], {}
            for k in ENSEMBLE:
                robust = "".join("1" if a == b == "1" else "0" for a, b in zip(robust, merged["attacks"][k]["robust_mask"]))
                cumulative[k] = round(robust.count("1") / len(robust), 6)
            merged["attacks"]["autoattack"] = {
                "composed_from": ENSEMBLE, "robust_accuracy": cumulative[ENSEMBLE[-1]], "robust_mask": robust,
                "cumulative": cumulative}
        if "square" in merged["attacks"]:
            # Square's robust accuracy from seed 0 and every other seed run so far.
            runs = [merged["attacks"][k] for k in ["square", *(f"square_seed{s}" for s in SQUARE_SEEDS)]
                    if k in merged["attacks"]]
            merged["attacks"]["square"]["robust_accuracy_seeds"] = [r["robust_accuracy"] for r in runs]
        tmp = REFERENCE + ".tmp"
        with open(tmp, "w") as f:
            f.write(dumps(merged))
        os.replace(tmp, REFERENCE)
    print(f"wrote {os.path.relpath(REFERENCE, ROOT)}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["train", "attacks"])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    # One thread: the committed files were made so (another count sums in another order), and
    # several single-thread processes with disjoint --keys share 2 busy cores better than one.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--keys", help="comma-separated attacks to (re)make, keeping the reference's others")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    train(args) if args.stage == "train" else attacks(args)


if __name__ == "__main__":
    main()
