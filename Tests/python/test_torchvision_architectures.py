"""`model/create`'s torchvision networks against torch, through the real daemon, without torch.

For each network scripts/make_torchvision_fixtures.py committed (Tests/python/fixtures/torchvision/):
a state_dict filled from a seeded numpy stream by torchvision's keys in torchvision's order
(Tests/NNTests/Fixtures/graph/torchvision-state-dicts.json; Tests/python/graph_weights.py)
loads into the network `model/create` builds, saved as safetensors, and gives torch's logits
on seeded images within 1e-4 of their scale; for resnet50, mobilenet_v2, densenet121 and the
small vit also torch's input gradients (within 1e-3). VGG-11 and VGG-16-BN, whose 25088x4096
classifier is too large for that stream, take graph_weights.formula_state_dict (one float32
stream per tensor; Tests/python/fixtures/torchvision/vgg/) and give torch's logits within 1e-5. A mobilenet_v2 made by model/create goes
through predict, attack, probe (activations and consistency), explainPrediction (Grad-CAM on an
inner convolution) and trainStep (the consistent loss on a residual sum). Options that do not
apply, or do not fit, are refused naming the field."""
import json
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
sys.path.insert(0, str(ROOT / "Tests/python"))
import advlens  # noqa: E402
from advlens.errors import AdvLensError  # noqa: E402
from graph_weights import formula_state_dict, seeded_images, seeded_state_dict  # noqa: E402
from test_graph_models import logits, safetensors  # noqa: E402

REFERENCES = ROOT / "Tests/python/fixtures/torchvision"
LISTING = json.loads((ROOT / "Tests/NNTests/Fixtures/graph/torchvision-state-dicts.json").read_text())["networks"]
NETWORKS = sorted(p.stem for p in REFERENCES.glob("*.json"))
VGG = sorted(p.stem for p in (REFERENCES / "vgg").glob("*.json"))
WEIGHTS = {"formula_state_dict": formula_state_dict}


@pytest.fixture
def client(advlensd, tmp_path):
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False) as c:
        yield c


def create_with_torch_weights(client, tmp_path, reference):
    """model/create's network with the seeded state_dict torch used, loaded by key."""
    name = reference["architecture"]
    client.call("model/create", dict(name="created", architecture=name, numClasses=reference["numClasses"],
                                     inputSize=reference["inputSize"], **reference["options"]))
    client.call("model/save", name="created", spec="net.json", weights="unused.safetensors")
    weights_of = WEIGHTS.get(reference.get("weights"), seeded_state_dict)
    safetensors(tmp_path / "torch.safetensors", weights_of(LISTING[name], seed=reference["weightsSeed"]))
    client.call("model/load", name=name, spec="net.json", weights="torch.safetensors")
    return seeded_images([reference["images"]] + reference["inputSize"], seed=reference["imagesSeed"])


def test_every_network_with_a_reference_is_listed():
    assert VGG == ["vgg11", "vgg16_bn"]
    assert set(NETWORKS) | set(VGG) == set(LISTING) - {"vgg11_bn", "vgg16"}


@pytest.mark.parametrize("name", VGG)
def test_vgg_with_formula_weights_gives_torchs_logits(client, tmp_path, name):
    reference = json.loads((REFERENCES / "vgg" / f"{name}.json").read_text())
    assert reference["weights"] == "formula_state_dict"
    images = create_with_torch_weights(client, tmp_path, reference)
    got, expected = logits(client, name, images), np.array(reference["logits"], dtype=np.float32)
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max(), (name, np.abs(got - expected).max())


@pytest.mark.parametrize("name", NETWORKS)
def test_torchvision_state_dict_gives_torchs_logits(client, tmp_path, name):
    reference = json.loads((REFERENCES / f"{name}.json").read_text())
    images = create_with_torch_weights(client, tmp_path, reference)
    got, expected = logits(client, name, images), np.array(reference["logits"], dtype=np.float32)
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() <= 1e-4 * scale, (name, np.abs(got - expected).max(), scale)
    gradients = REFERENCES / f"{name}.gradients.npz"
    if gradients.exists():
        expected_gradient = np.load(gradients)["input_gradient"]
        r = client.call("explainPrediction", model=name, inputs=images, classes=reference["targets"], methods=["inputTimesGradient"])
        for i, e in enumerate(r["explanations"]):
            ours = np.asarray(e["maps"]["inputTimesGradient"]["tensor"], dtype=np.float32)
            torch_map = images[i] * expected_gradient[i]
            assert np.abs(ours - torch_map).max() <= 1e-3 * np.abs(torch_map).max(), (name, i)


def test_mobilenet_v2_through_every_method(client, tmp_path):
    images = seeded_images((8, 3, 32, 32), seed=5)
    created = client.call("model/create", name="m", architecture="mobilenet_v2", numClasses=4, inputSize=[3, 32, 32], seed=3)
    assert created["parameters"] == 2228996  # torchvision's mobilenet_v2(num_classes=4)
    shapes = {layer["name"]: layer["outputShape"] for layer in client.call("model/info", name="m")["layers"]}
    assert shapes["features.16"] == [160, 1, 1] and shapes["features.14.conv.1.0"] == [576, 1, 1] and shapes["features.3.conv.1.0"] == [144, 8, 8]
    before = logits(client, "m", images)
    labels = [int(i) for i in before.argmax(1)]

    attacked = client.call("attack", {"model": "m", "method": "pgd", "inputs": images, "labels": labels, "epsilon": 0.05,
                                      "steps": 3, "stepSize": 0.02, "earlyStop": False})
    assert len(attacked["samples"]) == 8 and all(0 <= s["adversarialLabel"] < 4 for s in attacked["samples"])

    probed = client.call("probe", model="m", layer="features.3", kind="activations", inputs=images, array_encoding="json")
    assert np.array(probed["activations"]["values"]).shape == (8, 24) and np.abs(probed["activations"]["values"]).max() > 0
    np.savez(tmp_path / "set.npz", images=(images * 255).astype(np.uint8), labels=np.array(labels, dtype=np.int64))
    client.call("dataset/load", name="set", kind="npz", path="set.npz", layout="NCHW")
    consistency = client.call("probe", {"model": "m", "layer": "features.16", "kind": "consistency", "units": [0, 1, 2], "k": 3,
                                        "dataset": {"name": "set"}, "adversarials": "all",
                                        "adversarial": {"attack": {"method": "pgd", "inputs": {"dataset": "set", "indices": [0, 1, 2, 3]},
                                                                   "epsilon": 0.3, "steps": 5}}})
    assert consistency["layerShape"] == [160, 1, 1] and len(consistency["histograms"]) == 3
    summary = consistency["consistencySummary"]
    assert summary["allUnits"]["units"] == 3 and summary["units"] + summary.get("silentUnits", 0) == 3

    explained = client.call("explainPrediction", model="m", input=images[0], methods=["gradCam"], gradCamLayer="features.3.conv.1.0")
    assert explained["maps"]["gradCam"]["layer"] == "features.3.conv.1.0" and explained["maps"]["gradCam"]["max"] > 0

    step = client.call("trainStep", model="m", inputs=images, labels=labels, seed=1,
                       objective={"kind": "consistent", "lambda": 0.5, "layers": ["features.16"]},
                       optimizer={"kind": "sgd", "learningRate": 0.05})
    assert step["objective"]["layers"] == ["features.16"] and np.isfinite(step["loss"])
    assert np.abs(logits(client, "m", images) - before).max() > 0


def test_vit_options_are_torchvisions_and_checked(client):
    created = client.call("model/create", name="v", architecture="vit", numClasses=10, inputSize=[3, 32, 32],
                          patchSize=8, numLayers=2, numHeads=4, hiddenDim=32, mlpDim=64)
    listed = sum(int(np.prod(shape)) for key, shape in LISTING["vit"])
    assert created["parameters"] == listed
    layers = {layer["name"]: layer for layer in client.call("model/info", name="v")["layers"]}
    assert layers["encoder.layers.encoder_layer_1"]["outputShape"] == [17, 32]
    assert layers["encoder.layers.encoder_layer_0.self_attention.weights"]["outputShape"] == [4, 17, 17]
    cases = [
        ({"architecture": "resnet18", "patchSize": 8}, "params.patchSize"),
        ({"architecture": "mnist-small", "numLayers": 2}, "params.numLayers"),
        ({"architecture": "vit", "inputSize": [3, 32, 32], "numHeads": 5}, "params.numHeads"),
        ({"architecture": "vit", "inputSize": [3, 32, 30], "patchSize": 2}, "params.inputSize"),
        ({"architecture": "vit", "inputSize": [3, 32, 32], "patchSize": 5}, "params.inputSize"),
        ({"architecture": "vit", "hiddenDim": 0}, "params.hiddenDim"),
    ]
    for params, field in cases:
        with pytest.raises(AdvLensError) as failure:
            client.call("model/create", dict(name="bad", **params))
        assert field in str(failure.value) and failure.value.code == -32602, (params, str(failure.value))
