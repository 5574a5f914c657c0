"""Graph models (`nodes` specs) through the real daemon and the Python client.

A small ResNet-style graph (two branches joined by adds, a channel concatenation, PyTorch-style
dotted names: Tests/NNTests/Fixtures/graph/small-resnet.json) with random weights written here
gives the same logits as the same network written as a layer list with residual blocks, and
works for predict, attack, probe, explainPrediction (Grad-CAM on a dotted node), trainStep with
the consistent loss on a dotted node, and model/save + model/load. Graphs built with the
`onnx` package from add, sub, mul, div, concat and matmul with broadcasting give onnxruntime's
logits. Bad graph specs come back as JSON-RPC errors naming the node and field."""
import json
import pathlib
import struct
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
import advlens  # noqa: E402
sys.path.insert(0, str(ROOT / "Tests/python"))
from advlens.errors import AdvLensError  # noqa: E402

FIXTURES = ROOT / "Tests/NNTests/Fixtures/graph"


def safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(array)), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def state_dict(spec, rng):
    """Random weights for every layer of a graph spec, keyed as PyTorch names them."""
    weights = {}
    for node in spec["nodes"]:
        name, kind = node["name"], node["type"]
        if kind == "conv2d":
            k = node["kernel_size"]
            weights[name + ".weight"] = rng.uniform(-0.5, 0.5, (node["out_channels"], node["in_channels"], k, k))
            if node.get("bias", True):
                weights[name + ".bias"] = rng.uniform(-0.3, 0.3, node["out_channels"])
        elif kind == "batchnorm2d":
            c = node["num_features"]
            weights.update({name + ".weight": rng.uniform(0.5, 1.5, c), name + ".bias": rng.uniform(-0.3, 0.3, c),
                            name + ".running_mean": rng.uniform(-0.3, 0.3, c), name + ".running_var": rng.uniform(0.5, 1.5, c),
                            name + ".num_batches_tracked": np.zeros(())})
        elif kind == "linear":
            weights[name + ".weight"] = rng.uniform(-0.5, 0.5, (node["out_features"], node["in_features"]))
            weights[name + ".bias"] = rng.uniform(-0.3, 0.3, node["out_features"])
    return weights


def as_layer_list(weights):
    """The same weights keyed for small-resnet-layers.json: blocks as residual layers, and the
    concatenation + 1x1 convolution as one 1x1 convolution whose weight sums the two halves."""
    renamed = {}
    for key, value in weights.items():
        new = key
        for old, replacement in (("layer1.0.downsample.", "block1.shortcut."), ("layer2.0.downsample.", "block2.shortcut."),
                                 ("layer1.0.mix.", "mix."), ("layer1.0.", "block1.body."), ("layer2.0.", "block2.body.")):
            if key.startswith(old):
                new = replacement + key[len(old):]
                break
        renamed[new] = value
    w = renamed["mix.weight"]
    renamed["mix.weight"] = w[:, :4] + w[:, 4:]
    return renamed


@pytest.fixture
def client(advlensd, tmp_path):
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False) as c:
        yield c


@pytest.fixture
def resnet(client, tmp_path):
    spec = json.loads((FIXTURES / "small-resnet.json").read_text())
    weights = state_dict(spec, np.random.default_rng(3))
    (tmp_path / "g.json").write_text(json.dumps(spec))
    safetensors(tmp_path / "g.safetensors", weights)
    (tmp_path / "l.json").write_text((FIXTURES / "small-resnet-layers.json").read_text())
    safetensors(tmp_path / "l.safetensors", as_layer_list(weights))
    client.call("model/load", name="g", spec="g.json", weights="g.safetensors")
    client.call("model/load", name="l", spec="l.json", weights="l.safetensors")
    return spec


def logits(client, model, images):
    r = client.call("predict", model=model, inputs=images, returnLogits=True)
    return np.array([p["logits"] for p in r.predictions], dtype=np.float32)


def test_graph_resnet_through_every_method(client, resnet, tmp_path):
    images = np.random.default_rng(4).uniform(0, 1, (4, 3, 8, 8)).astype(np.float32)
    graph, layers = logits(client, "g", images), logits(client, "l", images)
    assert np.abs(graph - layers).max() <= 1e-5 * np.abs(layers).max()

    info = client.call("model/info", name="g")
    shapes = {layer["name"]: layer["outputShape"] for layer in info["layers"]}
    assert shapes["layer1.0.cat"] == [8, 8, 8] and shapes["layer2.0.downsample.1"] == [6, 4, 4]
    assert {layer["name"]: layer["type"] for layer in info["layers"]}["layer2.0.add"] == "add"

    labels = [int(i) for i in graph.argmax(1)]
    def attack(model):
        return client.call("attack", {"model": model, "method": "pgd", "inputs": images, "labels": labels, "epsilon": 0.1,
                                      "steps": 5, "stepSize": 0.03, "earlyStop": False})
    attacked, layer_attack = attack("g"), attack("l")
    assert len(attacked["samples"]) == 4 and any(s["success"] for s in attacked["samples"])
    assert [s["adversarialLabel"] for s in attacked["samples"]] == [s["adversarialLabel"] for s in layer_attack["samples"]]

    probed = client.call("probe", model="g", layer="layer1.0.relu", kind="activations", inputs=images, array_encoding="json")
    graph_units = np.array(probed["activations"]["values"], dtype=np.float32)
    same = client.call("probe", model="l", layer="relu1", kind="activations", inputs=images, array_encoding="json")
    assert graph_units.shape == (4, 4) and np.abs(graph_units).max() > 0
    assert np.abs(graph_units - np.array(same["activations"]["values"], dtype=np.float32)).max() <= 1e-5

    explained = client.call("explainPrediction", model="g", input=images[0], methods=["gradCam", "influence"],
                            gradCamLayer="layer2.0.relu1", topNeurons=2)
    # The default unit layers: the last top-level [C, H, W] node and the classifier's input.
    assert [layer["layer"] for layer in explained["layers"]] == ["layer2.0.relu", "flatten"]
    reference = client.call("explainPrediction", model="l", input=images[0], methods=["gradCam"], gradCamLayer="block2.body.relu1")
    cam, expected = explained["maps"]["gradCam"], reference["maps"]["gradCam"]
    assert cam["layer"] == "layer2.0.relu1" and expected["max"] > 0
    for key in ("min", "max", "sum"):
        assert abs(cam[key] - expected[key]) <= 1e-4 * abs(expected["max"]), (cam, expected)

    step = client.call("trainStep", model="g", inputs=images, labels=labels, seed=1,
                       objective={"kind": "consistent", "lambda": 0.5, "layers": ["layer1.0.add"]},
                       optimizer={"kind": "sgd", "learningRate": 0.05})
    assert step["objective"]["layers"] == ["layer1.0.add"] and np.isfinite(step["loss"])
    trained = logits(client, "g", images)
    assert np.abs(trained - graph).max() > 0

    client.call("model/save", name="g", spec="saved.json", weights="saved.safetensors")
    saved = json.loads((tmp_path / "saved.json").read_text())
    assert "layers" not in saved and saved["output"] == "fc" and saved["nodes"][8]["inputs"] == ["layer1.0.bn2", "relu"]
    again = client.call("model/load", name="again", spec="saved.json", weights="saved.safetensors")
    assert again["fingerprint"] == step["fingerprint"]
    assert np.array_equal(logits(client, "again", images), trained)


def test_bad_graph_specs_are_refused_naming_the_field(client, resnet, tmp_path):
    safetensors(tmp_path / "empty.safetensors", {})
    cases = [
        (lambda s: s["nodes"][8].update(inputs=["layer1.0.bn2", "nowhere"]), 'nodes[8].inputs[1]: unknown input "nowhere"'),
        (lambda s: s["nodes"][3].update(inputs=["layer1.0.relu"]), "nodes[3].inputs[0]"),
        (lambda s: s["nodes"][5].update(name="layer1.0.conv1"), 'nodes[5].name: duplicate node name "layer1.0.conv1"'),
        (lambda s: s.update(layers=[]), "not both"),
        (lambda s: s["nodes"][10].update(dim=0), "cannot concatenate along the batch"),
    ]
    for i, (edit, expected) in enumerate(cases):
        spec = json.loads(json.dumps(resnet))
        edit(spec)
        (tmp_path / f"bad{i}.json").write_text(json.dumps(spec))
        with pytest.raises(AdvLensError) as failure:
            client.call("model/load", name="bad", spec=f"bad{i}.json", weights="g.safetensors")
        assert expected in str(failure.value), str(failure.value)
        assert failure.value.code in (-32602, -32010), failure.value.code


def test_broadcasting_operators_match_onnxruntime(client, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    consts = {
        "shift": rng.uniform(-1, 1, (3, 1, 1)),          # per channel
        "scale": rng.uniform(0.5, 1.5, (1, 1, 8)),       # per column
        "row": rng.uniform(-1, 1, (8,)),                 # per column, rank 1
        "divisor": rng.uniform(0.5, 1.5, (1, 6, 1, 1)),  # per channel of the concatenation
        "right": rng.uniform(-1, 1, (8, 5)),             # one product over all rows
        "left": rng.uniform(-1, 1, (4, 8)),              # broadcast on the left
        "heads": rng.uniform(-1, 1, (6, 5, 3)),          # a product per channel
        "fc.weight": rng.uniform(-0.2, 0.2, (10, 72)),
        "fc.bias": rng.uniform(-0.2, 0.2, (10,)),
    }
    consts = {k: v.astype(np.float32) for k, v in consts.items()}
    # (name, op, inputs, AdvLens type)
    steps = [("a", "Add", ["input", "shift"], "add"), ("b", "Mul", ["a", "scale"], "mul"), ("c", "Sub", ["b", "row"], "sub"),
             ("d", "Mul", ["c", "input"], "mul"), ("e", "Concat", ["d", "a"], "concat"), ("f", "Div", ["e", "divisor"], "div"),
             ("g", "MatMul", ["f", "right"], "matmul"), ("h", "MatMul", ["left", "g"], "matmul"), ("i", "MatMul", ["h", "heads"], "matmul")]
    nodes = [helper.make_node(op, inputs, [name], **({"axis": 1} if op == "Concat" else {})) for name, op, inputs, _ in steps]
    nodes += [helper.make_node("Flatten", ["i"], ["flat"], axis=1),
              helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], transB=1)]
    graph = helper.make_graph(nodes, "ops", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
                              [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    spec_nodes = [{"name": k, "type": "constant", "shape": list(v.shape)} for k, v in consts.items() if not k.startswith("fc.")]
    spec_nodes += [dict({"name": name, "type": kind, "inputs": inputs}, **({"dim": 1} if kind == "concat" else {}))
                   for name, _, inputs, kind in steps]
    spec_nodes += [{"name": "flat", "type": "flatten", "inputs": ["i"]}, {"name": "fc", "type": "linear", "in_features": 72, "out_features": 10}]
    spec = {"name": "ops", "input": {"shape": [3, 8, 8], "range": [0, 1]}, "classes": [], "nodes": spec_nodes, "output": "fc"}
    (tmp_path / "ops.json").write_text(json.dumps(spec))
    safetensors(tmp_path / "ops.safetensors", consts)
    client.call("model/load", name="ops", spec="ops.json", weights="ops.safetensors")

    images = rng.uniform(0, 1, (5, 3, 8, 8)).astype(np.float32)
    expected = session.run(["logits"], {"input": images})[0]
    got = logits(client, "ops", images)
    assert np.abs(got - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max()), (got, expected)


def test_torchvision_resnet18_from_model_create(client, tmp_path):
    created = client.call("model/create", name="r", architecture="resnet18", numClasses=10, inputSize=[3, 32, 32], seed=2)
    assert created["inputShape"] == [3, 32, 32] and created["parameters"] == 11181642  # torchvision's resnet18(num_classes=10)
    shapes = {layer["name"]: layer["outputShape"] for layer in client.call("model/info", name="r")["layers"]}
    assert shapes["layer4.1.relu"] == [512, 1, 1] and shapes["layer3.0.downsample.1"] == [256, 2, 2] and shapes["fc"] == [10]
    images = np.random.default_rng(5).uniform(0, 1, (2, 3, 32, 32)).astype(np.float32)
    before = logits(client, "r", images)
    client.call("model/save", name="r", spec="r.json", weights="r.safetensors")
    client.call("model/load", name="r2", spec="r.json", weights="r.safetensors")
    assert np.array_equal(logits(client, "r2", images), before)
    explained = client.call("explainPrediction", model="r", input=images[0], methods=["gradCam"], gradCamLayer="layer2.1.relu")
    assert explained["maps"]["gradCam"]["layer"] == "layer2.1.relu"
    for params, field in (({"numClasses": 0}, "params.numClasses"), ({"inputSize": [1, 32, 32]}, "params.inputSize")):
        with pytest.raises(AdvLensError) as failure:
            client.call("model/create", dict({"name": "bad", "architecture": "resnet18"}, **params))
        assert field in str(failure.value) and failure.value.code == -32602
    with pytest.raises(AdvLensError) as failure:
        client.call("model/create", name="bad", architecture="mnist-small", numClasses=3)
    assert "params.numClasses" in str(failure.value)
