"""Sharded Network Dissection for `advlens.distributed.Pool` (`Pool.probe(kind="dissect")`).

Why a module of its own: dissection is the one sharded method of two passes (each unit's top
values from every shard give the whole set's thresholds, then every shard's intersection and
area counts with them are summed; protocol/probe.md, "Sharded dissection"), with its own
selection of adversarial images. The pool's machinery (`_run`, `_finish`, handles) stays in
distributed.py.
"""
import itertools
import time

from .errors import RequestCancelled, error_from_reply
from .shard_merge import _dissection_thresholds, _dissection_values_needed, _merge_dissection, _merge_top_values

try:
    import ray
except ImportError:  # the optional extra advlens[ray]
    ray = None


def dissect(pool, wire, name, indices, rest, progress):
    """`Pool.probe(kind="dissect")`: thresholds from the shards' top values (unless given),
    then the shards' counts with them, summed (protocol/probe.md, "Sharded dissection")."""
    started = time.monotonic()
    wire = dict(wire, kind="dissect")
    keep_counts = bool(wire.pop("counts", False))
    top_values = wire.pop("topValues", None)
    adversarial = wire.pop("adversarial", None)
    if top_values is not None and ("thresholds" in wire or adversarial is not None):
        raise ValueError("Pool.probe: topValues reads the real set only, without thresholds or an adversarial set")
    advs = dissect_adversarials(pool, adversarial, wire.get("adversarials", "successful"))
    # One image on one actor: the layer's map size (so the rank the quantile needs) and
    # every parameter checked by the daemon before the shards start.
    check = {k: v for k, v in wire.items() if k != "thresholds"}
    first = pool._probe_on_one(dict(check, topValues=1, dataset=dict(rest, name=name, indices=indices[:1])))
    total = len(indices) * first["topValues"]["valuesPerUnit"]
    real_shards = pool._shards(indices)
    passes = 1 if top_values is not None or "thresholds" in wire else 2
    sink = pool._sink(progress)
    if top_values is not None:
        requests = [dict(wire, topValues=top_values, dataset=dict(rest, name=name, indices=part)) for part in real_shards]
        outcome = pool._run("probe", requests, progress, "probe dissect", sink=sink)
        return pool._finish("probe", outcome, lambda done: _merge_top_values([r for _, r in done], top_values,
                                                                             time.monotonic() - started))
    if "thresholds" not in wire:
        quantile = wire.get("quantile", 0.005)
        keep = _dissection_values_needed(total, quantile)
        requests = [dict(wire, topValues=keep, dataset=dict(rest, name=name, indices=part)) for part in real_shards]
        results, cancelled, error, _ = pool._run("probe", requests, progress, "probe dissect", stage=(0, 2), sink=sink)
        if error is not None:
            raise error_from_reply(error, "probe")
        if cancelled or pool._cancel.is_set():
            raise RequestCancelled(-32800, "cancelled while computing the thresholds", None, "probe")
        wire["thresholds"] = [float(t) for t in _dissection_thresholds(results, total, quantile)]
    # Each shard: a part of the real set and, with an adversarial set, a part of it.
    parts = len(real_shards) if advs is None else min(len(real_shards), len(advs[0]))
    real_parts = _split(indices, parts)
    requests = []
    for k, part in enumerate(real_parts):
        request = dict(wire, counts=True, dataset=dict(rest, name=name, indices=part))
        if advs is not None:
            request.update(adversarial=dict(adversarial, indices=_split(advs[0], parts)[k]), adversarials="all")
        requests.append(pool._with_handles(request))
    outcome = pool._run("probe", requests, progress, "probe dissect", stage=(passes - 1, passes), sink=sink)
    kinds = [c["kind"] for c in ray.get(pool.actors[0].apply.remote("dataset/info", {"name": name}))["concepts"]]

    def merge(done):
        merged = _merge_dissection([r for _, r in done], kinds, keep_counts, time.monotonic() - started)
        if advs is not None:
            merged["adversarialHandle"] = adversarial["handle"]
            if advs[1] is not None:
                merged["adversarialExcluded"] = advs[1]
        return merged
    return pool._finish("probe", outcome, merge)

def dissect_adversarials(pool, adversarial, selection):
    """The positions in a pool handle a dissection analyses, as the daemon selects them
    (`indices`, then the successful attacks unless `adversarials` is "all"), and how many
    it leaves out (None with "all"); None without an adversarial set."""
    if adversarial is None:
        return None
    create = pool._pool_handle(adversarial["handle"]).create
    count = len(create["success"])
    positions = list(range(count)) if adversarial.get("indices") is None else [int(i) for i in adversarial["indices"]]
    if not positions:
        raise ValueError("adversarial.indices: expected at least one index")
    for i, p in enumerate(positions):
        if not 0 <= p < count:
            raise ValueError(f"adversarial.indices[{i}]: {p} is out of range 0..<{count}")
    if selection == "all":
        return positions, None
    fooled = [p for p in positions if create["success"][p]]
    if not fooled:
        raise ValueError(f"adversarial: none of the {len(positions)} adversarial images of {adversarial['handle']!r} fooled "
                         "the model (every attack failed); pass adversarials=\"all\" to probe them anyway")
    return fooled, len(positions) - len(fooled)


def _split(items, parts):
    """`items` in `parts` contiguous runs whose lengths differ by at most one."""
    size, extra = divmod(len(items), parts)
    bounds = list(itertools.accumulate([0] + [size + (k < extra) for k in range(parts)]))
    return [items[bounds[k]:bounds[k + 1]] for k in range(parts)]
