"""probe, explainPrediction, trainStep and evaluate through the Python client, against the real
daemon: results decoded, arrays in, handles as inputs, progress, cancellation and display."""
import os
from fractions import Fraction

import numpy as np
import pytest

import advlens
from conftest import REPO


def test_explain_prediction_ranks_units_and_returns_maps(client):
    ref = advlens.dataset("mnist-test", [61])
    predicted = client.predict("digits", ref).predictions[0]["predicted"]
    r = client.explain_prediction("digits", ref, top_neurons=3,
                                  methods=["influence", "gradientTimesActivation", "saliency", "gradCam"])
    assert r.prediction["predicted"] == predicted and r.prediction["class"] == predicted
    assert [layer["layer"] for layer in r.layers] == ["4", "8"]
    for layer in r.layers:
        assert layer["rankedBy"] == "logitDrop" and len(layer["neurons"]) == 3
        drops = [n["logitDrop"] for n in layer["neurons"]]
        assert drops == sorted(drops, reverse=True)
    saliency = r.maps["saliency"]["tensor"]
    assert isinstance(saliency, np.ndarray) and saliency.shape == (1, 28, 28) and saliency.min() >= 0
    assert saliency.max() == pytest.approx(r.maps["saliency"]["max"], rel=1e-5)
    html = r._repr_html_()
    assert html.count('class="advlens-bar"') == 6 and "advlens-explain" in html
    assert html.count("data:image/png;base64,") == 4  # saliency and Grad-CAM, over the image and alone
    # The same image as a numpy array explains the same way.
    attack = client.attack("digits", "fgsm", ref, epsilon=0.01)
    from_array = client.explain("digits", attack.originals[0], top_neurons=3, methods=["influence"])
    assert [n["unit"] for n in from_array.layers[1]["neurons"]] == [n["unit"] for n in r.layers[1]["neurons"]]
    attack.handle.drop()


def test_explain_compares_an_adversarial_handle_with_its_clean_image(client):
    ref = advlens.dataset("mnist-test", [61])
    attack = client.attack("digits", "pgd", ref, steps=20, images=False)
    r = client.explain("digits", attack.handle.select([0]), compare_with=ref, top_neurons=4,
                       methods=["influence"])
    assert r.prediction["predicted"] == attack.samples[0]["adversarialLabel"]
    assert r.comparison["predicted"] == client.predict("digits", ref).predictions[0]["predicted"]
    assert r.comparison["layers"] and "pushedToward" in r.comparison["layers"][0]
    assert "advlens-comparison" in r._repr_html_()
    attack.handle.drop()


def test_probe_top_activations_with_patches(client, root):
    patches = os.path.join(REPO, "out", "python-test-patches")
    r = client.probe("digits", "4", "topActivations", dataset="mnist-test", units=[0, 5], k=3,
                     patches=True, patch_directory=patches)
    assert [u["unit"] for u in r.top] == [0, 5]
    for unit in r.top:
        values = [t["value"] for t in unit["top"]]
        assert len(values) == 3 and values == sorted(values, reverse=True)
        assert all(os.path.isfile(t["patch"]) for t in unit["top"])
    html = r._repr_html_()
    assert html.count('class="advlens-image advlens-file"') == 6
    # The top image of unit 0, probed alone as an input array, gives the same value.
    best = r.top[0]["top"][0]
    acts = client.probe("digits", "4", "activations", inputs=advlens.dataset("mnist-test", [best["index"]]), units=[0])
    assert acts.activations["values"][0][0] == pytest.approx(best["value"], rel=1e-5)
    # The table travels as one base64 float32 tensor and arrives as a numpy array [inputs, units].
    assert isinstance(acts.activations["values"], np.ndarray) and acts.activations["values"].shape == (1, 1)
    rows = client.probe("digits", "4", "activations", inputs=advlens.dataset("mnist-test", [best["index"]]), units=[0],
                        array_encoding="json")
    assert rows.activations["values"] == [[pytest.approx(best["value"], rel=1e-5)]]


def test_probe_consistency_on_an_adversarial_handle(client):
    attack = client.attack("digits", "pgd", advlens.dataset("mnist-test", range(50)), steps=10,
                           targeted=True, images=False)
    r = client.probe("digits", "8", "consistency", dataset="mnist-test", adversarial=attack.handle,
                     units=[0, 1, 2, 3], k=5)
    assert [h["unit"] for h in r.histograms] == [0, 1, 2, 3]
    for h in r.histograms:
        assert 0 <= h["cs1"] <= 1 + 1e-6 and sum(h["pReal"]) == pytest.approx(1)
    # The summary covers the units that fire; allUnits every unit; failed attacks are left out.
    firing = [h["cs1"] for h in r.histograms if h["firing"]]
    summary = r.consistencySummary
    assert summary["units"] == len(firing) and summary["silentUnits"] == 4 - len(firing)
    if firing:
        assert summary["meanCS1"] == pytest.approx(np.mean(firing), abs=1e-5)
    assert summary["allUnits"]["meanCS1"] == pytest.approx(np.mean([h["cs1"] for h in r.histograms]), abs=1e-5)
    assert r.adversarialCount + r.adversarialExcluded == 50
    every = client.probe("digits", "8", "consistency", dataset="mnist-test", adversarial=attack.handle,
                         units=[0, 1, 2, 3], k=5, adversarials="all")
    assert every.adversarialCount == 50 and "adversarialExcluded" not in every
    assert "cs1 per unit" in r._repr_html_()
    attack.handle.drop()


def test_train_step_and_evaluate(client):
    client.model_create("student", architecture="mnist-small", seed=2)
    try:
        before = client.model_info("student").summary["fingerprint"]
        values = []
        r = client.train_step("student", dataset="mnist-train", steps=8, batch_size=32,
                              optimizer={"kind": "sgd", "learning_rate": 0.05}, progress=values.append)
        assert r.steps == 8 and r.step_count == 8 and r.fingerprint != before
        assert len(r.history) == 8 and [h["step"] for h in r.history] == list(range(1, 9))
        assert values[0]["kind"] == "begin" and values[-1]["kind"] == "end"
        assert client.model_info("student").summary["fingerprint"] == r.fingerprint
        clean = client.evaluate("student", dataset="mnist-test")
        assert clean.count == 200 and 0 <= clean.clean_accuracy <= 1
        assert clean.clean_accuracy == pytest.approx(client.predict("student", advlens.dataset("mnist-test")).accuracy)
        robust = client.evaluate("digits", dataset="mnist-test", attack={"method": "fgsm", "epsilon": 0.2})
        assert robust.robust_accuracy <= robust.clean_accuracy
    finally:
        client.model_unload("student")


def test_evaluate_worst_case_over_attacks_and_epsilons(client):
    values = []
    pgd = {"method": "pgd", "steps": 5, "step_size": 0.05, "random_start": False}  # deterministic: same per image whatever the batch
    r = client.evaluate("digits", dataset="mnist-test", attacks=["fgsm", pgd], epsilons=[0.05, "8/255", Fraction(1, 5)],
                        progress=values.append)
    assert [p["epsilon"] for p in r.curve] == pytest.approx([0.05, 8 / 255, 0.2])
    for point in r.curve:
        assert [a["config"]["epsilon"] for a in point["attacks"]] == pytest.approx([point["epsilon"]] * 2)
        first, second = point["attacks"]
        # FGSM ran on every correct image, PGD only on what FGSM left: the worst case is below both.
        assert first["attacked"] == round(r.clean_accuracy * r.count)
        assert second["attacked"] == first["attacked"] - first["broken"]
        assert point["robustAccuracy"] == second["cumulativeRobustAccuracy"] <= first["robustAccuracy"]
    by_epsilon = sorted(r.curve, key=lambda p: p["epsilon"])
    assert by_epsilon[0]["robustAccuracy"] > by_epsilon[-1]["robustAccuracy"]
    assert isinstance(r.checks, list) and "robustAccuracy" not in r  # a curve has no single figure
    assert values[0]["kind"] == "begin" and values[-1]["kind"] == "end"
    percentages = [v["percentage"] for v in values if v["kind"] == "report"]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    # One point, every attack on every image: the same worst case, and each attack's own figure.
    one = client.evaluate("digits", dataset="mnist-test", attacks=["fgsm", pgd], epsilons=[0.2], independent=True)
    assert one.robust_accuracy == by_epsilon[-1]["robustAccuracy"]
    assert all("robustAccuracy" in a for a in one.curve[0]["attacks"])
    with pytest.raises(advlens.AdvLensError, match=r"params\.attacks\[1\]\.method"):
        client.evaluate("digits", dataset="mnist-test", attacks=["fgsm", "pgdd"])
    with pytest.raises(ValueError, match="8/0"):
        client.evaluate("digits", dataset="mnist-test", attacks=["fgsm"], epsilons=["8/0"])


def test_ctrl_c_keeps_whole_training_steps(client, ctrl_c_after_progress):
    # Ctrl-C after the first progress report, on 100,000 steps (the most one call takes) that
    # cannot finish first.
    on_progress, begun = ctrl_c_after_progress
    client.model_create("student2", architecture="mnist-small", seed=3)
    try:
        with pytest.raises(advlens.RequestCancelled) as cancelled:
            client.train_step("student2", dataset="mnist-train", steps=100000, batch_size=16,
                              progress=on_progress)
        assert begun.is_set(), "interrupted before any progress report"
        partial = cancelled.value.data
        assert 0 < partial.steps < 100000
        assert client.model_info("student2").summary["fingerprint"] == partial.fingerprint
    finally:
        client.model_unload("student2")


def test_cache_stats_and_clear_on_a_private_database(daemon, root, tmp_path):
    cache = tmp_path / "cache.sqlite"
    with advlens.Client(daemon=daemon, root=root, cache=cache, progress=False) as c:
        stats = c.cache_stats()
        assert stats.path == str(cache) and [t["name"] for t in stats.tables] == ["activations", "statistics", "handles", "runLogs"]
        cleared = c.cache_clear(what=["all"])
        assert cleared.stats["totalBytes"] == 0
    assert cache.exists()


def test_explain_a_batch_like_captum(client):
    # Several images in one request, a target per image (Captum: attribute(x_batch, target=...)).
    refs = advlens.dataset("mnist-test", [20, 40, 60])
    batch = client.explain_prediction("digits", inputs=refs, classes=[1, 2, 3], methods=["saliency", "gradCam"])
    assert [e["prediction"]["class"] for e in batch.explanations] == [1, 2, 3]
    assert all(e["maps"]["saliency"]["tensor"].shape == (1, 28, 28) for e in batch.explanations)
    alone = client.explain_prediction("digits", advlens.dataset("mnist-test", [40]), class_=2, methods=["saliency", "gradCam"])
    np.testing.assert_allclose(batch.explanations[1]["maps"]["saliency"]["tensor"], alone.maps["saliency"]["tensor"], rtol=1e-4, atol=1e-6)
    assert batch._repr_html_().count("advlens-batch-item") == 3
