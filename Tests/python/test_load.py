"""Bounded load test: 50 clients on the daemon's Unix socket each send a fixed number of predicts.

Every request must be answered without error, and the daemon's resident memory must stay
flat (no growth from the first quarter of the requests to the end beyond a small allowance).
The work is counted in requests, not seconds, so the test proves the same on any machine;
ADVLENS_LOAD_REQUESTS sets the requests per client (default 1,000: 50,000 in all). The figures,
requests per second among them, go to out/loadtest.json.
"""
import json
import os
import pathlib
import socket
import subprocess
import tempfile
import threading
import time

CLIENTS = 50
REQUESTS = int(os.environ.get("ADVLENS_LOAD_REQUESTS", "1000"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class LineClient:
    """A minimal NDJSON JSON-RPC client over the Unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(30)
        self.buf = b""
        self.next_id = 0

    def call(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("daemon closed the connection")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            if not line.strip():
                continue
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                return reply


def test_fifty_clients_fifty_thousand_requests(advlensd, repo_root):
    sock_path = os.path.join(tempfile.mkdtemp(prefix="advlens-load-"), "d.sock")
    proc = subprocess.Popen([str(advlensd), "--listen", f"unix:{sock_path}", "--log-level", "warning"], cwd=repo_root,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while not os.path.exists(sock_path) and time.time() < deadline:
            time.sleep(0.05)
        assert oct(os.stat(sock_path).st_mode & 0o777) == "0o600"
        setup = LineClient(sock_path)
        assert "result" in setup.call("initialize", {"rootPath": str(repo_root)})
        assert "result" in setup.call("model/create", {"name": "m", "architecture": "mnist-small", "seed": 1})
        assert "result" in setup.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz"})

        counts = [0] * CLIENTS
        errors = []
        total_requests = CLIENTS * REQUESTS
        started = time.time()

        def client(k):
            try:
                c = LineClient(sock_path)
                c.call("initialize", {"rootPath": str(repo_root)})
                i = k
                for _ in range(REQUESTS):
                    r = c.call("predict", {"model": "m", "inputs": {"dataset": "mnist", "indices": [i % 5000, (i * 7) % 5000]}})
                    if "error" in r or r["result"]["count"] != 2:
                        errors.append(r)
                        return
                    counts[k] += 1
                    i += CLIENTS
                c.call("shutdown")
            except Exception as e:  # noqa: BLE001 - any failure is a test failure, reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        samples = []  # (requests answered so far, resident KiB)
        while any(t.is_alive() for t in threads):
            samples.append((sum(counts), rss_kib(proc.pid)))
            time.sleep(0.05)
        for t in threads:
            t.join()
        seconds = time.time() - started
        samples.append((sum(counts), rss_kib(proc.pid)))

        total = sum(counts)
        quarter = [kib for (done, kib) in samples if done <= total_requests // 4] or [samples[0][1]]
        growth_kib = samples[-1][1] - max(quarter)
        figures = {"clients": CLIENTS, "seconds": seconds, "requests": total, "requests_per_second": total / seconds,
                   "errors": len(errors), "rss_kib_first_quarter_max": max(quarter), "rss_kib_end": samples[-1][1],
                   "rss_kib_peak": max(k for _, k in samples), "rss_growth_kib": growth_kib}
        out = pathlib.Path(repo_root, "out")
        out.mkdir(exist_ok=True)
        (out / "loadtest.json").write_text(json.dumps(figures, indent=2))
        print(json.dumps(figures))
        assert not errors, errors[:3]
        assert counts == [REQUESTS] * CLIENTS, "every request answered"
        assert growth_kib < 16 * 1024, f"resident memory grew by {growth_kib} KiB"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
