#!/usr/bin/env python3
"""The Ray pool (advlens.distributed) against one daemon on the same machine (issue 19).

    python3 bench/pool_bench.py [--advlensd .build/release/advlensd] [--runs 3] [--images 1000]
                                [--models mnist-small,mnist-madry] [--steps 40] [--ray-niceness]

PGD-`steps` (L-inf, epsilon 0.3, step 0.01, early stopping off: every image takes every step,
as a cost model wants) on the first `images` MNIST test images, per model: one warm daemon
over stdio (Client.attack, its engine on every core), then the pool with 1 actor and with 2
actors (each actor's daemon on cpus/actors threads), interleaved run by run so that the
machine's load hits all three alike; each after one warm-up. The models are the built-in
architectures made by model/create with seed 0 (weights do not change the cost with early
stopping off). Prints JSON lines: per model and configuration the median seconds, images/s and
seconds per image, and the ratios pool/one daemon (< 1: the pool is faster). The pools run
their daemons at this process's niceness (Pool's default); `--ray-niceness` adds a 1-actor pool
left at Ray's worker niceness (15), to measure what that costs on a shared machine.
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients/python"))

import advlens  # noqa: E402
from advlens import dataset  # noqa: E402
from advlens.distributed import Pool  # noqa: E402

DATA = ROOT / "data/mnist_5k.csv.gz"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--models", default="mnist-small,mnist-madry")
    ap.add_argument("--ray-niceness", action="store_true", help="also a 1-actor pool at Ray's worker niceness")
    args = ap.parse_args()
    import ray
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "clients/python"), os.environ.get("PYTHONPATH")) if p)
    cpus = os.cpu_count()
    # Ray's CPUs are reservations, not cores: each pool reserves the machine's cores once.
    pools_made = 3 if args.ray_niceness else 2
    ray.init(num_cpus=pools_made * cpus, include_dashboard=False, logging_level="warning", log_to_driver=False)
    settings = dict(epsilon=0.3, step_size=0.01, steps=args.steps, early_stop=False, seed=0, images=False)
    inputs = dataset("mnist-test", indices=range(args.images))
    # Split version 1 (dataset order): the order the committed pool rows were measured with.
    split = {"test_per_class": max(100, (args.images + 9) // 10), "seed": 0, "version": 1}
    models = [m.strip() for m in args.models.split(",") if m.strip()]

    def setup(target):
        for m in models:
            target.model_create(m, architecture=m, seed=0)
        target.dataset_load("mnist", kind="mnist-csv", path=str(DATA), split=split)

    one = advlens.Client(daemon=args.advlensd, progress=False)
    setup(one)
    pools = {1: Pool(actors=1, cpus_per_actor=cpus, daemon=args.advlensd, progress=False, shards_per_actor=1),
             2: Pool(actors=2, cpus_per_actor=cpus // 2 or 1, daemon=args.advlensd, progress=False)}
    if args.ray_niceness:
        pools["ray"] = Pool(actors=1, cpus_per_actor=cpus, daemon=args.advlensd, progress=False, shards_per_actor=1, niceness=None)
    for p in pools.values():
        setup(p)
    print(json.dumps({"niceness": {"bench": os.getpriority(os.PRIO_PROCESS, 0),
                                   **{str(k): p.niceness() for k, p in pools.items()}}}), flush=True)
    runners = {"one daemon": lambda m: one.attack(m, "pgd", inputs, **settings),
               "pool, 1 actor": lambda m: pools[1].attack(m, "pgd", inputs, **settings),
               "pool, 2 actors": lambda m: pools[2].attack(m, "pgd", inputs, **settings)}
    if args.ray_niceness:
        runners["pool, 1 actor, Ray's niceness"] = lambda m: pools["ray"].attack(m, "pgd", inputs, **settings)
    for m in models:
        times = {name: [] for name in runners}
        for name, run in runners.items():
            run(m)   # warm-up
        for _ in range(args.runs):
            for name, run in runners.items():
                started = time.perf_counter()
                result = run(m)
                times[name].append(time.perf_counter() - started)
                assert result.summary["count"] == args.images
        base = statistics.median(times["one daemon"])
        for name, values in times.items():
            t = statistics.median(values)
            print(json.dumps({"impl": "advlens", "row": f"pool_pgd{args.steps}_{m}", "config": name, "images": args.images,
                              "cpus": cpus, "seconds": round(t, 3), "runs": [round(v, 3) for v in values],
                              "img_per_s": round(args.images / t, 1), "ms_per_image": round(1000 * t / args.images, 3),
                              "ratio_to_one_daemon": round(t / base, 3)}), flush=True)
    one.close()
    for p in pools.values():
        p.close()
    ray.shutdown()


if __name__ == "__main__":
    main()
