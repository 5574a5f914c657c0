#!/usr/bin/env python3
"""Issue 17's findings row: the models of docs/findings.md §2 (mnist-madry standard, PGD and
consistent-loss fine-tunes, saved by scripts/claim.py under out/models/mnist-madry[-variant])
evaluated through the daemon with PGD-40 and then AutoAttack standard at eps 0.3, in one
`evaluate` call each: PGD-40's own robust accuracy, then the worst case after AutoAttack runs on
the points PGD left robust (AutoAttack's protocol), with the gradient-masking checks.

    python3 scripts/autoattack_findings.py [--images 1000] [--variants standard,pgd,consistent]

Prints a markdown table. Python 3 standard library only.
"""
import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import findings as F  # noqa: E402  (the daemon client and loaders)

ROOT = F.ROOT
PGD40 = {"method": "pgd", "epsilon": 0.3, "stepSize": 0.01, "steps": 40, "seed": 0}
AUTOATTACK = {"method": "autoattack", "epsilon": 0.3, "version": "standard", "seed": 0}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--daemon", default=os.environ.get("ADVLENSD", str(ROOT / ".build/release/advlensd")))
    ap.add_argument("--images", type=int, default=1000, help="test images (below 1000: a stratified sample, seed 0)")
    ap.add_argument("--variants", default="standard,pgd,consistent")
    a = ap.parse_args(argv)
    client = F.Daemon(a.daemon)
    try:
        test = F.load_mnist_test(client)
        rows = []
        for variant in a.variants.split(","):
            name = "mnist-madry" if variant == "standard" else f"mnist-madry-{variant}"
            directory = ROOT / "out/models" / name
            if not (directory / "model.safetensors").is_file():
                print(f"{name}: not saved ({directory}); run scripts/claim.py first", file=sys.stderr)
                continue
            F.load_model(client, name, directory)
            t0 = time.time()
            # Fewer images: a seeded stratified sample (the split's test part is ordered by class).
            source = ({"dataset": test} if a.images >= 1000 else
                      {"inputs": {"dataset": test, "sample": a.images, "seed": 0, "stratified": True}})
            r = client.call("evaluate", {"model": name, **source, "attacks": [PGD40, AUTOATTACK]})
            point = r["curve"][0]
            pgd, aa = point["attacks"]
            rows.append((variant, r["count"], r["cleanAccuracy"], pgd.get("robustAccuracy", pgd["cumulativeRobustAccuracy"]),
                         aa["cumulativeRobustAccuracy"], [c["code"] for c in r.get("checks", [])], time.time() - t0))
            print(f"{name}: {rows[-1]}", file=sys.stderr)
        print("| model | images | clean | PGD-40 robust | worst case with AutoAttack standard | masking checks | time |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for v, n, clean, pgd, aa, checks, secs in rows:
            print(f"| mnist-madry {v} | {n} | {clean:.3f} | {pgd:.3f} | {aa:.3f} | {', '.join(checks) or 'none'} | {secs:.0f} s |")
    finally:
        client.close()


if __name__ == "__main__":
    main()
