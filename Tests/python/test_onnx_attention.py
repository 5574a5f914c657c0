"""A Vision Transformer exported from PyTorch imports (model/load {"onnx": ...}) through the real daemon.

torchvision's VisionTransformer (2 encoder layers, 2 heads, width 32, 32x32 images), exported by
both of torch 2.15's exporters at opsets 17 and 18 (scripts/make_onnx_fixtures.py), writes
nn.MultiheadAttention with the tokens transposed to [T, N, D]; the import maps that region onto
batch-first attention nodes (Sources/ONNX/AttentionImport.swift). The daemon's logits must equal
torch's and onnxruntime's, its input gradients torch's and a finite-difference directional
derivative of onnxruntime's logits; attacks and probes run on the attention's named nodes, and
trainStep trains its in_proj and out_proj (test_onnx_export.py writes it back to ONNX); regions
that are not plain self-attention (a mask added to the scores, a transpose that is not attention)
are refused naming the node.
"""
import json
import pathlib
import sys

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_onnx_import import FIXTURES, client, daemon_logits, error_of, load, ort_logits  # noqa: E402,F401 (client: the fixture)

EXPORTS = ["vit_torchscript17", "vit_torchscript18", "vit_dynamo17", "vit_dynamo18"]
ATTENTION = "encoder.layers.encoder_layer_1.self_attention"


@pytest.fixture(scope="module")
def reference():
    return np.load(FIXTURES / "vit.reference.npz")


def relative_error(ours, theirs):
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


@pytest.mark.parametrize("name", EXPORTS)
def test_exported_vit_logits_match_torch_and_onnxruntime(client, reference, name):
    model_bytes = (FIXTURES / f"{name}.onnx").read_bytes()
    load(client, name, model_bytes)
    ours = daemon_logits(client, name, reference["inputs"])
    assert relative_error(ours, reference["logits"]) < 1e-5
    assert relative_error(ours, ort_logits(model_bytes, reference["inputs"])) < 1e-5
    # Another batch size than the export's: the batch stays dynamic through the attention.
    one = daemon_logits(client, name, reference["inputs"][:1])
    np.testing.assert_allclose(one, reference["logits"][:1], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", EXPORTS)
def test_exported_vit_input_gradients_match_torch_and_finite_differences(client, reference, name):
    model_bytes = (FIXTURES / f"{name}.onnx").read_bytes()
    load(client, name, model_bytes)
    x, target = reference["inputs"], reference["target"]
    r = client.call("explainPrediction", model=name, inputs=x, classes=target.tolist(), methods=["inputTimesGradient"])
    times = np.stack([np.asarray(e["maps"]["inputTimesGradient"]["tensor"], dtype=np.float64) for e in r["explanations"]])
    np.testing.assert_allclose(times, x * reference["input_gradient"], atol=1e-4, rtol=1e-3)
    # Along u = x * w the directional derivative is sum(x * grad * w): onnxruntime's central difference.
    w = np.random.default_rng(7).standard_normal(x.shape)
    u = x * w
    eps = 1e-2
    rows = np.arange(len(x))
    finite = (ort_logits(model_bytes, (x + eps * u).astype(np.float32)).astype(np.float64)[rows, target]
              - ort_logits(model_bytes, (x - eps * u).astype(np.float32)).astype(np.float64)[rows, target]) / (2 * eps)
    ours = (times * w).reshape(len(x), -1).sum(axis=1)
    np.testing.assert_allclose(ours, finite, rtol=5e-3, atol=1e-4)


def test_attention_imports_as_named_batch_first_nodes(client):
    load(client, "names", (FIXTURES / "vit_dynamo18.onnx").read_bytes())
    layers = {l["name"]: l for l in client.call("model/info", name="names")["layers"]}
    for suffix, shape in [("in_proj_weight", [96, 32]), ("in_proj_bias", [96]), ("q_t", [2, 17, 16]), ("k_t", [2, 16, 17]),
                          ("weights", [2, 17, 17]), ("context", [2, 17, 16]), ("merged", [17, 32]), ("out_proj", [17, 32])]:
        assert layers[f"{ATTENTION}.{suffix}"]["outputShape"] == shape, (suffix, sorted(layers))
    assert layers[f"{ATTENTION}.out_proj"]["type"] == "linear"
    # The torchscript export names the attention the same way (its initializers' module path).
    load(client, "names_ts", (FIXTURES / "vit_torchscript17.onnx").read_bytes())
    ts = {l["name"] for l in client.call("model/info", name="names_ts")["layers"]}
    assert {f"{ATTENTION}.{s}" for s in ["in_proj_weight", "weights", "out_proj"]} <= ts


def cross_entropy(logits, labels):
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), labels]


def test_exported_vit_attacks_and_probes_an_attention_node(client, reference):
    model_bytes = (FIXTURES / "vit_torchscript17.onnx").read_bytes()
    load(client, "vit", model_bytes)
    x = reference["inputs"]
    labels = reference["logits"].argmax(1)
    attacked = client.call("attack", {"model": "vit", "method": "pgd", "inputs": x, "labels": labels.tolist(), "epsilon": 0.1,
                                      "steps": 5, "stepSize": 0.03, "earlyStop": False, "return": {"images": True}})
    adversarial = np.asarray(attacked["images"], dtype=np.float32)
    assert adversarial.shape == x.shape and np.abs(adversarial - x).max() <= 0.1 + 1e-6
    # The attack's gradients are the model's: onnxruntime sees the loss rise on every image.
    before, after = cross_entropy(ort_logits(model_bytes, x), labels), cross_entropy(ort_logits(model_bytes, adversarial), labels)
    assert (after > before + 0.1).all(), (before, after)

    for layer in [f"{ATTENTION}.weights", f"{ATTENTION}.out_proj"]:
        probed = client.call("probe", model="vit", layer=layer, kind="activations", inputs=x, array_encoding="json")
        values = np.array(probed["activations"]["values"])
        assert values.shape[0] == 4 and np.abs(values).max() > 0, (layer, values.shape)
    # Softmax rows over the keys: each head's mean weight over the queries' keys is 1/17.
    weights = client.call("probe", model="vit", layer=f"{ATTENTION}.weights", kind="activations", inputs=x, reduction="mean",
                          array_encoding="json")
    np.testing.assert_allclose(np.array(weights["activations"]["values"]), 1 / 17, rtol=1e-5)


def test_train_step_trains_the_attention_parameters(client, reference):
    load(client, "trained", (FIXTURES / "vit_dynamo17.onnx").read_bytes())
    x, labels = reference["inputs"], reference["logits"].argmin(1).tolist()
    before = daemon_logits(client, "trained", x)
    client.call("model/save", name="trained", spec="before.json", weights="before.safetensors")
    client.call("trainStep", model="trained", inputs=x, labels=labels, optimizer={"kind": "sgd", "learningRate": 0.5})
    client.call("model/save", name="trained", spec="after.json", weights="after.safetensors")
    changed = changed_tensors(client.root / "before.safetensors", client.root / "after.safetensors")
    for key in ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]:
        assert f"{ATTENTION}.{key}" in changed, sorted(changed)
    assert not np.allclose(daemon_logits(client, "trained", x), before)


def changed_tensors(a, b):
    """Names of the tensors whose values differ between two safetensors files."""
    def read(path):
        data = path.read_bytes()
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + n])
        return {k: data[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in header.items() if k != "__metadata__"}
    first, second = read(a), read(b)
    return {k for k in first if first[k] != second.get(k)}


def with_mask_on_scores(model):
    """The export with a constant added to the first attention's scores before its Softmax."""
    graph = model.graph
    softmax = next(n for n in graph.node if n.op_type == "Softmax")
    graph.initializer.append(numpy_helper.from_array(np.zeros((17, 17), dtype=np.float32), "mask"))
    add = helper.make_node("Add", [softmax.input[0], "mask"], ["masked"], name="add_mask")
    softmax.input[0] = "masked"
    graph.node.insert(list(graph.node).index(softmax), add)
    return model


@pytest.mark.parametrize("name", ["vit_torchscript17", "vit_dynamo18"])
def test_a_mask_on_the_scores_is_refused_naming_the_node(client, name):
    masked = with_mask_on_scores(onnx.load(FIXTURES / f"{name}.onnx")).SerializeToString()
    message = error_of(client, "masked", masked)
    assert "nn.MultiheadAttention" in message and 'at node "add_mask" (Add)' in message and "mask" in message, message


def test_a_transpose_to_tokens_first_that_is_not_attention_is_refused(client):
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 3, 4, 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 48])
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"], name="tokens"),
             helper.make_node("Transpose", ["r"], ["t"], perm=[1, 0, 2], name="to_tokens_first"),
             helper.make_node("Transpose", ["t"], ["b"], perm=[1, 0, 2], name="back"),
             helper.make_node("Flatten", ["b"], ["y"], axis=1)]
    shape = numpy_helper.from_array(np.array([0, 3, 16], dtype=np.int64), "shape")
    graph = helper.make_graph(nodes, "g", [x], [y], [shape])
    plain = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    message = error_of(client, "plain", plain)
    assert '"to_tokens_first"' in message and "perm [1, 0, 2]" in message and "no in_proj" in message, message
