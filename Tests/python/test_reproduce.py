"""scripts/reproduce.py --small through the real daemon: every arm on MNIST and the standard and
FGSM consistent arms on shapes are trained from scratch (a few steps), evaluated with PGD-40 and
AutoAttack, and analysed under the bounded and the unbounded attack. The checks are on structure and self-consistency, not on values: each
summary cell is the mean / min / max of the per-seed rows it summarises, the daemon's
consistency summary is the mean over its firing units' rows, the bounded attack stays in its
box, the dissection's kinds add up to its detector count, and the tables show every arm."""
import importlib.util
import json
import shutil
import statistics
import tempfile

import pytest


def load_script(repo_root, name):
    spec = importlib.util.spec_from_file_location(name, repo_root / f"scripts/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def out_dir(repo_root):
    """Inside the repository (the script's daemon confines paths to the workspace root), removed after."""
    (repo_root / "out").mkdir(exist_ok=True)
    d = tempfile.mkdtemp(prefix="test-reproduce-", dir=repo_root / "out")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_small_run(advlensd, repo_root, out_dir):
    if not (repo_root / "data/mnist_5k.csv.gz").is_file():
        pytest.skip("data/mnist_5k.csv.gz is missing: run `make data`")
    import sys
    sys.path.insert(0, str(repo_root / "scripts"))
    R = load_script(repo_root, "reproduce")
    results, summary = R.main(["--small", "--daemon", str(advlensd), "--out", out_dir, "--no-figures"])

    # Every arm on MNIST, the two with figure steps on shapes, once (seed 0), from scratch with the arm's objective.
    shapes_arms = ("standard", "fgsm-consistent")
    assert sorted((r["setup"], r["arm"]) for r in results) == sorted([("mnist-small", a) for a in R.ARMS] + [("shapes-cnn", a) for a in shapes_arms])
    kinds = {"standard": "standard", "fgsm-consistent": "consistent", "pgd-consistent": "consistent", "pgd": "pgd",
             "trades": "trades", "lambda0": "consistent"}
    for r in results:
        o = r["training"]["objective"]
        assert o["kind"] == kinds[r["arm"]]
        # The model's cumulative step count equals this run's steps: trained from step 0.
        assert r["training"]["chunks"][-1]["steps"] == r["training"]["steps"] == (30 if r["setup"] == "mnist-small" else 4)
        if r["arm"] == "lambda0":
            assert o["lambda"] == 0 and o["adversary"]["method"] == "fgsm"
        if r["arm"] == "fgsm-consistent":
            assert o["lambda"] > 0 and o["adversary"]["method"] == "fgsm"
        eps = R.SETUPS[r["setup"]]["epsilon"]
        if o["kind"] != "standard":
            assert abs(o["adversary"]["epsilon"] - eps) < 1e-6

        e = r["evaluate"]
        assert e["images"] == 20
        # AutoAttack runs on PGD-40's robust points: its worst case can only be lower.
        assert 0 <= e["autoattack"] <= e["pgd40"] <= e["clean"] <= 1

        for bound in ("bounded", "unbounded"):
            row = r[bound]
            assert row["adversarial"] == 10 and 0 <= row["successful"] <= 10
            if not row["successful"]:
                continue
            # The daemon's own count of successful adversarials matches the attack's samples.
            assert row["analysed"] == row["successful"] and row["analysed"] + row["excluded"] == row["adversarial"]
            if bound == "bounded":
                assert row["meanLinf"] <= eps + 1e-5
            firing = [u for u in row["perUnit"] if u["firing"]]
            assert row["firingUnits"] == len(firing) and row["silentUnits"] == row["units"] - len(firing)
            if firing:
                assert row["cs1"] == pytest.approx(statistics.fmean(u["cs1"] for u in firing), abs=1e-5)
                assert row["cs2"] == pytest.approx(statistics.fmean(u["cs2"] for u in firing), abs=1e-5)
            assert len(row["r"]) <= row["rCount"] == row["analysed"]
            if row["r"]:
                assert row["rMedian"] == pytest.approx(statistics.median(row["r"]), rel=1e-4)
                assert row["rBelowOne"] == pytest.approx(sum(x < 1 for x in row["r"]) / len(row["r"]), abs=1e-6)
            if r["setup"] == "shapes-cnn":
                d = row["dissect"]
                for side in ("real", "adversarial"):
                    assert sum(d[side]["byKind"].values()) == d[side]["detectors"]
            else:
                assert "dissect" not in row

    # The figure steps ran for seed 0 of the standard and the FGSM consistent arm.
    for r in results:
        if r["arm"] in ("standard", "fgsm-consistent"):
            ex = r["explanation"]
            assert ex["target"] != ex["label"] and ex["summary"]
            if r["figure1"]:
                for u in r["figure1"]["units"]:
                    assert u["real"] and u["adversarial"]
                    for item in u["real"] + u["adversarial"]:
                        assert item["patch"] and (repo_root / item["patch"]).is_file()
        else:
            assert "explanation" not in r and "figure1" not in r

    # Each summary cell is the mean, min and max of the rows it summarises.
    for r in results:
        for name, read in R.METRICS.items():
            cell = summary[r["setup"]][r["arm"]][name]
            value = read(r)
            if value is None:
                assert cell is None
            else:
                assert cell["n"] == 1 and cell["mean"] == pytest.approx(value) and cell["min"] == cell["max"] == value

    # The tables: one row per arm in each table of each setup, and the verdicts.
    text = (repo_root / out_dir / "tables.md").read_text()
    for setup in ("mnist-small", "shapes-cnn"):
        assert f"#### {setup} (" in text
    for arm in R.ARMS:
        # Accuracy + 2 analysis tables per setup, and shapes' 2 dissection tables.
        assert text.count(f"| {R.ARM_NAMES[arm]} |") == (2 * 3 + 2 if arm in shapes_arms else 3)
    assert "#### Verdicts" in text and "| consistent loss raises CS1 (bounded) | mnist-small |" in text

    # --render gives the same tables from the saved results.
    R.main(["--render", "--out", out_dir, "--no-figures"])
    assert (repo_root / out_dir / "tables.md").read_text() == text


def test_summary_and_verdicts_over_seeds(repo_root):
    """Aggregation over several seeds on hand-made rows: mean / min / max, and the verdict rule."""
    import sys
    sys.path.insert(0, str(repo_root / "scripts"))
    R = load_script(repo_root, "reproduce")

    def row(arm, seed, cs1, cs2, aa):
        side = {"successful": 5, "meanLinf": 0.1, "cs1": cs1, "cs2": cs2, "cs2AboveCS1": 0.5, "firingUnits": 3,
                "rMedian": 1.5, "rBelowOne": 0.2}
        return {"setup": "mnist-small", "arm": arm, "seed": seed,
                "evaluate": {"clean": 0.9, "pgd40": aa + 0.1, "autoattack": aa}, "bounded": side, "unbounded": dict(side)}

    rows = [row("standard", s, 0.5 + 0.01 * s, 0.8, 0.0) for s in range(3)] + \
           [row("fgsm-consistent", s, 0.7 + 0.01 * s, 0.7 + 0.1 * s, 0.3) for s in range(3)]
    summary = R.summarise(rows)
    c = summary["mnist-small"]["fgsm-consistent"]["bounded.cs1"]
    assert c == {"mean": pytest.approx(0.71), "min": 0.7, "max": pytest.approx(0.72), "n": 3}
    verdict = {(claim, s): v for claim, s, v, _ in R.verdicts(summary)}
    assert verdict[("consistent loss raises CS1 (bounded)", "mnist-small")] == "held"
    assert verdict[("consistent loss lowers CS2 (bounded)", "mnist-small")] == "mixed (ranges overlap)"
    assert verdict[("standard model: r(x*) > 1 (bounded)", "mnist-small")] == "held"
    assert verdict[("consistent loss: r(x*) < 1 (bounded)", "mnist-small")] == "did not hold"
    one = R.summarise(rows[:1] + rows[3:4])
    assert dict(((c, s), v) for c, s, v, _ in R.verdicts(one))[("consistent loss raises CS1 (bounded)", "mnist-small")] == "held (one seed)"
    assert verdict[("consistent loss: robust accuracy above standard (AutoAttack)", "mnist-small")] == "held"
    assert R.compare({"min": 0, "max": 0.1, "n": 3}, {"min": 0.2, "max": 0.3, "n": 3}, True) == "did not hold"
