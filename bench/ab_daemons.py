"""Two advlensd builds side by side on bench/graph_bench.py's rows, without torch: both daemons
warm, calls interleaved (A then B, then B then A, ...), the median wall time of each, B/A, and
each daemon's peak and current RSS. For an engine change, build before and after, copy the two
binaries aside and compare them here; the machine's drift (up to 2x between minutes) then falls
on both alike. The ONNX files and inputs are graph_bench's (run it once to make them).

    python3 bench/ab_daemons.py BEFORE AFTER --net resnet18-32 --rounds 7 [--rows forward_b1,pgd10_b64]
"""
import argparse
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from attack_bench import Daemon  # noqa: E402

ROWS = ("forward_b1", "forward_b64", "fgsm_b64", "pgd10_b64", "train_consistent_b64")   # graph_bench's
EPS, ALPHA, LAMBDA, BATCH = 8 / 255, 2 / 255, 0.1, 64


def rss_mb(pid, key):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) // 1024
    return -1


def requests(n_batch):
    inputs = lambda n: {"dataset": "x", "indices": list(range(n))}  # noqa: E731
    attack = {"model": "m", "inputs": inputs(n_batch), "epsilon": EPS, "earlyStop": False, "seed": 0}
    return {
        "forward_b1": ("predict", {"model": "m", "inputs": inputs(1)}),
        "forward_b64": ("predict", {"model": "m", "inputs": inputs(n_batch)}),
        "fgsm_b64": ("attack", {**attack, "method": "fgsm"}),
        "pgd10_b64": ("attack", {**attack, "method": "pgd", "steps": 10, "stepSize": ALPHA, "randomStart": True}),
        "train_consistent_b64": ("trainStep", {"model": "m-train", "dataset": "x", "batchSize": n_batch, "steps": 1, "seed": 0,
                                               "objective": {"kind": "consistent", "lambda": LAMBDA,
                                                             "adversary": {"method": "fgsm", "epsilon": EPS}},
                                               "optimizer": {"kind": "sgd", "learningRate": 0.01, "momentum": 0.9}}),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--net", default="resnet18-32")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--workdir", default=str(ROOT / "out/bench/graph"))
    a = ap.parse_args()
    folder = pathlib.Path(a.workdir) / a.net
    daemons = []
    for binary in (a.before, a.after):
        d = Daemon(binary)
        d.call("initialize", {"rootPath": str(ROOT)})
        for name in ("m", "m-train"):
            d.call("model/load", {"name": name, "onnx": str(folder / f"{a.net}.onnx")})
        d.call("dataset/load", {"name": "x", "kind": "npy", "images": str(folder / "images.npy"), "labels": str(folder / "labels.npy")})
        daemons.append(d)
    table = requests(BATCH)
    for row in [r for r in a.rows.split(",") if r]:
        method, params = table[row]
        reps = 10 if row == "forward_b1" else 1
        for d in daemons:
            d.call(method, params)   # warm
        times = [[], []]
        for r in range(a.rounds):
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                t = time.perf_counter()
                for _ in range(reps):
                    daemons[i].call(method, params)
                times[i].append((time.perf_counter() - t) / reps)
        before, after = statistics.median(times[0]), statistics.median(times[1])
        print(f"{a.net} {row}: before {before * 1e3:.1f} ms, after {after * 1e3:.1f} ms, after/before {after / before:.3f}", flush=True)
    pids = [d.proc.pid for d in daemons]
    print("peak RSS MB: before", rss_mb(pids[0], "VmHWM:"), "after", rss_mb(pids[1], "VmHWM:"),
          "; now: before", rss_mb(pids[0], "VmRSS:"), "after", rss_mb(pids[1], "VmRSS:"))
    for d in daemons:
        d.close()


if __name__ == "__main__":
    main()
