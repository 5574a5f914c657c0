"""scripts/findings.py --small through the real daemon: the tables' rows have the promised
fields, and the direction of the first finding holds on a standard-trained model (the
committed mnist-small weights): the penultimate layer's units follow the adversarial target
(mean CS2 > mean CS1) and adversarial features sit nearer the target class than their source
(mean r(x*) > 1), where the control row (images that do not move) reads CS2 at chance and r = 0.
Directions only; docs/findings.md has the numbers."""
import importlib.util
import json

import pytest


def load_script(repo_root):
    spec = importlib.util.spec_from_file_location("findings", repo_root / "scripts/findings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_configuration(advlensd, repo_root, tmp_path):
    if not (repo_root / "data/mnist_5k.csv.gz").is_file():
        pytest.skip("data/mnist_5k.csv.gz is missing: run `make data`")
    findings = load_script(repo_root)
    out = tmp_path / "rows.json"
    tables = tmp_path / "tables.md"
    findings.main(["--small", "--daemon", str(advlensd), "--out", str(tmp_path), "--json", str(out), "--markdown", str(tables)])
    row, control = json.loads(out.read_text())
    assert row["model"] == "mnist-small" and row["layer"] == "8"
    assert row["adversarial"] == 60 and row["analysed"] == row["reachedTarget"] >= 54
    for metric in ("cs1", "cs2", "lc"):
        q = row[metric]
        assert 0 <= q["min"] <= q["q25"] <= q["median"] <= q["q75"] <= q["max"] <= 1 + 1e-6
        assert q["n"] == row["unitsAlive"]
    assert row["cs2"]["mean"] > row["cs1"]["mean"]
    assert row["fractionCS2AboveCS1"] > 0.5
    assert row["r"]["n"] == row["analysed"] and row["r"]["mean"] > 1
    assert row["rFractionBelowOne"] < 0.5
    # The control: the same images and targets, unmoved. The attack raised CS2 and lowered CS1.
    assert control["model"] == "mnist-small, control (x* = x)" and control["analysed"] == 60
    assert control["r"]["max"] < 0.01 and control["rFractionBelowOne"] == 1
    assert row["cs2"]["mean"] > control["cs2"]["mean"] + 0.1
    assert row["cs1"]["mean"] < control["cs1"]["mean"]
    assert control["fractionCS2AboveCS1"] < 0.5
    raw = json.loads((tmp_path / "mnist-small.json").read_text())
    assert raw["raw"]["consistency"]["kind"] == "consistency"
    text = tables.read_text()
    assert (tmp_path / "mnist-small-control.json").is_file()
    assert "### CS1 / CS2 / LC" in text and "| mnist-small | CS2 |" in text and "### r(x*)" in text


def test_markdown_includes_dissection_rows(repo_root):
    """The table writer on a hand-made row with a dissection: real and adversarial lines, the kept count."""
    findings = load_script(repo_root)
    side = {"units": 4, "detectors": 2, "uniqueConcepts": 1, "byKind": {"part": 2}, "meanIoU": 0.05, "topConcepts": [["wheel", 2]]}
    q = {"n": 4, "mean": 0.5, "q25": 0.4, "median": 0.5, "q75": 0.6, "min": 0.1, "max": 0.9}
    row = {"model": "m", "layer": "fc", "dataset": "d", "realImages": 9, "cleanAccuracy": 1.0, "attackedImages": 3,
           "targetsPerImage": 2, "adversarial": 6, "reachedTarget": 6, "analysed": 6, "meanL2": 1.0, "meanLinf": 0.1,
           "ensemble": ["m"], "units": 4, "unitsAlive": 4, "k": 2, "cs1": q, "cs2": q, "lc": q, "lcSimilarity": "dataset",
           "fractionCS2AboveCS1": 0.25, "r": q, "rFractionBelowOne": 0.5, "toSource": q, "toTargetClass": q,
           "dissect": [{"layer": "conv", "realImages": 3, "adversarialImages": 6, "real": side,
                        "adversarial": dict(side, detectors=0, uniqueConcepts=0, byKind={}, topConcepts=[]),
                        "realDetectorsKeptOnAdversarial": 0}]}
    text = findings.markdown([row])
    assert "| m | conv | real (3) | 4 | 2 | 1 | 2 / 0 / 0 / 0 | 0.050 | wheel (2) |" in text
    assert "| m | conv | adversarial (6) | 4 | 0 | 0 | 0 / 0 / 0 / 0 | 0.050 |  |" in text
    assert "0 of the 2 real detectors" in text
