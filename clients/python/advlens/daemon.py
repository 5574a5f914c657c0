"""Where the daemon binary and the shell client's per-user socket are, and starting a socket
daemon the way the shell client `advlens` does (detached, logging beside the socket)."""
import os
import pathlib
import shutil
import socket
import subprocess
import time


def find_daemon(daemon=None):
    """`daemon`, else $ADVLENSD, else `.build/release/advlensd` above the working directory,
    else `advlensd` on PATH."""
    if daemon:
        return str(daemon)
    if os.environ.get("ADVLENSD"):
        return os.environ["ADVLENSD"]
    here = pathlib.Path.cwd()
    for directory in (here, *here.parents):
        candidate = directory / ".build/release/advlensd"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("advlensd")
    if found:
        return found
    raise FileNotFoundError("advlensd not found: pass daemon=..., set $ADVLENSD or put it on PATH")


def default_socket():
    """The shell client's socket: $ADVLENS_SOCKET, else $XDG_RUNTIME_DIR/advlens/daemon.sock,
    else /tmp/advlens-$UID/daemon.sock."""
    if os.environ.get("ADVLENS_SOCKET"):
        return os.environ["ADVLENS_SOCKET"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "advlens", "daemon.sock")
    return f"/tmp/advlens-{os.getuid()}/daemon.sock"


def socket_answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1)
        s.connect(os.fspath(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def start_socket_daemon(path, daemon=None, idle_timeout=900, wait=10.0):
    """Start `advlensd --listen unix:PATH` detached (own session, stdin /dev/null, cwd /, output
    to daemon.log beside the socket) and wait until it answers. Returns its pid."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    log = open(os.path.join(directory, "daemon.log"), "ab")
    try:
        process = subprocess.Popen(
            [find_daemon(daemon), "--listen", f"unix:{path}", "--idle-timeout", str(idle_timeout)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/", start_new_session=True,
            close_fds=True)
    finally:
        log.close()
    with open(os.path.join(directory, "daemon.pid"), "w") as f:
        f.write(f"{process.pid}\n")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if socket_answers(path):
            return process.pid
        if process.poll() is not None:
            raise RuntimeError(f"advlensd exited with status {process.returncode} at start-up; see {directory}/daemon.log")
        time.sleep(0.05)
    raise TimeoutError(f"advlensd did not answer on {path} within {wait} s")
