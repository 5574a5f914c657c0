"""How `advlens.distributed.Pool` joins its shards' replies into the reply one daemon would give
for the whole request: records and arrays concatenated in order, summaries recomputed from the
merged samples in float32 as the daemon computes them (never averaged), top-k lists merged.
Kept apart from the pool's actors and scheduling so each file holds one job."""
import itertools
import math

import numpy as np


def _tensor(wire):
    from .tensors import decode_tensor
    return decode_tensor(wire)


def _concat_tensors(wires):
    from .tensors import encode_tensor
    return encode_tensor(np.concatenate([_tensor(w) for w in wires]))


def _wire_float(value):
    """A float32 as the daemon's JSON carries it: the double of its shortest decimal."""
    return float(str(np.float32(value)))


def _f32_mean(values):
    """Σ v / n in float32, summed in order: the daemon's `reduce(0, +) / Float(count)`."""
    if not values:
        return 0.0
    total = np.float32(0)
    for v in values:
        total = np.float32(total + np.float32(v))
    return _wire_float(total / np.float32(len(values)))


def _f32_median(values):
    s = sorted(np.float32(v) for v in values)
    if not s:
        return 0.0
    n = len(s)
    return _wire_float(s[n // 2] if n % 2 == 1 else (s[n // 2 - 1] + s[n // 2]) / np.float32(2))


def _merge_attack(done, shards, seconds):
    """The shards' attack results as one: samples renumbered over the whole request, arrays
    concatenated, the summary recomputed as AttackHandler computes it. `done` holds
    (shard number, result) in request order."""
    starts = list(itertools.accumulate([0] + [len(s) for s in shards]))
    samples = []
    for shard, r in done:
        first = starts[shard]
        for s in r["samples"]:
            samples.append(dict(s, index=len(samples), source=first + s["source"]))
    n = sum(len(shards[shard]) for shard, _ in done)
    attacked = [s for s in samples if s.get("target") is not None or s["cleanCorrect"]]
    succeeded = [s for s in attacked if s["success"]]
    clean = {s["source"]: s["cleanCorrect"] for s in samples}
    results = [r for _, r in done]
    summary = {
        "count": len(samples), "attacked": len(attacked),
        "successRate": (len(succeeded) / len(attacked)) if attacked else 0.0,
        "robustAccuracy": (sum(s["adversarialLabel"] == s["label"] for s in samples) / len(samples)) if samples else 0.0,
        "cleanAccuracy": sum(clean.values()) / n if n else 0.0,
        "meanLinf": _f32_mean([s["linf"] for s in succeeded]), "medianLinf": _f32_median([s["linf"] for s in succeeded]),
        "meanL2": _f32_mean([s["l2"] for s in succeeded]), "medianL2": _f32_median([s["l2"] for s in succeeded]),
        "elapsedMs": seconds * 1000, "imagesPerSecond": len(samples) / max(seconds, 1e-9),
        "stoppedEarly": any(r["summary"]["stoppedEarly"] for r in results),
    }
    out = {"handle": None, "samples": samples, "summary": summary, "config": results[0]["config"]}
    for key in ("images", "perturbations"):
        if key in results[0]:
            out[key] = _concat_tensors([r[key] for r in results])
    if "transfer" in results[0]:
        out["transfer"] = _merge_transfer(results)
    return out


def _merge_transfer(done):
    """Transfer figures per model: success and robust counts recovered from each shard's
    fractions (exact: counts over at most 65,536 samples), added, divided again."""
    out = []
    for m, first in enumerate(done[0]["transfer"]):
        ok = robust = total = 0
        for r in done:
            n = len(r["samples"])
            ok += round(r["transfer"][m]["successRate"] * n)
            robust += round(r["transfer"][m]["robustAccuracy"] * n)
            total += n
        out.append({"model": first["model"], "successRate": ok / total, "robustAccuracy": robust / total})
    return out


def _sum_tallies(tallies):
    """Counts of shards added: the tally of their union (each count is over images)."""
    first = tallies[0]
    out = {"images": sum(t["images"] for t in tallies), "cleanCorrect": sum(t["cleanCorrect"] for t in tallies)}
    for key in ("attacked", "broken", "fooled", "robustAfter"):
        out[key] = [sum(t[key][m] for t in tallies) for m in range(len(first[key]))]
    out["brokenWhereOtherFailed"] = [[sum(t["brokenWhereOtherFailed"][a][b] for t in tallies) for b in range(len(row))]
                                     for a, row in enumerate(first["brokenWhereOtherFailed"])]
    return out


def _point_figures(point, t):
    """A curve point's figures from its tally, as EvaluateHandler.curvePoint and WorstCaseTally
    compute them (Double divisions of counts)."""
    images = t["images"]
    robust = t["robustAfter"][-1] if t["robustAfter"] else t["cleanCorrect"]
    figures = []
    for m, figure in enumerate(point["attacks"]):
        merged = {"config": figure["config"], "attacked": t["attacked"][m], "broken": t["broken"][m],
                  "cumulativeRobustAccuracy": t["robustAfter"][m] / images if images else 0.0,
                  "successRate": t["fooled"][m] / t["attacked"][m] if t["attacked"][m] else 0.0}
        if images > 0 and t["attacked"][m] == t["cleanCorrect"]:
            merged["robustAccuracy"] = (t["cleanCorrect"] - t["broken"][m]) / images
        figures.append(merged)
    return {"robustAccuracy": robust / images if images else 0.0, "attacks": figures}


def _merge_evaluate(done, seconds):
    """The shards' tallies added per curve point and every figure computed from the sums as
    EvaluateHandler does; per-sample rows renumbered. (`checks`: Pool.evaluate asks a daemon.)"""
    count = sum(r["count"] for r in done)
    clean = sum(round(r["cleanAccuracy"] * r["count"]) for r in done)
    first = done[0]
    out = {"count": count, "cleanAccuracy": clean / max(count, 1), "fingerprint": first["fingerprint"],
           "elapsedMs": seconds * 1000, "stoppedEarly": any(r["stoppedEarly"] for r in done)}
    for key in ("attack", "norm", "independent"):
        if key in first:
            out[key] = first[key]
    if "curve" in first:
        curve = []
        for p, point in enumerate(first["curve"]):
            tally = _sum_tallies([r["curve"][p]["tally"] for r in done])
            merged_point = _point_figures(point, tally)
            if "epsilon" in point:
                merged_point["epsilon"] = point["epsilon"]
            if "samples" in point:
                rows = []
                for r in done:
                    for s in r["curve"][p].get("samples", []):
                        rows.append(dict(s, index=len(rows)))
                merged_point["samples"] = rows
                merged_point["handles"] = [r["curve"][p]["handle"] for r in done if "handle" in r["curve"][p]]
            merged_point["tally"] = tally
            curve.append(merged_point)
        out["curve"] = curve
        if len(curve) == 1:
            out["robustAccuracy"] = curve[0]["robustAccuracy"]
    return out


def _merge_activations(done, seconds):
    first = done[0]
    table = {"units": first["activations"]["units"], "indices": [], "labels": []}
    for r in done:
        table["indices"] += r["activations"]["indices"]
        table["labels"] += r["activations"].get("labels", [])
    values = [r["activations"]["values"] for r in done]
    table["values"] = _concat_tensors(values) if isinstance(values[0], dict) else [row for v in values for row in v]
    if "locations" in first["activations"]:
        table["locations"] = [row for r in done for row in r["activations"]["locations"]]
    if not table["labels"]:
        del table["labels"]
    out = {k: v for k, v in first.items() if k not in ("activations", "count", "elapsedMs", "maps")}
    out.update(activations=table, count=sum(r["count"] for r in done), elapsedMs=seconds * 1000)
    if "maps" in first:
        out["maps"] = _concat_tensors([r["maps"] for r in done])
    return out


def _merge_top(done, k, seconds):
    """Per unit the k highest of the shards' top k (each shard's top k holds every image of
    the global top k that it has), highest first, ties to the lower index."""
    first = done[0]
    units = []
    for u, unit in enumerate(first["top"]):
        entries = [e for r in done for e in r["top"][u]["top"]]
        entries.sort(key=lambda e: (-e["value"], e["index"]))
        units.append(dict(unit, top=entries[:k]))
    out = {key: v for key, v in first.items() if key not in ("top", "count", "elapsedMs")}
    out.update(top=units, count=sum(r["count"] for r in done), elapsedMs=seconds * 1000)
    return out


def _merge_explanations(done, seconds):
    timings = {}
    for r in done:
        for key, value in r.get("timingsMs", {}).items():
            timings[key] = timings.get(key, 0) + value
    return {"explanations": [e for r in done for e in r["explanations"]], "timingsMs": timings, "elapsedMs": seconds * 1000}


def _quantile(sorted_values, q):
    """Distribution.quantile: linear between order statistics, the offset in Double, the
    interpolation in float32."""
    p = float(np.float32(q)) * (len(sorted_values) - 1)
    i = int(math.floor(p))
    j = min(i + 1, len(sorted_values) - 1)
    a, b = sorted_values[i], sorted_values[j]
    return np.float32(a + np.float32(p - i) * np.float32(b - a))


def _distribution(values, bins):
    """Interpret's Distribution of float32 values (mean summed in ascending order), on the wire."""
    s = sorted(np.float32(v) for v in values)
    total = np.float32(0)
    for v in s:
        total = np.float32(total + v)
    n = max(1, bins)
    lo = s[0]
    hi = s[-1] if s[-1] > s[0] else np.float32(s[0] + np.float32(1))
    span = np.float32(hi - lo)
    edges = [np.float32(lo + np.float32(np.float32(span * np.float32(k)) / np.float32(n))) for k in range(n + 1)]
    counts = [0] * n
    for v in s:
        counts[min(n - 1, int(np.float32(np.float32(np.float32(v - lo) / span) * np.float32(n))))] += 1
    return {"mean": _wire_float(np.float32(total / np.float32(len(s)))), "median": _wire_float(_quantile(s, 0.5)),
            "min": _wire_float(s[0]), "max": _wire_float(s[-1]),
            "quantiles": [{"q": _wire_float(q), "value": _wire_float(_quantile(s, q))} for q in DISTRIBUTION_LEVELS],
            "histogramEdges": [_wire_float(e) for e in edges], "histogramCounts": counts}


# Distribution.levels (Sources/Interpret/Distribution.swift).
DISTRIBUTION_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def _merge_representation(done, bins, seconds):
    """r(x*) over a real set split into shards: every shard measured the same adversarial images
    against its part of the real set, so per image the distance to its source is the same in
    each and the nearest real image of the target class is the nearest of the shards' nearest;
    the ratio and its distribution are then computed as RepresentationConsistency does."""
    first = done[0]
    rows = []
    for i, sample in enumerate(first["representation"]["samples"]):
        nearest = [r["representation"]["samples"][i].get("toTargetClass") for r in done]
        nearest = [np.float32(v) for v in nearest if v is not None]
        row = {k: v for k, v in sample.items() if k not in ("toTargetClass", "ratio")}
        if nearest:
            least = min(nearest)
            row["toTargetClass"] = _wire_float(least)
            if least > 0:
                row["ratio"] = _wire_float(np.float32(np.float32(sample["toSource"]) / least))
        rows.append(row)
    ratios = [row["ratio"] for row in rows if "ratio" in row]
    summary = {"count": len(rows), "undefined": len(rows) - len(ratios),
               "fractionBelowOne": _wire_float(np.float32(sum(r < 1 for r in ratios)) / np.float32(len(ratios))) if ratios else 0.0}
    if ratios:
        summary.update(_distribution(ratios, bins))
    else:
        summary.update(quantiles=[], histogramEdges=[], histogramCounts=[])
    summary["samples"] = rows
    out = {key: v for key, v in first.items() if key not in ("representation", "count", "elapsedMs")}
    out.update(representation=summary, count=sum(r["count"] for r in done), elapsedMs=seconds * 1000)
    return out


def _dissection_rank(total, quantile):
    """Where Dissection.threshold reads: position (1 - quantile) x (total - 1), 1 - quantile in
    float32 and the product in double; its floor and its fraction rounded to float32."""
    position = float(np.float32(1) - np.float32(quantile)) * (total - 1)
    lower = int(math.floor(position))
    return lower, np.float32(position - lower)


def _dissection_values_needed(total, quantile):
    """Dissection.valuesNeeded: how many of a unit's highest values its threshold reads."""
    return total - _dissection_rank(total, quantile)[0]


def _top_value_rows(result):
    """A topValues pass's [units][n] values as float32 rows (a base64 tensor or numbers)."""
    values = result["topValues"]["values"]
    return _tensor(values) if isinstance(values, dict) else np.asarray(values, dtype=np.float32).reshape(len(values), -1)


def _merged_top_values(done):
    """Per unit the shards' top values together, highest first: the whole set's top values."""
    rows = [_top_value_rows(r) for r in done]
    return [-np.sort(-np.concatenate([shard[u] for shard in rows])) for u in range(len(rows[0]))]


def _dissection_thresholds(done, total, quantile):
    """Each unit's threshold from the shards' top values, as Dissection.threshold computes it
    from one daemon's: linear between the order statistics around (1 - q)(total - 1), the
    offset in double, the interpolation in float32."""
    lower, frac = _dissection_rank(total, quantile)
    out = []
    for values in _merged_top_values(done):
        a, b = values[total - 1 - lower], values[max(0, total - 2 - lower)]
        out.append(np.float32(a + np.float32(frac * np.float32(b - a))))
    return out


def _merge_top_values(done, n, seconds):
    """A sharded `topValues` pass: per unit the n highest of the shards' lists."""
    from .tensors import encode_tensor
    first = done[0]
    total = sum(r["topValues"]["valuesPerUnit"] for r in done)
    merged = [values[:min(n, total)] for values in _merged_top_values(done)]
    encoded = first["topValues"]["values"]
    values = encode_tensor(np.stack(merged)) if isinstance(encoded, dict) else [[_wire_float(v) for v in row] for row in merged]
    out = {key: v for key, v in first.items() if key not in ("topValues", "count", "elapsedMs")}
    out.update(topValues={"units": first["topValues"]["units"], "valuesPerUnit": total, "values": values},
               count=sum(r["count"] for r in done), elapsedMs=seconds * 1000)
    return out


def _dissection_report(reports, kinds, names, iou_threshold, keep_counts):
    """One set's report from its shards' reports (each with `counts`): the counts added, each
    IoU = I / (A + M - I) in float32, each unit's best concept (the first of equal IoUs), a
    detector at IoU >= iouThreshold, and the summary, as Dissection.labels and .summary do."""
    first = reports[0]
    intersections = np.sum([np.asarray(r["counts"]["intersections"], dtype=np.int64) for r in reports], axis=0)
    unit_area = np.sum([np.asarray(r["counts"]["unitArea"], dtype=np.int64) for r in reports], axis=0)
    concept_area = np.sum([np.asarray(r["counts"]["conceptArea"], dtype=np.int64) for r in reports], axis=0)
    threshold = np.float32(iou_threshold)
    units, detectors = [], []
    for slot, row in enumerate(first["units"]):
        ious = []
        for c in range(len(concept_area)):
            i = int(intersections[slot][c])
            union = int(unit_area[slot]) + int(concept_area[c]) - i
            ious.append(np.float32(0) if union == 0 else np.float32(np.float32(i) / np.float32(union)))
        best = 0
        for c in range(len(ious)):
            if ious[c] > ious[best]:
                best = c
        detector = bool(ious[best] >= threshold)
        if detector:
            detectors.append(best)
        units.append({"unit": row["unit"], "label": names[best], "conceptKind": kinds[best], "iou": _wire_float(ious[best]),
                      "detector": detector, "threshold": row["threshold"]})
    by_kind = []
    for kind in dict.fromkeys(kinds):
        mine = [c for c in detectors if kinds[c] == kind]
        if mine:
            by_kind.append({"kind": kind, "detectors": len(mine), "uniqueConcepts": len(set(mine))})
    report = {"units": units, "detectors": len(detectors), "uniqueConcepts": len(set(detectors)), "byKind": by_kind}
    if keep_counts:
        report["counts"] = {"intersections": intersections.tolist(), "unitArea": unit_area.tolist(),
                            "conceptArea": concept_area.tolist()}
    return report


def _merge_dissection(done, kinds, keep_counts, seconds):
    """The shards' dissections (the same thresholds, `counts: true`) as one: per set the counts
    added and the labels recomputed from them (`kinds`: each concept's kind, in the masks'
    order); the adversarial set's sizes added."""
    first = done[0]
    d = first["dissection"]
    dissection = {"quantile": d["quantile"], "iouThreshold": d["iouThreshold"], "concepts": d["concepts"],
                  "real": _dissection_report([r["dissection"]["real"] for r in done], kinds, d["concepts"], d["iouThreshold"],
                                             keep_counts)}
    if "adversarial" in d:
        dissection["adversarial"] = _dissection_report([r["dissection"]["adversarial"] for r in done], kinds, d["concepts"],
                                                       d["iouThreshold"], keep_counts)
    out = {key: v for key, v in first.items() if key not in ("dissection", "count", "elapsedMs", "adversarialCount")}
    out.update(dissection=dissection, count=sum(r["count"] for r in done), elapsedMs=seconds * 1000)
    if "adversarialCount" in first:
        out["adversarialCount"] = sum(r["adversarialCount"] for r in done)
    return out
