"""The Ray actors behind `advlens.distributed.Pool`: each node's warm daemon (`DaemonActor`), the
set-up every actor replays (`Registry`), the one progress board (`ProgressBoard`), and the two
values that travel to actors in place of a path or a handle (`Shipped`, `PoolHandle`). The pool
(the driver's side: sharding, merging, cancel) is in distributed.py.
"""
import os
import tempfile

import numpy as np

from .errors import AdvLensError, ConnectionClosed, RequestCancelled
from .tensors import decode_tensor, encode_tensor

try:
    import ray
except ImportError:  # the optional extra advlens[ray]
    ray = None


class Shipped:
    """A file whose bytes travel through Ray's object store to every actor (`Pool.ship`)."""

    def __init__(self, key, ref):
        self.key = key
        self.ref = ref


class PoolHandle:
    """A pool's handle as it travels to an actor: its name and how to make it (`handle/create`
    params whose `images` are the shards' object refs, in order)."""

    def __init__(self, name, create):
        self.name = name
        self.create = create


class DaemonActor:
    """One Ray actor: a warm advlensd over stdio with the pool's set-up replayed. Wrapped by
    `ray.remote` in `Pool` (max_restarts, two threads: a shard and its cancel)."""

    def __init__(self, names, daemon, daemon_args, threads, niceness=None):
        from .client import Client
        if niceness is not None:
            # The daemon inherits this thread's niceness: the caller's where the OS allows it
            # (raising it always; lowering it needs CAP_SYS_NICE or RLIMIT_NICE).
            try:
                os.setpriority(os.PRIO_PROCESS, 0, niceness)
            except OSError:
                pass
        # The registry and the progress board by name (plain strings as constructor arguments:
        # nothing in the object store that a restart could find gone).
        registry, board = (ray.get_actor(name) for name in names)
        if threads:
            # The daemon's engine threads: as many as the CPUs Ray gave this actor, so that
            # actors sharing a node do not oversubscribe its cores.
            os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
        self.board = board
        self.directory = tempfile.mkdtemp(prefix="advlens-actor-")
        self.client = Client(daemon=daemon, daemon_args=tuple(daemon_args), progress=False,
                             cache=os.path.join(self.directory, "cache.sqlite"))
        # Results come back as sent (wire JSON): the driver decodes and merges them.
        self.client._decode = lambda method, value, as_torch=False: value
        self.shard = None
        self.handles = {}      # pool handle name -> this daemon's handle
        self.kill_at = None    # kill_daemon_at_report
        for method, params in ray.get(registry.setup.remote()):
            self.client._request(method, self._localised(params), progress=False)

    def _localised(self, value):
        """Shipped files replaced by this actor's copy of their bytes."""
        if isinstance(value, Shipped):
            path = os.path.join(self.directory, value.key)
            if not os.path.exists(path):
                with open(path + ".part", "wb") as f:
                    f.write(ray.get(value.ref))
                os.replace(path + ".part", path)
            return path
        if isinstance(value, PoolHandle):
            if value.name not in self.handles:
                create = dict(value.create)
                create["images"] = encode_tensor(np.concatenate(ray.get(create["images"])))
                self.handles[value.name] = self.client._request("handle/create", create, progress=False)["handle"]
            return self.handles[value.name]
        if isinstance(value, dict):
            return {k: self._localised(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._localised(v) for v in value]
        return value

    def apply(self, method, params):
        return self.client._request(method, self._localised(params), progress=False)

    def run(self, method, params, shard, split_images=False):
        """One shard: (("done", result), images), (("cancelled", partial or None), None) or
        (("error", error), None); called with num_returns=2. `split_images` (an attack whose
        result joins a pool handle): the adversarial images go out as the second return (an
        array in the object store, fetched only where needed) and the shard's own handle is
        dropped from this daemon."""
        self.shard = shard
        ray.get(self.board.started.remote(shard))   # before any result: the tests count runs
        last = [-1]
        reports = [0]

        def report(value):
            reports[0] += 1
            if self.kill_at is not None and reports[0] >= self.kill_at:
                self.kill_at = None
                ray.get(self.board.note.remote("killed", {"shard": shard, "percentage": value.get("percentage"),
                                                           "pid": self.client.process.pid}))
                self.client.process.kill()
            percentage = value.get("percentage")
            if percentage is not None and percentage != last[0]:
                last[0] = percentage
                self.board.report.remote(shard, percentage)
        try:
            value = self.client._request(method, self._localised(params), progress=report)
            images = None
            if split_images:
                images = decode_tensor(value.pop("images"))
                self.client._request("handle/drop", {"handle": value["handle"]}, progress=False)
                value["handle"] = None
            return ("done", value), images
        except RequestCancelled as e:
            return ("cancelled", e.data), None
        except ConnectionClosed:
            # The daemon died: end this actor so that Ray restarts it with a fresh daemon (the
            # pool's set-up replayed); the driver runs the shard again.
            os._exit(1)
        except AdvLensError as e:
            return ("error", {"code": e.code, "message": e.message, "data": e.data}), None
        finally:
            self.shard = None

    def cancel(self):
        with self.client._lock:
            pending = list(self.client._pending)
        for request_id in pending:
            self.client.cancel(request_id)

    def stop(self):
        """Shuts the daemon down (shutdown, exit) before the pool kills this actor."""
        self.client.close()

    def daemon_pid(self):
        return self.client.process.pid

    def daemon_niceness(self):
        return os.getpriority(os.PRIO_PROCESS, self.client.process.pid)

    def kill_daemon_at_report(self, count):
        """Kills this actor's daemon (SIGKILL, as a crash would) from inside the next shard it
        runs, at that shard's `count`-th progress report: while the request runs, before its
        reply is read. For the fault tests; the board's notes record it."""
        self.kill_at = count

    def drop_handle(self, name):
        """Forgets a pool handle and frees this daemon's copy of it."""
        handle = self.handles.pop(name, None)
        if handle is not None:
            self.client._request("handle/drop", {"handle": handle}, progress=False)


class Registry:
    """The set-up every actor replays at start (and after a restart)."""

    def __init__(self):
        self.steps = []

    def add(self, method, params):
        self.steps.append((method, params))

    def setup(self):
        return list(self.steps)


class ProgressBoard:
    """Each running shard's latest percentage, read by the driver's one progress bar; how often
    each shard started and what actors noted (a killed daemon), read by the tests."""

    def __init__(self):
        self.values = {}
        self.starts = {}
        self.notes = []

    def report(self, shard, percentage):
        self.values[shard] = percentage

    def started(self, shard):
        self.starts[shard] = self.starts.get(shard, 0) + 1

    def note(self, what, details):
        self.notes.append((what, details))

    def read(self):
        return dict(self.values)

    def history(self):
        return {"starts": dict(self.starts), "notes": list(self.notes)}

    def clear(self):
        self.values = {}
        self.starts = {}
        self.notes = []
