"""advlens.distributed on a local Ray cluster the test starts (ray.init with 2 CPUs): the pool's
sharded attack (and its one merged handle), evaluate (with the gradient-masking checks), probe
(also with an adversarial set; dissection in its two passes, on the shapes set, a Broden-layout
set and adversarial images) and explanations equal one daemon's results, also when an
actor's daemon is killed mid-shard; cancel returns what finished; the daemons run at the
caller's niceness, not Ray's worker niceness."""
import os
import pathlib
import sys
import threading

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from advlens import dataset  # noqa: E402
from advlens.distributed import Pool  # noqa: E402
from advlens.errors import RequestCancelled  # noqa: E402

from conftest import DATA, MODEL_DIR, REPO  # noqa: E402
from test_sample_randomness import assert_same_samples  # noqa: E402

CLIENT_DIR = str(pathlib.Path(__file__).resolve().parents[1])
sys.path.insert(0, str(REPO / "Tests/python"))   # test_broden's concept set
TEST = dict(kind="mnist-csv", split={"test_per_class": 20, "seed": 0})


@pytest.fixture(scope="module")
def pool(daemon):
    # The actors' processes import advlens from here, as a cluster's nodes would from an install.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (CLIENT_DIR, os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", log_to_driver=False)
    try:
        with Pool(actors=2, daemon=daemon, progress=False, shards_per_actor=2) as p:
            # The model's bytes go through the object store; the dataset is a path every node reads.
            p.model_load("digits", spec=p.ship(MODEL_DIR / "model.json"), weights=p.ship(MODEL_DIR / "model.safetensors"))
            p.dataset_load("mnist", path=str(DATA.resolve()), **TEST)
            yield p
    finally:
        ray.shutdown()


def without(result, *keys):
    return {k: v for k, v in result.items() if k not in keys}


@pytest.mark.parametrize("settings", [
    {"method": "pgd", "epsilon": 0.2, "steps": 10, "seed": 5},
    {"method": "apgd", "epsilon": 0.15, "steps": 10, "seed": 5},
    {"method": "square", "epsilon": 0.2, "queries": 50, "seed": 5},
    {"method": "apgd-t", "norm": "l2", "epsilon": 1.5, "steps": 5, "target_classes": 2, "seed": 5},
], ids=lambda s: s["method"])
def test_sharded_attack_equals_one_daemon(pool, client, settings):
    settings = dict(settings)
    method = settings.pop("method")
    inputs = dataset("mnist-test", indices=range(0, 200))
    one = client.attack("digits", method, inputs, **settings)
    sharded = pool.attack("digits", method, inputs, **settings)
    assert np.array_equal(sharded.images, one.images)
    assert np.array_equal(sharded.perturbations, one.perturbations)
    assert_same_samples(sharded.samples, one.samples)
    assert [s["index"] for s in sharded.samples] == [s["index"] for s in one.samples]
    assert [s["source"] for s in sharded.samples] == [s["source"] for s in one.samples]
    assert without(sharded.summary, "elapsedMs", "imagesPerSecond") == without(one.summary, "elapsedMs", "imagesPerSecond")
    assert sharded.config == one.config


def test_a_sharded_attack_gives_one_handle_as_one_daemon_keeps_it(pool, client):
    """The pool's handle, put into another daemon, holds what one daemon's attack keeps: the
    same images (the same predictions), labels, origins and provenance; the pool's own
    actors take it as inputs too."""
    settings = {"epsilon": 0.2, "steps": 10, "seed": 5}
    inputs = dataset("mnist-test", indices=range(0, 120))
    one = client.attack("digits", "pgd", inputs, images=False, **settings)
    sharded = pool.attack("digits", "pgd", inputs, images=False, **settings)
    assert "images" not in sharded
    exported = pool.export_handle(sharded.handle, client)
    assert exported != one.handle
    kept = {h["handle"]: h for h in client.handle_list().handles}
    assert without(kept[str(exported)], "handle") == without(kept[str(one.handle)], "handle")
    a = client.predict("digits", exported)
    b = client.predict("digits", one.handle)
    assert a.predictions == b.predictions
    # Its records: an attack on it as inputs carries its labels; a probe reads its origins.
    again = client.attack("digits", "fgsm", exported, epsilon=0.1, images=False)
    assert [s["label"] for s in again.samples] == [s["label"] for s in one.samples]
    rep = client.probe("digits", "3", kind="representation", dataset=dataset("mnist-test", indices=range(0, 50)),
                       adversarial=exported, units=[0, 1])
    ref = client.probe("digits", "3", kind="representation", dataset=dataset("mnist-test", indices=range(0, 50)),
                       adversarial=one.handle, units=[0, 1])
    assert rep.representation == ref.representation
    pool.drop_handle(sharded.handle)
    with pytest.raises(ValueError, match="not a handle of this pool"):
        pool.export_handle(sharded.handle, client)


def test_sharded_evaluate_equals_one_daemon(pool, client):
    attacks = ["fgsm", {"method": "pgd", "steps": 10, "seed": 2}]
    one = client.evaluate("digits", inputs=dataset("mnist-test"), attacks=attacks, epsilons=[0.1, 0.2])
    sharded = pool.evaluate("digits", dataset="mnist-test", attacks=attacks, epsilons=[0.1, 0.2])
    assert sharded.count == one.count == 200
    assert without(sharded, "elapsedMs") == without(one, "elapsedMs")


def test_sharded_evaluate_reports_one_daemons_masking_checks(pool, client):
    """A PGD of two tiny steps before FGSM: FGSM breaks images PGD left robust (counted per
    pair of attacks, not carried by the figures), so a check fires; the pool's checks, from
    the shards' summed tallies, are one daemon's."""
    attacks = [{"method": "pgd", "steps": 2, "step_size": 0.002, "random_start": False}, "fgsm"]
    one = client.evaluate("digits", inputs=dataset("mnist-test"), attacks=attacks, epsilons=[0.1, 0.2])
    sharded = pool.evaluate("digits", dataset="mnist-test", attacks=attacks, epsilons=[0.1, 0.2])
    assert [c["code"] for c in one.checks].count("iterativeWeakerThanSingleStep") == 2
    assert sharded.checks == one.checks
    assert without(sharded, "elapsedMs") == without(one, "elapsedMs")


def test_evaluate_checks_of_an_evaluations_own_tallies_are_its_checks(client):
    """evaluate/checks given one daemon's tallies answers that daemon's checks (independent
    mode too, where the checks read each attack's own robust accuracy), and its tallies are
    the counts its figures come from."""
    attacks = [{"method": "pgd", "steps": 2, "step_size": 0.002, "random_start": False}, "fgsm"]
    for independent in (False, True):
        one = client.evaluate("digits", inputs=dataset("mnist-test"), attacks=attacks, epsilons=[0.1, 0.2], independent=independent)
        assert one.checks
        for point in one.curve:
            t = point["tally"]
            assert t["images"] == one.count
            assert point["robustAccuracy"] == t["robustAfter"][-1] / t["images"]
            assert [a["broken"] for a in point["attacks"]] == t["broken"]
        wire_attacks = [{"method": "pgd", "steps": 2, "stepSize": 0.002, "randomStart": False}, {"method": "fgsm"}]
        checks = client.call("evaluate/checks", model="digits", attacks=wire_attacks, epsilons=[0.1, 0.2],
                             independent=independent, tallies=[p["tally"] for p in one.curve]).checks
        assert checks == one.checks


def test_sharded_probes_equal_one_daemon(pool, client):
    source = dataset("mnist-test", indices=range(0, 200))
    one = client.probe("digits", "7", kind="activations", dataset=source, units=list(range(8)))
    sharded = pool.probe("digits", "7", kind="activations", dataset=source, units=list(range(8)))
    assert sharded.activations["indices"] == one.activations["indices"]
    assert sharded.activations["labels"] == one.activations["labels"]
    # Dense-layer activations: the linear product rounds a row by the rows beside it.
    np.testing.assert_allclose(sharded.activations["values"], one.activations["values"], rtol=1e-5, atol=1e-6)
    for layer in ("3", "7"):   # a conv layer (per-image products) and a dense one
        one = client.probe("digits", layer, kind="topActivations", dataset=source, units=list(range(6)), k=5)
        sharded = pool.probe("digits", layer, kind="topActivations", dataset=source, units=list(range(6)), k=5)
        assert sharded.count == one.count
        for a, b in zip(sharded.top, one.top):
            assert [e["index"] for e in a["top"]] == [e["index"] for e in b["top"]]
            assert [without(e, "value") for e in a["top"]] == [without(e, "value") for e in b["top"]]
            np.testing.assert_allclose([e["value"] for e in a["top"]], [e["value"] for e in b["top"]], rtol=1e-5)
    one = client.probe("digits", "3", kind="classHistograms", dataset=source, k=8)
    sharded = pool.probe("digits", "3", kind="classHistograms", dataset=source, k=8)
    assert sharded.count == one.count
    assert sharded.histograms == one.histograms


def test_sharded_probes_with_an_adversarial_set_equal_one_daemon(pool, client):
    """consistency (CS1, CS2, LC, the summary) and representation (r(x*) and its distribution)
    with the pool's attack handle equal one daemon's with its own attack's handle, on a conv
    layer (per-image products: exact). The attack named inside the probe works too."""
    settings = {"epsilon": 0.2, "steps": 10, "seed": 3}
    adversarial_inputs = dataset("mnist-test", indices=range(0, 100))
    mine = client.attack("digits", "pgd", adversarial_inputs, images=False, **settings)
    ours = pool.attack("digits", "pgd", adversarial_inputs, images=False, **settings)
    source = dataset("mnist-test", indices=range(0, 200))
    one = client.probe("digits", "3", kind="consistency", dataset=source, adversarial=mine.handle, k=8)
    sharded = pool.probe("digits", "3", kind="consistency", dataset=source, adversarial=ours.handle, k=8)
    assert sharded["adversarialHandle"] == ours.handle
    ignore = ("elapsedMs", "adversarialHandle")
    assert without(sharded, *ignore) == without(one, *ignore)
    assert sharded.consistencySummary["units"] > 0 and sharded.consistencySummary["meanCS1"] is not None
    one = client.probe("digits", "3", kind="representation", dataset=source, adversarial=mine.handle, units=[0, 2, 5])
    sharded = pool.probe("digits", "3", kind="representation", dataset=source, adversarial=ours.handle, units=[0, 2, 5])
    assert one.representation["count"] > 30 and one.representation["undefined"] == 0
    assert without(sharded, *ignore) == without(one, *ignore)
    made = pool.probe("digits", "3", kind="representation", dataset=source, units=[0, 2, 5],
                      adversarial={"attack": dict(settings, method="pgd", inputs=adversarial_inputs)})
    assert made["adversarialHandle"].startswith("pool-")
    assert without(made, *ignore) == without(one, *ignore)


SHAPES = 30


@pytest.fixture(scope="module")
def shapes(pool, client):
    """The generated shapes set (with concept masks) and an untrained shapes-cnn, on the pool's
    actors and on the single daemon."""
    for load in (pool.call_all, client.call):
        load("dataset/load", name="shapes", kind="shapes", count=SHAPES, seed=2)
        load("model/create", name="net", architecture="shapes-cnn", seed=1)


def thresholds(result, report="real"):
    return [u["threshold"] for u in result.dissection[report]["units"]]


@pytest.mark.parametrize("layer,settings", [
    ("relu3", {}),
    ("relu3", {"quantile": 0.013, "units": [0, 5, 9, 20]}),
    ("conv1", {"iou_threshold": 0.02}),
    ("relu4", {"quantile": 0.2, "units": [3, 2, 5]}),   # unit 3: a threshold at 0 (ties)
], ids=["relu3", "relu3-q0.013", "conv1", "relu4-q0.2"])
def test_sharded_dissection_equals_one_daemon(pool, client, shapes, layer, settings):
    """Four shards of the 30 images (8, 8, 7, 7): each unit's threshold, merged from the shards'
    top values, is the single daemon's bit for bit, and so are the IoUs, labels and summary
    computed from the shards' summed counts."""
    one = client.probe("net", layer, kind="dissect", dataset="shapes", **settings)
    sharded = pool.probe("net", layer, kind="dissect", dataset="shapes", **settings)
    assert len(pool._shards(list(range(SHAPES)))) == 4
    assert sharded.count == one.count == SHAPES
    assert thresholds(sharded) == thresholds(one)
    assert sharded.dissection == one.dissection
    assert without(sharded, "elapsedMs") == without(one, "elapsedMs")
    assert any(u["iou"] > 0 for u in one.dissection["real"]["units"])
    assert len(set(thresholds(one))) > 1


def test_sharded_dissection_passes_are_the_daemons(pool, client, shapes):
    """The passes the pool runs, asked for themselves: the merged top values are one daemon's;
    given thresholds are used as given; counts are the sums of the shards'."""
    units = [1, 2, 3]
    one = client.probe("net", "relu3", kind="dissect", dataset="shapes", units=units, top_values=70)
    sharded = pool.probe("net", "relu3", kind="dissect", dataset="shapes", units=units, top_values=70)
    assert sharded.topValues["valuesPerUnit"] == one.topValues["valuesPerUnit"] == SHAPES * 16 * 16
    assert np.asarray(one.topValues["values"]).shape == (3, 70)
    assert np.array_equal(sharded.topValues["values"], one.topValues["values"])
    counted = client.probe("net", "relu3", kind="dissect", dataset="shapes", units=units, counts=True)
    given = pool.probe("net", "relu3", kind="dissect", dataset="shapes", units=units, counts=True,
                       thresholds=thresholds(counted))
    assert given.dissection == counted.dissection
    assert np.asarray(counted.dissection["real"]["counts"]["intersections"]).sum() > 0
    lowered = pool.probe("net", "relu3", kind="dissect", dataset="shapes", units=units, thresholds=[0.0, 0.0, 0.0])
    assert thresholds(lowered) == [0.0, 0.0, 0.0]
    assert lowered.dissection == client.probe("net", "relu3", kind="dissect", dataset="shapes", units=units,
                                              thresholds=[0.0, 0.0, 0.0]).dissection
    with pytest.raises(ValueError, match="topValues"):
        pool.probe("net", "relu3", kind="dissect", dataset="shapes", top_values=5, thresholds=[0.0] * 32)


def test_sharded_dissection_of_adversarial_images_equals_one_daemon(pool, client, shapes):
    """With the pool's attack handle: the real set's thresholds (merged as above) applied to
    the adversarial images, each shard a part of both sets; the successful attacks only (as
    the daemon selects them), all of them, and some of the handle's images."""
    settings = {"epsilon": 0.05, "steps": 3, "seed": 4}
    inputs = dataset("shapes", indices=range(0, 20))
    mine = client.attack("net", "pgd", inputs, images=False, **settings)
    ours = pool.attack("net", "pgd", inputs, images=False, **settings)
    ignore = ("elapsedMs", "adversarialHandle")
    for selection in ("successful", "all"):
        one = client.probe("net", "relu3", kind="dissect", dataset="shapes", adversarial=mine.handle, adversarials=selection)
        sharded = pool.probe("net", "relu3", kind="dissect", dataset="shapes", adversarial=ours.handle, adversarials=selection)
        assert sharded["adversarialHandle"] == ours.handle
        assert thresholds(sharded, "adversarial") == thresholds(one, "real")
        assert without(sharded, *ignore) == without(one, *ignore)
        assert one.adversarialCount == (20 if selection == "all" else 20 - one.adversarialExcluded) > 0
    some = [0, 3, 4, 9, 17]
    one = client.probe("net", "relu4", kind="dissect", dataset=dataset("shapes", indices=range(5, 30)),
                       adversarial={"handle": str(mine.handle), "indices": some}, adversarials="all", units=[0, 1, 2])
    sharded = pool.probe("net", "relu4", kind="dissect", dataset=dataset("shapes", indices=range(5, 30)),
                         adversarial={"handle": ours.handle, "indices": some}, adversarials="all", units=[0, 1, 2])
    assert one.adversarialCount == 5
    assert without(sharded, *ignore) == without(one, *ignore)


def test_sharded_dissection_on_a_broden_set_equals_one_daemon(pool, client, tmp_path_factory):
    """The Broden-layout concept set of Tests/python/test_broden.py (12 images: four shards of
    3) and its colour-detector model: the same report, three colour detectors."""
    from test_broden import QUANTILE, build, model
    root = tmp_path_factory.mktemp("broden")
    build(root / "broden")

    class Both:
        """test_broden's model writer, its model/load sent with absolute paths to both sides."""
        def call(self, method, **params):
            params = {k: str(root / v) if k in ("spec", "weights") else v for k, v in params.items()}
            pool.call_all(method, **params)
            client.call(method, **params)
    model(Both(), root)
    for load in (pool.call_all, client.call):
        load("dataset/load", name="concepts", kind="broden", path=str(root / "broden"), model="colours")
    for quantile in (QUANTILE, 0.005):
        one = client.probe("colours", "pool", kind="dissect", dataset="concepts", quantile=quantile)
        sharded = pool.probe("colours", "pool", kind="dissect", dataset="concepts", quantile=quantile)
        assert without(sharded, "elapsedMs") == without(one, "elapsedMs")
    assert [u["label"] for u in one.dissection["real"]["units"]] == ["red-c", "green-c", "blue-c"]


def test_sharded_dissection_reports_progress_and_cancels(pool, client, shapes):
    """One bar over both passes (thresholds, then counts), the first ending at 50, the second at 100; a
    cancel during the thresholds pass raises RequestCancelled, and the pool dissects again at once."""
    seen = []
    pool.probe("net", "relu3", kind="dissect", dataset="shapes", units=[0], progress=seen.append)
    kinds = [v["kind"] for v in seen]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    assert kinds.count("begin") == 1 and kinds.count("end") == 1
    assert seen[0]["title"] == "probe dissect"
    shown = [v["percentage"] for v in seen if v["kind"] == "report"]
    assert shown[-1] == 100
    assert 50 in shown, shown  # the first pass ends at half the bar, whatever the timing

    def cancel_on_first_report(value):
        if value.get("kind") == "report":
            pool.cancel()
    with pytest.raises(RequestCancelled) as caught:
        pool.probe("net", "relu3", kind="dissect", dataset="shapes", progress=cancel_on_first_report)
    assert caught.value.data is None
    again = pool.probe("net", "relu3", kind="dissect", dataset="shapes", units=[0, 1])
    assert again.dissection == client.probe("net", "relu3", kind="dissect", dataset="shapes", units=[0, 1]).dissection


def test_sharded_explanations_equal_one_daemon(pool, client):
    source = dataset("mnist-test", indices=range(0, 6))
    settings = dict(layers=["4", "8"], methods=["influence", "saliency", "gradientTimesActivation"])
    one = client.explain_prediction("digits", inputs=source, **settings)
    sharded = pool.explain_prediction("digits", inputs=source, **settings)
    assert len(sharded.explanations) == 6
    assert_close_trees(sharded.explanations, one.explanations)


def assert_close_trees(a, b, path="explanations"):
    """Same structure, same strings, integers and booleans; numbers and arrays equal to float32
    rounding (the linear layers' products over the batch; see test_sample_randomness)."""
    if isinstance(b, dict):
        assert isinstance(a, dict) and a.keys() == b.keys(), path
        for k in b:
            assert_close_trees(a[k], b[k], f"{path}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close_trees(x, y, f"{path}[{i}]")
    elif isinstance(b, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=path)
    elif isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-6), path
    else:
        assert a == b, path


def test_a_killed_daemon_is_restarted_and_its_shard_rerun(pool, client):
    """The first actor kills its own daemon from inside the first shard it runs, at that
    shard's second progress report (between two PGD iterations, before the reply): the actor
    exits, Ray restarts it (a fresh daemon, the model shipped again), the shard runs again,
    and the result equals one daemon's."""
    settings = {"epsilon": 0.2, "steps": 40, "seed": 9, "early_stop": False}
    inputs = dataset("mnist-test", indices=range(0, 200))
    one = client.attack("digits", "pgd", inputs, **settings)
    first = pool.actors[0]
    pid = ray.get(first.daemon_pid.remote())
    ray.get(first.kill_daemon_at_report.remote(2))
    sharded = pool.attack("digits", "pgd", inputs, **settings)
    history = ray.get(pool._board.history.remote())
    [(what, killed)] = history["notes"]
    assert what == "killed" and killed["pid"] == pid and killed["percentage"] < 100
    assert history["starts"][killed["shard"]] == 2                    # run again after the kill
    assert sorted(history["starts"]) == [0, 1, 2, 3]
    assert ray.get(first.daemon_pid.remote()) != pid                  # restarted
    assert np.array_equal(sharded.images, one.images)
    assert_same_samples(sharded.samples, one.samples)
    assert without(sharded.summary, "elapsedMs", "imagesPerSecond") == without(one.summary, "elapsedMs", "imagesPerSecond")


def test_daemons_run_at_the_callers_niceness(pool):
    """Ray starts workers at niceness 15; the pool's daemons run at the caller's."""
    assert pool.niceness() == [os.getpriority(os.PRIO_PROCESS, 0)] * len(pool.actors)


def test_cancel_stops_every_shard_and_returns_what_finished(pool):
    started = threading.Event()

    def cancel_on_first_report(value):
        if value.get("kind") == "report" and not started.is_set():
            started.set()
            pool.cancel()
    with pytest.raises(RequestCancelled) as caught:
        pool.attack("digits", "pgd", dataset("mnist-test", indices=range(0, 200)), progress=cancel_on_first_report,
                    epsilon=0.2, steps=1000, early_stop=False, seed=1)
    partial = caught.value.data
    finished = 0 if partial is None else len(partial.samples)
    assert finished < 200
    # The pool is usable again at once: the cancelled shards' daemons answer.
    again = pool.attack("digits", "fgsm", dataset("mnist-test", indices=range(0, 8)), epsilon=0.1)
    assert again.summary["count"] == 8
