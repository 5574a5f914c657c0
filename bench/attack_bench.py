#!/usr/bin/env python3
"""AdvLens's attacks timed through the daemon, the counterpart of bench/torchattacks_reference.py.

    python3 bench/attack_bench.py [--weights-dir out/models] [--advlensd .build/release/advlensd] [--runs 3]
                                  [--rows fgsm,mifgsm10,pgd40,...] [--models mnist-madry]

Same 256 test images (the first 256 of the test split), same weights (DIR/<arch>/model.json +
model.safetensors, trained: `make bench` trains them with advlens-train when missing), same
attack parameters as the torchattacks rows. Each row is a real `attack` request to a warm
advlensd over stdio; img/s = samples / wall time of the request (median of --runs after one
warm-up), so decoding inputs and encoding results are included. AdvLens's per-sample early
stopping is on (its default); torchattacks has none for these attacks.
Prints JSON lines ("impl": "advlens", rows attack_*, plus attack_*_robust robust accuracies).
"""
import argparse
import io
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROWS = {
    "fgsm": {"method": "fgsm", "epsilon": 0.3},
    "pgd40": {"method": "pgd", "epsilon": 0.3, "stepSize": 0.01, "steps": 40},
    "mifgsm10": {"method": "mifgsm", "epsilon": 0.3, "stepSize": 0.03, "steps": 10, "decay": 1.0},
    "pgdl2_40": {"method": "pgd", "norm": "l2", "epsilon": 2.0, "stepSize": 0.2, "steps": 40},
    "cw100": {"method": "cw", "c": 1.0, "kappa": 0.0, "steps": 100, "learningRate": 0.01},
    "deepfool50": {"method": "deepfool", "steps": 50, "overshoot": 0.02},
    # The AutoAttack family at the paper's budgets (issue 17).
    "apgd100": {"method": "apgd", "epsilon": 0.3, "steps": 100, "loss": "ce"},
    "autoattack": {"method": "autoattack", "epsilon": 0.3, "version": "standard"},
}
ENSEMBLE = {"method": "ensemble-opt", "steps": 100, "learningRate": 0.01, "lambda": 0.05}


class Daemon:
    """A warm advlensd over stdio with a private cache database (the benchmark's kept results must
    not pile up in ~/.cache); bench/attack_interleaved.py uses it too."""

    def __init__(self, binary):
        self.cache_dir = tempfile.mkdtemp(prefix="advlens-bench-cache-")
        self.proc = subprocess.Popen([binary, "--log-level", "error", "--cache", os.path.join(self.cache_dir, "cache.sqlite")],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        # A buffered reader: readline on the raw pipe would read one byte per system call, which
        # for a 100 KB reply costs more than the attack.
        self.replies = io.open(self.proc.stdout.fileno(), "rb", buffering=1 << 16, closefd=False)
        self.next_id = 0

    def call(self, method, params):
        self.next_id += 1
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                                          "params": params}).encode() + b"\n")
        while True:
            reply = json.loads(self.replies.readline())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.cache_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights-dir", default=str(ROOT / "out/models"))
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--rows", default=",".join(list(ROWS) + ["ensemble100"]),
                    help="comma-separated subset of: " + ", ".join(list(ROWS) + ["ensemble100"]))
    ap.add_argument("--models", default="mnist-small,mnist-madry", help="the single-model rows' models")
    args = ap.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    if unknown := [r for r in rows if r not in ROWS and r != "ensemble100"]:
        raise SystemExit(f"unknown rows {unknown}")
    models = [m.strip() for m in args.models.split(",") if m.strip()]

    daemon = Daemon(args.advlensd)
    call = daemon.call
    call("initialize", {"rootPath": str(ROOT)})
    weights = pathlib.Path(args.weights_dir).resolve()
    for arch in ("mnist-small", "mnist-madry"):
        rel = weights.relative_to(ROOT) / arch
        call("model/load", {"name": arch, "spec": f"{rel}/model.json", "weights": f"{rel}/model.safetensors"})
    # Split version 1 (dataset order): torchattacks_reference.py attacks the first 256 test indices ascending.
    call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": {"testPerClass": 100, "version": 1}})
    inputs = {"dataset": "mnist-test", "indices": list(range(args.images))}
    labels = call("predict", {"model": "mnist-small", "inputs": inputs, "topK": 1})
    targets = [(p["label"] + 1) % 10 for p in labels["predictions"]]

    def timed(model_params, params):
        result = None
        times = []
        for run in range(args.runs + 1):
            t0 = time.perf_counter()
            result = call("attack", {**model_params, **params, "inputs": inputs})
            if run > 0:
                times.append(time.perf_counter() - t0)
            call("handle/drop", {"handle": result["handle"]})
        return result["summary"]["count"] / statistics.median(times), result["summary"]["robustAccuracy"]

    def emit(model, row, value, unit):
        print(json.dumps({"impl": "advlens", "model": model, "row": row, "value": round(value, 4), "unit": unit}), flush=True)

    for arch in models:
        for row, params in ROWS.items():
            if row not in rows:
                continue
            rate, robust = timed({"model": arch}, params)
            emit(arch, f"attack_{row}", rate, "img/s")
            emit(arch, f"attack_{row}_robust", robust, "robust_acc")
    if "ensemble100" in rows:
        rate, robust = timed({"models": [{"name": "mnist-small"}, {"name": "mnist-madry"}]}, {**ENSEMBLE, "target": targets})
        emit("mnist-small+mnist-madry", "attack_ensemble100", rate, "img/s")
        emit("mnist-small+mnist-madry", "attack_ensemble100_robust", robust, "robust_acc")
    daemon.close()


if __name__ == "__main__":
    main()
