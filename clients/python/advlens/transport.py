"""Content-Length framed JSON-RPC over a byte stream: the daemon's stdin/stdout or a Unix socket.

One reader thread reads frames and hands each message to a callback; writes are serialised by
a lock so that frames from several threads never interleave."""
import json
import os
import socket
import subprocess
import threading


def frame(message):
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream):
    """The next message's body from a buffered binary stream, or None at end of stream."""
    length = None
    while True:
        line = stream.readline(8192)
        if not line:
            return None
        line = line.strip()
        if not line:
            if length is None:
                continue  # blank lines between frames
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = b""
    while len(body) < length:
        chunk = stream.read(length - len(body))
        if not chunk:
            return None
        body += chunk
    return json.loads(body.decode("utf-8"))


class Transport:
    """A connection to one daemon. `on_message` runs on the reader thread; `on_close` once at EOF."""

    def __init__(self, reader, write, close, on_message, on_close, process=None):
        self._reader = reader
        self._write = write
        self._close = close
        self._lock = threading.Lock()
        self.process = process
        self._on_message = on_message
        self._on_close = on_close
        self._thread = threading.Thread(target=self._run, name="advlens-reader", daemon=True)
        self._thread.start()

    def send(self, message):
        data = frame(message)
        with self._lock:
            self._write(data)

    def _run(self):
        try:
            while True:
                message = read_frame(self._reader)
                if message is None:
                    break
                self._on_message(message)
        except (OSError, ValueError):
            pass
        finally:
            self._on_close()

    def close(self, timeout=10):
        try:
            self._close()
        finally:
            self._thread.join(timeout)


def spawn_stdio(daemon, args, on_message, on_close, stderr=None, env=None):
    """Start `daemon` as a child speaking on its stdin and stdout, in a session of its own: a
    terminal's Ctrl-C goes to its foreground process group, which must be the client alone (the
    client turns it into a cancel of the running request); the daemon and what it holds stay."""
    process = subprocess.Popen([str(daemon), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=stderr if stderr is not None else subprocess.DEVNULL, env=env,
                               start_new_session=True)

    def write(data):
        process.stdin.write(data)
        process.stdin.flush()

    def close():
        try:
            process.stdin.close()
        except OSError:
            pass

    return Transport(process.stdout, write, close, on_message, on_close, process)


def connect_socket(path, on_message, on_close, timeout=None):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(os.fspath(path))
    sock.settimeout(None)
    reader = sock.makefile("rb")

    def close():
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    return Transport(reader, sock.sendall, close, on_message, on_close), sock
