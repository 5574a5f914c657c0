#!/usr/bin/env python3
"""Daemon benchmarks: what a client of advlensd waits for.

Rows (JSON lines, "impl": "advlens", the format of bench/README.md):
- daemon_start_ms: spawn advlensd to the answer of its first request (initialize), median of 5.
- model_load_ms (mnist-madry): model/load of spec + safetensors, median of 10.
- predict_rtt_p50_ms / predict_rtt_p99_ms (mnist-small): a warm predict of one image sent as
  a base64 tensor, round trip over stdio with Content-Length framing, 2,000 calls.
- pipelined_requests_per_s: 50,000 tiny requests (model/list) written back to back as NDJSON,
  until the last answer is read.
- classify_one_cold_ms (mnist-small): a fresh process that starts, loads the model and
  classifies one image, then exits: the counterpart of bench/pytorch_cold_start.py.

Usage: python3 bench/daemon_bench.py [--advlensd PATH] [--weights-dir out/bench/weights]
The weights are the ones advlens-bench writes (make bench runs it first).
"""
import argparse
import io
import base64
import json
import os
import pathlib
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def emit(model, row, value, unit):
    print(json.dumps({"impl": "advlens", "model": model, "row": row, "value": round(value, 4), "unit": unit}), flush=True)


class Daemon:
    """advlensd over stdio with Content-Length framing (or NDJSON)."""

    def __init__(self, binary, lines=False, args=()):
        """`args`: more daemon options (e.g. ["--memory-limit", "256000000"])."""
        self.lines = lines
        # A private cache database per daemon (nothing lands in ~/.cache; starts are all cold).
        self.cache_dir = tempfile.mkdtemp(prefix="advlens-bench-cache-")
        self.proc = subprocess.Popen([binary, "--log-level", "error", "--cache", os.path.join(self.cache_dir, "cache.sqlite"), *args],
                                     cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, bufsize=0)
        # Buffered: readline on the raw pipe would read one byte per system call.
        self.out = io.open(self.proc.stdout.fileno(), "rb", buffering=1 << 16, closefd=False)
        self.next_id = 0

    def write(self, msg):
        body = json.dumps(msg, separators=(",", ":")).encode()
        if self.lines:
            self.proc.stdin.write(body + b"\n")
        else:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def read(self):
        out = self.out
        if self.lines:
            return json.loads(out.readline())
        length = None
        while True:
            line = out.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        data = b""
        while len(data) < length:
            data += out.read(length - len(data))
        return json.loads(data)

    def call(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.write(msg)
        while True:
            r = self.read()
            if r.get("id") == self.next_id:
                if "error" in r:
                    raise RuntimeError(f"{method}: {r['error']}")
                return r["result"]

    def close(self):
        try:
            self.call("shutdown")
            self.write({"jsonrpc": "2.0", "method": "exit"})
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - best effort at the end of a benchmark
            self.proc.kill()
        shutil.rmtree(self.cache_dir, ignore_errors=True)


def image_tensor():
    values = [((i * 37) % 255) / 255.0 for i in range(784)]
    return {"shape": [1, 1, 28, 28], "dtype": "float32", "data": base64.b64encode(struct.pack("<784f", *values)).decode()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--weights-dir", default=str(ROOT / "out/bench/weights"))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    weights = pathlib.Path(args.weights_dir)
    for arch in ("mnist-small", "mnist-madry"):
        if not (weights / arch / "model.safetensors").exists():
            sys.exit(f"{weights}/{arch}/model.safetensors missing: run advlens-bench first (make bench does)")
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731 - paths must lie inside the daemon's root

    starts = []
    for _ in range(5):
        t0 = time.perf_counter()
        d = Daemon(args.advlensd)
        d.call("initialize", {"rootPath": str(ROOT)})
        starts.append((time.perf_counter() - t0) * 1e3)
        d.close()
    emit("-", "daemon_start_ms", statistics.median(starts), "ms")

    d = Daemon(args.advlensd)
    d.call("initialize", {"rootPath": str(ROOT)})
    loads = []
    for i in range(10):
        t0 = time.perf_counter()
        d.call("model/load", {"name": "madry", "spec": rel(weights / "mnist-madry/model.json"),
                              "weights": rel(weights / "mnist-madry/model.safetensors")})
        loads.append((time.perf_counter() - t0) * 1e3)
    emit("mnist-madry", "model_load_ms", statistics.median(loads), "ms")

    d.call("model/load", {"name": "small", "spec": rel(weights / "mnist-small/model.json"),
                          "weights": rel(weights / "mnist-small/model.safetensors")})
    params = {"model": "small", "inputs": image_tensor(), "topK": 1}
    for _ in range(50):
        d.call("predict", params)
    rtts = []
    for _ in range(300 if args.quick else 2000):
        t0 = time.perf_counter()
        d.call("predict", params)
        rtts.append((time.perf_counter() - t0) * 1e3)
    rtts.sort()
    emit("mnist-small", "predict_rtt_p50_ms", statistics.median(rtts), "ms")
    emit("mnist-small", "predict_rtt_p99_ms", rtts[int(0.99 * (len(rtts) - 1))], "ms")
    d.close()

    n = 5000 if args.quick else 50_000
    p = Daemon(args.advlensd, lines=True)
    p.call("initialize", {"rootPath": str(ROOT)})
    payload = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"model/list"}\n' % (i + 100) for i in range(n))
    t0 = time.perf_counter()
    import threading
    writer = threading.Thread(target=p.proc.stdin.write, args=(payload,))
    writer.start()
    for _ in range(n):
        p.out.readline()
    elapsed = time.perf_counter() - t0
    writer.join()
    emit("-", "pipelined_requests_per_s", n / elapsed, "req/s")
    p.close()

    colds = []
    for _ in range(5):
        t0 = time.perf_counter()
        c = Daemon(args.advlensd)
        c.call("initialize", {"rootPath": str(ROOT)})
        c.call("model/load", {"name": "small", "spec": rel(weights / "mnist-small/model.json"),
                              "weights": rel(weights / "mnist-small/model.safetensors")})
        c.call("predict", params)
        c.close()
        colds.append((time.perf_counter() - t0) * 1e3)
    emit("mnist-small", "classify_one_cold_ms", statistics.median(colds), "ms")


if __name__ == "__main__":
    main()
