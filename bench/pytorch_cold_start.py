#!/usr/bin/env python3
"""The cold PyTorch counterpart of advlensd's classify_one_cold_ms: a new Python process that
imports torch, builds mnist-small, loads the same safetensors weights and classifies one
image. Timed from process spawn to exit, median of 5. Prints one JSON line
("impl": "pytorch", "row": "classify_one_cold_ms").

Usage: python3 bench/pytorch_cold_start.py [--weights-dir out/bench/weights]
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

CHILD = r"""
import sys, torch
from torch import nn
from safetensors.torch import load_file
torch.set_num_threads(2)
m = nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Flatten(), nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 10))
m.load_state_dict(load_file(sys.argv[1]))
m.eval()
x = torch.tensor([((i * 37) % 255) / 255.0 for i in range(784)]).reshape(1, 1, 28, 28)
with torch.no_grad():
    print(int(m(x).argmax()))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights-dir", default=str(pathlib.Path(__file__).resolve().parents[1] / "out/bench/weights"))
    args = ap.parse_args()
    weights = pathlib.Path(args.weights_dir) / "mnist-small/model.safetensors"
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", CHILD, str(weights)], check=True, capture_output=True)
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"impl": "pytorch", "model": "mnist-small", "row": "classify_one_cold_ms",
                      "value": round(statistics.median(times), 3), "unit": "ms"}))


if __name__ == "__main__":
    main()
