#!/usr/bin/env python3
"""torchvision networks in AdvLens, PyTorch and onnxruntime, timed in turns (issue 15, item 7).

    python3 bench/graph_bench.py [--nets resnet18-32,resnet18-224,mobilenet_v2-224]
                                 [--rows forward_b1,forward_b64,fgsm_b64,pgd10_b64,train_consistent_b64]
                                 [--rounds 3] [--threads 2] [--out out/bench/graph.jsonl]

Needs torch, torchvision, onnx and onnxruntime (never part of `make test`). Each network is
torchvision's own (`torch.manual_seed(0)` weights, eval mode), exported once to ONNX (opset 17,
dynamic batch) and loaded from that file by AdvLens (`model/load {"onnx"}`) and onnxruntime, so
all three run the same weights. Inputs are 64 seeded images in [0, 1] and labels, given to
AdvLens as an `npy` dataset so that no request carries pixels.

Rows, each the same work on every side (the first three in eval mode):

- `forward_b1`, `forward_b64`: logits of 1 / 64 images (AdvLens: `predict`).
- `fgsm_b64`: FGSM at eps 8/255 on 64 images: a forward pass, the input gradient of the
  cross-entropy, and a forward pass of the adversarial images for their predictions (AdvLens:
  `attack` method fgsm; the clean predictions come from the first pass on both sides).
- `pgd10_b64`: PGD-10, eps 8/255, step 2/255, uniform random start, every step for every image
  (AdvLens: `earlyStop: false`), then the adversarial predictions.
- `train_consistent_b64`: one consistent-loss training step at batch 64: an FGSM adversary in
  eval mode, then in train mode CE(f(x)) + CE(f(x*)) + 0.1 * mean ||phi(x) - phi(x*)||^2 over
  the penultimate features (the input of the last linear layer, before any dropout), SGD
  lr 0.01 momentum 0.9 (AdvLens: `trainStep`).

On a shared 2-core machine the load changes from minute to minute, so every round times the
three implementations back to back, rotating who goes first, after one warm-up each; a side's
figure is the median over rounds. Each sample starts after a pause of `SETTLE` seconds (and a
sample of calls under `SHORT` seconds with one untimed call, see `timed`): the side
before it may leave threads spinning for work that is not coming (PyTorch's OpenMP threads spin
for milliseconds after an operator, AdvLens's pool helpers 0.2 ms after a request), and without
the pause they took the cores from the next side's first calls (AdvLens's single-image forward
measured 1.36 ms per call right after PyTorch's and 0.61 ms alone; onnxruntime's 0.58 ms after
AdvLens's and 0.51 ms alone). Printed: a table of seconds per call and the ratios
PyTorch / AdvLens and onnxruntime / AdvLens (above 1: AdvLens is faster), and AdvLens's peak RSS
(VmHWM of the daemon). Rows go to --out in bench/compare.py's JSON-lines format.
"""
import argparse
import copy
import json
import os
import pathlib
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
import torchvision

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from attack_bench import Daemon  # noqa: E402

NETS = {  # name: (torchvision constructor, classes, input side)
    "resnet18-32": ("resnet18", 10, 32),
    "resnet18-224": ("resnet18", 1000, 224),
    "mobilenet_v2-224": ("mobilenet_v2", 1000, 224),
}
ROWS = ("forward_b1", "forward_b64", "fgsm_b64", "pgd10_b64", "train_consistent_b64")
EPS, ALPHA, LAMBDA, BATCH = 8 / 255, 2 / 255, 0.1, 64


def penultimate_module(net):
    """The module whose output AdvLens's consistent loss compares by default: the input of the last
    linear layer, or of the dropout in front of it (protocol/training.md)."""
    if hasattr(net, "classifier"):  # MobileNetV2: avgpool+flatten happen in forward(); classifier = Dropout, Linear
        return net.classifier
    return net.fc


class TorchSide:
    """The PyTorch implementation of every row, written as the usual loops are."""

    def __init__(self, net, x, y):
        self.net, self.x, self.y = net, x, y
        self.train_net = None

    def forward(self, n):
        with torch.no_grad():
            return self.net(self.x[:n]).argmax(1)

    def input_grad(self, net, xa):
        xa = xa.detach().requires_grad_(True)
        loss = F.cross_entropy(net(xa), self.y[:len(xa)], reduction="sum")
        (g,) = torch.autograd.grad(loss, [xa])
        return g

    def fgsm(self, net=None):
        net = net or self.net
        xa = (self.x + EPS * self.input_grad(net, self.x).sign()).clamp(0, 1)
        with torch.no_grad():
            return net(xa).argmax(1)

    def pgd10(self):
        x = self.x
        xa = (x + torch.empty_like(x).uniform_(-EPS, EPS)).clamp(0, 1)
        for _ in range(10):
            xa = xa + ALPHA * self.input_grad(self.net, xa).sign()
            xa = torch.min(torch.max(xa, x - EPS), x + EPS).clamp(0, 1)
        with torch.no_grad():
            return self.net(xa).argmax(1)

    def train_consistent(self):
        if self.train_net is None:
            self.train_net = copy.deepcopy(self.net)
            for p in self.train_net.parameters():
                p.requires_grad_(True)
            self.opt = torch.optim.SGD(self.train_net.parameters(), lr=0.01, momentum=0.9)
            self.features = []
            penultimate_module(self.train_net).register_forward_hook(lambda m, inp, out: self.features.append(inp[0]))
        net, x, y = self.train_net, self.x, self.y
        net.eval()
        xa = (x + EPS * self.input_grad(net, x).sign()).clamp(0, 1).detach()
        net.train()
        self.features.clear()
        self.opt.zero_grad(set_to_none=True)
        logits, logits_a = net(x), net(xa)
        phi, phi_a = self.features[-2].flatten(1), self.features[-1].flatten(1)
        loss = F.cross_entropy(logits, y) + F.cross_entropy(logits_a, y) + LAMBDA * (phi - phi_a).pow(2).sum(1).mean()
        loss.backward()
        self.opt.step()
        self.features.clear()


class AdvLensSide:
    """The same rows as requests to a warm advlensd."""

    def __init__(self, daemon, model, dataset):
        self.d, self.model, self.dataset = daemon, model, dataset

    def inputs(self, n):
        return {"dataset": self.dataset, "indices": list(range(n))}

    def forward(self, n):
        return self.d.call("predict", {"model": self.model, "inputs": self.inputs(n)})

    def attack(self, params):
        return self.d.call("attack", {"model": self.model, "inputs": self.inputs(BATCH), "epsilon": EPS,
                                      "earlyStop": False, "seed": 0, **params})

    def fgsm(self):
        return self.attack({"method": "fgsm"})

    def pgd10(self):
        return self.attack({"method": "pgd", "steps": 10, "stepSize": ALPHA, "randomStart": True})

    def train_consistent(self):
        return self.d.call("trainStep", {"model": self.model + "-train", "dataset": self.dataset, "batchSize": BATCH,
                                         "steps": 1, "seed": 0,
                                         "objective": {"kind": "consistent", "lambda": LAMBDA,
                                                       "adversary": {"method": "fgsm", "epsilon": EPS}},
                                         "optimizer": {"kind": "sgd", "learningRate": 0.01, "momentum": 0.9}})


class OrtSide:
    """onnxruntime on the same file, forward rows only (it has no gradients)."""

    def __init__(self, path, x, threads):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No spinning after a run: its threads live in this process, whose CPU time is PyTorch's figure.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.name = self.session.get_inputs()[0].name
        self.x = x.numpy()

    def forward(self, n):
        return self.session.run(None, {self.name: self.x[:n]})[0]


def calls(side, row):
    """The zero-argument call that does one unit of the row's work on a side (None: not supported)."""
    if row == "forward_b1":
        return lambda: side.forward(1)
    if row == "forward_b64":
        return lambda: side.forward(BATCH)
    if isinstance(side, OrtSide):
        return None
    return {"fgsm_b64": side.fgsm, "pgd10_b64": side.pgd10, "train_consistent_b64": side.train_consistent}[row]


def repeats(row):
    """Calls per timed sample: a single-image forward is milliseconds, so several make one sample."""
    return 10 if row == "forward_b1" else 1


def cpu_seconds(pid):
    """User + system CPU time of a process (all its threads) from /proc."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SETTLE = 0.02  # seconds before each sample: the previous side's spinning threads go to sleep
SHORT = 0.5  # seconds: a sample of calls shorter than this starts with an untimed call


def timed(fn, n, pid, warm):
    """Wall seconds and CPU seconds per call; the CPU time is the process that does the work (the
    daemon for AdvLens, this one for PyTorch and onnxruntime), less sensitive than wall time to
    the other programs sharing the cores. After the pause, `warm` makes one untimed call first:
    the first call after an idle spell wakes sleeping threads and slowed cores (13 ms forwards
    took 18 ms on every side), which a short call does not amortise."""
    time.sleep(SETTLE)
    if warm:
        fn()
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n, (cpu_seconds(pid) - c0) / n


def prepare(net_name, workdir):
    """torchvision's network, its ONNX export, and the seeded inputs as .npy files."""
    ctor, classes, side = NETS[net_name]
    torch.manual_seed(0)
    net = getattr(torchvision.models, ctor)(num_classes=classes).eval()
    workdir.mkdir(parents=True, exist_ok=True)
    onnx_path = workdir / f"{net_name}.onnx"
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(BATCH, 3, side, side, generator=generator)
    y = torch.randint(0, classes, (BATCH,), generator=generator)
    if not onnx_path.is_file():
        torch.onnx.export(net, x[:1], str(onnx_path), dynamo=False, opset_version=17, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    np.save(workdir / "images.npy", x.numpy())
    np.save(workdir / "labels.npy", y.numpy().astype(np.int64))
    return net, x, y, onnx_path


def peak_rss_mb(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--workdir", default=str(ROOT / "out/bench/graph"), help="ONNX files and inputs (inside the repository: the daemon reads them)")
    ap.add_argument("--out", default=str(ROOT / "out/bench/graph.jsonl"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rows = [r for r in a.rows.split(",") if r]
    out = open(a.out, "a")
    table = []
    for net_name in a.nets.split(","):
        workdir = pathlib.Path(a.workdir) / net_name
        net, x, y, onnx_path = prepare(net_name, workdir)
        daemon = Daemon(a.advlensd)
        try:
            daemon.call("initialize", {"rootPath": str(ROOT)})
            for model in (net_name, net_name + "-train"):
                daemon.call("model/load", {"name": model, "onnx": str(onnx_path)})
            daemon.call("dataset/load", {"name": net_name, "kind": "npy", "images": str(workdir / "images.npy"),
                                         "labels": str(workdir / "labels.npy")})
            sides = {"advlens": AdvLensSide(daemon, net_name, net_name), "pytorch": TorchSide(net, x, y),
                     "onnxruntime": OrtSide(onnx_path, x, a.threads)}
            for row in rows:
                fns = {impl: calls(side, row) for impl, side in sides.items()}
                fns = {impl: fn for impl, fn in fns.items() if fn is not None}
                last = {}
                for impl, fn in fns.items():  # warm-up: kernels, first-touch memory, lazy initialisation
                    t0 = time.perf_counter()
                    fn()
                    last[impl] = time.perf_counter() - t0
                seconds = {impl: [] for impl in fns}
                cpu = {impl: [] for impl in fns}
                order = list(fns)
                for r in range(a.rounds):
                    for impl in order[r % len(order):] + order[:r % len(order)]:
                        wall, busy = timed(fns[impl], repeats(row), daemon.proc.pid if impl == "advlens" else os.getpid(),
                                           warm=last[impl] < SHORT)
                        last[impl] = wall
                        seconds[impl].append(wall)
                        cpu[impl].append(busy)
                    print(f"[{net_name}] {row} round {r + 1}: " + ", ".join(f"{i} {s[-1]:.4f} s" for i, s in seconds.items()),
                          file=sys.stderr, flush=True)
                median = {impl: statistics.median(s) for impl, s in seconds.items()}
                median_cpu = {impl: statistics.median(s) for impl, s in cpu.items()}
                images = 1 if row == "forward_b1" else BATCH
                for impl, m in median.items():
                    out.write(json.dumps({"impl": impl, "model": net_name, "row": row, "value": round(images / m, 3),
                                          "unit": "img/s", "seconds": round(m, 5), "rounds": [round(s, 5) for s in seconds[impl]],
                                          "cpuSeconds": round(median_cpu[impl], 5),
                                          "interleaved": True, "threads": a.threads}) + "\n")
                table.append((net_name, row, median, median_cpu))
            rss = peak_rss_mb(daemon.proc.pid)
            out.write(json.dumps({"impl": "advlens", "model": net_name, "row": "peak_rss", "value": round(rss, 1), "unit": "MB"}) + "\n")
            table.append((net_name, "peak RSS (MB)", {"advlens": rss}, {}))
        finally:
            daemon.close()
    out.close()
    print(f"Wall seconds per call (median of {a.rounds} rounds) and ratios (above 1: AdvLens is faster); "
          "in brackets the same ratio in CPU seconds")
    print("| network | row | AdvLens s | PyTorch s | onnxruntime s | PyTorch / AdvLens | onnxruntime / AdvLens |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for net_name, row, m, c in table:
        if row.startswith("peak"):
            print(f"| {net_name} | {row} | {m['advlens']:.0f} | | | | |")
            continue
        fmt = lambda impl: f"{m[impl]:.4f}" if impl in m else "—"
        ratio = lambda impl: f"{m[impl] / m['advlens']:.2f}x ({c[impl] / max(c['advlens'], 1e-9):.2f}x)" if impl in m else "—"
        print(f"| {net_name} | {row} | {fmt('advlens')} | {fmt('pytorch')} | {fmt('onnxruntime')} | {ratio('pytorch')} | {ratio('onnxruntime')} |")


if __name__ == "__main__":
    main()
