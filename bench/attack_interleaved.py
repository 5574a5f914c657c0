#!/usr/bin/env python3
"""AdvLens and torchattacks timed in turns, for the rows whose ratio matters most (issue 17, item 5).

    python3 bench/attack_interleaved.py --advlens-out out/bench/advlens.jsonl
                                        --reference-out out/bench/reference.jsonl
                                        [--weights-dir out/models] [--rows apgd100,autoattack]
                                        [--models mnist-small,mnist-madry] [--rounds 3] [--threads 2]

On a shared 2-core machine the load changes from minute to minute, so two programs timed one
after the other compare two different machines. Here every round times one AdvLens request and
one torchattacks call of the same row back to back (AdvLens first in even rounds, torchattacks
first in odd ones), after one warm-up of each; each side's figure is the median over the rounds.

Rows, on the first --images (256) test images, L-inf eps 0.3, the paper's budgets:

- `apgd100`: APGD-CE, 100 steps, 1 restart. AdvLens runs with `earlyStop: false`, so both do
  every step for every image (torchattacks' APGD has no per-image stop).
- `autoattack`: AutoAttack standard: APGD-CE, APGD-T (9 targets), FAB-T (9 targets), Square
  (5,000 queries), each on the images the earlier ones left robust; on the torchattacks side
  bench/torchattacks_reference.py's AutoAttackStandard composes its attacks at those budgets
  (torchattacks' own AutoAttack class runs 10 steps). AdvLens runs it with `earlyStop: false`,
  which AutoAttack passes on to its members (Sources/Attacks/Methods/AutoAttack.swift), so
  its APGD-CE and APGD-T run every step on every image they get, as torchattacks' APGD and
  APGDT do; on both sides each member gets only the images the ones before it left robust.
  (One difference remains: without early stopping AdvLens's Square keeps searching on images
  it has fooled, where torchattacks' stops; it runs only on what the gradient attacks left.)

AdvLens is a real `attack` request to a warm advlensd over stdio (decoding and encoding
included); torchattacks runs with torch.set_num_threads(--threads). Rows go to the two files
(appended) in bench/compare.py's format with `"interleaved": true`, the rounds' seconds and the
robust accuracy each side reached (`attack_<row>_robust`).
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import torch
import torchattacks

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from attack_bench import Daemon  # noqa: E402
from torchattacks_reference import ATTACK_ROWS, AutoAttackStandard, accuracy, load, test_images  # noqa: E402

ADVLENS_ROWS = {
    "apgd100": {"method": "apgd", "epsilon": 0.3, "steps": 100, "restarts": 1, "loss": "ce", "earlyStop": False},
    "autoattack": {"method": "autoattack", "epsilon": 0.3, "version": "standard", "earlyStop": False},
}
WARMUP_IMAGES = 16  # torchattacks' warm-up: its kernels, not the whole row again


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights-dir", default=str(ROOT / "out/models"))
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--advlens-out", required=True)
    ap.add_argument("--reference-out", required=True)
    ap.add_argument("--rows", default="apgd100,autoattack")
    ap.add_argument("--models", default="mnist-small,mnist-madry")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    rows = [r for r in a.rows.split(",") if r]
    if unknown := [r for r in rows if r not in ADVLENS_ROWS]:
        raise SystemExit(f"unknown rows {unknown} (have {', '.join(ADVLENS_ROWS)})")
    models = [m for m in a.models.split(",") if m]

    torch.set_num_threads(a.threads)
    _, x, y = test_images(a.images)
    weights = pathlib.Path(a.weights_dir).resolve()
    daemon = Daemon(a.advlensd)
    daemon.call("initialize", {"rootPath": str(ROOT)})
    # Split version 1 (dataset order): the reference side attacks the first test indices ascending.
    daemon.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz",
                                 "split": {"testPerClass": 100, "version": 1}})
    inputs = {"dataset": "mnist-test", "indices": list(range(a.images))}
    out = {"advlens": open(a.advlens_out, "a"), "torchattacks": open(a.reference_out, "a")}

    def emit(impl, model, row, value, unit, **extra):
        line = {"impl": impl, "model": model, "row": row, "value": round(value, 4), "unit": unit, **extra}
        out[impl].write(json.dumps(line) + "\n")
        out[impl].flush()

    try:
        for arch in models:
            rel = (weights / arch).relative_to(ROOT)
            daemon.call("model/load", {"name": arch, "spec": f"{rel}/model.json", "weights": f"{rel}/model.safetensors"})
            net = load(arch, str(weights / arch / "model.safetensors"))
            for row in rows:
                cls_name, params = ATTACK_ROWS[row]
                atk = (AutoAttackStandard(net, **params) if cls_name == "autoattack"
                       else getattr(torchattacks, cls_name)(net, **params))
                request = {"model": arch, **ADVLENS_ROWS[row], "inputs": inputs}

                def advlens():
                    t0 = time.perf_counter()
                    r = daemon.call("attack", request)
                    secs = time.perf_counter() - t0
                    daemon.call("handle/drop", {"handle": r["handle"]})
                    return secs, r["summary"]["robustAccuracy"]

                def reference():
                    torch.manual_seed(0)
                    t0 = time.perf_counter()
                    adv = atk(x, y)
                    return time.perf_counter() - t0, accuracy(net, adv, y)

                advlens()
                atk(x[:WARMUP_IMAGES], y[:WARMUP_IMAGES])
                times = {"advlens": [], "torchattacks": []}
                robust = {}
                for rnd in range(a.rounds):
                    order = [("advlens", advlens), ("torchattacks", reference)]
                    for impl, run in (order if rnd % 2 == 0 else order[::-1]):
                        secs, robust[impl] = run()
                        times[impl].append(round(secs, 3))
                    print(f"[{arch}] {row} round {rnd + 1}: AdvLens {times['advlens'][-1]:.2f} s, "
                          f"torchattacks {times['torchattacks'][-1]:.2f} s", file=sys.stderr, flush=True)
                for impl in times:
                    med = statistics.median(times[impl])
                    emit(impl, arch, f"attack_{row}", a.images / med, "img/s", seconds=med, rounds=times[impl],
                         interleaved=True, **({"threads": a.threads} if impl == "torchattacks" else {}))
                    emit(impl, arch, f"attack_{row}_robust", robust[impl], "robust_acc")
                ratio = statistics.median(times["torchattacks"]) / statistics.median(times["advlens"])
                print(f"[{arch}] {row}: ratio {ratio:.2f}x (torchattacks / AdvLens median seconds)",
                      file=sys.stderr, flush=True)
    finally:
        daemon.close()


if __name__ == "__main__":
    main()
