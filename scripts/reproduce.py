#!/usr/bin/env python3
"""The paper's experiment through the daemon (issue 20; docs/findings.md §3): six training arms
trained from scratch with `trainStep`, several seeds, robust accuracy by PGD-40 and AutoAttack,
and the neuron analysis under a bounded and an unbounded ensemble-optimization attack.

Arms (ARMS): standard; the consistent loss with an FGSM adversary (the paper); the consistent
loss with a PGD adversary; PGD adversarial training (Madry et al.); TRADES; and the consistent
loss with λ = 0 and the FGSM adversary (the control of the feature term). Every arm starts from
`model/create <arch> seed s` and trains on the same seeded batch stream.

Per trained model: `evaluate` with PGD-40 then AutoAttack standard on the points PGD-40 left
robust (one call: PGD-40's own robust accuracy and the worst case of both); then, for the
attack with an L-inf box of the training epsilon ("bounded": the images still look like their
source) and without one ("unbounded"), `attack ensemble-opt` (targeted, several targets per
image, no early stop) and `probe consistency` (CS1 / CS2 / LC over the penultimate units that
fire, successful adversarials only, as the daemon counts them), `probe representation` (r(x*))
and, on shapes, `probe dissect` (detectors by concept kind, real vs adversarial). For seed 0 of
the standard and the FGSM consistent arm it also writes the receptive-field patches of the top
real and top adversarial images of a few conv units (`probe topActivations`, the paper's
Figure 1) and explains one adversarial image on both models (`explainPrediction`).

    python3 scripts/reproduce.py --small                      # the make-test configuration (no figures in make test)
    python3 scripts/reproduce.py                              # the full run (docs/findings.md §3 has its size and time)
    python3 scripts/reproduce.py --setups shapes-cnn          # one setup (two processes, one per setup, share 2 cores well)
    python3 scripts/reproduce.py --render --write-docs        # tables (and figures) again from out/reproduce

Results go to --out (default out/reproduce): one JSON per (setup, arm, seed), reused by later
runs (delete one to redo it), the trained weights, patches and explanation PNGs. `--render`
writes tables.md there and, unless --no-figures, the figures (matplotlib: `make reproduce`
installs it into .venv; the tables need only the standard library) into --figures;
`--write-docs` puts the tables between the reproduce markers of docs/findings.md.

Setups (SETUPS) name the data, the architecture (with `create`: model/create's further options)
and its layers; a setup is one dict entry, so another architecture on the same data is one line,
as the torchvision-layout ResNet-18 on shapes is (not in the default --setups: it is ~10x dearer
per step than shapes-cnn; `--setups shapes-resnet18` runs it).
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import findings as F  # noqa: E402  (the daemon client and loaders)

ROOT = F.ROOT
MARK_BEGIN, MARK_END = "<!-- reproduce.py tables: begin -->", "<!-- reproduce.py tables: end -->"

# --------------------------------------------------------------------------------------------
# What is trained and measured.

ARMS = ("standard", "fgsm-consistent", "pgd-consistent", "pgd", "trades", "lambda0")
# eval_step: PGD-40's step (Madry et al.'s 0.01 on MNIST; 1/255 on shapes, RGB in [0, 1] like CIFAR
# with its 8/255). The training adversaries (PGD, TRADES' KL) take --pgd-steps steps of 2.5 eps / steps.
# run / small: the sizes of the full run and of --small (flags override them): trainStep steps,
# steps of the PGD / KL training adversary, evaluate's test images, the analysis attack's source
# images; --small's arms (shapes: the two whose figure steps run; every objective runs on MNIST).
# Shapes' steps cost ~10x MNIST's (64x64x3 inputs) and AutoAttack on its robust points far more,
# so it gets fewer steps and images and a cheaper adversary (docs/findings.md §3 has the times).
MNIST = dict(data="mnist", layer="8", conv_layer="4", epsilon=0.3, eval_step=0.01, dissect_layer=None,
             run=dict(steps=500, pgd_steps=5, eval_images=200, images=50), small=dict(steps=30, pgd_steps=2, eval_images=20, images=5, arms=ARMS))
SHAPES = dict(data="shapes", layer="relu5", conv_layer="relu4", epsilon=8 / 255, eval_step=1 / 255, dissect_layer="relu4",
              run=dict(steps=150, pgd_steps=3, eval_images=20, images=30),
              small=dict(steps=4, pgd_steps=2, eval_images=20, images=5, arms=("standard", "fgsm-consistent")))
SETUPS = {
    "mnist-small": dict(MNIST, arch="mnist-small"),
    "mnist-madry": dict(MNIST, arch="mnist-madry"),
    "shapes-cnn": dict(SHAPES, arch="shapes-cnn"),
    # The paper's ResNet-18 in torchvision's layout; layer3 (4x4 at 64x64) for patches and dissection,
    # since layer4 is 2x2 there; the penultimate layer is the pooled 512 features.
    "shapes-resnet18": dict(SHAPES, arch="resnet18", create=dict(numClasses=9, inputSize=[3, 64, 64]), layer="avgpool",
                            conv_layer="layer3.1.relu", dissect_layer="layer3.1.relu"),
}
ARM_NAMES = {"standard": "standard", "fgsm-consistent": "consistent, FGSM (paper)", "pgd-consistent": "consistent, PGD",
             "pgd": "PGD (Madry)", "trades": "TRADES", "lambda0": "consistent λ = 0, FGSM"}


def size(a, setup, key):
    """A size of the run: the flag when given, else the setup's full-run or --small value."""
    value = getattr(a, key)
    return value if value is not None else setup["small" if a.small else "run"][key]


def objective(setup, arm, a):
    """trainStep's objective for one arm; every adversary is bounded by the setup's epsilon."""
    eps = setup["epsilon"]
    fgsm = {"method": "fgsm", "epsilon": eps}
    k = size(a, setup, "pgd_steps")
    pgd = {"method": "pgd", "epsilon": eps, "stepSize": 2.5 * eps / k, "steps": k}
    consistent = {"kind": "consistent", "layers": [setup["layer"]], "lambda": a.lam}
    return {
        "standard": {"kind": "standard"},
        "fgsm-consistent": {**consistent, "adversary": fgsm},
        "pgd-consistent": {**consistent, "adversary": pgd},
        "pgd": {"kind": "pgd", "adversary": pgd},
        "trades": {"kind": "trades", "beta": a.beta, "adversary": {**pgd, "method": "kl"}},
        "lambda0": {**consistent, "lambda": 0.0, "adversary": fgsm},
    }[arm]


def load_data(client, setup, a):
    """(training set, evaluation set) of a setup's data. The MNIST split names version 1 (dataset
    order, the default before issue 16): the committed runs were made with it, and a run resumed
    after the default changed must train and evaluate on the very same batches."""
    if setup["data"] == "mnist":
        r = client.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz",
                                         "split": {"testPerClass": a.mnist_test_per_class, "seed": 0, "version": 1}})
        return r["datasets"][0]["name"], r["datasets"][1]["name"]
    client.call("dataset/load", {"name": "shapes-train", "kind": "shapes", "count": a.shapes_train, "seed": 0, "masks": False})
    client.call("dataset/load", {"name": "shapes-eval", "kind": "shapes", "count": a.shapes_eval, "seed": 1})
    return "shapes-train", "shapes-eval"


# --------------------------------------------------------------------------------------------
# One model: train, evaluate, analyse.


def train(client, name, setup, arm, seed, train_set, a, log):
    """model/create + trainStep in chunks; saved under --out/models/<name> (reused when there)."""
    directory = a.out / "models" / name
    record_file = directory / "training.json"
    if (directory / "model.safetensors").is_file() and record_file.is_file():
        F.load_model(client, name, directory)
        return json.loads(record_file.read_text())
    client.call("model/create", {"name": name, "architecture": setup["arch"], "seed": seed, **setup.get("create", {})})
    params = {"model": name, "dataset": train_set, "batchSize": a.batch_size, "seed": seed,
              "objective": objective(setup, arm, a), "optimizer": {"kind": "adam", "learningRate": a.lr}}
    chunks, t0, done = [], time.time(), 0
    steps = size(a, setup, "steps")
    while done < steps:
        n = min(a.chunk, steps - done)
        r = client.call("trainStep", {**params, "steps": n})
        done += n
        chunks.append({"steps": r["stepCount"], "loss": r["loss"], "parts": r["parts"],
                       "cleanAccuracy": r.get("cleanAccuracy"), "adversarialAccuracy": r.get("adversarialAccuracy")})
        log(f"{name}: step {done}/{steps} loss {r['loss']:.3f} ({time.time() - t0:.0f} s)")
    directory.mkdir(parents=True, exist_ok=True)
    saved = client.call("model/save", {"name": name, "spec": str(directory / "model.json"), "weights": str(directory / "model.safetensors")})
    record = {"objective": r["objective"], "optimizer": r["optimizer"], "steps": steps, "batchSize": a.batch_size,
              "seconds": time.time() - t0, "fingerprint": saved["fingerprint"], "chunks": chunks}
    record_file.write_text(json.dumps(record, indent=1))
    return record


def evaluate(client, name, setup, test, a):
    """PGD-40, then AutoAttack standard on the points PGD-40 left robust, at the training epsilon."""
    eps = setup["epsilon"]
    pgd40 = {"method": "pgd", "epsilon": eps, "stepSize": setup["eval_step"], "steps": 40, "seed": 0}
    aa = {"method": "autoattack", "epsilon": eps, "version": "standard", "seed": 0}
    r = client.call("evaluate", {"model": name, "inputs": {"dataset": test, "sample": size(a, setup, "eval_images"), "seed": 0, "stratified": True},
                                 "attacks": [pgd40, aa]})
    p, x = r["curve"][0]["attacks"]
    return {"images": r["count"], "clean": r["cleanAccuracy"], "pgd40": p.get("robustAccuracy", p["cumulativeRobustAccuracy"]),
            "autoattack": x["cumulativeRobustAccuracy"], "checks": [c["code"] for c in r.get("checks", [])],
            "seconds": r["elapsedMs"] / 1000}


def attacked_images(setup, a):
    """The analysed source images: every n-th test image, so each class is attacked alike."""
    count = a.mnist_test_per_class * 10 if setup["data"] == "mnist" else a.shapes_eval
    n = size(a, setup, "images")
    return list(range(0, count, max(1, count // n)))[:n]


def analyse(client, name, setup, test, bound, a, keep=False):
    """One ensemble-opt attack (bounded or not) and the probes on its successful images. With
    keep, the handle is returned for the figure steps (the caller drops it)."""
    attack = {"method": "ensemble-opt", "model": name, "inputs": {"dataset": test, "indices": attacked_images(setup, a)},
              "targetsPerImage": a.targets, "steps": a.attack_steps, "learningRate": 0.01, "lambda": 0.05,
              "earlyStop": False, "seed": 0}
    if bound == "bounded":
        attack["epsilon"] = setup["epsilon"]
    adv = client.call("attack", attack)
    handle, samples = adv["handle"], adv["samples"]
    ok = [s["index"] for s in samples if s["success"]]
    row = {"adversarial": len(samples), "successful": len(ok),
           "meanLinf": statistics.fmean(s["linf"] for s in samples if s["success"]) if ok else None,
           "meanL2": statistics.fmean(s["l2"] for s in samples if s["success"]) if ok else None}
    if ok:
        advset = {"handle": handle}
        cons = client.call("probe", {"model": name, "layer": setup["layer"], "kind": "consistency", "k": a.k,
                                     "dataset": {"name": test}, "adversarial": advset})
        rep = client.call("probe", {"model": name, "layer": setup["layer"], "kind": "representation",
                                    "dataset": {"name": test}, "adversarial": advset})["representation"]
        summary = cons["consistencySummary"]
        units = [{"unit": h["unit"], "cs1": h["cs1"], "cs2": h["cs2"], "lc": h["lc"], "firing": h["firing"]} for h in cons["histograms"]]
        firing = [u for u in units if u["firing"]]
        ratios = [s["ratio"] for s in rep["samples"] if s.get("ratio") is not None]
        row.update({
            "analysed": cons["adversarialCount"], "excluded": cons.get("adversarialExcluded", 0),
            "units": len(units), "firingUnits": summary["units"], "silentUnits": summary["silentUnits"],
            "cs1": summary.get("meanCS1"), "cs2": summary.get("meanCS2"), "lc": summary.get("meanLC"),
            "cs2AboveCS1": sum(u["cs2"] > u["cs1"] for u in firing) / len(firing) if firing else None,
            "rMedian": rep["median"], "rMean": rep["mean"], "rBelowOne": rep["fractionBelowOne"], "rCount": rep["count"],
            "perUnit": units, "r": ratios,
        })
        if setup["dissect_layer"]:
            sources = sorted({samples[i]["source"] for i in ok})
            d = client.call("probe", {"model": name, "layer": setup["dissect_layer"], "kind": "dissect",
                                      "dataset": {"name": test, "indices": sources}, "adversarial": advset})["dissection"]
            row["dissect"] = {side: {"detectors": d[side]["detectors"], "uniqueConcepts": d[side]["uniqueConcepts"],
                                     "byKind": {b["kind"]: b["detectors"] for b in d[side]["byKind"]}}
                              for side in ("real", "adversarial")}
            row["dissect"]["images"] = len(sources)
    if keep:
        return row, handle, samples
    client.call("handle/drop", {"handle": handle})
    return row


def run_one(client, setup_name, arm, seed, train_set, test, a, log):
    setup = SETUPS[setup_name]
    name = f"{setup_name}-{arm}-s{seed}"
    path = a.out / setup_name / f"{arm}-s{seed}.json"
    if path.is_file():
        log(f"{name}: reusing {path}")
        return json.loads(path.read_text())
    t0 = time.time()
    result = {"setup": setup_name, "arch": setup["arch"], "arm": arm, "seed": seed, "training": train(client, name, setup, arm, seed, train_set, a, log)}
    result["evaluate"] = evaluate(client, name, setup, test, a)
    log(f"{name}: clean {result['evaluate']['clean']:.3f}, PGD-40 {result['evaluate']['pgd40']:.3f}, "
        f"AutoAttack {result['evaluate']['autoattack']:.3f} ({time.time() - t0:.0f} s)")
    figures = seed == 0 and arm in ("standard", "fgsm-consistent")
    for bound in ("bounded", "unbounded"):
        if figures and bound == "bounded":
            row, handle, samples = analyse(client, name, setup, test, bound, a, keep=True)
            result["figure1"] = figure1(client, name, setup, test, handle, samples, a)
            client.call("handle/drop", {"handle": handle})
        else:
            row = analyse(client, name, setup, test, bound, a)
        result[bound] = row
        log(f"{name}: {bound}: {row['successful']}/{row['adversarial']} successful, CS1 {F.fmt(row.get('cs1'))}, "
            f"CS2 {F.fmt(row.get('cs2'))}, r median {F.fmt(row.get('rMedian'))} ({time.time() - t0:.0f} s)")
    if figures:
        result["explanation"] = explain(client, name, setup, test, a)
    result["seconds"] = time.time() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    client.call("model/unload", {"name": name})
    return result


# --------------------------------------------------------------------------------------------
# The figure steps that need the daemon: patches (Figure 1) and an explanation.


def figure1(client, name, setup, test, handle, samples, a):
    """Top real and top adversarial images of a few conv units with their receptive-field
    patches (probe topActivations, patches: true). Units: those whose best real image fires
    most, among the units that also fire on the adversarial images."""
    ok = [s["index"] for s in samples if s["success"]]
    if not ok:
        return None
    base = dict(model=name, layer=setup["conv_layer"], kind="topActivations", k=a.patches_k, patches=True, patchScale=4)
    rel = str(a.out / "patches" / name)
    real = client.call("probe", {**base, "dataset": {"name": test}, "patchDirectory": rel + "/real"})
    adv = client.call("probe", {**base, "inputs": {"handle": handle, "indices": ok}, "patchDirectory": rel + "/adversarial"})
    adv_by_unit = {u["unit"]: u for u in adv["top"]}
    ranked = sorted((u for u in real["top"] if adv_by_unit[u["unit"]]["top"][0]["value"] > 0), key=lambda u: -u["top"][0]["value"])
    units = []
    for u in ranked[:a.figure_units]:
        v = adv_by_unit[u["unit"]]
        units.append({"unit": u["unit"],
                      "real": [{"index": t["index"], "label": t["label"], "value": t["value"], "patch": t.get("patch")} for t in u["top"]],
                      # inputs index i is the i-th of `ok`: map back to the handle's sample and its target.
                      "adversarial": [{"sample": ok[t["index"]], "source": samples[ok[t["index"]]]["source"],
                                       "label": samples[ok[t["index"]]]["label"], "target": samples[ok[t["index"]]].get("target"),
                                       "value": t["value"], "patch": t.get("patch")} for t in v["top"]]})
    return {"layer": setup["conv_layer"], "units": units}


def explain(client, name, setup, test, a):
    """Why the model erred on one adversarial image: the first analysed source image, attacked
    towards class (label + 1) mod C with the bounded ensemble-opt (the unbounded one when the
    bounded attack fails), explained with compareWith its clean source."""
    source = attacked_images(setup, a)[0]
    png = str(a.out / "explain" / name)
    label = client.call("predict", {"model": name, "inputs": {"dataset": test, "indices": [source]}})["predictions"][0]["label"]
    # A model made by model/create with numClasses names no classes; the test set's count is the same.
    classes = client.call("model/info", {"name": name})["summary"]["classes"] or \
        client.call("dataset/info", {"name": test})["classes"]
    target = (label + 1) % len(classes)
    for bound in ("bounded", "unbounded"):
        attack = {"method": "ensemble-opt", "model": name, "inputs": {"dataset": test, "indices": [source]}, "targeted": True,
                  "target": target, "steps": a.attack_steps, "learningRate": 0.01, "lambda": 0.05, "earlyStop": False, "seed": 0,
                  "return": {"png": png, "pngScale": 4}}
        if bound == "bounded":
            attack["epsilon"] = setup["epsilon"]
        adv = client.call("attack", attack)
        if adv["samples"][0]["success"] or bound == "unbounded":
            break
        client.call("handle/drop", {"handle": adv["handle"]})
    s = adv["samples"][0]
    e = client.call("explainPrediction", {"model": name, "input": {"handle": adv["handle"], "indices": [0]},
                                          "compareWith": {"dataset": test, "indices": [source]}, "topNeurons": 3,
                                          "methods": ["influence", "gradCam", "saliency"],
                                          "concepts": {"dataset": test, "indices": attacked_images(setup, a), "k": 1},
                                          "return": {"maps": False, "png": png, "pngScale": 4}})
    client.call("handle/drop", {"handle": adv["handle"]})
    return {"source": source, "label": s["label"], "target": target, "attack": bound, "success": s["success"],
            "linf": s["linf"], "predicted": e["prediction"]["predicted"], "confidence": e["prediction"]["confidence"],
            "summary": e["summary"], "comparison": e.get("comparison", {}).get("summary"),
            "strip": adv["png"][0] if adv.get("png") else None,
            "maps": {k: v.get("png") for k, v in e.get("maps", {}).items()}}


# --------------------------------------------------------------------------------------------
# Aggregation over seeds, verdicts, tables.


def spread(values):
    """{mean, min, max, n} over the seeds that have the value."""
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"mean": statistics.fmean(v), "min": min(v), "max": max(v), "n": len(v)}


METRICS = {  # name: how to read it from one result
    "clean": lambda r: r["evaluate"]["clean"],
    "pgd40": lambda r: r["evaluate"]["pgd40"],
    "autoattack": lambda r: r["evaluate"]["autoattack"],
}
for _b in ("bounded", "unbounded"):
    for _m in ("successful", "meanLinf", "cs1", "cs2", "cs2AboveCS1", "firingUnits", "rMedian", "rBelowOne"):
        METRICS[f"{_b}.{_m}"] = (lambda b, m: lambda r: r[b].get(m))(_b, _m)
    for _side in ("real", "adversarial"):
        METRICS[f"{_b}.detectors.{_side}"] = (lambda b, s: lambda r: r[b]["dissect"][s]["detectors"] if "dissect" in r[b] else None)(_b, _side)
        for _kind in ("part", "colour", "texture", "object"):
            METRICS[f"{_b}.detectors.{_side}.{_kind}"] = (
                lambda b, s, k: lambda r: r[b]["dissect"][s]["byKind"].get(k, 0) if "dissect" in r[b] else None)(_b, _side, _kind)


def summarise(results):
    """{setup: {arm: {metric: spread}}} over the seeds of each (setup, arm)."""
    out = {}
    for r in results:
        out.setdefault(r["setup"], {}).setdefault(r["arm"], []).append(r)
    return {s: {arm: {m: spread([f(r) for r in rs]) for m, f in METRICS.items()} | {"seeds": sorted(r["seed"] for r in rs)}
                for arm, rs in arms.items()} for s, arms in out.items()}


def compare(a, b, higher):
    """held / did not hold / mixed for "a is higher (lower) than b" over seeds: held when every
    seed of a beats every seed of b, did not hold when every seed of b beats every seed of a.
    A verdict from a single seed on either side says so."""
    if a is None or b is None:
        return "n/a"
    verdict = _compare(a, b, higher)
    return verdict + " (one seed)" if min(a["n"], b["n"]) < 2 and not verdict.startswith("mixed") else verdict


def _compare(a, b, higher):
    if higher:
        if a["min"] > b["max"]:
            return "held"
        if a["max"] < b["min"]:
            return "did not hold"
    else:
        if a["max"] < b["min"]:
            return "held"
        if a["min"] > b["max"]:
            return "did not hold"
    return "mixed (ranges overlap)"


def against_one(r, above):
    """The verdict on "r is above (below) 1" over the seeds' medians."""
    if r is None:
        return "n/a"
    if r["min"] > 1 or r["max"] < 1:
        verdict = "held" if (r["min"] > 1) == above else "did not hold"
        return verdict + (" (one seed)" if r["n"] < 2 else "")
    return "mixed (ranges straddle 1)"


def verdicts(summary):
    """The paper's claims, each judged per setup from the seed ranges (rows: claim, setup, verdict, numbers)."""
    rows = []
    f = lambda s: "—" if s is None else f"{s['mean']:.3f} [{s['min']:.3f}–{s['max']:.3f}]"
    for setup, arms in summary.items():
        std, con, ctl = arms.get("standard"), arms.get("fgsm-consistent"), arms.get("lambda0")
        if std:
            for b in ("bounded", "unbounded"):
                c1, c2 = std[f"{b}.cs1"], std[f"{b}.cs2"]
                rows.append((f"standard model: units follow the target, CS2 > CS1 ({b})", setup,
                             compare(c2, c1, True), f"CS2 {f(c2)} vs CS1 {f(c1)}"))
                r = std[f"{b}.rMedian"]
                rows.append((f"standard model: r(x*) > 1 ({b})", setup, against_one(r, above=True), f"median r {f(r)}"))
        if std and con:
            for b in ("bounded", "unbounded"):
                rows.append((f"consistent loss raises CS1 ({b})", setup, compare(con[f"{b}.cs1"], std[f"{b}.cs1"], True),
                             f"{f(std[f'{b}.cs1'])} → {f(con[f'{b}.cs1'])}"))
                rows.append((f"consistent loss lowers CS2 ({b})", setup, compare(con[f"{b}.cs2"], std[f"{b}.cs2"], False),
                             f"{f(std[f'{b}.cs2'])} → {f(con[f'{b}.cs2'])}"))
                r = con[f"{b}.rMedian"]
                rows.append((f"consistent loss: r(x*) < 1 ({b})", setup, against_one(r, above=False),
                             f"median r {f(std[f'{b}.rMedian'])} → {f(r)}"))
                if con[f"{b}.detectors.real"] is not None:
                    rows.append((f"consistent loss: more detectors on real images ({b} sources)", setup,
                                 compare(con[f"{b}.detectors.real"], std[f"{b}.detectors.real"], True),
                                 f"{f(std[f'{b}.detectors.real'])} → {f(con[f'{b}.detectors.real'])}"))
            rows.append(("consistent loss: robust accuracy above standard (AutoAttack)", setup,
                         compare(con["autoattack"], std["autoattack"], True), f"{f(std['autoattack'])} → {f(con['autoattack'])}"))
            drop = {"mean": std["clean"]["mean"] - con["clean"]["mean"]}
            one = " (one seed)" if min(std["clean"]["n"], con["clean"]["n"]) < 2 else ""
            rows.append(("consistent loss: modest clean-accuracy loss (≤ 5 points of the mean)", setup,
                         ("held" if drop["mean"] <= 0.05 else "did not hold") + one, f"{f(std['clean'])} → {f(con['clean'])}"))
        if con and ctl:
            for b in ("bounded", "unbounded"):
                rows.append((f"the feature term (λ > 0 vs λ = 0) raises CS1 ({b})", setup,
                             compare(con[f"{b}.cs1"], ctl[f"{b}.cs1"], True), f"λ 0 {f(ctl[f'{b}.cs1'])}, λ > 0 {f(con[f'{b}.cs1'])}"))
            rows.append(("the feature term (λ > 0 vs λ = 0) raises robust accuracy (AutoAttack)", setup,
                         compare(con["autoattack"], ctl["autoattack"], True), f"λ 0 {f(ctl['autoattack'])}, λ > 0 {f(con['autoattack'])}"))
    return rows


def cell(s, digits=3):
    if s is None:
        return "—"
    if s["n"] == 1 or s["min"] == s["max"]:
        return f"{s['mean']:.{digits}f}"
    return f"{s['mean']:.{digits}f} [{s['min']:.{digits}f}–{s['max']:.{digits}f}]"


def markdown(results, summary, a_config):
    out = []
    for setup, arms in summary.items():
        some = next(r for r in results if r["setup"] == setup)
        seeds = sorted({r["seed"] for r in results if r["setup"] == setup})
        t = some["training"]
        out += [f"#### {setup} ({some['arch']}; seeds {', '.join(map(str, seeds))}; mean [min–max] over each arm's seeds)", "",
                f"Training: {t['steps']} steps × batch {t['batchSize']}, {t['optimizer']['kind']} lr {t['optimizer']['learningRate']:g}, from `model/create` "
                f"with the seed. Robust accuracy on {some['evaluate']['images']} test images (stratified sample, seed 0), "
                f"eps {SETUPS[setup]['epsilon']:.4g}: PGD-40, and the worst case of PGD-40 and AutoAttack standard.", "",
                "| arm | seeds | clean | PGD-40 | AutoAttack | training time (s) |", "| --- | --- | --- | --- | --- | --- |"]
        for arm in ARMS:
            if arm not in arms:
                continue
            s = arms[arm]
            secs = spread([r["training"]["seconds"] for r in results if r["setup"] == setup and r["arm"] == arm])
            out.append(f"| {ARM_NAMES[arm]} | {', '.join(map(str, s['seeds']))} | {cell(s['clean'])} | {cell(s['pgd40'])} | {cell(s['autoattack'])} | {cell(secs, 0)} |")
        for b in ("bounded", "unbounded"):
            box = f"L-inf box {SETUPS[setup]['epsilon']:.4g}" if b == "bounded" else "no box"
            out += ["", f"Neuron analysis, {b} ensemble-opt ({box}; {some[b]['adversarial']} targeted adversarials per model, "
                    f"{a_config['attackSteps']} Adam steps, no early stop; successful adversarials only; means over the firing units):", "",
                    "| arm | successful | mean L-inf | firing units | CS1 | CS2 | units CS2 > CS1 | median r(x*) | r < 1 |",
                    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            for arm in ARMS:
                if arm not in arms:
                    continue
                s = arms[arm]
                few = s[f"{b}.successful"] is not None and s[f"{b}.successful"]["min"] < a_config["k"]
                out.append(f"| {ARM_NAMES[arm]} | {cell(s[f'{b}.successful'], 0)}{' †' if few else ''} | {cell(s[f'{b}.meanLinf'])} | {cell(s[f'{b}.firingUnits'], 0)} | "
                           f"{cell(s[f'{b}.cs1'])} | {cell(s[f'{b}.cs2'])} | {cell(s[f'{b}.cs2AboveCS1'])} | {cell(s[f'{b}.rMedian'])} | "
                           f"{cell(s[f'{b}.rBelowOne'])} |")
            if any(s[f"{b}.successful"] is not None and s[f"{b}.successful"]["min"] < a_config["k"] for s in arms.values()):
                out += ["", f"† fewer successful adversarials than k = {a_config['k']} in some seed: every unit's top-k adversarial "
                        "images are then the whole set, so CS1 and CS2 compare each unit's real classes with the set's overall "
                        "source and target classes rather than with the unit's own adversarial responses."]
            if SETUPS[setup]["dissect_layer"] and any(arms[arm][f"{b}.detectors.real"] is not None for arm in arms):
                out += ["", f"Dissection detectors at {SETUPS[setup]['dissect_layer']} ({b} attack's successful sources; "
                        "part / colour / texture / object):", "",
                        "| arm | real | adversarial | real by kind | adversarial by kind |", "| --- | --- | --- | --- | --- |"]
                for arm in ARMS:
                    if arm not in arms:
                        continue
                    s = arms[arm]
                    kinds = lambda side: " / ".join(cell(s[f"{b}.detectors.{side}.{k}"], 1) for k in ("part", "colour", "texture", "object"))
                    out.append(f"| {ARM_NAMES[arm]} | {cell(s[f'{b}.detectors.real'], 1)} | {cell(s[f'{b}.detectors.adversarial'], 1)} | "
                               f"{kinds('real')} | {kinds('adversarial')} |")
        out.append("")
    v = verdicts(summary)
    if v:
        out += ["#### Verdicts (from the seed ranges: held = every seed of one arm beats every seed of the other)", "",
                "| claim | setup | verdict | numbers |", "| --- | --- | --- | --- |"]
        out += [f"| {c} | {s} | **{x}** | {n} |" for c, s, x, n in v]
        out.append("")
    expl = [r for r in results if r.get("explanation")]
    if expl:
        out += ["#### Why it erred (explainPrediction of one adversarial image, seed 0)", ""]
        for r in expl:
            e = r["explanation"]
            out.append(f"- {r['setup']}, {ARM_NAMES[r['arm']]}: image {e['source']} (label {e['label']}) → target {e['target']}, "
                       f"{e['attack']} attack, L-inf {e['linf']:.3f}, {'fooled' if e['success'] else 'not fooled'}. {e['summary']}")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Figures (matplotlib, imported only here).


def figures(results, summary, directory):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.image as mpimg
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name):
        path = directory / name
        fig.savefig(path, dpi=90, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

    for setup, arms in summary.items():
        seed0 = {r["arm"]: r for r in results if r["setup"] == setup and r["seed"] == min(arms[r["arm"]]["seeds"])}
        present = [arm for arm in ARMS if arm in seed0]
        # Per-unit CS1 vs CS2, standard (before) and every trained arm (after).
        fig, axes = plt.subplots(2, len(present), figsize=(2.6 * len(present), 5.4), squeeze=False, sharex=True, sharey=True)
        for i, b in enumerate(("bounded", "unbounded")):
            for j, arm in enumerate(present):
                ax = axes[i][j]
                units = [u for u in seed0[arm][b].get("perUnit", []) if u["firing"]]
                ax.scatter([u["cs1"] for u in units], [u["cs2"] for u in units], s=6, alpha=0.6)
                ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
                ax.set_title(f"{ARM_NAMES[arm]}\n{b}, {len(units)} units", fontsize=8)
                if i == 1:
                    ax.set_xlabel("CS1")
                if j == 0:
                    ax.set_ylabel("CS2")
        fig.suptitle(f"{setup}: per-unit CS1 vs CS2 at the penultimate layer (seed {min(arms['standard']['seeds']) if 'standard' in arms else 0})")
        save(fig, f"{setup}-cs-scatter.png")
        # r(x*) over all seeds.
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
        for ax, b in zip(axes, ("bounded", "unbounded")):
            pooled = {arm: [x for r in results if r["setup"] == setup and r["arm"] == arm for x in r[b].get("r", [])] for arm in present}
            top = max([max(v) for v in pooled.values() if v] + [2])
            for arm in present:
                if pooled[arm]:
                    ax.hist(pooled[arm], bins=30, range=(0, top), histtype="step", label=f"{ARM_NAMES[arm]} ({len(pooled[arm])})")
            ax.axvline(1, color="grey", lw=0.8)
            ax.set_title(f"{b} attack")
            ax.set_xlabel("r(x*)")
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{setup}: r(x*) over the successful adversarials, all seeds")
        save(fig, f"{setup}-r-hist.png")
        # Detector counts by concept kind, real vs adversarial.
        if any(arms[arm]["bounded.detectors.real"] for arm in present):
            kinds = ("part", "colour", "texture", "object")
            fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
            for ax, b in zip(axes, ("bounded", "unbounded")):
                width = 0.8 / (2 * len(kinds))
                for j, arm in enumerate(present):
                    bottom_real = bottom_adv = 0
                    for k, kind in enumerate(kinds):
                        real = (arms[arm][f"{b}.detectors.real.{kind}"] or {"mean": 0})["mean"]
                        adv = (arms[arm][f"{b}.detectors.adversarial.{kind}"] or {"mean": 0})["mean"]
                        ax.bar(j - 0.2, real, 0.38, bottom=bottom_real, color=f"C{k}", label=kind if j == 0 else None)
                        ax.bar(j + 0.2, adv, 0.38, bottom=bottom_adv, color=f"C{k}", hatch="//", alpha=0.6)
                        bottom_real += real
                        bottom_adv += adv
                ax.set_xticks(range(len(present)))
                ax.set_xticklabels([ARM_NAMES[x] for x in present], rotation=30, ha="right", fontsize=7)
                ax.set_title(f"{b} attack: real (solid) vs adversarial (hatched)")
            axes[0].set_ylabel("detectors (mean over seeds)")
            axes[0].legend(fontsize=7)
            fig.suptitle(f"{setup}: concept detectors at {SETUPS[setup]['dissect_layer']} by kind")
            save(fig, f"{setup}-detectors.png")
        # Figure 1: top real vs top adversarial patches.
        f1 = [(arm, seed0[arm]["figure1"]) for arm in present if seed0[arm].get("figure1")]
        if f1:
            k = max(len(u["real"]) for _, f in f1 for u in f["units"])
            rows = [(arm, u) for arm, f in f1 for u in f["units"]]
            fig, axes = plt.subplots(len(rows), 2 * k, figsize=(1.3 * 2 * k, 1.5 * len(rows)), squeeze=False)
            for i, (arm, u) in enumerate(rows):
                for j in range(2 * k):
                    ax = axes[i][j]
                    ax.axis("off")
                    side, t = ("real", j) if j < k else ("adversarial", j - k)
                    items = u[side]
                    if t < len(items) and items[t].get("patch") and pathlib.Path(items[t]["patch"]).is_file():
                        ax.imshow(mpimg.imread(items[t]["patch"]))
                        it = items[t]
                        ax.set_title(f"y={it['label']}" if side == "real" else f"{it['label']}→{it['target']}", fontsize=7)
                axes[i][0].text(-0.1, 0.5, f"{ARM_NAMES[arm]}\nunit {u['unit']}", transform=axes[i][0].transAxes, ha="right",
                                va="center", fontsize=7)
            fig.suptitle(f"{setup} layer {f1[0][1]['layer']}: top real images (left) and top adversarial images (right), receptive fields")
            save(fig, f"{setup}-figure1.png")
        # Why it erred: the attack strip and Grad-CAM of each explained model.
        ex = [(arm, seed0[arm]["explanation"]) for arm in present if seed0[arm].get("explanation")]
        if ex:
            fig, axes = plt.subplots(len(ex), 2, figsize=(10, 3.2 * len(ex)), squeeze=False,
                                     gridspec_kw={"width_ratios": [3, 1.2]})
            for i, (arm, e) in enumerate(ex):
                for j, p in enumerate((e.get("strip"), e["maps"].get("gradCam"))):
                    ax = axes[i][j]
                    ax.axis("off")
                    if p and pathlib.Path(p).is_file():
                        ax.imshow(mpimg.imread(p))
                axes[i][0].set_title(f"{ARM_NAMES[arm]}: image {e['source']} ({e['label']} → {e['target']}, {e['attack']})", fontsize=8)
                axes[i][1].set_title(f"Grad-CAM of class {e['predicted']}", fontsize=8)
            save(fig, f"{setup}-explain.png")
    return written


# --------------------------------------------------------------------------------------------


def write_docs(text, doc=ROOT / "docs/findings.md"):
    """Replace the text between the markers in docs/findings.md (which must hold both)."""
    s = doc.read_text()
    head, rest = s.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    doc.write_text(head + MARK_BEGIN + "\n" + text + "\n" + MARK_END + tail)


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", default=os.environ.get("ADVLENSD", str(ROOT / ".build/release/advlensd")))
    ap.add_argument("--small", action="store_true", help="the make-test configuration: tiny arms, one seed, few steps and images")
    ap.add_argument("--setups", default="mnist-small,shapes-cnn", help=f"comma-separated: {', '.join(SETUPS)}")
    ap.add_argument("--arms", help=f"comma-separated, of {', '.join(ARMS)} (default: all; with --small the setup's)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, help="trainStep steps per model (default: the setup's)")
    ap.add_argument("--chunk", type=int, default=100, help="steps per trainStep call")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    ap.add_argument("--lam", type=float, default=0.01, help="consistent-loss λ (sum of squares over the penultimate layer)")
    ap.add_argument("--beta", type=float, default=6.0, help="TRADES β")
    ap.add_argument("--pgd-steps", type=int, help="steps of the PGD / TRADES training adversary (default: the setup's)")
    ap.add_argument("--mnist-test-per-class", type=int, default=100)
    ap.add_argument("--shapes-train", type=int, default=6000)
    ap.add_argument("--shapes-eval", type=int, default=1000)
    ap.add_argument("--eval-images", type=int, help="test images of evaluate (PGD-40 + AutoAttack; default: the setup's)")
    ap.add_argument("--images", type=int, help="source images of the analysis attack (default: the setup's)")
    ap.add_argument("--targets", type=int, default=2, help="targets per source image")
    ap.add_argument("--attack-steps", type=int, default=100)
    ap.add_argument("--k", type=int, default=20, help="top images per unit for CS1 / CS2")
    ap.add_argument("--figure-units", type=int, default=3)
    ap.add_argument("--patches-k", type=int, default=4)
    ap.add_argument("--out", default="out/reproduce")
    ap.add_argument("--figures", default="docs/img/reproduce", help="where --render writes the PNGs")
    ap.add_argument("--render", action="store_true", help="only the tables (and figures) from --out")
    ap.add_argument("--no-figures", action="store_true")
    ap.add_argument("--write-docs", action="store_true", help="put the tables into docs/findings.md between the markers")
    ap.add_argument("--verbose", action="store_true")
    if "--small" in (argv if argv is not None else sys.argv[1:]):
        # The make-test configuration; flags given explicitly still win.
        ap.set_defaults(seeds="0", chunk=30, batch_size=32, mnist_test_per_class=10, shapes_train=200, shapes_eval=45,
                        targets=2, attack_steps=20, k=5, patches_k=2, figure_units=2)
    a = ap.parse_args(argv)
    a.out = (ROOT / a.out).resolve()
    return a


def main(argv=None):
    a = parse(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)
    config = {"targets": a.targets, "attackSteps": a.attack_steps, "k": a.k}
    results = []
    if not a.render:
        a.out.mkdir(parents=True, exist_ok=True)
        # A cache of the run's own beside its results: a run of hours must not share the user's
        # 4 GiB cap with whatever else keeps results there (a full one stopped a run mid-arm).
        client = F.Daemon(a.daemon, verbose=a.verbose, cache=a.out / "cache.sqlite")
        t0 = time.time()
        try:
            for setup_name in a.setups.split(","):
                train_set, test = load_data(client, SETUPS[setup_name], a)
                for seed in map(int, a.seeds.split(",")):
                    for arm in (a.arms.split(",") if a.arms else ARMS if not a.small else SETUPS[setup_name]["small"]["arms"]):
                        results.append(run_one(client, setup_name, arm, seed, train_set, test, a, log))
        finally:
            client.close()
        (a.out / "run.json").write_text(json.dumps({"argv": argv if argv is not None else sys.argv[1:], "config": config,
                                                    "seconds": time.time() - t0}))
    else:
        wanted = set(a.setups.split(","))
        results = [json.loads(p.read_text()) for p in sorted(a.out.glob("*/*-s*.json")) if p.parent.name in wanted]
        if (a.out / "run.json").is_file():
            config.update(json.loads((a.out / "run.json").read_text())["config"])
    results.sort(key=lambda r: (list(SETUPS).index(r["setup"]), r["seed"], ARMS.index(r["arm"])))
    summary = summarise(results)
    (a.out / "summary.json").write_text(json.dumps(summary, indent=1))
    text = markdown(results, summary, config)
    (a.out / "tables.md").write_text(text)
    if a.write_docs:
        write_docs(text)
    if not a.no_figures:
        for p in figures(results, summary, ROOT / a.figures if not pathlib.Path(a.figures).is_absolute() else pathlib.Path(a.figures)):
            log(f"figure: {p}")
    if not a.write_docs:
        print(text)
    return results, summary


if __name__ == "__main__":
    main()
