"""Soak: CLIENTS socket clients (default 100) mixing predict, attack, explainPrediction and probe
on one warm daemon for SOAK_SECONDS (default 600). Not a test (its length is set in seconds):
`make soak` runs it and prints one JSON object — requests and errors per method, predict's p50
and p99 latency, and the daemon's resident memory at the start, peak and end — and exits 1 on
any error or when memory grew by more than 64 MiB from the first minute to the end.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "python"))
from test_load import LineClient, rss_kib  # noqa: E402 - the load test's NDJSON socket client, one copy
ADVLENSD = os.environ.get("ADVLENSD", os.path.join(ROOT, ".build/release/advlensd"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "100"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))


def requests(k, i):
    """The mix: mostly predicts, with attacks, explanations and probes among them."""
    a, b = (k * 97 + i * 13) % 1000, (k * 31 + i * 7) % 1000
    kind = i % 10
    if kind < 6:
        return "predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": [a, b]}, "topK": 3}
    if kind < 8:
        return "attack", {"model": "m", "method": "pgd", "epsilon": 0.3, "steps": 5, "inputs": {"dataset": "mnist-test", "indices": [a]}}
    if kind < 9:
        return "explainPrediction", {"model": "m", "input": {"dataset": "mnist-test", "indices": [a]},
                                      "methods": ["saliency", "gradientTimesActivation"]}
    return "probe", {"model": "m", "layer": "8", "kind": "activations", "dataset": {"name": "mnist-test", "indices": [a, b]},
                     "units": [0, 1, 2, 3]}


def main():
    sock_path = os.path.join(tempfile.mkdtemp(prefix="advlens-soak-"), "d.sock")
    cache = os.path.join(os.path.dirname(sock_path), "cache.sqlite")
    proc = subprocess.Popen([ADVLENSD, "--listen", f"unix:{sock_path}", "--cache", cache, "--log-level", "warning"],
                            cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not os.path.exists(sock_path) and time.time() < deadline:
            time.sleep(0.05)
        setup = LineClient(sock_path)
        # Split version 1 (dataset order): the order the committed soak figures were measured with.
        for method, params in [("initialize", {"rootPath": ROOT}), ("model/create", {"name": "m", "architecture": "mnist-small", "seed": 1}),
                               ("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz",
                                                 "split": {"testPerClass": 100, "version": 1}})]:
            r = setup.call(method, params)
            assert "result" in r, r
        lock = threading.Lock()
        counts, errors, predict_ms = {}, [], []
        stop = time.time() + SECONDS

        def client(k):
            try:
                c = LineClient(sock_path)
                c.call("initialize", {"rootPath": ROOT})
                i = 0
                while time.time() < stop:
                    method, params = requests(k, i)
                    t0 = time.perf_counter()
                    r = c.call(method, params)
                    ms = (time.perf_counter() - t0) * 1000
                    with lock:
                        counts[method] = counts.get(method, 0) + 1
                        if "error" in r:
                            errors.append((method, r["error"]))
                        if method == "predict":
                            predict_ms.append(ms)
                    if method == "attack" and "result" in r:
                        c.call("handle/drop", {"handle": r["result"]["handle"]})   # keep the cache database small
                    i += 1
                c.call("shutdown")
            except Exception as e:  # noqa: BLE001 - reported as an error
                with lock:
                    errors.append(("client", repr(e)))

        start_rss = rss_kib(proc.pid)
        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        samples = []
        began = time.time()
        while any(t.is_alive() for t in threads):
            samples.append((time.time() - began, rss_kib(proc.pid)))
            time.sleep(1)
        first_minute = [kib for s, kib in samples if s <= 60] or [start_rss]
        end_rss = rss_kib(proc.pid)
        predict_ms.sort()
        pct = lambda q: predict_ms[min(len(predict_ms) - 1, int(q * len(predict_ms)))] if predict_ms else None  # noqa: E731
        figures = {"clients": CLIENTS, "seconds": round(time.time() - began, 1), "requests": counts, "errors": len(errors),
                   "first_errors": errors[:3], "predict_p50_ms": pct(0.5), "predict_p99_ms": pct(0.99),
                   "rss_kib_start": start_rss, "rss_kib_first_minute_max": max(first_minute),
                   "rss_kib_peak": max([kib for _, kib in samples] + [start_rss]), "rss_kib_end": end_rss,
                   "load_average": open("/proc/loadavg").read().split()[:3]}
        print(json.dumps(figures))
        grew = end_rss - max(first_minute)
        return 0 if not errors and grew < 64 * 1024 else 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
