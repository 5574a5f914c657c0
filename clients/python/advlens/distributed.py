"""Dataset-wide work on a Ray cluster of warm daemons: `advlens.distributed.Pool`.

A pool is N Ray actors, each owning one `advlensd` over stdio (the binary from `daemon=`,
$ADVLENSD or PATH on the node the actor runs on) with the same models and datasets loaded:
every `model_load` / `dataset_load` / `call_all` given to the pool is replayed by every actor,
also by an actor Ray restarts after a failure. Files are named by paths every node can read,
or wrapped in `pool.ship(path)`: then their bytes go once through Ray's object store and each
actor writes its own copy.

`attack`, `evaluate`, `probe` (the kinds whose statistics merge exactly) and
`explain_prediction` take the single-daemon client's arguments and return its result types.
Their images come from a dataset (`advlens.dataset(name, indices)`, or a name for all of it):
the indices are split into contiguous shards, the shards run on whichever actor is free, and
the per-shard results are merged in index order: per-sample records and arrays concatenated,
summaries recomputed from the merged samples exactly as the daemon computes them (never
averaged; the merging is `shard_merge.py`). Since every random draw of an attack derives from
the request's seed and the image's dataset index (protocol/attack.md, "Randomness"), a shard's
images get the random draws one request over all of them gets, and the engine rounds an image's
arithmetic the same way in any batch: the merged result equals the single-daemon one bit for
bit for every attack method, whatever the shard size or the number of actors, when the actors
run on the same kind of CPU (docs/scale-out.md, "Exactness").

One progress bar covers the pool. `cancel()` (or Ctrl-C while waiting) cancels every running
shard; the call then raises RequestCancelled whose `data` is the merge of the shards that
finished. An actor whose daemon dies mid-shard exits, Ray restarts it (a fresh daemon, the same
models and datasets), and the shard runs again on the first free actor: the result is the
same as without the failure.

A sharded attack returns one handle, the pool's ("pool-...-1"). Its adversarial images stay
where the shards made them, in Ray's object store (one object per shard, on the node of the
actor that ran it, owned by the driver); the per-image records (labels, sources, targets,
adversarial predictions, success) and the clean inputs (a dataset reference) are the driver's.
An actor given the handle in a request (a probe's `adversarial`) fetches the shards'
objects and keeps them in its daemon with `handle/create` the first time, so each daemon
holds a copy only once it needs one; `pool.export_handle(h, client)` puts the same handle
into any other daemon. The daemons run at the caller's niceness (see `Pool`).
"""
import itertools
import json
import math
import os
import threading
import time
import uuid

import numpy as np

from .client import attack_params, evaluate_params
from .errors import RequestCancelled, error_from_reply
from .params import from_wire, to_wire
from .progress import ProgressSink
from .results import result_class
from .shard_merge import (_merge_activations, _merge_attack, _merge_evaluate, _merge_explanations, _merge_representation,
                          _merge_top)
from . import pool_dissect
from .pool_actors import DaemonActor, PoolHandle, ProgressBoard, Registry, Shipped
from .tensors import encode_tensor

try:
    import ray
except ImportError:  # the optional extra advlens[ray]
    ray = None

# Probe kinds whose statistics the pool merges exactly.
MERGEABLE_PROBES = ("activations", "topActivations", "classHistograms", "consistency", "representation", "dissect")


class Pool:
    """N actors, each a warm advlensd; sharded attack / evaluate / probe / explain.

    `actors`: how many (default: the cluster's CPUs / `cpus_per_actor`); `cpus_per_actor`: the
    CPUs Ray reserves for each (its daemon's threads use them); `address`: the cluster to join
    when Ray is not initialised yet ("auto" for a running `ray start` cluster; None starts a
    local one); `daemon`: the advlensd path on every node (else $ADVLENSD there, else PATH);
    `max_restarts`: how often Ray restarts a failed actor; `progress` as the Client's;
    `threads`: each daemon's engine threads (OPENBLAS_NUM_THREADS; default `cpus_per_actor`,
    None keeps the node's setting); `shards_per_actor`: shards per actor of one call (more
    balance the load, fewer cost less per-request overhead).

    Niceness: Ray starts its workers at niceness 15 (its `worker_niceness`), and a daemon
    started by a worker would inherit it, losing CPU to everything else on a shared machine.
    The pool asks Ray to start its actors without that increment (runtime_env
    RAY_worker_niceness=0: at the raylet's niceness, on a cluster the pool starts the
    caller's), and each actor then sets its thread, and so the daemon it starts, to the
    caller's niceness. Raising a niceness is always allowed; lowering it below the raylet's
    needs CAP_SYS_NICE or RLIMIT_NICE on that node, and without them the daemon keeps the
    raylet's (`pool.niceness()` says what each daemon got). `niceness=None` leaves Ray's."""

    def __init__(self, actors=None, cpus_per_actor=1, address=None, daemon=None, daemon_args=(),
                 max_restarts=3, progress=None, shards_per_actor=2, threads=0, niceness="caller"):
        if ray is None:
            raise ImportError("advlens.distributed needs Ray: pip install 'advlens[ray]'")
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, logging_level="warning")
        if actors is None:
            actors = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_actor))
        self.progress = progress
        self.shards_per_actor = shards_per_actor
        names = (f"advlens-registry-{uuid.uuid4().hex}", f"advlens-board-{uuid.uuid4().hex}")
        self._registry = ray.remote(num_cpus=0)(Registry).options(name=names[0]).remote()
        self._board = ray.remote(num_cpus=0)(ProgressBoard).options(name=names[1]).remote()
        options = dict(num_cpus=cpus_per_actor, max_restarts=max_restarts, max_concurrency=2)
        if niceness is not None:
            options["runtime_env"] = {"env_vars": {"RAY_worker_niceness": "0"}}
            niceness = os.getpriority(os.PRIO_PROCESS, 0) if niceness == "caller" else int(niceness)
        actor_class = ray.remote(**options)(DaemonActor)
        threads = int(cpus_per_actor) if threads == 0 else threads
        self.actors = [actor_class.remote(names, daemon, list(daemon_args), threads, niceness) for _ in range(actors)]
        self._keys = itertools.count()
        self._cancel = threading.Event()
        self._busy = {}
        self._handles = {}   # the pool's handles: name -> PoolHandle
        self._handle_prefix = f"pool-{uuid.uuid4().hex[:8]}-"
        self._handle_numbers = itertools.count(1)

    def niceness(self):
        """Each actor's daemon's niceness."""
        return ray.get([a.daemon_niceness.remote() for a in self.actors])

    def close(self):
        """Shuts every actor's daemon down, then ends the actors."""
        try:
            ray.get([a.stop.remote() for a in self.actors], timeout=30)
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
            pass   # an actor already gone: its daemon saw its stdin close and exited
        for actor in self.actors + [self._registry, self._board]:
            ray.kill(actor, no_restart=True)
        self.actors = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- set-up, replayed by every actor

    def ship(self, path):
        """A file to send to every actor through the object store (for nodes that cannot read
        `path`): pass it where a path goes (`spec=pool.ship("model.json")`)."""
        with open(os.path.expanduser(os.fspath(path)), "rb") as f:
            data = f.read()
        return Shipped(f"{next(self._keys)}-{os.path.basename(os.fspath(path))}", ray.put(data))

    def call_all(self, method, **params):
        """A request every actor makes now and replays after a restart (model/create,
        model/load, dataset/load, ...); returns the first actor's decoded result."""
        wire = _wire_keeping_shipped(params)
        ray.get(self._registry.add.remote(method, wire))
        results = ray.get([a.apply.remote(method, wire) for a in self.actors])
        return _decode(method, results[0])

    def model_load(self, name, **params):
        return self.call_all("model/load", name=name, **params)

    def model_create(self, name, **params):
        return self.call_all("model/create", name=name, **params)

    def dataset_load(self, name, **params):
        return self.call_all("dataset/load", name=name, **params)

    # ---- sharded methods

    def attack(self, model=None, method="pgd", inputs=None, progress=None, images=True, **params):
        """As Client.attack, over a dataset's images. The merged result has the samples of all
        shards (`index` and `source` counted over the whole request), the adversarial images and
        perturbations concatenated, the summary recomputed from them, and `handle`: the pool's
        one handle for the whole adversarial set (see the module's docstring), which the
        pool's probes take as their adversarial set and `export_handle` puts into another
        daemon. A cancelled attack's partial result has no handle."""
        params = attack_params(model, images, params)
        name, indices, rest = self._dataset_inputs(inputs)
        wire = to_wire(dict(params, method=method))
        returned = dict(wire.get("return") or {})
        wire["return"] = dict(returned, images=True)   # the images join the pool's handle
        shards = self._shards(indices)
        requests = [dict(wire, inputs=dict(rest, dataset=name, indices=part)) for part in shards]
        started = time.monotonic()
        outcome = self._run("attack", requests, progress, f"attack {method}", split_images=True)

        def merge(done):
            merged = _merge_attack(done, shards, time.monotonic() - started)
            refs = [outcome[3][shard] for shard, _ in done]
            if returned.get("images"):
                merged["images"] = encode_tensor(np.concatenate(ray.get(refs)))
            if len(done) == len(shards):
                merged["handle"] = self._new_handle(merged, refs, wire, name, indices)
            return merged
        return self._finish("attack", outcome, merge)

    def _new_handle(self, merged, refs, wire, dataset_name, indices):
        """A pool handle for a merged attack: its records and the shards' image objects."""
        samples = merged["samples"]
        config = merged["config"]
        create = {
            "model": wire.get("model") or wire["models"][0]["name"],
            "images": refs, "labels": [s["label"] for s in samples],
            "clean": {"dataset": dataset_name, "indices": list(indices)},
            "sources": [s["source"] for s in samples], "targets": [s.get("target") for s in samples],
            "adversarialLabels": [s["adversarialLabel"] for s in samples], "success": [s["success"] for s in samples],
            "kind": f"attack {config['method']}", "provenance": json.dumps(config, separators=(",", ":")),
        }
        name = f"{self._handle_prefix}{next(self._handle_numbers)}"
        self._handles[name] = PoolHandle(name, create)
        return name

    def export_handle(self, handle, client):
        """Puts a pool handle into another daemon (a `Client`'s) with `handle/create`; returns
        that daemon's Handle."""
        h = self._pool_handle(handle)
        create = dict(h.create, images=np.concatenate(ray.get(h.create["images"])))
        return client.call("handle/create", create).handle

    def drop_handle(self, handle):
        """Frees a pool handle: every daemon's copy and the shards' objects."""
        h = self._pool_handle(handle)
        ray.get([a.drop_handle.remote(h.name) for a in self.actors])
        del self._handles[h.name]

    def _pool_handle(self, handle):
        name = str(handle)
        if name not in self._handles:
            raise ValueError(f"{name!r} is not a handle of this pool (the pool's attacks make them)")
        return self._handles[name]

    def _with_handles(self, value):
        """Params with the pool's handles (`{"handle": name}`) made PoolHandles for the actors."""
        if isinstance(value, dict):
            out = {k: self._with_handles(v) for k, v in value.items()}
            if isinstance(value.get("handle"), str) and value["handle"] in self._handles:
                out["handle"] = self._handles[value["handle"]]
            return out
        if isinstance(value, list):
            return [self._with_handles(v) for v in value]
        return value

    def evaluate(self, model, dataset=None, attack=None, attacks=None, epsilons=None, progress=None, **params):
        """As Client.evaluate, over a dataset (a name: all of it, or dataset(name, indices)).
        Each point's tally (its counts) is the sum of the shards', every figure is computed
        from the summed counts as the daemon computes it, and `checks` come from one daemon
        given the summed tallies (`evaluate/checks`): the same report as one daemon's."""
        params = evaluate_params(attack, attacks, epsilons, params)
        if params.get("inputs") is not None:
            raise ValueError("Pool.evaluate shards a dataset: pass dataset=name or dataset(name, indices), not inputs")
        name, indices, rest = self._dataset_inputs(dataset)
        wire = to_wire(dict(params, model=model))
        shards = self._shards(indices)
        requests = [dict(wire, inputs=dict(rest, dataset=name, indices=part)) for part in shards]
        started = time.monotonic()
        outcome = self._run("evaluate", requests, progress, "evaluate")

        def merge(done):
            merged = _merge_evaluate([r for _, r in done], time.monotonic() - started)
            if "curve" in merged:
                request = {k: wire[k] for k in ("model", "attack", "attacks", "epsilons", "independent") if k in wire}
                reply = ray.get(self.actors[0].apply.remote("evaluate/checks", dict(request, tallies=[p["tally"] for p in merged["curve"]])))
                merged["checks"] = reply["checks"]
            return merged
        return self._finish("evaluate", outcome, merge)

    def probe(self, model, layer, kind="topActivations", dataset=None, adversarial=None, progress=None, **params):
        """As Client.probe for the kinds whose statistics merge exactly: `activations` (rows
        concatenated); `topActivations` (per unit the top k of the shards' top k, ties to the
        lower index as the daemon breaks them); `classHistograms` and `consistency` (the
        merged top k's images probed once more on one actor, with the adversarial set when
        given: its histograms, CS1, CS2, LC and summary are the daemon's own figures over exactly
        the images one request ranks first); `representation` (the real set sharded, each
        shard's nearest real image of the target class per adversarial image, the nearest of
        those, r(x*) and its distribution recomputed in float32 as the daemon computes them);
        `dissect` (two passes: each shard's top map values per unit, as many as the whole set's
        quantile needs, merged into each unit's threshold exactly as the daemon computes it;
        then each shard's intersection and area counts with those thresholds, summed, and the
        IoUs, labels and summary computed from the sums: the daemon's figures bit for bit, on
        the real set and on the adversarial set).

        `adversarial`: a pool handle (`{"handle": h}`, optionally with `indices`, or `h`), or
        `{"attack": {...}}` (the attack's params with `inputs` a dataset reference): the pool
        runs it sharded first and keeps its result as a pool handle the reply names."""
        if kind not in MERGEABLE_PROBES:
            raise ValueError(f"Pool.probe merges {', '.join(MERGEABLE_PROBES)}; {kind!r} needs one daemon (Client.probe)")
        if params.get("patches"):
            raise ValueError("Pool.probe: patches are written on each actor's node; use Client.probe for them")
        if isinstance(dataset, dict) and "name" in dataset:   # the probe's own form {name, indices}
            dataset = dict({k: v for k, v in dataset.items() if k != "name"}, dataset=dataset["name"])
        adversarial = self._adversarial_set(model, adversarial, kind)
        name, indices, rest = self._dataset_inputs(dataset)
        params.setdefault("array_encoding", "base64")
        wire = to_wire(dict(params, model=model, layer=layer))
        if adversarial is not None:
            wire["adversarial"] = adversarial
        if kind == "dissect":
            return pool_dissect.dissect(self, wire, name, indices, rest, progress)
        shard_kind = kind if kind in ("activations", "representation") else "topActivations"
        shards = self._shards(indices)
        base = wire if shard_kind == "representation" else {k: v for k, v in wire.items() if k not in ("adversarial", "adversarials")}
        requests = [self._with_handles(dict(base, kind=shard_kind, dataset=dict(rest, name=name, indices=part))) for part in shards]
        started = time.monotonic()
        outcome = self._run("probe", requests, progress, f"probe {kind}")

        def named(value):
            if adversarial is not None:
                value["adversarialHandle"] = adversarial["handle"]
            return value

        def merge(pairs):
            done = [r for _, r in pairs]
            seconds = time.monotonic() - started
            if shard_kind == "activations":
                return _merge_activations(done, seconds)
            if shard_kind == "representation":
                return named(_merge_representation(done, wire.get("bins", 10), seconds))
            top = _merge_top(done, wire.get("k", 10), seconds)
            if kind == "topActivations":
                return top
            union = sorted({entry["index"] for unit in top["top"] for entry in unit["top"]})
            request = self._with_handles(dict(wire, kind=kind, dataset=dict(rest, name=name, indices=union)))
            (status, value), _ = ray.get(self.actors[0].run.options(num_returns=2).remote("probe", request, -1))
            if status != "done":
                raise error_from_reply(value if status == "error" else {"code": -32800, "message": "cancelled"}, "probe")
            return named(dict(value, count=top["count"], elapsedMs=(time.monotonic() - started) * 1000))
        return self._finish("probe", outcome, merge)

    def _probe_on_one(self, request):
        """A probe on the first actor, its error raised as the daemon's."""
        (status, value), _ = ray.get(self.actors[0].run.options(num_returns=2).remote("probe", self._with_handles(request), -1))
        if status != "done":
            raise error_from_reply(value if status == "error" else {"code": -32800, "message": "cancelled"}, "probe")
        return value

    def _adversarial_set(self, model, adversarial, kind):
        """A probe's adversarial set as wire params naming a pool handle (an attack run now)."""
        if adversarial is None:
            if kind in ("consistency", "representation"):
                raise ValueError(f"Pool.probe: {kind} needs an adversarial set: a pool handle or {{'attack': {{...}}}}")
            return None
        if kind in ("activations", "topActivations"):
            raise ValueError(f"Pool.probe: {kind} takes no adversarial set")
        if isinstance(adversarial, str):
            adversarial = {"handle": adversarial}
        if not isinstance(adversarial, dict) or ("handle" in adversarial) == ("attack" in adversarial):
            raise ValueError("Pool.probe: adversarial: give exactly one of a pool handle ({'handle': h}) or {'attack': {...}}")
        if "attack" in adversarial:
            attack = dict(adversarial["attack"])
            method = attack.pop("method", "pgd")
            inputs = attack.pop("inputs", None)
            attack_model = attack.pop("model", None) or attack.pop("models", None) or model
            made = self.attack(attack_model, method, inputs, progress=False, images=False, **attack)
            adversarial = dict({k: v for k, v in adversarial.items() if k != "attack"}, handle=str(made.handle))
        self._pool_handle(adversarial["handle"])
        return to_wire(dict(adversarial, handle=str(adversarial["handle"])))

    def explain_prediction(self, model, inputs=None, progress=None, **params):
        """As Client.explain_prediction with `inputs=` over a dataset's images: one explanation
        per image, each exactly as the daemon gives it (the daemon explains each image on its
        own); `timingsMs` summed over the shards, `elapsedMs` the pool's wall time."""
        name, indices, rest = self._dataset_inputs(inputs)
        wire = to_wire(dict(params, model=model))
        if "classes" in wire:
            classes = list(wire.pop("classes"))
            if len(classes) != len(indices):
                raise ValueError(f"classes: {len(classes)} classes for {len(indices)} images")
        else:
            classes = None
        shards = self._shards(indices)
        requests, at = [], 0
        for part in shards:
            request = dict(wire, inputs=dict(rest, dataset=name, indices=part))
            if classes is not None:
                request["classes"] = classes[at:at + len(part)]
            at += len(part)
            requests.append(request)
        started = time.monotonic()
        outcome = self._run("explainPrediction", requests, progress, "explain")
        return self._finish("explainPrediction", outcome, lambda done: _merge_explanations([r for _, r in done], time.monotonic() - started))

    explain = explain_prediction

    # ---- scheduling

    def cancel(self):
        """Cancels the running sharded call (from another thread): every running shard stops;
        the call raises RequestCancelled with the merge of the shards that finished."""
        self._cancel.set()
        for actor in list(self._busy):
            actor.cancel.remote()

    def _dataset_inputs(self, source):
        """(dataset name, its indices, the source's other fields) of a dataset reference."""
        if isinstance(source, str):
            source = {"dataset": source}
        if not isinstance(source, dict) or "dataset" not in source:
            raise ValueError("the pool shards a dataset: pass advlens.dataset(name, indices) or a dataset name")
        rest = {k: v for k, v in source.items() if k not in ("dataset", "indices")}
        if "sample" in rest:
            raise ValueError("the pool shards explicit indices: draw the sample with Client.dataset_info or numpy and pass indices")
        if source.get("indices") is not None:
            indices = [int(i) for i in source["indices"]]
        else:
            info = ray.get(self.actors[0].apply.remote("dataset/info", {"name": source["dataset"]}))
            indices = list(range(info["count"]))
        if not indices:
            raise ValueError("indices: expected at least one image")
        return source["dataset"], indices, rest

    def _shards(self, indices):
        size = max(1, math.ceil(len(indices) / (len(self.actors) * self.shards_per_actor)))
        return [indices[i:i + size] for i in range(0, len(indices), size)]

    def _sink(self, progress):
        """The progress sink a call reports to (None: no progress)."""
        want = self.progress if progress is None else progress
        return ProgressSink(want) if want is not False else None

    def _run(self, method, requests, progress, title, split_images=False, stage=(0, 1), sink=None):
        """Runs the requests on the free actors, a failed actor's shard again on another.
        Returns (results in request order, None where unfinished; cancelled; first error;
        per request the ref of its images split off, with `split_images`).
        `stage` (k, n): this run is pass k of n of one call sharing `sink`, so one bar covers
        them all: pass k fills the bar's k-th n-th, only the first begins it and only the last
        (or one that fails or is cancelled) ends it."""
        self._cancel.clear()
        ray.get(self._board.clear.remote())
        if sink is None:
            sink = self._sink(progress)
        first, last = stage[0] == 0, stage[0] == stage[1] - 1
        weights = [len(r.get("inputs", r.get("dataset", {})).get("indices", [])) or 1 for r in requests]
        total = sum(weights)
        if sink is not None and first:
            sink({"kind": "begin", "title": title, "message": f"{total} images on {len(self.actors)} actors", "percentage": 0})
        results = [None] * len(requests)
        image_refs = [None] * len(requests)
        waiting = list(range(len(requests)))
        running = {}   # object ref -> (shard, actor)
        free = list(self.actors)
        error = None
        cancelled = False
        last_shown = -1
        completed = False
        try:
            while waiting or running:
                while waiting and free and not self._cancel.is_set() and error is None:
                    shard, actor = waiting.pop(0), free.pop(0)
                    reply, images = actor.run.options(num_returns=2).remote(method, requests[shard], shard, split_images)
                    running[reply] = (shard, actor, images)
                    self._busy[actor] = shard
                if not running:
                    break
                try:
                    ready, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
                except KeyboardInterrupt:
                    self.cancel()
                    continue
                for ref in ready:
                    shard, actor, images = running.pop(ref)
                    self._busy.pop(actor, None)
                    try:
                        status, value = ray.get(ref)
                    except ray.exceptions.RayActorError:
                        # Its daemon or node died: Ray restarts the actor; the shard runs again.
                        waiting.insert(0, shard)
                        free.append(actor)
                        continue
                    free.append(actor)
                    if status == "done":
                        results[shard] = value
                        image_refs[shard] = images
                    elif status == "cancelled":
                        cancelled = True
                    elif error is None:
                        error = value
                        self.cancel()
                if sink is not None:
                    board = ray.get(self._board.read.remote())
                    done = sum(w for r, w in zip(results, weights) if r is not None)
                    partial = sum(weights[s] * board.get(s, 0) / 100 for s in range(len(requests)) if results[s] is None)
                    shown = int((100 * stage[0] + 100 * (done + partial) / total) / stage[1])
                    if shown != last_shown:
                        last_shown = shown
                        finished = sum(r is not None for r in results)
                        sink({"kind": "report", "percentage": shown, "message": f"{finished}/{len(requests)} shards"})
                        sink.drain()
            completed = True
        finally:
            stopped = error is not None or cancelled or self._cancel.is_set() or not completed
            if sink is not None and (last or stopped):
                finished = sum(r is not None for r in results)
                sink({"kind": "end", "message": f"{finished}/{len(requests)} shards" if not stopped else None})
                sink.close()
        if waiting and self._cancel.is_set():
            cancelled = True
        return results, cancelled or self._cancel.is_set(), error, image_refs

    def _finish(self, method, outcome, merge):
        results, cancelled, error, _ = outcome
        if error is not None:
            raise error_from_reply(error, method, lambda d: _decode(method, d) if isinstance(d, dict) else d)
        done = [(shard, r) for shard, r in enumerate(results) if r is not None]
        if cancelled:
            partial = _decode(method, merge(done)) if done else None
            raise RequestCancelled(-32800, f"cancelled: {len(done)} of {len(results)} shards finished", partial, method)
        return _decode(method, merge(done))


# ---- merging (on wire JSON, before decoding)

def _wire_keeping_shipped(params):
    out = {}
    for key, value in params.items():
        out.update(to_wire({key: value}) if not isinstance(value, Shipped) else {_camel(key): value})
    return out


def _camel(key):
    from .params import camel
    return camel(key)


def _decode(method, value):
    decoded = from_wire(value, None)
    return result_class(method)(decoded, None) if isinstance(decoded, dict) else decoded
