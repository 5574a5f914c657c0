"""ONNX import (model/load {"onnx": ...}) through the real daemon, with onnxruntime as the reference.

- Operator models built here with onnx.helper (no torch): every supported operator and the
  attribute combinations the import maps differently (groups, dilation, asymmetric pads, ceil
  mode, count_include_pad, transB, alpha/beta, broadcasting constants, the shape subgraph of
  x.view(x.size(0), -1), the Erf form of GELU, ...). The daemon's logits must equal
  onnxruntime's within 1e-4 on a batch of 3 random images.
- Committed fixtures exported from PyTorch by scripts/make_onnx_fixtures.py (a CNN with
  BatchNorm and a residual add; torchvision's MobileNetV2 blocks with a squeeze-excitation):
  logits against torch's and onnxruntime's (1e-4), input gradients against torch's (1e-3).
- Bad files are refused with errors naming the problem; an imported model saves as spec +
  safetensors and loads back with the same logits.
"""
import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
import advlens  # noqa: E402
from advlens.errors import AdvLensError  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures/onnx"
INVALID_PARAMS = -32602


@pytest.fixture(scope="module")
def client(advlensd, tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx-import")
    with advlens.Client(daemon=str(advlensd), root=str(root), progress=False) as c:
        c.root = root
        yield c


def daemon_logits(client, name, x):
    r = client.call("predict", model=name, inputs=np.ascontiguousarray(x, dtype=np.float32), return_logits=True, top_k=1)
    return np.array([p["logits"] for p in r["predictions"]], dtype=np.float32)


def ort_logits(model_bytes, x):
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]


def load(client, name, model_bytes, **params):
    """Writes the model into the workspace and loads it with model/load {"onnx": ...}."""
    path = client.root / f"{name}.onnx"
    path.write_bytes(model_bytes)
    return client.call("model/load", name=name, onnx=path.name, **params)


# ---------------------------------------------------------------------------------------------
# Operator models: input x [N, 3, 8, 8] → body → logits [N, K].

RNG = np.random.default_rng(0)


class Graph:
    """A graph under construction: nodes, initializers (seeded random weights), fresh names."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def value(self, prefix="v"):
        self.count += 1
        return f"{prefix}{self.count}"

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, shape, scale=0.3):
        return self.init(name, (RNG.standard_normal(shape) * scale).astype(np.float32))

    def op(self, op_type, inputs, name=None, **attrs):
        out = self.value()
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name or out, **attrs))
        return out

    def ints(self, values):
        return self.init(self.value("c"), np.array(values, dtype=np.int64))

    def scalar(self, v):
        return self.init(self.value("c"), np.array(v, dtype=np.float32))

    def head(self, x, channels, classes=5):
        """Global average pool, flatten, linear: [N, C, H, W] → [N, classes]."""
        p = self.op("GlobalAveragePool", [x])
        f = self.op("Flatten", [p], axis=1)
        return self.op("Gemm", [f, self.weight(self.value("fc") + ".weight", [classes, channels]),
                                self.weight(self.value("fc") + ".bias", [classes])], transB=1)

    def model(self, out, opset=17, input_shape=("batch", 3, 8, 8)):
        g = helper.make_graph(self.nodes, "test", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", None])], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m.SerializeToString()


def conv(g, x, cin, cout, k=3, **attrs):
    name = g.value("conv")
    return g.op("Conv", [x, g.weight(name + ".weight", [cout, cin // attrs.get("group", 1), k, k]), g.weight(name + ".bias", [cout])],
                kernel_shape=[k, k], **attrs)


def build_conv_variants():
    g = Graph()
    a = conv(g, "x", 3, 6, pads=[1, 1, 1, 1])
    b = conv(g, a, 6, 6, group=6, pads=[0, 1, 1, 0], strides=[1, 2])         # depthwise, asymmetric pads
    c = conv(g, b, 6, 4, group=2, dilations=[2, 1], pads=[2, 1, 2, 1])       # grouped, dilated
    d = conv(g, c, 4, 4, k=2, auto_pad="SAME_UPPER")
    return g.model(g.head(d, 4))


def build_pools():
    g = Graph()
    a = conv(g, "x", 3, 4)                                                   # [N, 4, 6, 6]
    m = g.op("MaxPool", [a], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)          # [N, 4, 4, 4]
    p = g.op("AveragePool", [a], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)
    q = g.op("AveragePool", [a], kernel_shape=[2, 2], strides=[1, 1], pads=[1, 0, 0, 1], count_include_pad=1)  # [N, 4, 6, 6]
    r = g.op("MaxPool", [a], kernel_shape=[2, 2], strides=[1, 1], dilations=[2, 2])                         # [N, 4, 4, 4]
    s = g.op("Concat", [g.op("GlobalAveragePool", [g.op("Add", [m, p])]), g.op("GlobalAveragePool", [q])], axis=1)   # [N, 8, 1, 1]
    t = g.op("ReduceMean", [r], axes=[2, 3], keepdims=1)                     # [N, 4, 1, 1]
    u = g.op("Mul", [s, g.op("Concat", [t, t], axis=1)])
    return g.model(g.head(u, 8))


def build_activations():
    g = Graph()
    a = conv(g, "x", 3, 4)
    acts = [g.op("Relu", [a]), g.op("LeakyRelu", [a], alpha=0.2), g.op("Sigmoid", [a]), g.op("Tanh", [a]),
            g.op("Clip", [a, g.scalar(-0.5), g.scalar(0.7)]), g.op("Clip", [a, g.scalar(0.0), g.scalar(6.0)]),
            g.op("HardSigmoid", [a]), g.op("HardSigmoid", [a], alpha=1 / 6, beta=0.5), g.op("HardSwish", [a])]
    x = acts[0]
    for y in acts[1:]:
        x = g.op("Add", [x, y])
    # SiLU as exported: x * sigmoid(x); GELU as PyTorch writes it before opset 20.
    silu = g.op("Mul", [x, g.op("Sigmoid", [x])])
    half = g.op("Mul", [silu, g.scalar(0.5)])
    erf = g.op("Erf", [g.op("Div", [silu, g.scalar(1.4142135381698608)])])
    gelu = g.op("Mul", [half, g.op("Add", [erf, g.scalar(1.0)])])
    return g.model(g.head(gelu, 4))


def build_arithmetic():
    g = Graph()
    a = conv(g, "x", 3, 4)
    b = g.op("Sub", [a, g.weight("offset", [4, 1, 1])])
    c = g.op("Div", [b, g.init("divisor", np.full([1, 4, 1, 1], 1.5, dtype=np.float32))])
    d = g.op("Mul", [g.scalar(2.0), c])
    e = g.op("Sub", [g.scalar(1.0), d])
    f = g.op("Div", [e, g.op("Add", [g.op("Sigmoid", [a]), g.scalar(0.5)])])
    return g.model(g.head(f, 4))


def build_normalization():
    g = Graph()
    a = conv(g, "x", 3, 4)
    bn = g.op("BatchNormalization", [a, g.init("bn.weight", RNG.uniform(0.5, 1.5, 4).astype(np.float32)),
                                     g.weight("bn.bias", [4]), g.weight("bn.running_mean", [4]),
                                     g.init("bn.running_var", RNG.uniform(0.5, 2, 4).astype(np.float32))], epsilon=1e-3)
    ln = g.op("LayerNormalization", [bn, g.init("ln.weight", RNG.uniform(0.5, 1.5, [6]).astype(np.float32)), g.weight("ln.bias", [6])],
              axis=-1, epsilon=1e-5)
    d = g.op("Dropout", [g.op("Identity", [ln])])
    return g.model(g.head(d, 4))


def build_shapes():
    g = Graph()
    a = conv(g, "x", 3, 4)
    padded = g.op("Pad", [a, g.ints([0, 0, 1, 2, 0, 0, 2, 1]), g.scalar(0.25)], mode="constant")
    reflected = g.op("Pad", [a, g.ints([0, 0, 1, 1, 0, 0, 1, 1])], mode="reflect")
    t = g.op("Transpose", [padded], perm=[0, 1, 3, 2])                       # [N, 4, 9, 9]
    s = g.op("Slice", [t, g.ints([1, 1]), g.ints([10, 9223372036854775807]), g.ints([2, 3]), g.ints([1, 2])])   # [N, 4, 8, 4]
    r = g.op("Slice", [reflected, g.ints([0]), g.ints([9]), g.ints([2])])  # [N, 4, 8, 8]
    cat = g.op("Concat", [s, r], axis=3)                                     # [N, 4, 8, 12]
    row = g.op("Gather", [cat, g.init(g.value("c"), np.array(2, dtype=np.int64))], axis=2)  # [N, 4, 12]
    # x.view(x.size(0), -1) as the TorchScript exporter writes it.
    shape = g.op("Shape", [row])
    n = g.op("Gather", [shape, g.init(g.value("c"), np.array(0, dtype=np.int64))], axis=0)
    target = g.op("Concat", [g.op("Unsqueeze", [n, g.ints([0])]), g.ints([-1])], axis=0)
    flat = g.op("Reshape", [row, target])                                    # [N, 48]
    back = g.op("Reshape", [flat, g.ints([0, 4, 3, 4])])
    squeezed = g.op("Squeeze", [g.op("Unsqueeze", [back, g.ints([2])]), g.ints([2])])
    return g.model(g.head(squeezed, 4))


def build_linear_forms():
    g = Graph()
    a = conv(g, "x", 3, 4, k=4, strides=[4, 4])                              # [N, 4, 2, 2]
    f = g.op("Flatten", [a])                                                 # [N, 16]
    h = g.op("Gemm", [f, g.weight("h0.weight", [16, 12]), g.weight("h0.bias", [12])], alpha=0.5, beta=2.0)   # transB=0
    t = g.op("Reshape", [h, g.ints([0, 3, 4])])                              # [N, 3, 4]
    m = g.op("Add", [g.op("MatMul", [t, g.weight("mm.weight_t", [4, 6])]), g.weight("mm.bias", [6])])   # linear over the last dim
    q = g.op("MatMul", [m, g.op("Transpose", [m], perm=[0, 2, 1])])         # [N, 3, 3], two computed tensors
    sm = g.op("Softmax", [q], axis=-1)
    ls = g.op("LogSoftmax", [g.op("Flatten", [sm])], axis=1)
    return g.model(g.op("Gemm", [ls, g.weight("out.weight", [5, 9]), g.weight("out.bias", [5])], transB=1))


OPERATOR_MODELS = {
    "conv_variants": build_conv_variants, "pools": build_pools, "activations": build_activations,
    "arithmetic": build_arithmetic, "normalization": build_normalization, "shapes": build_shapes,
    "linear_forms": build_linear_forms,
}


@pytest.mark.parametrize("name", sorted(OPERATOR_MODELS))
def test_operator_model_matches_onnxruntime(client, name):
    model_bytes = OPERATOR_MODELS[name]()
    load(client, name, model_bytes)
    x = np.random.default_rng(1).random((3, 3, 8, 8), dtype=np.float32)
    ours, ref = daemon_logits(client, name, x), ort_logits(model_bytes, x)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# Fixtures exported from PyTorch.

@pytest.mark.parametrize("name", ["small_cnn", "mobilenet_block"])
def test_torch_fixture_logits_match_torch_and_onnxruntime(client, name):
    model_bytes = (FIXTURES / f"{name}.onnx").read_bytes()
    ref = np.load(FIXTURES / f"{name}.reference.npz")
    load(client, name, model_bytes)
    ours = daemon_logits(client, name, ref["inputs"])
    np.testing.assert_allclose(ours, ref["logits"], atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(ours, ort_logits(model_bytes, ref["inputs"]), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["small_cnn", "mobilenet_block"])
def test_torch_fixture_input_gradients_match_torch(client, name):
    ref = np.load(FIXTURES / f"{name}.reference.npz")
    load(client, name, (FIXTURES / f"{name}.onnx").read_bytes())
    r = client.call("explainPrediction", model=name, inputs=ref["inputs"], classes=ref["target"].tolist(),
                    methods=["inputTimesGradient"])
    for i, e in enumerate(r["explanations"]):
        ours = np.asarray(e["maps"]["inputTimesGradient"]["tensor"], dtype=np.float32)
        np.testing.assert_allclose(ours, ref["inputs"][i] * ref["input_gradient"][i], atol=1e-3, rtol=1e-3)


def test_torch_names_become_node_and_parameter_names(client):
    load(client, "names", (FIXTURES / "small_cnn.onnx").read_bytes())
    layers = {l["name"]: l for l in client.call("model/info", name="names")["layers"]}
    for name in ["conv1", "bn1", "relu", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.bn2", "layer1.0.relu_1", "maxpool", "fc"]:
        assert name in layers, sorted(layers)
    assert layers["layer1.0.conv1"]["type"] == "conv2d"


def test_imported_model_saves_as_spec_and_safetensors(client):
    ref = np.load(FIXTURES / "small_cnn.reference.npz")
    load(client, "tosave", (FIXTURES / "small_cnn.onnx").read_bytes())
    saved = client.call("model/save", name="tosave", spec="saved.json", weights="saved.safetensors")
    spec = json.loads(pathlib.Path(saved["spec"]).read_text())
    assert spec["nodes"][0]["name"] == "conv1" and spec["output"] == "fc"
    client.call("model/load", name="reloaded", spec="saved.json", weights="saved.safetensors")
    np.testing.assert_allclose(daemon_logits(client, "reloaded", ref["inputs"]), ref["logits"], atol=1e-4, rtol=1e-4)
    assert client.call("model/info", name="reloaded")["summary"]["fingerprint"] == saved["fingerprint"]


def test_input_fields_set_range_normalisation_and_classes(client):
    ref = np.load(FIXTURES / "small_cnn.reference.npz")
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    summary = load(client, "normalised", (FIXTURES / "small_cnn.onnx").read_bytes(), mean=mean, std=std,
                   classes=[f"c{i}" for i in range(10)], input_range=[0, 1])
    assert summary["classes"][3] == "c3"
    # The daemon normalises pixels before the graph, as the ONNX model expects them normalised.
    pixels = ref["inputs"] * np.array(std, dtype=np.float32)[:, None, None] + np.array(mean, dtype=np.float32)[:, None, None]
    np.testing.assert_allclose(daemon_logits(client, "normalised", pixels), ref["logits"], atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# Refusals.

def error_of(client, name, model_bytes=None, **params):
    with pytest.raises(AdvLensError) as e:
        if model_bytes is None:
            client.call("model/load", name=name, **params)
        else:
            load(client, name, model_bytes, **params)
    assert e.value.code == INVALID_PARAMS, e.value
    return e.value.message


def small_model(opset=17, op="Relu"):
    g = Graph()
    a = conv(g, "x", 3, 4)
    return g.model(g.head(g.op(op, [a], name="the_node"), 4), opset=opset)


def test_truncated_file_is_refused(client):
    data = (FIXTURES / "small_cnn.onnx").read_bytes()
    assert "truncated" in error_of(client, "truncated", data[: len(data) // 2])


def test_unsupported_operator_names_op_node_and_supported_list(client):
    message = error_of(client, "unsupported", small_model(op="Selu"))
    assert 'unsupported ONNX operator Selu (node "the_node")' in message
    assert "supported: " in message and "BatchNormalization" in message and "Conv" in message


def test_old_opset_is_refused(client):
    assert "opset 12 is older than the 13" in error_of(client, "old", small_model(opset=12))


def test_missing_initializer_is_named(client):
    m = onnx.load_from_string(small_model())
    del m.graph.initializer[0]
    missing = [n for n in m.graph.node if n.op_type == "Conv"][0].input[1]
    message = error_of(client, "missing", m.SerializeToString())
    assert f'reads "{missing}"' in message and "missing initializer" in message


def test_external_data_is_refused(client):
    m = onnx.load_from_string(small_model())
    w = m.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value="weights.bin")
    message = error_of(client, "external", m.SerializeToString())
    assert f'initializer "{w.name}"' in message and "external" in message


def test_onnx_fields_are_checked(client):
    assert "params.spec" in error_of(client, "both", onnx="x.onnx", spec="s.json")
    assert "params.mean" in error_of(client, "range", spec="s.json", weights="w.safetensors", mean=[0.5])
    assert "colour" in error_of(client, "unknown", onnx="x.onnx", colour=True)
    assert "params.inputRange" in error_of(client, "badrange", small_model(), input_range=[1, 0])


# ---------------------------------------------------------------------------------------------
# Forms real exports hold: a ViT's class token (Expand over the batch, then Concat), LayerNorm
# below opset 17 (ReduceMean/Sub/Pow/Sqrt/Div), a lone Erf, Flatten at an axis past 1, and
# BatchNormalization exported in training mode.

def layer_norm_decomposed(g, x, width, eps=1e-6):
    """LayerNorm over the last axis as torch.onnx.export writes it for opsets below 17."""
    mean = g.op("ReduceMean", [x], axes=[-1], keepdims=1)
    d = g.op("Sub", [x, mean])
    var = g.op("ReduceMean", [g.op("Pow", [d, g.scalar(2.0)])], axes=[-1], keepdims=1)
    normed = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, g.scalar(eps)])])])
    scaled = g.op("Mul", [normed, g.init("encoder.ln.weight", RNG.uniform(0.5, 1.5, [width]).astype(np.float32))])
    return g.op("Add", [scaled, g.weight("encoder.ln.bias", [width])])


def build_vit_like(opset=16):
    """Patches [N, 4, 6] from a 4x4 stride-4 convolution, a class token expanded over the batch
    (its shape from Shape → Gather → Unsqueeze → Concat) and concatenated before them, position
    embeddings, the decomposed LayerNorm, a lone Erf, token 0, and a Gemm head."""
    g = Graph()
    patches = g.op("Conv", ["x", g.weight("conv_proj.weight", [6, 3, 4, 4]), g.weight("conv_proj.bias", [6])],
                   kernel_shape=[4, 4], strides=[4, 4])                                       # [N, 6, 2, 2]
    tokens = g.op("Transpose", [g.op("Reshape", [patches, g.ints([0, 6, -1])])], perm=[0, 2, 1])   # [N, 4, 6]
    n = g.op("Gather", [g.op("Shape", ["x"]), g.init(g.value("c"), np.array(0, dtype=np.int64))], axis=0)
    shape = g.op("Concat", [g.op("Unsqueeze", [n, g.ints([0])]), g.ints([1, 1])], axis=0)
    cls = g.op("Expand", [g.weight("class_token", [1, 1, 6]), shape])                        # [N, 1, 6]
    joined = g.op("Concat", [cls, tokens], axis=1)                                             # [N, 5, 6]
    embedded = g.op("Add", [joined, g.weight("encoder.pos_embedding", [1, 5, 6])])
    normed = layer_norm_decomposed(g, embedded, 6)
    erf = g.op("Erf", [normed])
    first = g.op("Gather", [erf, g.init(g.value("c"), np.array(0, dtype=np.int64))], axis=1)  # [N, 6]
    out = g.op("Gemm", [first, g.weight("heads.head.weight", [5, 6]), g.weight("heads.head.bias", [5])], transB=1)
    return g.model(out, opset=opset)


def test_vit_class_token_decomposed_layernorm_and_erf_import(client):
    model_bytes = build_vit_like()
    load(client, "vitlike", model_bytes)
    x = np.random.default_rng(2).random((3, 3, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(daemon_logits(client, "vitlike", x), ort_logits(model_bytes, x), atol=1e-5, rtol=1e-5)
    layers = {l["name"]: l for l in client.call("model/info", name="vitlike")["layers"]}
    # The class token stays a trainable [1, 1, 6] parameter; the pattern is one layernorm named by its weights.
    assert layers["class_token"]["type"] == "parameter" and layers["class_token"]["parameters"] == 6
    assert layers["encoder.ln"]["type"] == "layernorm", sorted(layers)
    assert not any(l["type"] in ("sub", "div", "mean") for l in layers.values()), sorted((n, l["type"]) for n, l in layers.items())
    assert any(l["type"] == "erf" for l in layers.values())
    # Gradients flow to the class token (its uses over the batch summed): one step changes it.
    before = client.call("model/info", name="vitlike")["summary"]["fingerprint"]
    client.call("trainStep", model="vitlike", inputs=x, labels=[0, 1, 2], optimizer={"kind": "sgd", "learningRate": 0.1})
    assert client.call("model/info", name="vitlike")["summary"]["fingerprint"] != before


def test_fixed_batch_class_token_imports(client):
    g = Graph()
    patches = g.op("Conv", ["x", g.weight("conv_proj.weight", [6, 3, 4, 4])], kernel_shape=[4, 4], strides=[4, 4])
    tokens = g.op("Transpose", [g.op("Reshape", [patches, g.ints([1, 6, 4])])], perm=[0, 2, 1])   # a batch-1 export
    cls = g.op("Expand", [g.weight("class_token", [1, 1, 6]), g.ints([1, 1, 1])])
    first = g.op("Gather", [g.op("Concat", [cls, tokens], axis=1), g.init(g.value("c"), np.array(0, dtype=np.int64))], axis=1)
    model_bytes = g.model(g.op("Gemm", [first, g.weight("head.weight", [5, 6])], transB=1), input_shape=(1, 3, 8, 8))
    load(client, "fixedcls", model_bytes)
    x = np.random.default_rng(3).random((1, 3, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(daemon_logits(client, "fixedcls", x), ort_logits(model_bytes, x), atol=1e-5, rtol=1e-5)


def build_flatten_axis(axis, channels=1):
    g = Graph()
    a = conv(g, "x", 3, channels)                                                          # [N, C, 6, 6]
    f = g.op("Flatten", [a], axis=axis)
    return g.model(g.op("Gemm", [f, g.weight("fc.weight", [4, 36 * channels if axis == 1 else 36]), g.weight("fc.bias", [4])], transB=1))


def test_flatten_past_axis_one_imports_when_it_keeps_the_batch(client):
    model_bytes = build_flatten_axis(2)
    load(client, "flatten2", model_bytes)
    x = np.random.default_rng(4).random((2, 3, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(daemon_logits(client, "flatten2", x), ort_logits(model_bytes, x), atol=1e-5, rtol=1e-5)
    message = error_of(client, "flatten2bad", build_flatten_axis(2, channels=2))
    assert "Flatten" in message and "axis 2 merges the batch with dimensions 1..<2 (sizes [2])" in message, message


def build_batchnorm(training_mode, read_running_mean=False):
    g = Graph()
    a = conv(g, "x", 3, 4)
    outputs = [g.value(), g.value(), g.value()] if training_mode else [g.value()]
    inputs = [a, g.init("bn.weight", np.linspace(0.5, 1.5, 4, dtype=np.float32)), g.init("bn.bias", np.linspace(-0.2, 0.3, 4, dtype=np.float32)),
              g.init("bn.running_mean", np.linspace(-0.1, 0.1, 4, dtype=np.float32)), g.init("bn.running_var", np.linspace(0.5, 2, 4, dtype=np.float32))]
    g.nodes.append(helper.make_node("BatchNormalization", inputs, outputs, name="bn", epsilon=1e-5, momentum=0.9, training_mode=training_mode))
    y = outputs[0]
    if read_running_mean:
        y = g.op("Add", [y, g.op("Unsqueeze", [g.op("Unsqueeze", [outputs[1], g.ints([1])]), g.ints([2])])])
    return g.model(g.head(y, 4))


def test_training_mode_batchnorm_imports_as_the_batchnorm_layer(client):
    # The same module: predict uses the running statistics, as onnxruntime does on the file's
    # inference form (training_mode=0), trainStep the batch's.
    training = build_batchnorm(1)
    load(client, "bntrain", training)
    inference = onnx.load_from_string(training)
    bn = next(n for n in inference.graph.node if n.op_type == "BatchNormalization")
    next(a for a in bn.attribute if a.name == "training_mode").i = 0
    del bn.output[1:]
    x = np.random.default_rng(5).random((3, 3, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(daemon_logits(client, "bntrain", x), ort_logits(inference.SerializeToString(), x), atol=1e-5, rtol=1e-5)
    layers = {l["name"]: l for l in client.call("model/info", name="bntrain")["layers"]}
    assert layers["bn"]["type"] == "batchnorm2d"
    message = error_of(client, "bnread", build_batchnorm(1, read_running_mean=True))
    assert 'BatchNormalization node "bn"' in message and "running-statistics output" in message, message
