"""ONNX export (model/save {"onnx": ...}) through the real daemon, with onnxruntime as the reference.

Every spec layer type and graph node type is written into a model here (the one-operator
models of test_onnx_operators.py, a layer list with every activation, pooling, normalisation and
a residual block with and without a shortcut, a graph with each graph node type and
broadcasting, the committed torch-exported ONNX fixtures once imported, and a model after
trainStep changed its weights). For each: the file passes onnx.checker, onnxruntime's logits on
it equal the daemon's within 1e-5 of their scale, and model/load {"onnx": ...} of it gives the
daemon's logits again (the round trip), with the input range and class labels the file
records. A layer without an ONNX form is refused naming it, and nothing is written.
"""
import json
import pathlib
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
import advlens  # noqa: E402
from advlens.errors import AdvLensError  # noqa: E402
from test_onnx_operators import CASES, write_safetensors  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures/onnx"
INVALID_PARAMS = -32602
rng = np.random.default_rng(1517)


@pytest.fixture(scope="module")
def client(advlensd, tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx-export")
    with advlens.Client(daemon=str(advlensd), root=str(root), progress=False) as c:
        c.root = root
        yield c


def uniform(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def logits(client, name, x):
    r = client.call("predict", model=name, inputs=np.ascontiguousarray(x, dtype=np.float32), return_logits=True, top_k=1)
    return np.array([p["logits"] for p in r["predictions"]], dtype=np.float64)


def load_spec(client, name, spec, weights):
    directory = client.root / name
    directory.mkdir(exist_ok=True)
    (directory / "model.json").write_text(json.dumps(spec))
    write_safetensors(directory / "model.safetensors", weights)
    return client.call("model/load", name=name, spec=str(directory / "model.json"), weights=str(directory / "model.safetensors"))


def assert_close(got, want, what, tolerance=1e-5):
    assert got.shape == want.shape, f"{what}: shapes {got.shape} and {want.shape}"
    scale = max(float(np.abs(want).max()), 1e-3)
    error = float(np.abs(got - want).max()) / scale
    assert error <= tolerance, f"{what}: max error {error:.3g} of the logits' scale {scale:.3g}"


def export_and_check(client, name, x):
    """Exports the resident model `name`; checks the file in onnx.checker and onnxruntime
    against the daemon, and its re-import against the daemon. Returns the ModelProto and the
    re-imported model's summary."""
    path = client.root / f"{name}.onnx"
    saved = client.call("model/save", name=name, onnx=str(path))
    assert saved["onnx"] == str(path) and saved["onnxBytes"] == path.stat().st_size
    assert "spec" not in saved and "weights" not in saved
    model = onnx.load(str(path))
    onnx.checker.check_model(model)  # not full_check: ONNX 17's shape inference counts a ceil-mode window that starts in the padding, which PyTorch and onnxruntime drop
    assert model.opset_import[0].version == 17
    want = logits(client, name, x)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]
    assert_close(np.asarray(got, dtype=np.float64), want, f"{name}: onnxruntime on the export")
    summary = client.call("model/load", name=f"{name}-reloaded", onnx=str(path))
    assert_close(logits(client, f"{name}-reloaded", x), want, f"{name}: the export loaded back")
    return model, summary


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_operator_layer_exports(client, case):
    name, item, _, _, layers, weights, _ = case
    spec = {"name": name, "input": {"shape": item if len(item) == 3 else [item[0], 1, item[1]], "range": [-10, 10]},
            "classes": [], "layers": layers + [{"name": "logits", "type": "flatten"}]}
    if len(item) == 2:
        spec["layers"] = [{"name": "in", "type": "reshape", "shape": [0, 0, -1]}] + spec["layers"]
    load_spec(client, name, spec, weights)
    x = uniform(2, *spec["input"]["shape"])
    export_and_check(client, name, x)


def activation_zoo():
    """A layer list with every activation, pooling and normalisation form outside CASES, the
    input normalisation, and residual blocks with a convolution shortcut and with none."""
    c = 4
    conv = lambda name, cin, cout, k=3, **f: {"name": name, "type": "conv2d", "in_channels": cin, "out_channels": cout, "kernel_size": k, **f}
    layers = [
        conv("0", 3, c, padding=1, bias=False),
        {"name": "1", "type": "batchnorm2d", "num_features": c, "momentum": 0.2, "eps": 1e-3},
        {"name": "2", "type": "relu"},
        {"name": "3", "type": "leaky_relu", "negative_slope": 0.2},
        {"name": "4", "type": "residual", "body": [conv("0", c, c, padding=1), {"name": "1", "type": "relu6"}],
         "shortcut": [conv("0", c, c, k=1)]},
        {"name": "5", "type": "residual", "body": [{"name": "0", "type": "hardtanh", "min_val": -0.5, "max_val": 0.75},
                                                   {"name": "1", "type": "sigmoid"}, {"name": "2", "type": "stochastic_depth", "p": 0.2}]},
        {"name": "6", "type": "tanh"},
        {"name": "7", "type": "hardsigmoid"},
        {"name": "8", "type": "hardswish"},
        {"name": "9", "type": "silu"},
        {"name": "10", "type": "gelu"},
        {"name": "11", "type": "gelu", "approximate": "tanh"},
        {"name": "12", "type": "maxpool2d", "kernel_size": 2},
        {"name": "13", "type": "dropout", "p": 0.25},
        {"name": "14", "type": "identity"},
        {"name": "15", "type": "adaptiveavgpool2d", "output_size": 2},
        {"name": "16", "type": "layernorm", "normalized_shape": [2, 2], "elementwise_affine": False},
        {"name": "17", "type": "avgpool2d", "kernel_size": 2, "stride": 1},
        {"name": "18", "type": "flatten"},
        {"name": "19", "type": "linear", "in_features": c, "out_features": 6, "bias": False},
        {"name": "20", "type": "relu"},
        {"name": "21", "type": "linear", "in_features": 6, "out_features": 3},
    ]
    spec = {"name": "zoo", "input": {"shape": [3, 8, 8], "range": [0, 255], "mean": [120, 110, 100], "std": [60, 50, 40]},
            "classes": ["cat", "dog", "eel"], "layers": layers}
    weights = {
        "0.weight": uniform(c, 3, 3, 3), "1.weight": uniform(c, low=0.5, high=1.5), "1.bias": uniform(c),
        "1.running_mean": uniform(c), "1.running_var": uniform(c, low=0.5, high=1.5), "1.num_batches_tracked": np.array(0),
        "4.body.0.weight": uniform(c, c, 3, 3, low=-0.3, high=0.3), "4.body.0.bias": uniform(c),
        "4.shortcut.0.weight": uniform(c, c, 1, 1), "4.shortcut.0.bias": uniform(c),
        "19.weight": uniform(6, c), "21.weight": uniform(3, 6), "21.bias": uniform(3),
    }
    return spec, weights


def test_layer_list_with_every_activation_and_residual_exports(client):
    spec, weights = activation_zoo()
    load_spec(client, "zoo", spec, weights)
    x = rng.uniform(0, 255, size=(3, 3, 8, 8)).astype(np.float32)
    model, summary = export_and_check(client, "zoo", x)
    ops = {n.op_type for n in model.graph.node}
    assert {"Sub", "Div", "Erf", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Clip", "Gemm", "LayerNormalization"} <= ops, ops
    # The file's input is pixels (the normalisation inside); range and labels come back from its metadata.
    assert summary["classes"] == ["cat", "dog", "eel"]
    info = client.call("model/info", name="zoo-reloaded")
    assert info["input"]["range"] == [0, 255] and "mean" not in info["input"]
    # Weighted layers keep their names through the round trip (initializers under state_dict keys).
    names = {l["name"] for l in info["layers"]}
    assert {"0", "1", "4.body.0", "4.shortcut.0", "19", "21"} <= names, sorted(names)


def graph_spec():
    """Each graph node type: add/sub/mul/div with broadcasting (a parameter [1, C, 1, 1], a
    constant [C, 1, 1]), concat (of two branches, and of a class token broadcast over the
    batch), matmul of computed tensors and with a parameter, tokens."""
    c = 4
    nodes = [
        {"name": "stem", "type": "conv2d", "in_channels": 3, "out_channels": c, "kernel_size": 3, "padding": 1},
        {"name": "stem.relu", "type": "relu"},
        {"name": "branch.pool", "type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1, "inputs": ["stem.relu"]},
        {"name": "branch.conv", "type": "conv2d", "in_channels": c, "out_channels": c, "kernel_size": 1, "inputs": ["stem.relu"]},
        {"name": "cat", "type": "concat", "dim": 1, "inputs": ["branch.pool", "branch.conv"]},
        {"name": "scale", "type": "parameter", "shape": [1, 2 * c, 1, 1]},
        {"name": "shift", "type": "constant", "shape": [2 * c, 1, 1]},
        {"name": "scaled", "type": "mul", "inputs": ["cat", "scale"]},
        {"name": "shifted", "type": "sub", "inputs": ["scaled", "shift"]},
        {"name": "divided", "type": "div", "inputs": ["shifted", "scale"]},
        {"name": "summed", "type": "add", "inputs": ["divided", "cat"]},
        {"name": "pool", "type": "avgpool2d", "kernel_size": 2},
        {"name": "tokens.flat", "type": "reshape", "shape": [0, 2 * c, -1]},
        {"name": "tokens", "type": "transpose", "perm": [0, 2, 1]},
        {"name": "proj", "type": "parameter", "shape": [2 * c, 5]},
        {"name": "projected", "type": "matmul", "inputs": ["tokens", "proj"]},
        {"name": "cls", "type": "parameter", "shape": [1, 1, 5]},
        {"name": "with.cls", "type": "concat", "dim": 1, "inputs": ["cls", "projected"]},
        {"name": "projected.t", "type": "transpose", "perm": [0, 2, 1], "inputs": ["with.cls"]},
        {"name": "gram", "type": "matmul", "inputs": ["with.cls", "projected.t"]},
        {"name": "gram.softmax", "type": "softmax", "dim": -1},
        {"name": "mixed", "type": "matmul", "inputs": ["gram.softmax", "with.cls"]},
        {"name": "first", "type": "slice", "dim": 1, "start": 0, "end": 1},
        {"name": "first.flat", "type": "flatten", "start_dim": 1},
        {"name": "head", "type": "linear", "in_features": 5, "out_features": 3},
    ]
    spec = {"name": "graph", "input": {"shape": [3, 8, 8], "range": [0, 1]}, "classes": [], "nodes": nodes, "output": "head"}
    weights = {
        "stem.weight": uniform(c, 3, 3, 3), "stem.bias": uniform(c), "branch.conv.weight": uniform(c, c, 1, 1),
        "branch.conv.bias": uniform(c), "scale": uniform(1, 2 * c, 1, 1, low=0.5, high=1.5), "shift": uniform(2 * c, 1, 1),
        "proj": uniform(2 * c, 5, low=-0.5, high=0.5), "cls": uniform(1, 1, 5), "head.weight": uniform(3, 5), "head.bias": uniform(3),
    }
    return spec, weights


def test_graph_with_every_node_type_exports(client):
    spec, weights = graph_spec()
    load_spec(client, "graph", spec, weights)
    x = uniform(3, 3, 8, 8, low=0, high=1)
    model, _ = export_and_check(client, "graph", x)
    inits = {i.name for i in model.graph.initializer}
    assert {"scale", "shift", "proj", "cls", "stem.weight"} <= inits
    assert "Expand" in {n.op_type for n in model.graph.node}
    # A parameter node comes back as a trainable parameter under its name; a constant as a constant.
    info = {l["name"]: l for l in client.call("model/info", name="graph-reloaded")["layers"]}
    assert info["scale"]["type"] == "parameter" and info["scale"]["parameters"] == 2 * 4


@pytest.mark.parametrize("fixture", ["small_cnn", "mobilenet_block", "vit_torchscript17", "vit_dynamo18"])
def test_imported_onnx_exports_again(client, fixture):
    ref = np.load(FIXTURES / f"{'vit' if fixture.startswith('vit_') else fixture}.reference.npz")
    (client.root / f"{fixture}-source.onnx").write_bytes((FIXTURES / f"{fixture}.onnx").read_bytes())
    client.call("model/load", name=fixture, onnx=str(client.root / f"{fixture}-source.onnx"),
                classes=[f"k{i}" for i in range(ref["logits"].shape[1])])
    x = ref["inputs"]
    _, summary = export_and_check(client, fixture, x)
    assert summary["classes"][1] == "k1"
    np.testing.assert_allclose(logits(client, f"{fixture}-reloaded", x), ref["logits"], atol=1e-4, rtol=1e-4)


def test_trained_weights_are_what_is_exported(client):
    spec, weights = activation_zoo()
    load_spec(client, "trained", spec, weights)
    x = rng.uniform(0, 255, size=(4, 3, 8, 8)).astype(np.float32)
    before = logits(client, "trained", x)
    client.call("trainStep", model="trained", inputs=x, labels=[0, 1, 2, 0], optimizer={"kind": "sgd", "learningRate": 0.5})
    after = logits(client, "trained", x)
    assert np.abs(after - before).max() > 1e-3, "the step changed nothing"
    export_and_check(client, "trained", x)


# model/create's torchvision networks at 32x32 (their classifiers small enough for a test; VGG
# and AlexNet hold 100M+ weights in theirs), the Vision Transformer at a reduced size.
ARCHITECTURES = {
    "resnet18": {}, "squeezenet1_1": {}, "densenet121": {}, "mobilenet_v2": {}, "mobilenet_v3_small": {}, "efficientnet_b0": {},
    "vit": {"patch_size": 8, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "mlp_dim": 32},
}


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_torchvision_architectures_export(client, architecture):
    assert architecture in client.capabilities["architectures"]
    client.call("model/create", name=architecture, architecture=architecture, seed=3, num_classes=10, input_size=[3, 32, 32],
                **ARCHITECTURES[architecture])
    x = uniform(2, 3, 32, 32, low=0, high=1)
    export_and_check(client, architecture, x)


def test_spec_weights_and_onnx_in_one_save(client):
    spec, weights = graph_spec()
    load_spec(client, "both", spec, weights)
    saved = client.call("model/save", name="both", spec="both-out.json", weights="both-out.safetensors", onnx="both-out.onnx")
    assert saved["spec"].endswith("both-out.json") and saved["onnx"].endswith("both-out.onnx") and saved["bytes"] > 0
    assert (client.root / "both-out.onnx").stat().st_size == saved["onnxBytes"]


def test_a_layer_without_an_onnx_form_is_refused_by_name(client):
    spec = {"name": "adaptive", "input": {"shape": [3, 7, 7], "range": [0, 1]}, "classes": [],
            "layers": [{"name": "pool", "type": "adaptiveavgpool2d", "output_size": 3}, {"name": "flat", "type": "flatten"}]}
    load_spec(client, "adaptive", spec, {})
    with pytest.raises(AdvLensError) as refused:
        client.call("model/save", name="adaptive", onnx="adaptive.onnx", spec="adaptive-out.json", weights="adaptive-out.safetensors")
    assert refused.value.code == INVALID_PARAMS
    assert 'layer "pool" (adaptiveavgpool2d)' in refused.value.message and "[7, 7]" in refused.value.message, refused.value.message
    for written in ["adaptive.onnx", "adaptive-out.json", "adaptive-out.safetensors"]:
        assert not (client.root / written).exists(), f"{written} was written by a refused save"


@pytest.mark.parametrize("params, field", [
    ({}, "params.spec"),
    ({"weights": "w.safetensors"}, "params.spec"),
    ({"spec": "s.json", "onnx": "o.onnx"}, "params.weights"),
    ({"spec": "same.onnx", "weights": "w.safetensors", "onnx": "same.onnx"}, "params.onnx"),
])
def test_save_params_are_checked(client, params, field):
    spec, weights = graph_spec()
    load_spec(client, "checked", spec, weights)
    with pytest.raises(AdvLensError) as refused:
        client.call("model/save", name="checked", **params)
    assert refused.value.code == INVALID_PARAMS and refused.value.message.startswith(field), refused.value.message
