#!/usr/bin/env python3
"""PyTorch training reference for AdvLens (see bench/README.md, "Training reference").

    python3 bench/pytorch_train_reference.py [--arch mnist-small|mnist-madry|all]
                                             [--seeds 0,1,2] [--threads 2]

Trains each architecture with AdvLens's recipe on AdvLens's exact MNIST split, so the Swift
trainer's test accuracy can be compared with what PyTorch reaches:

- data: data/mnist_5k.csv.gz (784 pixels 0-255 then the label), pixels / 255 as float32;
- split: `MNISTSplit` / `StratifiedSplit` (seed 0, 100 test images per class; 4000 train,
  1000 test), reimplemented bit for bit below, including the xoshiro256** generator;
- recipe: PyTorch default init, Adam(lr=1e-3) with PyTorch defaults otherwise, batch 64,
  5 epochs, shuffled every epoch (last batch of 32 kept, like DataLoader's default and
  AdvLens's `Batches(dropLast: false)`), cross-entropy loss (mean over the batch).

For training seed s, `torch.manual_seed(s)` is set before the model is built; the
initialisation and the per-epoch shuffles (`torch.randperm`) then come from PyTorch's
generator, as in a plain PyTorch script. The split never depends on s (it is AdvLens's
fixed split, seed 0).

stdout: per seed and epoch a human-readable line, one JSON line per seed
    {"impl": "pytorch", "model": "mnist-small", "row": "test_accuracy_5ep", "seed": 0, "value": 0.945, "per_epoch": [...]}
and a summary line per architecture (mean, min, max over seeds), also as JSON
    {"impl": "pytorch", "model": "mnist-small", "row": "test_accuracy_5ep_summary", ...}.
Informational lines (split check, timing) go to stderr. The split's index lists are
written to out/pytorch-train/split.json.
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "mnist_5k.csv.gz")
SPLIT_OUT = os.path.join(ROOT, "out", "pytorch-train", "split.json")

MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------- AdvLens's SeededRNG

class SeededRNG:
    """xoshiro256** seeded by SplitMix64, exactly as Sources/TensorEngine/RNG.swift."""

    def __init__(self, seed):
        sm = seed & MASK64

        def splitmix():
            nonlocal sm
            sm = (sm + 0x9E3779B97F4A7C15) & MASK64
            z = sm
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            return z ^ (z >> 31)

        self.s0, self.s1, self.s2, self.s3 = splitmix(), splitmix(), splitmix(), splitmix()

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next(self):
        s0, s1, s2, s3 = self.s0, self.s1, self.s2, self.s3
        result = (self._rotl((s1 * 5) & MASK64, 7) * 9) & MASK64
        t = (s1 << 17) & MASK64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = self._rotl(s3, 45)
        self.s0, self.s1, self.s2, self.s3 = s0, s1, s2, s3
        return result

    def next_below(self, n):
        """Lemire's multiply-and-reject, unbiased in [0, n)."""
        assert n > 0
        m = self.next() * n
        low = m & MASK64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next() * n
                low = m & MASK64
        return m >> 64

    def shuffle(self, a):
        """Fisher-Yates from the last index down, j = next_below(i + 1); in place."""
        for i in range(len(a) - 1, 0, -1):
            j = self.next_below(i + 1)
            a[i], a[j] = a[j], a[i]


def stratified_split(labels, test_per_class, seed):
    """Sources/Data/StratifiedSplit.swift, split(labels:testPerClass:seed:)."""
    by_class = {}
    for i, l in enumerate(labels):
        by_class.setdefault(l, []).append(i)
    rng = SeededRNG(seed)
    train, test = [], []
    for label in sorted(by_class):
        indices = by_class[label]
        if len(indices) <= test_per_class:
            raise ValueError(f"class {label} has {len(indices)} items, too few")
        rng.shuffle(indices)
        test += indices[:test_per_class]
        train += indices[test_per_class:]
    return sorted(train), sorted(test)


def self_check_rng():
    rng = SeededRNG(0)
    first = [rng.next() for _ in range(3)]
    expected = [11091344671253066420, 13793997310169335082, 1900383378846508768]
    if first != expected:
        raise SystemExit(f"SeededRNG self-check failed: {first} != {expected}")


# ---------------------------------------------------------------- data

def load_mnist_csv(path):
    """(images [N,1,28,28] float32 in [0,1], labels [N] int64), like MNISTCSV.load."""
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] != 785:
        raise SystemExit(f"{path}: expected 785 columns, got shape {rows.shape}")
    pixels = rows[:, :784].astype(np.float32) / np.float32(255)
    labels = rows[:, 784]
    return torch.from_numpy(pixels.reshape(-1, 1, 28, 28).copy()), torch.from_numpy(labels.copy())


# ---------------------------------------------------------------- models

# The built-in architectures, defined once for every reference script.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import ARCHS  # noqa: E402


# ---------------------------------------------------------------- training

@torch.no_grad()
def accuracy(net, x, y, batch=500):
    net.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train_one(arch, seed, xtr, ytr, xte, yte, epochs, batch_size, lr):
    torch.manual_seed(seed)
    net = ARCHS[arch]()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    accs = []
    n = len(xtr)
    for epoch in range(epochs):
        net.train()
        t0 = time.perf_counter()
        order = torch.randperm(n)
        total_loss = 0.0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
        acc = accuracy(net, xte, yte)
        accs.append(acc)
        print(f"{arch} seed {seed} epoch {epoch + 1}: train loss {total_loss / n:.4f}  "
              f"test accuracy {acc:.4f}  ({time.perf_counter() - t0:.1f} s)", flush=True)
    return accs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="all", choices=["all", *ARCHS])
    p.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--data", default=DATA)
    p.add_argument("--split-seed", type=int, default=0, help="AdvLens's MNISTSplit.defaultSeed is 0")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    archs = list(ARCHS) if args.arch == "all" else [args.arch]

    self_check_rng()
    images, labels = load_mnist_csv(args.data)
    train_idx, test_idx = stratified_split(labels.tolist(), 100, args.split_seed)
    counts = lambda idx: [int((labels[idx] == c).sum()) for c in range(10)]
    print(f"split (seed {args.split_seed}): {len(train_idx)} train, {len(test_idx)} test; "
          f"first 10 test indices {test_idx[:10]}; test class counts {counts(test_idx)}; "
          f"train class counts {counts(train_idx)}", file=sys.stderr)
    os.makedirs(os.path.dirname(SPLIT_OUT), exist_ok=True)
    with open(SPLIT_OUT, "w") as f:
        json.dump({"data": os.path.relpath(args.data, ROOT), "seed": args.split_seed, "test_per_class": 100,
                   "train": train_idx, "test": test_idx}, f)
    print(f"wrote {os.path.relpath(SPLIT_OUT, ROOT)}", file=sys.stderr)

    xtr, ytr = images[train_idx], labels[train_idx]
    xte, yte = images[test_idx], labels[test_idx]
    print(json.dumps({"impl": "pytorch", "model": "-", "row": "info", "value": None, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "epochs": args.epochs, "batch_size": args.batch_size,
                      "optimizer": f"Adam(lr={args.lr})", "split_seed": args.split_seed,
                      "train": len(train_idx), "test": len(test_idx), "first_test_indices": test_idx[:10]}),
          flush=True)

    row = f"test_accuracy_{args.epochs}ep"
    for arch in archs:
        finals = []
        for seed in seeds:
            accs = train_one(arch, seed, xtr, ytr, xte, yte, args.epochs, args.batch_size, args.lr)
            finals.append(accs[-1])
            print(f"{arch} seed {seed}: per-epoch test accuracy {' '.join(f'{a:.4f}' for a in accs)}", flush=True)
            print(json.dumps({"impl": "pytorch", "model": arch, "row": row, "seed": seed, "value": accs[-1],
                              "per_epoch": accs}), flush=True)
        mean = statistics.mean(finals)
        print(f"{arch}: final test accuracy over seeds {seeds}: mean {mean:.4f}  "
              f"min {min(finals):.4f}  max {max(finals):.4f}", flush=True)
        print(json.dumps({"impl": "pytorch", "model": arch, "row": row + "_summary", "seeds": seeds,
                          "mean": mean, "min": min(finals), "max": max(finals),
                          "stdev": statistics.stdev(finals) if len(finals) > 1 else 0.0}), flush=True)


if __name__ == "__main__":
    main()
