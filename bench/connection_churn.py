#!/usr/bin/env python3
"""Connection churn against a socket daemon: N threads each connect, send initialize and
model/list, wait for both replies (3 s at most) and close, as fast as they can, for SECONDS.
A reply that never comes is a lost connection: before the fix of UnixSocketServer's close
order, a closing client's socket number reused by a new client at the wrong moment left the
new one unread (1 in about 200,000 cycles here). Run by `make soak`; prints cycles and hangs,
exit status 1 on any hang.

    python3 bench/connection_churn.py [--seconds 30] [--threads 6]   (ADVLENSD: the daemon)
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--threads", type=int, default=6)
    a = ap.parse_args()
    daemon = os.environ.get("ADVLENSD", os.path.join(os.path.dirname(__file__), "../.build/release/advlensd"))
    work = tempfile.mkdtemp(prefix="advlens-churn-")
    path = os.path.join(work, "d.sock")
    proc = subprocess.Popen([daemon, "--listen", "unix:" + path, "--log-level", "error", "--cache", os.path.join(work, "c.sqlite")])
    while not os.path.exists(path):
        time.sleep(0.01)
    counts = {"cycles": 0, "hangs": 0}
    lock = threading.Lock()

    def worker():
        end = time.time() + a.seconds
        while time.time() < end:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n'
                      b'{"jsonrpc":"2.0","id":2,"method":"model/list"}\n')
            s.settimeout(3)
            data, key = b"", "cycles"
            try:
                while data.count(b"\n") < 2:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                key = "hangs"
            s.close()
            with lock:
                counts[key] += 1

    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    proc.terminate()
    proc.wait()
    print(f"connection churn: {counts['cycles']} cycles, {counts['hangs']} hangs ({a.threads} threads, {a.seconds:g} s)")
    sys.exit(1 if counts["hangs"] else 0)


if __name__ == "__main__":
    main()
