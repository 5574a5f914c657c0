"""The Python client against the real daemon over stdio: arrays in and out, handles, errors."""
import numpy as np
import pytest

import advlens
import advlens.params
from advlens.display import png_bytes


def test_initialize_lists_methods_and_binds_them(client):
    assert client.server["serverInfo"]["name"] == "advlensd"
    for method in client.capabilities["methods"]:
        if method not in ("initialize",):
            name = advlens.params.snake(method)
            assert callable(getattr(client, name)), method
    assert "pgd" in client.capabilities["attacks"]


def test_keyword_arguments_and_positional_name(client):
    created = client.model_create("fresh", architecture="mnist-small", seed=3)
    assert created.fingerprint == client.model_info("fresh").summary["fingerprint"]
    assert "fresh" in [m["name"] for m in client.model_list().models]
    client.model_unload(name="fresh")
    assert "fresh" not in [m["name"] for m in client.model_list().models]


def test_dataset_reference_predict_has_labels_and_accuracy(client):
    result = client.predict("digits", advlens.dataset("mnist-test", range(10)), top_k=2)
    assert result.count == 10 and len(result.predictions) == 10
    labels = [p["label"] for p in result.predictions]
    correct = sum(p["predicted"] == p["label"] for p in result.predictions)
    assert result.accuracy == pytest.approx(correct / 10)
    assert all(len(p["top"]) == 2 for p in result.predictions)
    assert labels == list(range(10))  # the split's default order interleaves the classes: one of each digit first


def test_array_out_of_attack_and_back_into_predict(client):
    refs = advlens.dataset("mnist-test", [0, 25, 47])
    attack = client.attack("digits", "fgsm", refs, epsilon=0.1)
    assert isinstance(attack.images, np.ndarray) and attack.images.dtype == np.float32
    assert attack.images.shape == (3, 1, 28, 28) == attack.perturbations.shape
    assert np.abs(attack.perturbations).max() <= 0.1 + 1e-6
    originals = attack.originals
    assert originals.min() >= 0 and originals.max() <= 1
    # The clean images, sent back as a numpy tensor, give the dataset reference's logits.
    by_ref = client.predict("digits", refs, return_logits=True)
    by_array = client.predict("digits", originals, return_logits=True)
    np.testing.assert_allclose([p["logits"] for p in by_array.predictions],
                               [p["logits"] for p in by_ref.predictions], atol=1e-4)
    # One image as [C, H, W]; and the adversarial batch predicts as the attack judged it.
    single = client.predict("digits", originals[1])
    assert single.count == 1 and single.predictions[0]["predicted"] == by_ref.predictions[1]["predicted"]
    adversarial = client.predict("digits", attack.images)
    assert [p["predicted"] for p in adversarial.predictions] == [s["adversarialLabel"] for s in attack.samples]


def test_png_bytes_and_tensor_agree(client):
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:22, 12:16] = 255  # a bar, like a 1
    from_png = client.predict("digits", png_bytes(image), return_logits=True)
    from_array = client.predict("digits", image[None, None].astype(np.float32) / 255, return_logits=True)
    np.testing.assert_allclose(from_png.predictions[0]["logits"], from_array.predictions[0]["logits"], atol=1e-5)


def test_handles_are_objects(client):
    attack = client.attack("digits", "pgd", advlens.dataset("mnist-test", range(10)), steps=5, images=False)
    handle = attack.handle
    assert isinstance(handle, advlens.Handle) and handle.startswith("adv-")
    assert "images" not in attack
    assert handle.info()["count"] == 10
    assert client.predict("digits", handle).accuracy == pytest.approx(attack.summary["robustAccuracy"])
    two = client.predict("digits", handle.select([0, 3]))
    assert two.count == 2
    assert [p["predicted"] for p in two.predictions] == [attack.samples[i]["adversarialLabel"] for i in (0, 3)]
    listed = [h["handle"] for h in client.handle_list().handles]
    assert handle in listed and all(isinstance(h, advlens.Handle) for h in listed)
    handle.drop()
    assert handle.info() is None
    with pytest.raises(advlens.AdvLensError) as error:
        client.predict("digits", handle)
    assert error.value.code == -32001 and "adv-" in error.value.message


def test_errors_carry_code_message_and_method(client):
    with pytest.raises(advlens.AdvLensError) as error:
        client.attack("digits", "pgd", advlens.dataset("mnist-test", [0]), epsilon=-1)
    assert error.value.code == -32602 and "params.epsilon" in error.value.message
    assert error.value.method == "attack"
    with pytest.raises(advlens.AdvLensError) as error:
        client.call("no/such/method")
    assert error.value.code == -32601
    with pytest.raises(advlens.AdvLensError) as error:
        client.predict("nobody", advlens.dataset("mnist-test", [0]))
    assert error.value.code == -32001
    with pytest.raises(advlens.AdvLensError) as error:
        client.predict("digits", np.zeros((1, 1, 32, 32), np.float32))
    assert error.value.code == -32010
    # The session goes on after errors.
    assert client.predict("digits", advlens.dataset("mnist-test", [0])).count == 1


def test_call_takes_wire_names_and_camel_case(client):
    result = client.call("predict", {"model": "digits", "inputs": {"dataset": "mnist-test", "indices": [1]}}, topK=1)
    assert len(result.predictions[0]["top"]) == 1
    assert client.call("dataset/info", name="mnist-test").count == 200


def test_close_ends_the_daemon_with_status_zero(daemon, root):
    c = advlens.Client(daemon=daemon, root=root, progress=False)
    c.close()
    assert c.process.returncode == 0
    with pytest.raises(advlens.ConnectionClosed):
        c.model_list()


def test_ensembles_and_handles_as_attack_inputs(client):
    client.model_create("other", architecture="mnist-small", seed=5)
    try:
        first = client.attack({"digits": 3, "other": 1}, "fgsm", advlens.dataset("mnist-test", [0, 1]),
                              evaluate_on=["digits", "other"], images=False)
        assert [(m["name"], m["weight"]) for m in first.config["models"]] == [("digits", 3), ("other", 1)]
        assert [t["model"] for t in first.transfer] == ["digits", "other"]
        # The adversarial batch attacked again: its labels travel with the handle.
        second = client.attack("digits", "fgsm", first.handle, epsilon=0.05, images=False)
        assert [s["label"] for s in second.samples] == [s["label"] for s in first.samples]
        for h in (first.handle, second.handle):
            h.drop()
    finally:
        client.model_unload("other")


def test_cache_may_be_a_directory(daemon, root, tmp_path, monkeypatch):
    # An existing directory holds cache.sqlite; so does a new one written with a trailing slash;
    # a relative path is relative to the client's working directory.
    monkeypatch.chdir(tmp_path)
    for given, expected in ((tmp_path, tmp_path / "cache.sqlite"), ("fresh/", tmp_path / "fresh/cache.sqlite"),
                            ("mine.sqlite", tmp_path / "mine.sqlite")):
        with advlens.Client(daemon=daemon, root=root, cache=given, progress=False) as c:
            assert c.server["cachePath"] == str(expected)
            assert c.cache_stats().path == str(expected)
        assert expected.is_file()


def test_paths_mean_what_they_mean_in_the_users_directory(daemon, tmp_path, monkeypatch):
    from conftest import MODEL_DIR, REPO
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "saved").mkdir()
    (tmp_path / "digit-7.png").write_bytes((REPO / "clients/testdata/digit-7.png").read_bytes())
    monkeypatch.chdir(work)
    # No root: files anywhere, relative paths against this process's directory (not the daemon's).
    with advlens.Client(daemon=daemon, progress=False) as c:
        c.model_load("digits", spec=str(MODEL_DIR / "model.json"), weights=str(MODEL_DIR / "model.safetensors"))
        assert c.predict("digits", "../digit-7.png").predictions[0]["predicted"] == 7
        saved = c.model_save("digits", spec="../saved/m.json", weights="../saved/m.safetensors")
        assert saved.spec == str((tmp_path / "saved/m.json").resolve()) and (tmp_path / "saved/m.safetensors").is_file()
    # root= confines (opt-in, for a shared daemon).
    with advlens.Client(daemon=daemon, root=work, progress=False) as c:
        with pytest.raises(advlens.AdvLensError) as refused:
            c.model_load("digits", spec=str(MODEL_DIR / "model.json"), weights=str(MODEL_DIR / "model.safetensors"))
        assert refused.value.code == -32013


def test_apgd_and_square_through_the_client(client):
    """The parameters of the AutoAttack family pass as keyword arguments (snake_case)."""
    refs = advlens.dataset("mnist-test", range(4))
    apgd = client.attack("digits", "apgd-t", refs, epsilon=0.2, steps=5, target_classes=2, loss="dlr")
    assert apgd.config["targetClasses"] == 2 and apgd.config["loss"] == "dlr"
    assert np.abs(apgd.perturbations).max() <= 0.2 + 1e-6
    square = client.attack("digits", "square", refs, epsilon=0.2, queries=50, square_fraction=0.5)
    assert square.config["queries"] == 50 and square.config["squareFraction"] == 0.5
    assert all(s["iterations"] <= 50 for s in square.samples)
    assert np.abs(square.perturbations).max() <= 0.2 + 1e-6
