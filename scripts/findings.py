#!/usr/bin/env python3
"""The first finding of issue 5, reproduced through the real daemon (docs/findings.md).

For a standard-trained model: targeted adversarial images from the ensemble-optimization attack
(several targets per real image), then, at the penultimate layer, the distribution over units
of CS1, CS2 and LC (`probe consistency`) and the distribution of r(x*) (`probe representation`);
on a dataset with concept masks also Network-Dissection detectors on the real images and on
their adversarial versions (`probe dissect`). Writes Markdown tables (stdout or --markdown) and
the raw replies as JSON in --out.

    python3 scripts/findings.py                      # mnist-madry and shapes-cnn (trains them if absent)
    python3 scripts/findings.py --small --json -     # a small configuration (the committed mnist-small)

Python 3 standard library only. The daemon is spawned over stdio (Content-Length framing).
`analyse(client, Setup(...))` is the unit of work: a later section (standard vs PGD vs
consistent-loss training) calls it on other model names and gets rows of the same shape.
"""
import argparse
import dataclasses
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# The daemon over stdio.


class RPCError(Exception):
    def __init__(self, method, error):
        super().__init__(f"{method}: {error.get('code')} {error.get('message')}")
        self.code = error.get("code")


class Daemon:
    """advlensd as a child process, spoken to with Content-Length framing (protocol/transport.md)."""

    def __init__(self, binary, root=ROOT, verbose=False, cache=None):
        """`cache`: the daemon's cache database (its --cache), else the user's default one."""
        self.verbose = verbose
        args = [str(binary), "--log-level", "error"] + (["--cache", str(cache)] if cache else [])
        self.proc = subprocess.Popen(args, cwd=root, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if not verbose else None)
        self.next_id = 1
        self.call("initialize", {"clientInfo": {"name": "findings.py"}, "rootPath": str(root)})
        self.notify("initialized")

    def _send(self, message):
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self):
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("advlensd closed its output")
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def notify(self, method, params=None):
        self._send({"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})})

    def call(self, method, params=None):
        """The result of a request; progress notifications are echoed to stderr when verbose."""
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self._send(msg)
        while True:
            m = self._read()
            if m.get("id") == rid and "method" not in m:
                if "error" in m:
                    raise RPCError(method, m["error"])
                return m["result"]
            if self.verbose and m.get("method") == "$/progress":
                v = m["params"]["value"]
                print(f"   {v.get('kind')}: {v.get('title', '')} {v.get('message', '')}", file=sys.stderr)

    def close(self):
        try:
            self.call("shutdown")
            self.notify("exit")
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


# --------------------------------------------------------------------------------------------
# Models and data.


def ensure_trained(arch, out_dir, train_args=(), trainer=None):
    """`advlens-train --arch ARCH --out DIR [args]` unless DIR already holds the model."""
    out = ROOT / out_dir
    if not (out / "model.safetensors").is_file():
        trainer = trainer or ROOT / ".build/release/advlens-train"
        cmd = [str(trainer), "--arch", arch, "--out", str(out), *train_args]
        print("training:", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, cwd=ROOT, check=True)
    return out


def load_model(client, name, directory):
    return client.call("model/load", {"name": name, "spec": str(directory / "model.json"),
                                      "weights": str(directory / "model.safetensors")})


def load_mnist_test(client, test_per_class=100):
    """The 1,000-image MNIST test split advlens-train uses (seed 0), in split version 1's order
    (dataset order, class by class): the order this script's committed numbers were made with
    (dataset/load's default became version 2, classes interleaved, in issue 16)."""
    r = client.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz",
                                     "split": {"testPerClass": test_per_class, "seed": 0, "version": 1}})
    return r["datasets"][1]["name"]


def load_shapes(client, name, count, seed):
    """Generated shapes with masks; seed 1 is disjoint from advlens-train's seed-0 images."""
    client.call("dataset/load", {"name": name, "kind": "shapes", "count": count, "seed": seed})
    return name


# --------------------------------------------------------------------------------------------
# The analysis.


@dataclasses.dataclass
class Setup:
    model: str                      # resident model to analyse
    dataset: str                    # labelled real set (all of it is the real set)
    layer: str                      # penultimate layer
    attack_images: list             # dataset indices attacked
    targets_per_image: int = 3
    ensemble: list = None           # [{"name", "weight"}]; default: the model alone
    steps: int = 100
    learning_rate: float = 0.01
    lam: float = 0.05
    early_stop: bool = False        # False: the optimisation runs all its steps (a strong attack)
    k: int = 20
    dissect_layers: tuple = ()      # conv layers to dissect (datasets with masks)
    successful_only: bool = True    # analyse only the adversarial images the model classifies as their target
    seed: int = 0
    label: str = None               # the row's name in the tables (default: the model's)

    def control(self):
        """The same analysis with x* = x to within one Adam step of 1e-6: what CS1, CS2 and r read
        when the images do not move, i.e. the chance level of CS2 for these targets."""
        return dataclasses.replace(self, steps=1, learning_rate=1e-6, successful_only=False,
                                   label=f"{self.label or self.model}, control (x* = x)")


def quartiles(values):
    v = sorted(values)
    if not v:
        return {"n": 0}
    q = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else [v[0]] * 3
    return {"n": len(v), "mean": statistics.fmean(v), "q25": q[0], "median": q[1], "q75": q[2], "min": v[0], "max": v[-1]}


def analyse(client, s: Setup, log=lambda *a: None):
    """Attack, then consistency, representation and (optionally) dissect. Returns a dict of rows
    (plain numbers, ready for the tables) and the raw replies."""
    raw = {}
    t0 = time.time()
    clean = client.call("predict", {"model": s.model, "inputs": {"dataset": s.dataset}, "topK": 1})
    log(f"{s.model}: clean accuracy {clean['accuracy']:.4f} on {clean['count']} images")
    attack = {"method": "ensemble-opt", "inputs": {"dataset": s.dataset, "indices": s.attack_images},
              "targetsPerImage": s.targets_per_image, "steps": s.steps, "learningRate": s.learning_rate, "lambda": s.lam,
              "earlyStop": s.early_stop, "seed": s.seed}
    attack.update({"models": s.ensemble} if s.ensemble else {"model": s.model})
    log(f"{s.model}: ensemble-opt on {len(s.attack_images)} images x {s.targets_per_image} targets ...")
    adv = client.call("attack", attack)
    raw["attack"] = {k: adv[k] for k in ("handle", "summary", "config")}
    raw["attack"]["samples"] = adv["samples"]
    handle = adv["handle"]
    # Success on the analysed model itself (for an ensemble the attack's own verdict is the ensemble's).
    pred = client.call("predict", {"model": s.model, "inputs": {"handle": handle}, "topK": 1})
    hit = [i for i, (smp, p) in enumerate(zip(adv["samples"], pred["predictions"])) if p["predicted"] == smp["target"]]
    chosen = hit if s.successful_only else list(range(len(adv["samples"])))
    if not chosen:
        raise RuntimeError(f"{s.model}: no adversarial image reached its target")
    advset = {"handle": handle, "indices": chosen}
    # The script picks the images itself (`chosen`: success on the analysed model, which for an
    # ensemble attack differs from the attack's own verdict), so the probes take them all.
    every = {"adversarials": "all"}
    log(f"{s.model}: {len(hit)}/{len(adv['samples'])} reach their target on the model ({time.time() - t0:.0f} s)")

    # Units that never fire on the real set have arbitrary top-K lists: leave them out.
    top = client.call("probe", {"model": s.model, "layer": s.layer, "kind": "topActivations", "k": 1,
                                "dataset": {"name": s.dataset}})
    alive = [u["unit"] for u in top["top"] if u["top"][0]["value"] > 0]
    units_total = len(top["top"])
    cons = client.call("probe", {"model": s.model, "layer": s.layer, "kind": "consistency", "units": alive, "k": s.k,
                                 "dataset": {"name": s.dataset}, "adversarial": advset, **every})
    raw["consistency"] = cons
    log(f"{s.model}: consistency done ({time.time() - t0:.0f} s)")
    rep = client.call("probe", {"model": s.model, "layer": s.layer, "kind": "representation",
                                "dataset": {"name": s.dataset}, "adversarial": advset, **every})
    raw["representation"] = rep
    hs = cons["histograms"]
    ratios = [x["ratio"] for x in rep["representation"]["samples"] if x.get("ratio") is not None]
    l2 = [adv["samples"][i]["l2"] for i in chosen]
    rows = {
        "model": s.label or s.model, "layer": s.layer, "dataset": s.dataset, "realImages": clean["count"],
        "cleanAccuracy": clean["accuracy"], "attackedImages": len(s.attack_images), "targetsPerImage": s.targets_per_image,
        "adversarial": len(adv["samples"]), "reachedTarget": len(hit), "analysed": len(chosen),
        "meanL2": statistics.fmean(l2), "meanLinf": statistics.fmean(adv["samples"][i]["linf"] for i in chosen),
        "ensemble": [m["name"] for m in adv["config"]["models"]],
        "units": units_total, "unitsAlive": len(alive), "k": s.k,
        "cs1": quartiles([h["cs1"] for h in hs]), "cs2": quartiles([h["cs2"] for h in hs]), "lc": quartiles([h["lc"] for h in hs]),
        "lcSimilarity": cons["consistencySummary"]["similarity"],
        "fractionCS2AboveCS1": sum(h["cs2"] > h["cs1"] for h in hs) / len(hs),
        "r": quartiles(ratios), "rFractionBelowOne": rep["representation"]["fractionBelowOne"],
        "rUndefined": rep["representation"]["undefined"],
        "toSource": quartiles([x["toSource"] for x in rep["representation"]["samples"]]),
        "toTargetClass": quartiles([x["toTargetClass"] for x in rep["representation"]["samples"] if x.get("toTargetClass") is not None]),
        "dissect": [],
    }
    for layer in s.dissect_layers:
        sources = sorted(set(s.attack_images))
        d = client.call("probe", {"model": s.model, "layer": layer, "kind": "dissect",
                                  "dataset": {"name": s.dataset, "indices": sources}, "adversarial": advset, **every})
        raw[f"dissect-{layer}"] = d
        rows["dissect"].append(dissect_rows(layer, d["dissection"], len(sources), len(chosen)))
        log(f"{s.model}: dissect {layer} done ({time.time() - t0:.0f} s)")
    rows["seconds"] = time.time() - t0
    client.call("handle/drop", {"handle": handle})
    return rows, raw


def dissect_rows(layer, d, real_images, adv_images):
    def side(report):
        det = [u for u in report["units"] if u["detector"]]
        counts = {}
        for u in det:
            counts[u["label"]] = counts.get(u["label"], 0) + 1
        return {"units": len(report["units"]), "detectors": report["detectors"], "uniqueConcepts": report["uniqueConcepts"],
                "byKind": {b["kind"]: b["detectors"] for b in report["byKind"]},
                "meanIoU": statistics.fmean(u["iou"] for u in report["units"]),
                "topConcepts": sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:6]}
    real, adv = side(d["real"]), side(d["adversarial"])
    by_unit = {u["unit"]: u for u in d["adversarial"]["units"]}
    real_det = [u for u in d["real"]["units"] if u["detector"]]
    kept = sum(1 for u in real_det if by_unit[u["unit"]]["detector"] and by_unit[u["unit"]]["label"] == u["label"])
    return {"layer": layer, "realImages": real_images, "adversarialImages": adv_images, "real": real, "adversarial": adv,
            "realDetectorsKeptOnAdversarial": kept}


# --------------------------------------------------------------------------------------------
# Tables.


def fmt(x):
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def markdown(all_rows):
    out = ["### Setup", "",
           "| model | layer | real set | clean acc | attacked images x targets | adversarial | reach target on the model | analysed | mean L2 | mean Linf | attack ensemble | units (firing) | k |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in all_rows:
        out.append(f"| {r['model']} | {r['layer']} | {r['dataset']} ({r['realImages']}) | {fmt(r['cleanAccuracy'])} | "
                   f"{r['attackedImages']} x {r['targetsPerImage']} | {r['adversarial']} | {r['reachedTarget']} | {r['analysed']} | "
                   f"{fmt(r['meanL2'])} | {fmt(r['meanLinf'])} | {' + '.join(r['ensemble'])} | {r['units']} ({r['unitsAlive']}) | {r['k']} |")
    out += ["", "### CS1 / CS2 / LC over the penultimate layer's units", "",
            "| model | metric | mean | q25 | median | q75 | units with CS2 > CS1 |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in all_rows:
        for m in ("cs1", "cs2", "lc"):
            q = r[m]
            name = m.upper() + (f" (A: {r['lcSimilarity']})" if m == "lc" else "")
            extra = fmt(r["fractionCS2AboveCS1"]) if m == "cs2" else ""
            out.append(f"| {r['model']} | {name} | {fmt(q['mean'])} | {fmt(q['q25'])} | {fmt(q['median'])} | {fmt(q['q75'])} | {extra} |")
    out += ["", "### r(x*) at the penultimate layer", "",
            "| model | samples | mean | q25 | median | q75 | fraction r < 1 | mean ‖φ(x*)−φ(x)‖ | mean min ‖φ(x*)−φ(z)‖, z of class t |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in all_rows:
        q = r["r"]
        out.append(f"| {r['model']} | {q['n']} | {fmt(q['mean'])} | {fmt(q['q25'])} | {fmt(q['median'])} | {fmt(q['q75'])} | "
                   f"{fmt(r['rFractionBelowOne'])} | {fmt(r['toSource']['mean'])} | {fmt(r['toTargetClass']['mean'])} |")
    dis = [(r["model"], d) for r in all_rows for d in r["dissect"]]
    if dis:
        out += ["", "### Network-Dissection detectors (IoU ≥ 0.04, top-0.5% threshold from the real images)", "",
                "| model | layer | images | units | detectors | unique concepts | part / colour / texture / object | mean IoU | top concepts (detectors) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for model, d in dis:
            for side in ("real", "adversarial"):
                x = d[side]
                kinds = " / ".join(str(x["byKind"].get(k, 0)) for k in ("part", "colour", "texture", "object"))
                tops = ", ".join(f"{c} ({n})" for c, n in x["topConcepts"])
                n = d["realImages"] if side == "real" else d["adversarialImages"]
                out.append(f"| {model} | {d['layer']} | {side} ({n}) | {x['units']} | {x['detectors']} | {x['uniqueConcepts']} | "
                           f"{kinds} | {fmt(x['meanIoU'])} | {tops} |")
        out.append("")
        for model, d in dis:
            out.append(f"{model} {d['layer']}: {d['realDetectorsKeptOnAdversarial']} of the {d['real']['detectors']} real detectors "
                       "stay detectors of the same concept on the adversarial images.")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Configurations.


def every(n, count):
    return list(range(0, count, n))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", default=os.environ.get("ADVLENSD", str(ROOT / ".build/release/advlensd")), help="advlensd binary")
    ap.add_argument("--trainer", default=str(ROOT / ".build/release/advlens-train"), help="advlens-train binary")
    ap.add_argument("--small", action="store_true", help="a small configuration: committed mnist-small, 20 images x 3 targets")
    ap.add_argument("--models", default="mnist-madry,shapes-cnn", help="which of mnist-madry, shapes-cnn to analyse")
    ap.add_argument("--mnist-images", type=int, default=200, help="MNIST test images attacked (every 1000/N-th)")
    ap.add_argument("--shapes-images", type=int, default=150, help="shapes images attacked")
    ap.add_argument("--shapes-count", type=int, default=1000, help="shapes real set size (seed --shapes-seed)")
    ap.add_argument("--shapes-seed", type=int, default=1)
    ap.add_argument("--targets", type=int, default=3, help="targets per attacked image")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--early-stop", action="store_true", help="stop each sample as soon as it reaches its target")
    ap.add_argument("--out", default="out/findings", help="directory for the raw JSON")
    ap.add_argument("--markdown", help="write the tables here instead of stdout")
    ap.add_argument("--json", help="also write the rows as JSON here ('-': stdout, instead of the tables)")
    ap.add_argument("--no-control", action="store_true", help="skip the control rows (images that do not move)")
    ap.add_argument("--render", nargs="+", metavar="NAME", help="only print the tables of earlier runs: the rows of --out/NAME.json, in order")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr)
    out = ROOT / a.out
    if a.render:
        print(markdown([json.loads((out / f"{n}.json").read_text())["rows"] for n in a.render]))
        return None
    out.mkdir(parents=True, exist_ok=True)
    client = Daemon(a.daemon, verbose=a.verbose)
    rows = []
    try:
        common = dict(targets_per_image=a.targets, steps=a.steps, early_stop=a.early_stop)
        setups = []
        if a.small:
            load_model(client, "mnist-small", ROOT / "Tests/AttacksTests/Fixtures/mnist-small")
            test = load_mnist_test(client, test_per_class=20)
            setups.append(Setup("mnist-small", test, "8", every(10, 200), **common))
        else:
            names = a.models.split(",")
            if "mnist-madry" in names:
                load_model(client, "mnist-madry", ensure_trained("mnist-madry", "out/models/mnist-madry", trainer=a.trainer))
                load_model(client, "mnist-small", ensure_trained("mnist-small", "out/models/mnist-small", trainer=a.trainer))
                test = load_mnist_test(client)
                setups.append(Setup("mnist-madry", test, "8", every(1000 // a.mnist_images, 1000),
                                    ensemble=[{"name": "mnist-madry"}, {"name": "mnist-small"}], **common))
            if "shapes-cnn" in names:
                load_model(client, "shapes-cnn", ensure_trained("shapes-cnn", "out/models/shapes-cnn", ["--epochs", "8"], trainer=a.trainer))
                shapes = load_shapes(client, "shapes-eval", a.shapes_count, a.shapes_seed)
                # The first N images: image i has class i % 9, so every class is attacked equally.
                setups.append(Setup("shapes-cnn", shapes, "relu5", list(range(a.shapes_images)),
                                    dissect_layers=("relu4", "relu3"), **common))
        if not a.no_control:
            setups = [x for s in setups for x in (s, s.control())]
        for s in setups:
            r, raw = analyse(client, s, log)
            rows.append(r)
            stem = s.model + ("-control" if s.label and "control" in s.label else "")
            (out / f"{stem}.json").write_text(json.dumps({"setup": dataclasses.asdict(s), "rows": r, "raw": raw}))
            log(f"{r['model']}: raw replies in {out / (stem + '.json')}")
    finally:
        client.close()
    if a.json:
        text = json.dumps(rows, indent=1)
        if a.json == "-":
            print(text)
            return rows
        pathlib.Path(a.json).write_text(text)
    table = markdown(rows)
    if a.markdown:
        pathlib.Path(a.markdown).write_text(table)
    else:
        print(table)
    return rows


if __name__ == "__main__":
    main()
