#!/usr/bin/env python3
"""PyTorch reference benchmark for AdvLens (see bench/README.md).

    python3 bench/pytorch_reference.py [--weights-dir DIR] [--threads 2] [--quick] [--models a,b] [--rows r1,r2]

Prints one JSON object per line on stdout, first an "info" row, then e.g.
    {"impl": "pytorch", "model": "mnist-small", "row": "forward_b256", "value": 12345.6, "unit": "img/s"}
Progress/diagnostics go to stderr. CPU only, float32, eval mode unless stated.
"""
import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- the built-in models

def mnist_small():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 10))


def mnist_madry():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Linear(1024, 10))


ARCHS = {"mnist-small": mnist_small, "mnist-madry": mnist_madry}
INPUT_SHAPE = (1, 28, 28)  # both are MNIST models: range [0,1], mean 0, std 1 (no-op normalisation)


def build(arch, weights_dir):
    torch.manual_seed(0)
    net = ARCHS[arch]()
    src = "default init (seed 0)"
    if weights_dir:
        path = os.path.join(weights_dir, arch, "model.safetensors")
        if os.path.exists(path):
            from safetensors.torch import load_file
            net.load_state_dict(load_file(path))
            src = path
    return net.eval(), src


# ---------------------------------------------------------------- timing

def timed(fn, min_time, min_iters=3, warmup=3, chunks=5):
    """Warm up, then time fn in `chunks` back-to-back chunks, each running until
    min_time/chunks seconds and min_iters calls have passed.

    Returns (per_call_seconds, rate) where rate = the MEDIAN over chunks of
    calls/second. The median of chunks keeps a transient stall (a noisy VM, another
    process) from dragging the figure down, while each chunk is still a throughput
    measurement of back-to-back calls."""
    w_end = time.perf_counter() + min(0.25, min_time / 4)
    for i in range(10 ** 9):
        fn()
        if i + 1 >= warmup and time.perf_counter() >= w_end:
            break
    times, rates = [], []
    for _ in range(chunks):
        n, start = 0, time.perf_counter()
        while True:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            n += 1
            if n >= min_iters and time.perf_counter() - start >= min_time / chunks:
                break
        rates.append(n / (time.perf_counter() - start))
    return times, statistics.median(rates)


def emit(model, row, value, unit):
    print(json.dumps({"impl": "pytorch", "model": model, "row": row, "value": round(value, 4), "unit": unit}),
          flush=True)


def bench_model(arch, weights_dir, min_time, wants=lambda row: True):
    net, src = build(arch, weights_dir)
    print(f"[{arch}] weights: {src}", file=sys.stderr)
    g = torch.Generator().manual_seed(42)
    xs = {b: torch.rand((b,) + INPUT_SHAPE, generator=g) for b in (1, 64, 256)}
    ys = {b: torch.randint(0, 10, (b,), generator=g) for b in (64, 256)}

    # forward latency and throughput, inference mode
    with torch.inference_mode():
        x1 = xs[1]
        if wants("forward_b1"):
            t, rate = timed(lambda: net(x1), min_time, min_iters=20, warmup=20)
            emit(arch, "forward_b1_ms", statistics.median(t) * 1e3, "ms")
            emit(arch, "forward_b1", rate, "img/s")
        for b in (64, 256):
            xb = xs[b]
            if wants(f"forward_b{b}"):
                _, rate = timed(lambda: net(xb), min_time)
                emit(arch, f"forward_b{b}", b * rate, "img/s")

    # forward + backward to the input only (an attack step)
    for p in net.parameters():
        p.requires_grad_(False)
    x, y = xs[256], ys[256]

    def attack_step():
        xg = x.detach().requires_grad_(True)
        loss = F.cross_entropy(net(xg), y, reduction="sum")
        (gx,) = torch.autograd.grad(loss, [xg])
        return gx

    if wants("fwd_inputgrad_b256"):
        _, rate = timed(attack_step, min_time)
        emit(arch, "fwd_inputgrad_b256", 256 * rate, "img/s")
    bench_objectives(arch, net, xs[64], ys[64], min_time, wants)
    if not wants("train_step_b64"):
        return

    # training step: train mode, Adam lr 1e-3, CE mean (on a copy, so the eval net is unchanged)
    tnet = copy.deepcopy(net).train()
    for p in tnet.parameters():
        p.requires_grad_(True)
    opt = torch.optim.Adam(tnet.parameters(), lr=1e-3)
    x64, y64 = xs[64], ys[64]

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(tnet(x64), y64)
        loss.backward()
        opt.step()

    _, rate = timed(train_step, min_time)
    emit(arch, "train_step_b64", rate, "steps/s")


def bench_objectives(arch, net, x, y, min_time, wants):
    """trainStep's objectives at batch 64 as the usual PyTorch loops write them (the rows of
    advlens-bench's benchObjectives): SGD lr 0.01 momentum 0.9; standard CE; Madry's PGD-7
    (eps 0.3, step 0.1, uniform random start, the attack in eval mode as TRADES' code does,
    the step in train mode); the consistent loss CE(x) + CE(x*) + 0.1 * ||phi(x) - phi(x*)||^2
    (squared distance summed over the penultimate layer's features, mean over the batch) with
    FGSM eps 0.3 x*. Each on a fresh copy of the model."""
    eps, alpha = 0.3, 0.1

    def fresh():
        tnet = copy.deepcopy(net)
        for p in tnet.parameters():
            p.requires_grad_(True)
        return tnet, torch.optim.SGD(tnet.parameters(), lr=0.01, momentum=0.9)

    def input_grad(tnet, xa):
        xa = xa.detach().requires_grad_(True)
        loss = F.cross_entropy(tnet(xa), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, [xa])
        return g

    def pgd(tnet, steps, random_start):
        tnet.eval()
        xa = x.clone()
        if random_start:
            xa = (xa + torch.empty_like(xa).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(steps):
            xa = xa + (alpha if steps > 1 else eps) * input_grad(tnet, xa).sign()
            xa = torch.min(torch.max(xa, x - eps), x + eps).clamp(0, 1)
        tnet.train()
        return xa.detach()

    def step_standard(tnet, opt):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(tnet(x), y).backward()
        opt.step()

    def step_pgd7(tnet, opt):
        xa = pgd(tnet, 7, True)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(tnet(xa), y).backward()
        opt.step()

    def step_consistent(tnet, opt):
        xa = pgd(tnet, 1, False)   # FGSM
        features, head = tnet[:-1], tnet[-1]
        opt.zero_grad(set_to_none=True)
        phi, phi_a = features(x), features(xa)
        loss = F.cross_entropy(head(phi), y) + F.cross_entropy(head(phi_a), y) \
            + 0.1 * (phi - phi_a).pow(2).sum(1).mean()
        loss.backward()
        opt.step()

    for row, step in (("train_standard_b64", step_standard), ("train_pgd7_b64", step_pgd7),
                      ("train_consistent_b64", step_consistent)):
        if wants(row):
            tnet, opt = fresh()
            tnet.train()
            _, rate = timed(lambda: step(tnet, opt), min_time)
            emit(arch, row, rate, "steps/s")


def bench_sgemm(min_time, n=1024):
    g = torch.Generator().manual_seed(7)
    a = torch.rand(n, n, generator=g)
    b = torch.rand(n, n, generator=g)
    _, rate = timed(lambda: torch.mm(a, b), min_time)
    emit("-", f"sgemm_{n}", 2 * n ** 3 * rate / 1e9, "GFLOP/s")


# Single convolution layers (advlens-bench's ConvBench.swift): row prefix, input [C, H, W], the layer.
CONVS = [
    ("dwconv3x3_144x56x56", (144, 56, 56), lambda: nn.Conv2d(144, 144, 3, padding=1, groups=144)),
    ("dwconv3x3s2_96x112x112", (96, 112, 112), lambda: nn.Conv2d(96, 96, 3, stride=2, padding=1, groups=96)),
    ("dilconv3x3d2_64x28x28", (64, 28, 28), lambda: nn.Conv2d(64, 64, 3, padding=2, dilation=2)),
]
CONV_BATCH = 16


def bench_convs(min_time, wants):
    """Forward, and forward + input gradient (weights frozen, as an attack step), at batch 16."""
    for prefix, shape, make in CONVS:
        torch.manual_seed(0)
        conv = make().eval()
        for p in conv.parameters():
            p.requires_grad_(False)
        x = torch.rand((CONV_BATCH,) + shape, generator=torch.Generator().manual_seed(1))
        if wants(f"{prefix}_fwd"):
            with torch.inference_mode():
                _, rate = timed(lambda: conv(x), min_time)
            emit("-", f"{prefix}_fwd_b{CONV_BATCH}", CONV_BATCH * rate, "img/s")
        if wants(f"{prefix}_fwdgrad"):
            def step():
                xg = x.clone().requires_grad_(True)
                conv(xg).sum().backward()
                return xg.grad
            _, rate = timed(step, min_time)
            emit("-", f"{prefix}_fwdgrad_b{CONV_BATCH}", CONV_BATCH * rate, "img/s")


def main():
    ap = argparse.ArgumentParser(description="PyTorch reference benchmark for AdvLens")
    ap.add_argument("--weights-dir", default=None,
                    help="load DIR/<arch>/model.safetensors when it exists (else default init, seed 0)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--quick", action="store_true", help="short runs (~0.5 s per row) for a smoke test")
    ap.add_argument("--min-time", type=float, default=None,
                    help="timed seconds per row, after warm-up (default 2, --quick 0.5)")
    ap.add_argument("--models", default=",".join(ARCHS), help="models to benchmark (comma separated)")
    ap.add_argument("--rows", default=None,
                    help="only rows whose names start with these prefixes (comma separated), as advlens-bench --rows")
    a = ap.parse_args()
    prefixes = a.rows.split(",") if a.rows else None

    def wants(row):
        return prefixes is None or any(row.startswith(p) for p in prefixes)

    min_time = a.min_time if a.min_time is not None else (0.5 if a.quick else 2.0)

    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(True)
    print(json.dumps({"impl": "pytorch", "model": "-", "row": "info", "value": None, "unit": "-",
                      "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "mkldnn": torch.backends.mkldnn.is_available(),
                      "python": platform.python_version(), "machine": platform.machine(),
                      "min_time_s": min_time}), flush=True)
    if wants("sgemm_1024"):
        bench_sgemm(min_time)
    bench_convs(min_time, wants)
    for arch in filter(None, a.models.split(",")):
        bench_model(arch, a.weights_dir, min_time, wants)


if __name__ == "__main__":
    main()
