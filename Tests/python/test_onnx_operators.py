"""The single-input operators against onnxruntime, without PyTorch.

Each case is one ONNX operator (with the attributes under test) built with onnx.helper and run
by onnxruntime on the CPU, and the same operator written as an AdvLens `layers` spec with the
same weights (a safetensors file written here) loaded in the real daemon: the daemon's logits
(the operator's output, flattened per item) must equal onnxruntime's within 1e-5 of the output's
scale. Grouped, depthwise and dilated convolution with asymmetric pads; ceil-mode, padded and
dilated pooling with and without counting the padding; softmax, log-softmax, layer and batch
normalisation, the three pad modes, transpose, reshape, flatten, Gemm and a MatMul over the last
dimension, clip, ReduceMean and a strided slice.
"""
import json
import pathlib
import struct
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
import advlens  # noqa: E402
from advlens.errors import AdvLensError  # noqa: E402

OPSET = 17
BATCH = 2


def write_safetensors(path, tensors):
    """A safetensors file of float32 tensors (int64 for `num_batches_tracked`)."""
    header, blobs, offset = {}, [], 0
    for key, array in tensors.items():
        if key.endswith("num_batches_tracked"):
            blob, dtype = np.asarray(array, dtype="<i8").tobytes(), "I64"
        else:
            blob, dtype = np.ascontiguousarray(array, dtype="<f4").tobytes(), "F32"
        header[key] = {"dtype": dtype, "shape": list(np.shape(array)), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def run_onnx(nodes, initializers, x, out_rank):
    """onnxruntime's output of the graph `nodes` (input "x", output "y") on `x`."""
    graph = helper.make_graph(
        nodes, "op",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * out_rank)],
        [numpy_helper.from_array(np.asarray(v), name=k) for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def i64(values):
    return np.array(values, dtype=np.int64)


def f32(values):
    return np.array(values, dtype=np.float32)


rng = np.random.default_rng(15)


def uniform(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def conv_case(name, item, out_channels, kernel, group, strides, pads, dilations):
    c = item[0]
    w, b = uniform(out_channels, c // group, *kernel), uniform(out_channels)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=group, strides=strides, pads=pads, dilations=dilations,
                            kernel_shape=list(kernel))
    layer = {"name": "0", "type": "conv2d", "in_channels": c, "out_channels": out_channels, "kernel_size": list(kernel),
             "stride": strides, "padding": [pads[0], pads[1], pads[2], pads[3]], "dilation": dilations, "groups": group}
    return name, item, [node], {"w": w, "b": b}, [layer], {"0.weight": w, "0.bias": b}, 4


def pool_case(name, item, op, layer_fields, **attributes):
    node = helper.make_node(op, ["x"], ["y"], **attributes)
    kernel = attributes["kernel_shape"]
    layer = {"name": "0", "type": "maxpool2d" if op == "MaxPool" else "avgpool2d", "kernel_size": kernel,
             "stride": attributes["strides"], "padding": attributes.get("pads", [0, 0, 0, 0]), **layer_fields}
    return name, item, [node], {}, [layer], {}, 4


def cases():
    out = [
        conv_case("conv-grouped-dilated-asymmetric", [4, 9, 8], 6, (3, 2), 2, [1, 2], [1, 0, 2, 1], [2, 1]),
        conv_case("conv-depthwise-stride2", [3, 11, 20], 6, (3, 3), 3, [2, 2], [1, 1, 0, 2], [1, 1]),
        conv_case("conv-depthwise-stride1-wide", [3, 7, 19], 3, (3, 3), 3, [1, 1], [1, 1, 1, 1], [1, 1]),
        conv_case("conv-depthwise-5x5-dilated", [4, 12, 17], 4, (5, 5), 4, [1, 1], [4, 4, 4, 4], [2, 2]),
        conv_case("conv-dense-dilated", [3, 10, 10], 5, (3, 3), 1, [1, 1], [2, 2, 2, 2], [2, 2]),
        pool_case("maxpool-ceil-dilated-asymmetric", [2, 8, 9], "MaxPool", {"ceil_mode": True, "dilation": [1, 2]},
                  kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 0, 1], dilations=[1, 2], ceil_mode=1),
        pool_case("maxpool-floor-padded", [2, 7, 7], "MaxPool", {}, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        pool_case("avgpool-ceil-count-pad", [2, 6, 6], "AveragePool", {"ceil_mode": True, "count_include_pad": True},
                  kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1),
        pool_case("avgpool-ceil-exclude-pad", [2, 7, 6], "AveragePool", {"ceil_mode": True, "count_include_pad": False},
                  kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 0, 1], ceil_mode=1, count_include_pad=0),
    ]
    item = [3, 4, 5]
    for op, type_ in [("Softmax", "softmax"), ("LogSoftmax", "log_softmax")]:
        for axis in [1, -1, 2]:
            out.append((f"{type_}-{axis}", item, [helper.make_node(op, ["x"], ["y"], axis=axis)], {},
                        [{"name": "0", "type": type_, "dim": axis}], {}, 4))
    scale, bias = uniform(4, 5, low=0.5, high=1.5), uniform(4, 5)
    out.append(("layernorm", item, [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-2, epsilon=1e-5)],
                {"s": scale, "b": bias}, [{"name": "0", "type": "layernorm", "normalized_shape": [4, 5]}],
                {"0.weight": scale, "0.bias": bias}, 4))
    bn = {"0.weight": uniform(3, low=0.5, high=1.5), "0.bias": uniform(3), "0.running_mean": uniform(3),
          "0.running_var": uniform(3, low=0.5, high=1.5)}
    out.append(("batchnorm1d", [3, 20], [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-5)],
                {"s": bn["0.weight"], "b": bn["0.bias"], "m": bn["0.running_mean"], "v": bn["0.running_var"]},
                [{"name": "0", "type": "batchnorm1d", "num_features": 3}], dict(bn, **{"0.num_batches_tracked": np.array(0)}), 3))
    pads = [0, 0, 1, 2, 0, 1, 2, 0]
    for mode, onnx_mode in [("constant", "constant"), ("reflect", "reflect"), ("replicate", "edge")]:
        inputs = ["x", "pads"] + (["value"] if mode == "constant" else [])
        init = {"pads": i64(pads)}
        layer = {"name": "0", "type": "pad", "pads": pads, "mode": mode}
        if mode == "constant":
            init["value"] = f32(0.5)
            layer["value"] = 0.5
        out.append((f"pad-{mode}", item, [helper.make_node("Pad", inputs, ["y"], mode=onnx_mode)], init, [layer], {}, 4))
    out.append(("transpose", item, [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])], {},
                [{"name": "0", "type": "transpose", "perm": [0, 2, 3, 1]}], {}, 4))
    out.append(("reshape", item, [helper.make_node("Reshape", ["x", "s"], ["y"])], {"s": i64([0, 3, -1, 2])},
                [{"name": "0", "type": "reshape", "shape": [0, 3, -1, 2]}], {}, 4))
    out.append(("flatten", item, [helper.make_node("Flatten", ["x"], ["y"], axis=1)], {},
                [{"name": "0", "type": "flatten", "start_dim": 1, "end_dim": -1}], {}, 2))
    out.append(("flatten-start-2", item, [helper.make_node("Reshape", ["x", "s"], ["y"])], {"s": i64([0, 0, -1])},
                [{"name": "0", "type": "flatten", "start_dim": 2}], {}, 3))
    w, b = uniform(7, 60), uniform(7)
    out.append(("gemm", item, [helper.make_node("Flatten", ["x"], ["f"], axis=1),
                               helper.make_node("Gemm", ["f", "w", "b"], ["y"], transB=1)], {"w": w, "b": b},
                [{"name": "0", "type": "flatten"}, {"name": "1", "type": "linear", "in_features": 60, "out_features": 7}],
                {"1.weight": w, "1.bias": b}, 2))
    w, b = uniform(6, 5), uniform(6)
    out.append(("linear-last-dim", item, [helper.make_node("MatMul", ["x", "wt"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])],
                {"wt": np.ascontiguousarray(w.T), "b": b},
                [{"name": "0", "type": "linear", "in_features": 5, "out_features": 6}], {"0.weight": w, "0.bias": b}, 4))
    out.append(("erf", item, [helper.make_node("Erf", ["x"], ["y"])], {}, [{"name": "0", "type": "erf"}], {}, 4))
    out.append(("clip", item, [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], {"lo": f32(-0.5), "hi": f32(0.25)},
                [{"name": "0", "type": "clip", "min": -0.5, "max": 0.25}], {}, 4))
    out.append(("mean-spatial-keepdim", item, [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=1)], {},
                [{"name": "0", "type": "mean", "dim": [2, 3], "keepdim": True}], {}, 4))
    out.append(("mean-channels", item, [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)], {},
                [{"name": "0", "type": "mean", "dim": 1}], {}, 3))
    out.append(("slice", item, [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
                {"st": i64([1]), "en": i64([-1]), "ax": i64([3]), "sp": i64([2])},
                [{"name": "0", "type": "slice", "dim": 3, "start": 1, "end": -1, "step": 2}], {}, 4))
    out.append(("slice-first-token", item, [helper.make_node("Slice", ["x", "st", "en", "ax"], ["y"])],
                {"st": i64([0]), "en": i64([1]), "ax": i64([1])},
                [{"name": "0", "type": "slice", "dim": 1, "start": 0, "end": 1}], {}, 4))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def client(advlensd, tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx-ops")
    with advlens.Client(daemon=str(advlensd), root=str(root), progress=False) as c:
        c.root = root
        yield c


def load(client, name, item, layers, weights):
    """Writes the spec (the layers, then a flatten to make the logits) and weights; loads them."""
    directory = client.root / name
    directory.mkdir(exist_ok=True)
    spec = {"name": name, "input": {"shape": item if len(item) == 3 else [item[0], 1, item[1]], "range": [-10, 10]},
            "classes": [], "layers": layers}
    if len(item) == 2:
        # A [C, L] item: the model input is [C, 1, L], reshaped first.
        spec["layers"] = [{"name": "in", "type": "reshape", "shape": [0, 0, -1]}] + layers
    spec["layers"] = spec["layers"] + [{"name": "logits", "type": "flatten"}]
    (directory / "model.json").write_text(json.dumps(spec))
    write_safetensors(directory / "model.safetensors", weights)
    client.call("model/load", name=name, spec=str(directory / "model.json"), weights=str(directory / "model.safetensors"))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_operator_matches_onnxruntime(client, case):
    name, item, nodes, initializers, layers, weights, out_rank = case
    x = uniform(BATCH, *item)
    want = run_onnx(nodes, initializers, x, out_rank).reshape(BATCH, -1)
    load(client, name, item, layers, weights)
    model_input = x if len(item) == 3 else x.reshape(BATCH, item[0], 1, item[1])
    result = client.call("predict", model=name, inputs=model_input, return_logits=True, top_k=1)
    got = np.array([p["logits"] for p in result["predictions"]], dtype=np.float64)
    assert got.shape == want.shape, f"{name}: AdvLens gives {got.shape}, onnxruntime {want.shape}"
    scale = max(float(np.abs(want).max()), 1e-3)
    error = float(np.abs(got - want).max()) / scale
    assert error <= 1e-5, f"{name}: max error {error:.3g} of the output's scale {scale:.3g}"


def test_a_spec_with_the_new_fields_survives_save_and_load(client):
    """model/save writes the new fields back (asymmetric padding as four values), and the saved
    model loads and predicts the same."""
    name, item, _, _, layers, weights, _ = CASES[0]
    load(client, "saved-src", item, layers, weights)
    out = client.root / "saved"
    out.mkdir()
    client.call("model/save", name="saved-src", spec=str(out / "model.json"), weights=str(out / "model.safetensors"))
    spec = json.loads((out / "model.json").read_text())
    conv = spec["layers"][0]
    assert conv["padding"] == [1, 0, 2, 1] and conv["dilation"] == [2, 1] and conv["groups"] == 2, conv
    client.call("model/load", name="saved", spec=str(out / "model.json"), weights=str(out / "model.safetensors"))
    x = uniform(BATCH, *item)
    a = client.call("predict", model="saved-src", inputs=x, return_logits=True)
    b = client.call("predict", model="saved", inputs=x, return_logits=True)
    assert [p["logits"] for p in a["predictions"]] == [p["logits"] for p in b["predictions"]]


@pytest.mark.parametrize("layer, field", [
    ({"name": "0", "type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3, "groups": 2}, "layers[0].groups"),
    ({"name": "0", "type": "conv2d", "in_channels": 3, "out_channels": 3, "kernel_size": 3, "padding": [1, 2, 3]}, "padding"),
    ({"name": "0", "type": "avgpool2d", "kernel_size": 2, "dilation": 2}, "layers[0].dilation"),
    ({"name": "0", "type": "pad", "pads": [0, 0, 1, 1, 0, 0, 1, 1], "mode": "wrap"}, "layers[0].mode"),
    ({"name": "0", "type": "transpose", "perm": [1, 0, 2, 3]}, "layers[0].perm"),
    ({"name": "0", "type": "reshape", "shape": [4, -1]}, "layers[0].shape"),
    ({"name": "0", "type": "slice", "dim": 2, "step": -1}, "layers[0].step"),
    ({"name": "0", "type": "softmax", "dim": 0}, "dim 0 names the batch"),
])
def test_bad_fields_are_refused_by_name(client, layer, field):
    directory = client.root / "bad"
    directory.mkdir(exist_ok=True)
    spec = {"name": "bad", "input": {"shape": [3, 6, 6], "range": [0, 1]}, "classes": [], "layers": [layer, {"name": "f", "type": "flatten"}]}
    (directory / "model.json").write_text(json.dumps(spec))
    write_safetensors(directory / "model.safetensors", {})
    with pytest.raises(AdvLensError) as refused:
        client.call("model/load", name="bad", spec=str(directory / "model.json"), weights=str(directory / "model.safetensors"))
    assert field in str(refused.value), str(refused.value)
