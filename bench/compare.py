#!/usr/bin/env python3
"""Side-by-side table of AdvLens vs PyTorch benchmark rows (standard library only).

    python3 bench/compare.py advlens.jsonl pytorch.jsonl [--markdown]

Both files are JSON lines: {"impl": ..., "model": ..., "row": ..., "value": ..., "unit": ...}.
Ratio > 1.0 always means AdvLens is better: AdvLens/PyTorch for throughput units,
PyTorch/AdvLens for latency (unit "ms").
A missing or empty PyTorch file prints the AdvLens numbers alone.
"""
import argparse
import json
import sys

LOWER_IS_BETTER = {"ms", "s", "us"}
# Rows that are results, not speeds: shown side by side, never ratio'd.
NOT_COMPARED = {"robust_acc"}
# Speed targets by row prefix (issue 4 asks 1.2x torchattacks for every attack row).
TARGETS = {"attack": 1.2}


def read_rows(path):
    """Return (rows, info): rows maps (model, row) -> (value, unit), in file order."""
    rows, info = {}, []
    if not path:
        return rows, info
    try:
        f = open(path, encoding="utf-8")
    except OSError:
        return rows, info
    with f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                print(f"compare.py: {path}:{n}: not JSON, skipped", file=sys.stderr)
                continue
            if not isinstance(obj, dict) or "row" not in obj:
                continue
            if obj["row"] == "info":
                info.append(obj)
                continue
            value = obj.get("value")
            if not isinstance(value, (int, float)):
                continue
            rows[(str(obj.get("model", "-")), str(obj["row"]))] = (float(value), str(obj.get("unit", "")))
    return rows, info


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.4g}"


def render(header, body, markdown):
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(out)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    numeric = {3, 4, 5}

    def line(cells):
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join(line(r).rstrip() for r in [header, ["-" * w for w in widths]] + body)


def describe_info(label, info):
    for obj in info:
        extra = {k: v for k, v in obj.items() if k not in ("impl", "model", "row", "value", "unit")}
        print(f"{label}: " + ", ".join(f"{k}={v}" for k, v in extra.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("advlens", help="AdvLens JSON lines")
    ap.add_argument("pytorch", nargs="?", default=None, help="PyTorch JSON lines (optional)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    a = ap.parse_args()

    adv, adv_info = read_rows(a.advlens)
    ref, ref_info = read_rows(a.pytorch)
    describe_info("AdvLens", adv_info)
    describe_info("PyTorch", ref_info)

    # the reference's order is the canonical one; rows only AdvLens has come last
    keys = list(ref) + [k for k in adv if k not in ref] if ref else list(adv)
    if not keys:
        print("no benchmark rows found")
        return 0

    if not ref:
        print("note: PyTorch reference unavailable (torch not installed, or the file is missing/empty); "
              "AdvLens numbers alone")
        header = ["model", "row", "unit", "AdvLens"]
        body = [[m, r, adv[(m, r)][1], fmt(adv[(m, r)][0])] for (m, r) in keys]
        print(render(header, body, a.markdown))
        return 0

    header = ["model", "row", "unit", "AdvLens", "reference", "ratio", "note"]
    body, met, total = [], 0, 0
    for key in keys:
        m, r = key
        av, au = adv.get(key, (None, None))
        pv, pu = ref.get(key, (None, None))
        unit = au or pu
        if au and pu and au != pu:
            body.append([m, r, f"{au}|{pu}", fmt(av), fmt(pv), "-", "unit mismatch"])
            continue
        ratio, note = None, ""
        if unit in NOT_COMPARED:
            note = "(robust accuracy, not a speed)"
        elif av is not None and pv is not None and av > 0 and pv > 0:
            ratio = pv / av if unit in LOWER_IS_BETTER else av / pv
            target = TARGETS.get(r.split("_")[0], 1.0)
            total += 1
            if ratio >= target:
                met += 1
                note = f"≥{target:.1f} target met"
            else:
                note = f"below {target:.1f} target"
        body.append([m, r, unit, fmt(av), fmt(pv), "-" if ratio is None else f"{ratio:.2f}", note])
    print(render(header, body, a.markdown))
    print(f"\nratio > 1.0 means AdvLens is better (throughput: AdvLens/reference; ms: reference/AdvLens; the reference is "
          f"PyTorch, or torchattacks for attack rows). "
          f"target met on {met} of {total} compared rows.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
