#!/usr/bin/env python3
"""Writes the example sessions protocol/examples/*.jsonl (run from anywhere: `python3 generate.py`).

The sessions are data; this script exists because some lines carry base64 tensors and PNGs
that nobody should type. Edit a session here, regenerate, and commit both: the test
Tests/python/test_protocol_examples.py checks that the .jsonl files are what this script writes,
then replays each one against the real daemon. The line format and the pattern conventions are
described in README.md next to this file.
"""
import base64
import json
import pathlib
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Inputs: a hand-drawn "1" (a vertical stroke) as a float32 tensor and as an 8-bit grey PNG.


def stroke_pixels():
    """28 x 28 grey levels 0...255: columns 13-14, rows 4-23 lit."""
    return [255 if 13 <= x <= 14 and 4 <= y <= 23 else 0 for y in range(28) for x in range(28)]


def tensor(values, shape):
    """A wire tensor: base64 of the little-endian float32 values."""
    return {"shape": shape, "dtype": "float32", "data": base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()}


def png_grey(width, height, pixels):
    """A minimal 8-bit greyscale PNG (IHDR, one IDAT, IEND) built with zlib and struct."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))  # filter 0 per row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


DIGIT = [p / 255 for p in stroke_pixels()]
DIGIT_NCHW = tensor(DIGIT, [1, 1, 28, 28])
DIGIT_CHW = tensor(DIGIT, [1, 28, 28])
DIGIT_PNG = base64.b64encode(png_grey(28, 28, stroke_pixels())).decode()
TINY_PNG = base64.b64encode(png_grey(4, 4, [0] * 16)).decode()
NAN_TENSOR = tensor([float("nan")] + DIGIT[1:], [1, 28, 28])

CLASSES = [str(c) for c in range(10)]
METHODS = ["initialize", "shutdown", "model/create", "model/load", "model/save", "model/list", "model/info",
           "model/unload", "dataset/load", "dataset/list", "dataset/info", "predict", "attack", "handle/list", "handle/drop",
           "handle/create", "probe", "explainPrediction", "cache/stats", "cache/clear", "trainStep", "evaluate", "evaluate/checks"]
EXPLAINERS = ["influence", "gradientTimesActivation", "saliency", "inputTimesGradient", "integratedGradients", "gradCam",
              "occlusion"]
ATTACKS = ["fgsm", "bim", "pgd", "mifgsm", "ensemble-opt", "cw", "deepfool", "ffgsm", "apgd", "apgd-t", "square", "fab-t",
           "autoattack"]

# ---------------------------------------------------------------------------------------------
# Session builder.


class Session:
    def __init__(self, name, description):
        self.name = name
        self.lines = [{"comment": description}]

    def args(self, *flags):
        self.lines.append({"args": list(flags)})

    def comment(self, text):
        self.lines.append({"comment": text})

    def request(self, id, method, params=None, schema=None):
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        line = {"send": msg}
        if schema:
            line["schema"] = schema
        self.lines.append(line)

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.lines.append({"send": msg})

    def send(self, message):
        self.lines.append({"send": message})

    def raw(self, text):
        self.lines.append({"sendRaw": text})

    def result(self, id, pattern):
        self.lines.append({"expect": {"jsonrpc": "2.0", "id": id, "result": pattern}})

    def error(self, id, code, message="<string>"):
        self.lines.append({"expect": {"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}})

    def expect(self, pattern):
        self.lines.append({"expect": pattern})

    def progress(self, token, value):
        self.expect({"jsonrpc": "2.0", "method": "$/progress", "params": {"token": token, "value": value}})

    def call(self, id, method, params, result):
        self.request(id, method, params)
        self.result(id, result)

    def fail(self, id, method, params, code, message="<string>", schema=None):
        self.request(id, method, params, schema)
        self.error(id, code, message)

    def start(self, id=1, params=None):
        self.call(id, "initialize", params if params is not None else {}, {"serverInfo": {"name": "advlensd"}})
        self.notify("initialized", {})

    def finish(self, id):
        self.call(id, "shutdown", None, {})
        self.notify("exit")
        self.lines.append({"expectExit": 0})

    def text(self):
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in self.lines)


def summary(name, architecture="mnist-small", parameters=80202, fingerprint="<regex:[0-9a-f]{16}>"):
    return {"name": name, "architecture": architecture, "inputShape": [1, 28, 28], "classes": CLASSES,
            "parameters": parameters, "fingerprint": fingerprint}


def dataset(name, count, per_class, source="${REPO}/data/mnist_5k.csv.gz"):
    return {"name": name, "kind": "mnist-csv", "count": count, "imageShape": [1, 28, 28], "classes": CLASSES,
            "classCounts": [per_class] * 10, "source": source}


MNIST_SPLIT = {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": {"testPerClass": 100, "seed": 0}}

# A trained mnist-small (test accuracy about 98 %), so that attacks have something to break.
TRAINED = {"name": "digits", "spec": "Tests/AttacksTests/Fixtures/mnist-small/model.json",
           "weights": "Tests/AttacksTests/Fixtures/mnist-small/model.safetensors"}
# Eight test images, one of each class 0...7: the split's default order (version 2) interleaves the classes,
# so mnist-test index i holds class i mod 10.
EIGHT = {"dataset": "mnist-test", "indices": list(range(8))}
TWO = {"dataset": "mnist-test", "indices": [0, 1]}


def sample(index, label, source=None, target="<absent>", iterations="<integer>", success="<boolean>"):
    """An attack's per-sample pattern."""
    return {"index": index, "source": index if source is None else source, "label": label, "target": target,
            "adversarialLabel": "<integer>", "success": success, "linf": "<number>", "l2": "<number>",
            "confidence": "<number>", "iterations": iterations}


def attack_summary(count, **fields):
    return {"count": count, "successRate": "<number>", "robustAccuracy": "<number>", "cleanAccuracy": "<number>",
            "meanLinf": "<number>", "medianLinf": "<number>", "meanL2": "<number>", "medianL2": "<number>",
            "elapsedMs": "<number>", "imagesPerSecond": "<number>", "stoppedEarly": False, **fields}


def digits_only(fp="<eq:fp>"):
    return [{"name": "digits", "weight": 1, "fingerprint": fp}]

# ---------------------------------------------------------------------------------------------
# The sessions.


def lifecycle():
    s = Session("lifecycle", "Lifecycle: a request before initialize, initialize and its capabilities, a second "
                "initialize, shutdown (after which requests are refused), exit with code 0.")
    s.comment("Before initialize every request is refused with -32002; notifications are dropped.")
    s.fail(1, "model/list", None, -32002, "server not initialized: send initialize first")
    s.notify("initialized", {})
    s.request(2, "initialize", {"processId": None, "clientInfo": {"name": "example-client", "version": "1.0"},
                                "capabilities": {"workDoneProgress": True}})
    s.result(2, {
        "serverInfo": {"name": "advlensd", "version": "<string>"},
        "capabilities": {
            "methods": METHODS,
            "notifications": ["initialized", "exit", "$/cancelRequest"],
            "architectures": ["mnist-small", "mnist-madry", "shapes-cnn", "resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "alexnet", "squeezenet1_1", "densenet121", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "vit"],
            "layerTypes": "<array>",
            "datasetKinds": ["mnist-csv", "mnist-idx", "npy", "npz", "imagefolder", "imagenet-val", "cifar", "broden", "shapes"],
            "inputKinds": ["tensor", "dataset", "handle", "png", "path"],
            "attacks": ATTACKS, "explainers": EXPLAINERS, "objectives": ["standard", "pgd", "trades", "consistent"],
            "engine": {"blasCore": "<string>", "blasCoreSelection": "<string>", "blasThreads": "<integer>",
                       "blas": "<string>", "cores": "<integer>", "workers": "<integer>"},
            "limits": {"maxMessageBytes": 67108864, "maxBatch": 65536}}})
    s.fail(3, "initialize", {}, -32600, "initialize was already received")
    s.notify("initialized", {})
    s.call(4, "model/list", None, {"models": []})
    s.comment("shutdown answers {} once every earlier request has been answered; then only exit is expected.")
    s.call(5, "shutdown", None, {})
    s.fail(6, "model/list", {}, -32600, "server is shutting down")
    s.notify("exit")
    s.lines.append({"expectExit": 0})
    return s


def lifecycle_abrupt():
    s = Session("lifecycle-abrupt", "Lifecycle without shutdown: a failed initialize leaves the server "
                "uninitialized; exit without shutdown ends the process with code 1.")
    s.fail(1, "initialize", {"rootPath": "no/such/directory"}, -32602, "<contains:params.rootPath>", schema="valid")
    s.fail(2, "model/list", None, -32002)
    s.call(3, "initialize", {"rootPath": "."}, {"serverInfo": {"name": "advlensd"}})
    s.call(4, "model/list", None, {"models": []})
    s.notify("exit")
    s.lines.append({"expectExit": 1})
    return s


def models():
    s = Session("models", "Models: create, info, list, save (inside the workspace root ${TMP}), load the saved "
                "files under another name (same fingerprint), unload.")
    s.start(params={"clientInfo": {"name": "example-client"}, "rootPath": "${TMP}"})
    s.call(2, "model/create", {"name": "digits", "architecture": "mnist-small", "seed": 7},
           summary("digits", fingerprint="<let:fp>"))
    s.call(3, "model/info", {"name": "digits"}, {
        "summary": summary("digits", fingerprint="<eq:fp>"),
        "input": {"shape": [1, 28, 28], "range": [0, 1], "mean": [0], "std": [1]},
        "layers": [
            {"name": "0", "type": "conv2d", "outputShape": [16, 24, 24], "parameters": 416},
            {"name": "1", "type": "relu", "outputShape": [16, 24, 24], "parameters": 0},
            {"name": "2", "type": "maxpool2d", "outputShape": [16, 12, 12], "parameters": 0},
            {"name": "3", "type": "conv2d", "outputShape": [32, 8, 8], "parameters": 12832},
            {"name": "4", "type": "relu", "outputShape": [32, 8, 8], "parameters": 0},
            {"name": "5", "type": "maxpool2d", "outputShape": [32, 4, 4], "parameters": 0},
            {"name": "6", "type": "flatten", "outputShape": [512], "parameters": 0},
            {"name": "7", "type": "linear", "outputShape": [128], "parameters": 65664},
            {"name": "8", "type": "relu", "outputShape": [128], "parameters": 0},
            {"name": "9", "type": "linear", "outputShape": [10], "parameters": 1290}]})
    s.call(4, "model/create", {"name": "madry", "architecture": "mnist-madry"},
           summary("madry", "mnist-madry", parameters=3274634))
    s.call(5, "model/list", {}, {"models": [summary("digits", fingerprint="<eq:fp>"), summary("madry", "mnist-madry", 3274634)]})
    s.call(6, "model/save", {"name": "digits", "spec": "digits.json", "weights": "digits.safetensors"},
           {"spec": "${TMP}/digits.json", "weights": "${TMP}/digits.safetensors", "bytes": "<integer>", "fingerprint": "<eq:fp>"})
    s.call(7, "model/load", {"name": "digits-copy", "spec": "digits.json", "weights": "${TMP}/digits.safetensors"},
           summary("digits-copy", fingerprint="<eq:fp>"))
    s.call(8, "model/unload", {"name": "madry"}, {})
    s.call(9, "model/list", None, {"models": [summary("digits"), summary("digits-copy")]})
    s.comment("Creating over an existing name replaces the model (here with other weights).")
    s.call(10, "model/create", {"name": "digits-copy", "architecture": "mnist-small", "seed": 8},
           summary("digits-copy", fingerprint="<ne:fp>"))
    s.fail(11, "model/unload", {"name": "madry"}, -32001, "no model named \"madry\" is loaded")
    s.comment("torchvision's networks take numClasses and inputSize; vit (torchvision's VisionTransformer) also its "
              "sizes. An option that does not apply is refused naming it.")
    s.call(12, "model/create", {"name": "vit", "architecture": "vit", "numClasses": 10, "inputSize": [3, 32, 32], "patchSize": 8,
                                "numLayers": 2, "numHeads": 4, "hiddenDim": 32, "mlpDim": 64},
           {"name": "vit", "architecture": "vit", "inputShape": [3, 32, 32], "classes": [], "parameters": 24234,
            "fingerprint": "<regex:[0-9a-f]{16}>"})
    s.fail(13, "model/create", {"name": "r", "architecture": "resnet50", "patchSize": 8}, -32602,
           "params.patchSize: applies to vit only, not to resnet50", schema="valid")
    s.finish(14)
    return s


def datasets():
    s = Session("datasets", "Datasets: load the MNIST 5k CSV with a stratified split (registered as mnist-train and "
                "mnist-test), load it whole, list, info.")
    s.start()
    s.comment("The split names what made it, defaults filled in: version 2 (the default) interleaves the classes.")
    s.call(2, "dataset/load", MNIST_SPLIT, {"datasets": [dataset("mnist-train", 4000, 400), dataset("mnist-test", 1000, 100)],
                                            "split": {"testPerClass": 100, "seed": 0, "version": 2}})
    s.call(3, "dataset/load", {"name": "mnist-all", "kind": "mnist-csv", "path": "${REPO}/data/mnist_5k.csv.gz"},
           {"datasets": [dataset("mnist-all", 5000, 500)]})
    s.call(4, "dataset/list", None, {"datasets": [dataset("mnist-all", 5000, 500), dataset("mnist-test", 1000, 100),
                                                  dataset("mnist-train", 4000, 400)]})
    s.call(5, "dataset/info", {"name": "mnist-test"}, dataset("mnist-test", 1000, 100))
    s.comment("A split registers only the two parts, not the name itself.")
    s.fail(6, "dataset/info", {"name": "mnist"}, -32001, "<contains:no dataset named \"mnist\">")
    s.comment("Each kind names what it needs, and refuses params another kind uses.")
    s.fail(7, "dataset/load", {"name": "c", "kind": "cifar", "path": "data"}, -32602,
           "params.part: required for kind \"cifar\" (\"train\" or \"test\")")
    s.fail(8, "dataset/load", {"name": "f", "kind": "imagefolder", "path": "clients"}, -32602,
           "params.shape: required for kind \"imagefolder\" unless params.model names a loaded model")
    s.fail(9, "dataset/load", {"name": "n", "kind": "npz", "path": "data/x.npz", "layout": "NHWC", "resize": 64}, -32602,
           "params.resize: only for kinds \"imagefolder\", \"imagenet-val\", \"broden\"", schema="valid")
    s.comment("A Broden-style concept set (docs/dissection.md) takes the image kinds' model or shape; categories is its own.")
    s.fail(10, "dataset/load", {"name": "b", "kind": "broden", "path": "clients"}, -32602,
           "params.shape: required for kind \"broden\" unless params.model names a loaded model")
    s.fail(11, "dataset/load", {"name": "c", "kind": "cifar", "path": "data", "part": "test", "categories": ["color"]}, -32602,
           "params.categories: only for kind \"broden\"", schema="valid")
    s.comment("Split version 1, the dataset order (the default before issue 16: old-test 0-99 are all zeros), "
              "reproduces results made with it; the same images as version 2's parts, in another order.")
    s.call(12, "dataset/load", {**MNIST_SPLIT, "name": "old", "split": {"testPerClass": 100, "version": 1}},
           {"datasets": [dataset("old-train", 4000, 400), dataset("old-test", 1000, 100)],
            "split": {"testPerClass": 100, "seed": 0, "version": 1}})
    s.fail(13, "dataset/load", {**MNIST_SPLIT, "split": {"testPerClass": 100, "version": 3}}, -32602,
           "params.split.version: 2 (classes interleaved, the default) or 1 (dataset order), got 3")
    s.finish(14)
    return s


def predict():
    s = Session("predict", "predict with every input form that needs no file: a base64 tensor ([N, C, H, W] and "
                "[C, H, W]), a PNG, a dataset reference (indices or a seeded sample), and an array of forms; topK, labels, returnLogits, "
                "and $/progress for a request with a workDoneToken.")
    s.start()
    s.call(2, "model/create", {"name": "m", "architecture": "mnist-small", "seed": 1}, summary("m"))
    s.call(3, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    top = {"index": "<integer>", "name": "<string>", "probability": "<number>", "logit": "<number>"}
    s.call(4, "predict", {"model": "m", "inputs": DIGIT_NCHW, "topK": 2, "returnLogits": True}, {
        "predictions": [{"predicted": "<integer>", "predictedName": "<string>", "label": "<absent>",
                         "top": [top, top], "logits": "<array:10>"}],
        "accuracy": "<absent>", "count": 1, "elapsedMs": "<number>"})
    s.call(5, "predict", {"model": "m", "inputs": DIGIT_CHW, "labels": [1]}, {
        "predictions": [{"label": 1, "top": "<array:3>", "logits": "<absent>"}], "accuracy": "<number>", "count": 1})
    s.call(6, "predict", {"model": "m", "inputs": {"png": DIGIT_PNG}, "topK": 1},
           {"predictions": [{"predicted": "<integer>", "top": [top]}], "count": 1})
    s.call(7, "predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": [0, 1, 2]}, "topK": 1}, {
        "predictions": [{"label": 0, "top": "<array:1>"}, {"label": 1}, {"label": 2}], "accuracy": "<number>", "count": 3})
    s.comment("An array of sources is one batch, concatenated in order; labels are known only for the dataset "
              "part, so no accuracy. topK above the class count gives every class.")
    s.call(8, "predict", {"model": "m", "inputs": [DIGIT_NCHW, {"png": DIGIT_PNG}, {"dataset": "mnist-test", "indices": [999]}],
                          "topK": 50}, {
        "predictions": [{"label": "<absent>", "top": "<array:10>"}, {"label": "<absent>"}, {"label": 9}],
        "accuracy": "<absent>", "count": 3})
    s.comment("With a workDoneToken, a batch of more than 256 images reports $/progress: begin, reports "
              "(at most one per 50 ms, plus the one at 100 %), end, then the response.")
    s.request(9, "predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": list(range(300))}, "topK": 1,
                             "workDoneToken": "predict-9"})
    s.progress("predict-9", {"kind": "begin", "title": "predict", "cancellable": True, "message": "300 inputs", "percentage": 0})
    s.progress("predict-9", {"kind": "report", "message": "300/300", "percentage": 100})
    s.progress("predict-9", {"kind": "end", "message": "done"})
    s.result(9, {"predictions": "<array:300>", "accuracy": "<number>", "count": 300})
    s.comment("A seeded stratified sample: one image of each class, in dataset order (the labels come in the order of "
              "the images drawn, which the seed fixes).")
    s.call(10, "predict", {"model": "m", "inputs": {"dataset": "mnist-test", "sample": 10, "seed": 0, "stratified": True}, "topK": 1},
           {"predictions": [{"label": c} for c in [0, 2, 8, 3, 7, 4, 5, 6, 9, 1]], "accuracy": "<number>", "count": 10})
    s.finish(11)
    return s


def errors():
    s = Session("errors", "Errors a method can answer: unknown method, invalid params that name the field, "
                "not found, shape mismatch, path outside the root, I/O, NaN in a tensor. The session names a "
                "rootPath, so its paths are confined to it (confinement is opt-in).")
    s.start(params={"rootPath": "."})
    s.call(2, "model/create", {"name": "m", "architecture": "mnist-small"}, summary("m"))
    s.call(3, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    s.fail(4, "model/train", {"name": "m"}, -32601, "method not found: model/train")
    s.comment("-32602: the message names the field and what was expected.")
    s.fail(5, "model/info", {}, -32602, "params.name: required field missing")
    s.fail(6, "model/info", {"name": 3}, -32602, "params.name: expected a string, got number 3")
    s.fail(7, "model/create", {"name": "x", "architecture": "mnist-small", "seed": -1}, -32602, "<contains:params.seed>")
    s.fail(8, "model/create", {"name": "a/b", "architecture": "mnist-small"}, -32602, "<contains:params.name>")
    s.fail(9, "model/create", {"name": "x", "architecture": "resnet-50"}, -32602,
           "params.architecture: unknown \"resnet-50\"; known: "
           "mnist-small, mnist-madry, shapes-cnn, resnet18, resnet34, resnet50, vgg11, vgg11_bn, vgg16, vgg16_bn, alexnet, squeezenet1_1, densenet121, mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large, efficientnet_b0, vit")
    s.fail(10, "predict", {"model": "m", "inputs": {}}, -32602,
           "params.inputs: expected exactly one of shape (a tensor), dataset, handle, png or path; got none")
    s.fail(11, "predict", {"model": "m", "inputs": {"png": DIGIT_PNG, "path": "digit.png"}}, -32602,
           "<contains:got png, path>")
    s.fail(12, "predict", {"model": "m", "inputs": [DIGIT_CHW], "topK": 0}, -32602,
           "params.topK: expected a positive integer, got 0")
    s.fail(13, "predict", {"model": "m", "inputs": {**DIGIT_CHW, "dtype": "float64"}}, -32602, "<contains:dtype>")
    s.fail(14, "predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": []}}, -32602, "<contains:indices>")
    s.fail(15, "dataset/load", {"name": "x", "kind": "npy"}, -32602, "params.images: required for kind \"npy\"")
    s.fail(16, "dataset/load", {"name": "x", "kind": "coco", "path": "x"}, -32602, "<contains:params.kind>")
    s.comment("Semantic errors the schemas cannot see: the params are valid JSON-Schema-wise (\"schema\": \"valid\").")
    s.fail(17, "predict", {"model": "m", "inputs": NAN_TENSOR}, -32602, "<contains:inputs must be finite>", schema="valid")
    s.fail(18, "predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": [5, 1000]}}, -32602,
           "<contains:1000 is out of range 0..<1000>", schema="valid")
    s.fail(19, "predict", {"model": "m", "inputs": DIGIT_NCHW, "labels": [1, 2]}, -32602,
           "<contains:params.labels>", schema="valid")
    s.fail(20, "dataset/load", {**MNIST_SPLIT, "split": {"testPerClass": 500}}, -32602, "<contains:params.split>",
           schema="valid")
    s.comment("-32001: no such model, dataset or handle.")
    s.fail(21, "model/info", {"name": "missing"}, -32001, "<contains:no model named \"missing\">")
    s.fail(22, "predict", {"model": "missing", "inputs": DIGIT_CHW}, -32001)
    s.fail(23, "predict", {"model": "m", "inputs": {"dataset": "cifar-test"}}, -32001, "<contains:cifar-test>")
    s.fail(24, "predict", {"model": "m", "inputs": {"handle": "adv-1"}}, -32001, "<contains:adv-1>")
    s.comment("-32010: shapes that do not fit.")
    s.fail(25, "predict", {"model": "m", "inputs": tensor([0.0] * 1024, [1, 1, 32, 32])}, -32010,
           "<contains:does not fit the model's input>")
    s.fail(26, "predict", {"model": "m", "inputs": {**DIGIT_NCHW, "shape": [2, 1, 28, 28]}}, -32010,
           "<contains:holds 3136 bytes>")
    s.fail(27, "predict", {"model": "m", "inputs": {"png": TINY_PNG}}, -32010, "<contains:4x4>")
    s.comment("-32013: a path that resolves outside the workspace root; -32012: a file that cannot be read.")
    s.fail(28, "predict", {"model": "m", "inputs": {"path": "../outside.png"}}, -32013, "<contains:outside the workspace root>")
    s.fail(29, "model/save", {"name": "m", "spec": "/etc/m.json", "weights": "m.safetensors"}, -32013, "<contains:params.spec>")
    s.fail(30, "dataset/load", {"name": "x", "kind": "mnist-csv", "path": "data/../../x.csv"}, -32013, "<contains:params.path>")
    s.fail(31, "predict", {"model": "m", "inputs": {"path": "data/no-such-image.png"}}, -32012, "<contains:cannot read>")
    s.fail(32, "model/load", {"name": "x", "spec": "data/no-such-spec.json", "weights": "data/no-such.safetensors"}, -32012)
    s.comment("Errors change nothing: the model and datasets are still there.")
    s.call(33, "model/list", None, {"models": [summary("m")]})
    s.finish(34)
    return s


def transport():
    s = Session("transport", "Transport errors: bytes that are not JSON, invalid requests, batches, a message over "
                "the size limit (the daemon runs with --max-message-bytes 4096 here). The connection survives all.")
    s.args("--max-message-bytes", "4096")
    s.start()
    s.raw("{not json")
    s.expect({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "<contains:invalid JSON at byte 1>"}})
    s.comment("When the id can still be found in malformed JSON, the error carries it.")
    s.raw('{"jsonrpc": "2.0", "id": 2, "method": "model/list",}')
    s.error(2, -32700)
    s.send({"id": 3, "method": "model/list"})
    s.error(3, -32600, "\"jsonrpc\": \"2.0\" is required")
    s.send({"jsonrpc": "2.0", "id": 4, "method": "model/list", "params": 3})
    s.error(4, -32600, "\"params\" must be an object or an array, got number")
    s.send({"jsonrpc": "2.0", "id": None, "method": "model/list"})
    s.expect({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "id must be a number or a string, not null"}})
    s.send([])
    s.expect({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "empty batch"}})
    s.comment("A batch is answered with one array holding the replies to its requests, in request order "
              "(notifications get none).")
    s.send([{"jsonrpc": "2.0", "id": 5, "method": "model/list"}, {"jsonrpc": "2.0", "method": "initialized"},
            {"jsonrpc": "2.0", "id": 6, "method": "no/such/method"}, 7])
    s.expect([{"jsonrpc": "2.0", "id": 5, "result": {"models": []}},
              {"jsonrpc": "2.0", "id": 6, "error": {"code": -32601, "message": "method not found: no/such/method"}},
              {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "a request must be a JSON object, got number"}}])
    s.comment("A batch of notifications only gets no reply at all.")
    s.send([{"jsonrpc": "2.0", "method": "initialized"}])
    s.comment("A message larger than the limit is skipped whole and answered -32600 with id null.")
    s.request(8, "predict", {"model": "m", "inputs": DIGIT_CHW})
    s.expect({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "<contains:message too large>"}})
    s.call(9, "model/list", None, {"models": []})
    s.comment("exit, initialized and $/cancelRequest are notifications; sent as requests they are unknown methods.")
    s.fail(10, "exit", None, -32601)
    s.finish(11)
    return s


def concurrency():
    s = Session("concurrency", "Concurrency and cancellation: requests run concurrently and may be answered out of "
                "order; a write to a model (model/unload) waits for running reads (predict) and holds later reads "
                "back; $/cancelRequest answers -32800; a duplicate in-flight id is refused.")
    s.args("--workers", "2")
    s.start()
    s.call(2, "model/create", {"name": "m", "architecture": "mnist-small"}, summary("m"))
    s.call(3, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    big = {"model": "m", "inputs": [{"dataset": "mnist-train"}] * 8, "topK": 1}
    s.comment("A long predict (8 x 4000 images) ...")
    s.request(4, "predict", big)
    s.comment("... does not hold back a request on another worker: id 5 is answered first.")
    s.call(5, "model/list", None, {"models": [summary("m")]})
    s.comment("A second request with id 4 while 4 is in flight is refused at once.")
    s.fail(4, "model/info", {"name": "m"}, -32600, "<contains:duplicate id 4>")
    s.comment("model/unload writes m: it waits for predict 4; model/info (a read) queues behind the waiting write.")
    s.request(6, "model/unload", {"name": "m"})
    s.request(7, "model/info", {"name": "m"})
    s.comment("Cancelling 4 answers it -32800; then the unload runs, and the info finds no model.")
    s.notify("$/cancelRequest", {"id": 4})
    s.error(4, -32800, "request cancelled")
    s.result(6, {})
    s.error(7, -32001)
    s.comment("Cancelling an id that is not in flight is ignored.")
    s.notify("$/cancelRequest", {"id": 4})
    s.call(8, "model/list", None, {"models": []})
    s.finish(9)
    return s


def attack():
    s = Session("attack", "attack on a trained model: FGSM and PGD on a dataset reference, the adversarial batch fed "
                "back to predict as a result handle, handle/list and handle/drop, an ensemble of two models with "
                "evaluateOn (the transfer matrix), a targeted attack with given targets, the ensemble-optimization "
                "attack with two least-likely targets per image, the other methods with their defaults echoed, "
                "and $/progress.")
    s.start()
    s.call(2, "model/load", TRAINED, summary("digits", fingerprint="<let:fp>"))
    s.call(3, "model/create", {"name": "madry", "architecture": "mnist-madry", "seed": 1},
           summary("madry", "mnist-madry", parameters=3274634, fingerprint="<let:fpMadry>"))
    s.call(4, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    s.comment("The trained model classifies the eight test images correctly.")
    s.call(5, "predict", {"model": "digits", "inputs": EIGHT, "topK": 1}, {"accuracy": 1, "count": 8})
    s.comment("FGSM: one signed-gradient step of size epsilon. The adversarial batch is kept as handle adv-1; "
              "config echoes every parameter used, defaults included.")
    s.call(6, "attack", {"model": "digits", "method": "fgsm", "inputs": EIGHT, "epsilon": 0.15}, {
        "handle": "adv-1",
        "samples": [sample(i, i, iterations=1) for i in range(8)],
        "summary": attack_summary(8, robustAccuracy="<let:fgsmRobust>", cleanAccuracy=1),
        "config": {"method": "fgsm", "models": digits_only(), "norm": "linf", "epsilon": 0.15, "steps": 1,
                   "targeted": False, "earlyStop": True, "seed": 0},
        "transfer": "<absent>", "images": "<absent>", "perturbations": "<absent>", "png": "<absent>"})
    s.comment("The handle is an input like any other and carries the labels: predict's accuracy on it is the "
              "attack's robust accuracy.")
    s.call(7, "predict", {"model": "digits", "inputs": {"handle": "adv-1"}, "topK": 1},
           {"predictions": [{"label": i} for i in range(8)], "accuracy": "<eq:fgsmRobust>", "count": 8})
    s.comment("PGD (defaults: epsilon 0.3, random start, 1 restart; here 10 steps of 0.05) fools all eight. With a "
              "workDoneToken: begin, reports (\"iteration i/n, x% fooled\", rate-limited, not shown), end.")
    s.request(8, "attack", {"model": "digits", "method": "pgd", "inputs": EIGHT, "steps": 10, "stepSize": 0.05,
                            "workDoneToken": "pgd-8"})
    s.progress("pgd-8", {"kind": "begin", "title": "attack pgd", "cancellable": True, "message": "8 inputs", "percentage": 0})
    s.progress("pgd-8", {"kind": "end", "message": "100% success"})
    s.result(8, {
        "handle": "adv-2",
        "samples": [sample(i, i, success=True) for i in range(8)],
        "summary": attack_summary(8, successRate=1, robustAccuracy=0, cleanAccuracy=1),
        "config": {"method": "pgd", "models": digits_only(), "norm": "linf", "epsilon": 0.3, "stepSize": 0.05, "steps": 10,
                   "restarts": 1, "randomStart": True, "targeted": False, "earlyStop": True, "seed": 0}})
    s.comment("A subset of a handle by indices: the accuracy has dropped from 1 to 0.")
    s.call(9, "predict", {"model": "digits", "inputs": {"handle": "adv-2", "indices": [0, 7]}, "topK": 1},
           {"predictions": [{"label": 0}, {"label": 7}], "accuracy": 0, "count": 2})
    s.comment("handle/list: the kept results, oldest first, with the config that made them (provenance, JSON text).")
    handle = {"imageShape": [1, 28, 28], "bytes": 50176, "count": 8}
    s.call(10, "handle/list", None, {"handles": [
        {"handle": "adv-1", "kind": "attack fgsm", **handle, "provenance": "<contains:\"method\":\"fgsm\">"},
        {"handle": "adv-2", "kind": "attack pgd", **handle, "provenance": "<contains:\"method\":\"pgd\">"}],
        "totalBytes": 100352, "limitBytes": "<integer>"})
    s.comment("handle/drop frees one; afterwards it is not found (-32001), as input or to drop again.")
    s.call(11, "handle/drop", {"handle": "adv-1"}, {})
    s.fail(12, "predict", {"model": "digits", "inputs": {"handle": "adv-1"}}, -32001, "<contains:no result handle named \"adv-1\">")
    s.fail(13, "handle/drop", {"handle": "adv-1"}, -32001, "<contains:adv-1>")
    s.call(14, "handle/list", {}, {"handles": [{"handle": "adv-2"}], "totalBytes": 50176})
    s.comment("An ensemble: models with relative weights (normalised to sum 1; config echoes them as given). PGD "
              "averages the members' losses; success is judged on the weighted average of their probabilities. "
              "evaluateOn judges the adversarial batch on each listed model alone: the transfer matrix.")
    s.call(15, "attack", {"models": [{"name": "digits", "weight": 3}, {"name": "madry"}], "method": "pgd", "inputs": EIGHT,
                          "steps": 5, "stepSize": 0.1, "evaluateOn": ["digits", "madry"]}, {
        "handle": "adv-3",
        "samples": [sample(i, i) for i in range(8)],
        "summary": attack_summary(8),
        "config": {"method": "pgd", "models": [{"name": "digits", "weight": 3, "fingerprint": "<eq:fp>"},
                                               {"name": "madry", "weight": 1, "fingerprint": "<eq:fpMadry>"}]},
        "transfer": [{"model": "digits", "successRate": "<number>", "robustAccuracy": "<number>"},
                     {"model": "madry", "successRate": "<number>", "robustAccuracy": "<number>"}]})
    s.comment("Targeted, with the targets given (one per input image; target implies targeted): success means "
              "the model predicts the target.")
    targets = [1, 2, 3, 4, 5, 6, 7, 0]
    s.call(16, "attack", {"model": "digits", "method": "pgd", "inputs": EIGHT, "target": targets, "steps": 20,
                          "stepSize": 0.05, "evaluateOn": ["madry"]}, {
        "handle": "adv-4",
        "samples": [sample(i, i, target=targets[i]) for i in range(8)],
        "summary": attack_summary(8, cleanAccuracy=1),
        "config": {"method": "pgd", "targeted": True, "target": targets, "steps": 20},
        "transfer": [{"model": "madry"}]})
    s.comment("The ensemble-optimization attack (always targeted; Adam on the image, lambda times the squared L2 "
              "distance, here inside an L-inf box of epsilon 0.3): two least-likely targets per image give two "
              "samples per image, source naming the input image.")
    s.call(17, "attack", {"model": "digits", "method": "ensemble-opt", "inputs": TWO, "target": "leastLikely",
                          "targetsPerImage": 2, "steps": 20, "learningRate": 0.1, "epsilon": 0.3}, {
        "handle": "adv-5",
        "samples": [sample(0, 0, source=0, target="<integer>"), sample(1, 0, source=0, target="<integer>"),
                    sample(2, 1, source=1, target="<integer>"), sample(3, 1, source=1, target="<integer>")],
        "summary": attack_summary(4, cleanAccuracy=1),
        "config": {"method": "ensemble-opt", "models": digits_only(), "norm": "l2", "epsilon": 0.3, "steps": 20,
                   "targeted": True, "target": "leastLikely", "targetsPerImage": 2, "learningRate": 0.1,
                   "lambda": 0.05, "earlyStop": True, "seed": 0}})
    s.comment("The other methods, each with its defaults filled in by config (steps shortened here; mifgsm's "
              "stepSize is epsilon / steps in float32).")
    s.call(18, "attack", {"model": "digits", "method": "bim", "inputs": TWO, "steps": 5}, {
        "handle": "adv-6", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "bim", "models": digits_only(), "norm": "linf", "epsilon": 0.3, "stepSize": 0.01, "steps": 5,
                   "targeted": False, "earlyStop": True, "seed": 0}})
    s.call(19, "attack", {"model": "digits", "method": "mifgsm", "inputs": TWO, "steps": 5}, {
        "handle": "adv-7", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "mifgsm", "models": digits_only(), "norm": "linf", "epsilon": 0.3, "stepSize": 0.060000002,
                   "steps": 5, "decay": 1, "targeted": False, "earlyStop": True, "seed": 0}})
    s.call(20, "attack", {"model": "digits", "method": "pgd", "norm": "l2", "inputs": TWO, "steps": 5}, {
        "handle": "adv-8", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "pgd", "models": digits_only(), "norm": "l2", "epsilon": 2, "stepSize": 0.2, "steps": 5,
                   "restarts": 1, "randomStart": True, "targeted": False, "earlyStop": True, "seed": 0}})
    s.call(21, "attack", {"model": "digits", "method": "cw", "inputs": TWO, "steps": 20, "c": 5, "learningRate": 0.1}, {
        "handle": "adv-9", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "cw", "models": digits_only(), "norm": "l2", "steps": 20, "targeted": False, "kappa": 0, "c": 5,
                   "binarySearchSteps": 1, "learningRate": 0.1, "earlyStop": True, "seed": 0}})
    s.call(22, "attack", {"model": "digits", "method": "deepfool", "inputs": TWO, "steps": 10}, {
        "handle": "adv-10", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "deepfool", "models": digits_only(), "norm": "l2", "steps": 10, "targeted": False,
                   "overshoot": 0.02, "earlyStop": True, "seed": 0}})
    s.comment("APGD (Croce & Hein 2020: step size from 2 epsilon, halved at checkpoints, momentum 0.75; loss ce or "
              "dlr), APGD-T (the targeted DLR toward each of the top targetClasses other classes in turn; success is "
              "any misclassification) and the Square attack (score-based: no gradients, a query budget per image).")
    s.call(23, "attack", {"model": "digits", "method": "apgd", "inputs": TWO, "steps": 10}, {
        "handle": "adv-11", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "apgd", "models": digits_only(), "norm": "linf", "epsilon": 0.3, "steps": 10, "restarts": 1,
                   "loss": "ce", "targeted": False, "earlyStop": True, "seed": 0}})
    s.call(24, "attack", {"model": "digits", "method": "apgd-t", "inputs": TWO, "steps": 5, "targetClasses": 3}, {
        "handle": "adv-12", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "apgd-t", "models": digits_only(), "norm": "linf", "epsilon": 0.3, "steps": 5, "restarts": 1,
                   "loss": "dlr", "targetClasses": 3, "targeted": False, "earlyStop": True, "seed": 0}})
    s.call(25, "attack", {"model": "digits", "method": "square", "norm": "l2", "inputs": TWO, "queries": 100}, {
        "handle": "adv-13", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "square", "models": digits_only(), "norm": "l2", "epsilon": 2, "queries": 100,
                   "squareFraction": 0.8, "targeted": False, "earlyStop": True, "seed": 0}})
    s.comment("FAB-T (minimum-norm: projections onto the linearised boundary toward each target class; a success is "
              "its smallest adversarial within epsilon) and the AutoAttack ensemble (standard: APGD-CE, APGD-T, FAB-T, "
              "Square, each on the samples still robust).")
    s.call(26, "attack", {"model": "digits", "method": "fab-t", "inputs": TWO, "steps": 10, "targetClasses": 2}, {
        "handle": "adv-14", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "fab-t", "models": digits_only(), "norm": "linf", "epsilon": 0.3, "steps": 10, "restarts": 1,
                   "targetClasses": 2, "targeted": False, "earlyStop": True, "seed": 0}})
    s.call(27, "attack", {"model": "digits", "method": "autoattack", "inputs": TWO, "epsilon": 0.3}, {
        "handle": "adv-15", "samples": "<array:2>", "summary": attack_summary(2),
        "config": {"method": "autoattack", "models": digits_only(), "norm": "linf", "epsilon": 0.3, "version": "standard",
                   "targeted": False, "earlyStop": True, "seed": 0}})
    s.comment("handle/create keeps given images with their records as a handle, as an attack would (a Ray pool joins "
              "its shards' results so): here the deepfool and apgd handles concatenated, with their labels, clean "
              "inputs (a dataset reference), sources and success; predict reads it like any handle.")
    s.call(28, "handle/create", {"model": "digits", "images": [{"handle": "adv-10"}, {"handle": "adv-11"}], "labels": [1, 1, 1, 1],
                                 "clean": TWO, "sources": [0, 1, 0, 1], "adversarialLabels": [8, 8, 8, 8],
                                 "success": [True, True, True, True], "kind": "attack joined"},
           {"handle": "adv-16", "count": 4})
    s.call(29, "predict", {"model": "digits", "inputs": {"handle": "adv-16", "indices": [0, 3]}, "topK": 1},
           {"predictions": [{"label": "<integer>"}, {"label": "<integer>"}], "count": 2})
    s.comment("Every per-image list has one entry per image; sources index the clean inputs, which they need.")
    s.fail(30, "handle/create", {"model": "digits", "images": {"handle": "adv-10"}, "labels": [1, 1, 1]}, -32602,
           "params.labels: 3 values for 2 images", schema="valid")
    s.fail(31, "handle/create", {"model": "digits", "images": {"handle": "adv-10"}, "labels": [1, 1], "sources": [0, 1]}, -32602,
           "params.sources: needs clean (the inputs they index)", schema="valid")
    s.fail(32, "handle/create", {"model": "digits", "images": {"handle": "adv-10"}, "labels": [1, 1], "clean": TWO,
                                 "sources": [0, 2]}, -32602, "params.sources[1]: 2 is out of range 0..<2 (the clean inputs)",
           schema="valid")
    s.fail(33, "handle/create", {"model": "digits", "images": {"handle": "adv-10"}, "labels": [1, 1], "sorces": [0, 1]}, -32602,
           "<contains:sorces>")
    s.finish(34)
    return s


def attack_output():
    s = Session("attack-output", "attack's return options inside the workspace root ${TMP}: the adversarial images "
                "and the perturbations as tensors, PNG strips (original | adversarial | amplified perturbation), "
                "inputs without labels (the model's clean predictions stand in), and the errors of return.png.")
    s.start(params={"rootPath": "${TMP}"})
    s.call(2, "model/create", {"name": "m", "architecture": "mnist-small", "seed": 1}, summary("m"))
    s.comment("A tensor and a PNG carry no labels: each sample's label is the model's clean prediction, so the clean "
              "accuracy is 1.")
    tensor2 = {"shape": [2, 1, 28, 28], "dtype": "float32", "data": "<string>"}
    s.call(3, "attack", {"model": "m", "method": "fgsm", "inputs": [DIGIT_NCHW, {"png": DIGIT_PNG}], "epsilon": 0.1,
                         "return": {"images": True, "perturbations": True, "png": "strips", "pngScale": 2}}, {
        "handle": "adv-1",
        "samples": [sample(0, "<integer>", iterations=1), sample(1, "<integer>", iterations=1)],
        "summary": attack_summary(2, cleanAccuracy=1),
        "images": tensor2, "perturbations": tensor2,
        "png": ["${TMP}/strips/adv-1-0.png", "${TMP}/strips/adv-1-1.png"]})
    s.comment("labels replaces the labels of the inputs; pngLimit caps the strips written.")
    s.call(4, "attack", {"model": "m", "method": "fgsm", "inputs": [DIGIT_NCHW, {"png": DIGIT_PNG}], "labels": [1, 1],
                         "return": {"png": "strips", "pngLimit": 1}}, {
        "handle": "adv-2", "samples": [sample(0, 1), sample(1, 1)],
        "images": "<absent>", "perturbations": "<absent>", "png": ["${TMP}/strips/adv-2-0.png"]})
    s.comment("The PNG directory must lie inside the root (-32013) and be a directory (-32012).")
    s.fail(5, "attack", {"model": "m", "method": "fgsm", "inputs": DIGIT_CHW, "return": {"png": "../outside"}}, -32013,
           "<contains:params.return.png>")
    s.fail(6, "attack", {"model": "m", "method": "fgsm", "inputs": DIGIT_CHW, "return": {"png": "strips/adv-1-0.png"}},
           -32012, "<contains:params.return.png>")
    s.fail(7, "attack", {"model": "m", "method": "fgsm", "inputs": DIGIT_CHW, "return": {"png": "strips", "pngScale": 0}},
           -32602, "params.return.pngScale: expected 1 to 32, got 0")
    s.finish(8)
    return s


def attack_errors():
    s = Session("attack-errors", "attack's errors: -32602 naming the field for every parameter the server refuses "
                "(a few only the server can see), -32001 for missing models and handles, -32010 for inputs that do "
                "not fit. Errors keep nothing.")
    s.start()
    s.call(2, "model/create", {"name": "m", "architecture": "mnist-small", "seed": 1}, summary("m"))
    s.call(3, "model/create", {"name": "m2", "architecture": "mnist-small", "seed": 2}, summary("m2"))
    one = {"model": "m", "inputs": DIGIT_CHW}
    s.fail(4, "attack", {**one, "method": "jsma"}, -32602,
           "params.method: unknown \"jsma\"; known: fgsm, bim, pgd, mifgsm, ensemble-opt, cw, deepfool, ffgsm, apgd, apgd-t, square, fab-t, "
           "autoattack")
    s.fail(5, "attack", {**one, "method": "fgsm", "epsilon": -0.1}, -32602, "params.epsilon: must be a positive number, got -0.1")
    s.fail(6, "attack", {**one, "models": [{"name": "m2"}], "method": "fgsm"}, -32602,
           "params: give exactly one of model (a name) or models (an ensemble)")
    s.fail(7, "attack", {"inputs": DIGIT_CHW, "method": "fgsm"}, -32602, "<contains:give exactly one of model>")
    s.fail(8, "attack", {**one, "method": "fgsm", "norm": "l2"}, -32602, "params.norm: fgsm is an L-inf attack; use pgd with norm l2")
    s.fail(9, "attack", {**one, "method": "cw", "norm": "linf"}, -32602, "params.norm: cw is an L2 attack")
    s.fail(10, "attack", {**one, "method": "pgd", "norm": "l1"}, -32602, "<contains:params.norm>")
    s.fail(11, "attack", {**one, "method": "pgd", "steps": 0}, -32602, "params.steps: must be 1 to 100000, got 0")
    s.fail(12, "attack", {**one, "method": "mifgsm", "decay": -1}, -32602, "<contains:params.decay>")
    s.fail(13, "attack", {**one, "method": "deepfool", "targeted": True}, -32602,
           "params.targeted: deepfool does not use it (it takes norm, overshoot, steps, seed and earlyStop)")
    s.fail(14, "attack", {**one, "method": "pgd", "targeted": False, "target": "random"}, -32602,
           "params.target: given, but targeted is false")
    s.fail(15, "attack", {**one, "method": "pgd", "target": "mostLikely"}, -32602, "<contains:params.target>")
    s.fail(16, "attack", {**one, "method": "pgd", "targetsPerImage": 2}, -32602,
           "params.targetsPerImage: pgd does not use it (it takes epsilon, norm, randomStart, restarts, stepSize, steps, target, targeted, seed and earlyStop)")
    s.fail(17, "attack", {"models": [], "inputs": DIGIT_CHW, "method": "fgsm"}, -32602, "params.models: expected at least one model")
    s.fail(18, "attack", {"models": [{"name": "m", "weight": 0}, {"name": "m2"}], "inputs": DIGIT_CHW, "method": "fgsm"},
           -32602, "<contains:params.models[0].weight>")
    s.fail(19, "attack", {**one, "method": "fgsm", "seed": -1}, -32602, "<contains:params.seed>")
    s.fail(20, "attack", {**one, "method": "fgsm", "return": {"images": "yes"}}, -32602, "<contains:params.return.images>")
    s.comment("Checks that need the inputs or the model: the params are valid for the schema.")
    s.fail(21, "attack", {**one, "method": "pgd", "target": [1, 2]}, -32602, "params.target: 2 targets for 1 images", schema="valid")
    s.fail(22, "attack", {**one, "method": "pgd", "target": [12]}, -32602, "params.target[0]: 12 is not a class index 0..<10",
           schema="valid")
    s.fail(23, "attack", {**one, "method": "fgsm", "labels": [1, 2]}, -32602, "params.labels: 2 labels for 1 inputs", schema="valid")
    s.fail(24, "attack", {**one, "method": "fgsm", "labels": [10]}, -32602, "<contains:params.labels[0]>", schema="valid")
    s.fail(25, "attack", {**one, "method": "ensemble-opt", "targetsPerImage": 10}, -32602,
           "params.targetsPerImage: at most 9 targets differ from the label, asked for 10", schema="valid")
    s.comment("-32001: a model (of model, models or evaluateOn) or a handle that does not exist.")
    s.fail(26, "attack", {"model": "missing", "inputs": DIGIT_CHW, "method": "fgsm"}, -32001, "<contains:no model named \"missing\">")
    s.fail(27, "attack", {"models": [{"name": "m"}, {"name": "missing"}], "inputs": DIGIT_CHW, "method": "fgsm"}, -32001,
           "<contains:\"missing\">")
    s.fail(28, "attack", {"model": "m", "inputs": {"handle": "adv-1"}, "method": "fgsm"}, -32001, "<contains:adv-1>")
    s.comment("-32010: inputs that do not fit the model.")
    s.fail(29, "attack", {"model": "m", "inputs": tensor([0.0] * 1024, [1, 1, 32, 32]), "method": "fgsm"}, -32010,
           "<contains:does not fit the model's input>")
    s.comment("None of these kept a result.")
    s.call(30, "handle/list", None, {"handles": [], "totalBytes": 0})
    s.comment("evaluateOn is resolved after the attack has run: a missing model there is -32001 too.")
    s.fail(31, "attack", {**one, "method": "fgsm", "evaluateOn": ["missing"]}, -32001, "<contains:no model named \"missing\">")
    s.comment("The parameters of apgd, apgd-t and square, named when wrong.")
    s.fail(32, "attack", {**one, "method": "apgd", "loss": "mse"}, -32602, "params.loss: unknown \"mse\"; known: ce, dlr")
    s.fail(33, "attack", {**one, "method": "apgd-t", "targetClasses": 10}, -32602,
           "params.targetClasses: the model has 9 classes besides the label, asked for 10", schema="valid")
    s.fail(34, "attack", {**one, "method": "square", "stepSize": 0.1}, -32602,
           "params.stepSize: square does not use it (it takes epsilon, norm, queries, squareFraction, target, targeted, seed and earlyStop)")
    s.fail(35, "attack", {**one, "method": "square", "squareFraction": 1.5}, -32602, "params.squareFraction: must be in (0, 1], got 1.5")
    s.fail(36, "attack", {**one, "method": "apgd-t", "targeted": True}, -32602,
           "params.targeted: apgd-t does not use it (it takes epsilon, loss, norm, restarts, steps, targetClasses, seed and earlyStop)")
    s.fail(37, "attack", {**one, "method": "autoattack", "version": "plus"}, -32602,
           "params.version: unknown \"plus\"; known: standard, rand")
    s.fail(38, "attack", {**one, "method": "autoattack", "steps": 10}, -32602,
           "params.steps: autoattack does not use it (it takes epsilon, norm, version, seed and earlyStop)")
    s.finish(39)
    return s


def attack_cancel():
    s = Session("attack-cancel", "Cancelling attacks (one worker): a queued attack is answered -32800 at once, "
                "without data; a running attack stops at its next iteration and answers -32800 with the partial "
                "result in error.data (the best adversarials so far, summary.stoppedEarly true), whose handle is "
                "kept.")
    s.args("--workers", "1")
    s.start()
    s.call(2, "model/load", TRAINED, summary("digits"))
    s.call(3, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    images = {"dataset": "mnist-test", "indices": list(range(250))}
    s.comment("A long C&W attack (250 images, 10000 steps) takes the only worker; a second attack queues behind it.")
    s.request(4, "attack", {"model": "digits", "method": "cw", "inputs": images, "steps": 10000, "earlyStop": False,
                            "workDoneToken": "cw-4"})
    s.request(5, "attack", {"model": "digits", "method": "fgsm", "inputs": TWO})
    s.comment("Cancelling the queued one answers it at once, without data.")
    s.notify("$/cancelRequest", {"id": 5})
    s.expect({"jsonrpc": "2.0", "id": 5, "error": {"code": -32800, "message": "request cancelled", "data": "<absent>"}})
    s.progress("cw-4", {"kind": "begin", "title": "attack cw", "cancellable": True, "message": "250 inputs", "percentage": 0})
    s.progress("cw-4", {"kind": "report", "message": "<regex:iteration [0-9]+/10000, [0-9]+% fooled>", "percentage": "<integer>"})
    s.comment("After the first report, cancel the running one: progress ends, then the -32800 carries the result so far.")
    s.notify("$/cancelRequest", {"id": 4})
    s.progress("cw-4", {"kind": "end", "message": "<regex:[0-9]+% success>"})
    s.expect({"jsonrpc": "2.0", "id": 4, "error": {"code": -32800, "message": "request cancelled", "data": {
        "handle": "adv-1", "samples": "<array:250>",
        "summary": {"count": 250, "successRate": "<number>", "stoppedEarly": True},
        "config": {"method": "cw", "models": [{"name": "digits", "weight": 1, "fingerprint": "<string>"}], "norm": "l2",
                   "steps": 10000, "targeted": False, "kappa": 0, "c": 1, "binarySearchSteps": 1, "learningRate": 0.01,
                   "earlyStop": False, "seed": 0}}}})
    s.comment("The partial result's handle is kept like any other: use it, then drop it.")
    s.call(6, "handle/list", None, {"handles": [{"handle": "adv-1", "kind": "attack cw", "count": 250}]})
    s.call(7, "predict", {"model": "digits", "inputs": {"handle": "adv-1", "indices": [0, 1]}, "topK": 1},
           {"predictions": [{"label": 0}, {"label": 1}], "count": 2})
    s.call(8, "handle/drop", {"handle": "adv-1"}, {})
    s.call(9, "handle/list", None, {"handles": [], "totalBytes": 0})
    s.finish(10)
    return s


def probe():
    s = Session("probe", "probe on a trained model: unit activations (spatial max with its location), the top-K test "
                "images of a conv unit with receptive-field boxes, class histograms of dense units, consistency "
                "(CS1, CS2, LC) against a targeted PGD attack run by the probe itself (kept as a handle), the "
                "representation ratio r(x*) on that handle, $/progress, and errors that name the field.")
    s.start()
    s.call(2, "model/load", TRAINED, summary("digits"))
    s.call(3, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    s.comment("activations: one row per input, one column per unit; for a conv layer with reduction max also the "
              "[y, x] of each maximum in the unit's 8 x 8 map.")
    s.call(4, "probe", {"model": "digits", "layer": "3", "kind": "activations", "units": [0, 5], "inputs": TWO}, {
        "kind": "activations", "model": "digits", "layer": "3", "layerShape": [32, 8, 8], "reduction": "max", "count": 2,
        "activations": {"units": [0, 5], "indices": [0, 1], "labels": [0, 1], "values": ["<array:2>", "<array:2>"],
                        "locations": ["<array:2>", "<array:2>"], "maps": "<absent>"},
        "elapsedMs": "<number>"})
    s.comment("topActivations: unit 0's three strongest images among the first 200 test images (dataset indices), "
              "with the input box that the location of the maximum sees (a 14 x 14 window, clipped at the border).")
    s.call(5, "probe", {"model": "digits", "layer": "3", "kind": "topActivations", "units": [0], "k": 3,
                        "dataset": {"name": "mnist-test", "indices": list(range(200))}}, {
        "kind": "topActivations", "layer": "3", "k": 3, "count": 200,
        "top": [{"unit": 0, "top": [{"index": "<integer>", "label": "<integer>", "value": "<number>", "y": "<integer>",
                                     "x": "<integer>", "box": {"top": "<integer>", "left": "<integer>", "bottom": "<integer>",
                                                               "right": "<integer>"}, "patch": "<absent>"}] * 3}]})
    s.comment("classHistograms without an adversarial set: p_real of each unit (labels of its top-K real images) "
              "and LC with the identity (the purity sum).")
    s.call(6, "probe", {"model": "digits", "layer": "8", "kind": "classHistograms", "units": [0, 1], "k": 20,
                        "dataset": {"name": "mnist-test"}}, {
        "kind": "classHistograms", "layer": "8", "layerShape": [128], "k": 20, "count": 1000,
        "histograms": [{"unit": 0, "pReal": "<array:10>", "lc": "<number>", "cs1": "<absent>", "pAdvTrue": "<absent>"},
                       {"unit": 1, "pReal": "<array:10>", "lc": "<number>"}]})
    s.comment("consistency against a targeted PGD attack that the probe runs (its model defaults to the probe's); "
              "the adversarial batch is kept as handle adv-1. Progress: begin, reports (the attack's iterations, "
              "then each batch; rate-limited, not shown), end.")
    s.comment("Only the adversarials whose attack succeeded are analysed (adversarials: \"all\" takes every one). "
              "Units 0 and 2 never fire on these images (their top-5 are ties at zero, in index order): the summary "
              "leaves them out (silentUnits) and allUnits has the statistics over all three.")
    s.request(7, "probe", {"model": "digits", "layer": "8", "kind": "consistency", "units": [0, 1, 2], "k": 5,
                           "dataset": {"name": "mnist-test", "indices": list(range(100))},
                           "adversarial": {"attack": {"method": "pgd", "inputs": EIGHT, "targeted": True, "target": "random",
                                                      "steps": 10, "stepSize": 0.05}},
                           "workDoneToken": "probe-7"})
    s.progress("probe-7", {"kind": "begin", "title": "probe consistency", "cancellable": True, "message": "layer 8",
                           "percentage": 0})
    s.progress("probe-7", {"kind": "end", "message": "done"})
    unit = {"cs1": "<number>", "cs2": "<number>", "lc": "<number>", "pReal": "<array:10>", "pAdvTrue": "<array:10>",
            "pAdvTarget": "<array:10>"}
    stats = {"meanCS1": "<number>", "medianCS1": "<number>", "meanCS2": "<number>", "medianCS2": "<number>",
             "meanLC": "<number>", "medianLC": "<number>"}
    s.result(7, {"kind": "consistency", "count": 100, "adversarialHandle": "adv-1", "adversarialCount": 5,
                 "adversarialExcluded": 3,
                 "histograms": [{"unit": u, **unit, "firing": u == 1} for u in range(3)],
                 "consistencySummary": {"units": 1, **stats, "silentUnits": 2, "allUnits": {"units": 3, **stats},
                                        "similarity": "identity"}})
    s.comment("representation: r(x*) = ||phi(x*) - phi(x)|| / min over real z of the target class ||phi(x*) - phi(z)|| "
              "for the kept handle, at the penultimate layer's full output; by default the samples whose attack succeeded "
              "(here 5 of 8, under their positions in the handle).")
    s.call(8, "probe", {"model": "digits", "layer": "8", "kind": "representation", "dataset": {"name": "mnist-test"},
                        "adversarial": {"handle": "adv-1"}, "bins": 4}, {
        "kind": "representation", "reduction": "none", "count": 1000, "adversarialHandle": "adv-1",
        "adversarialCount": 5, "adversarialExcluded": 3,
        "representation": {"count": 5, "undefined": 0, "fractionBelowOne": "<number>", "mean": "<number>",
                           "median": "<number>", "quantiles": "<array:7>", "histogramEdges": "<array:5>",
                           "histogramCounts": "<array:4>",
                           "samples": [{"index": i, "source": i, "target": "<integer>", "ratio": "<number>",
                                        "toSource": "<number>", "toTargetClass": "<number>"} for i in [0, 1, 4, 5, 6]]}})
    s.comment("Errors name the field: an unknown layer lists the valid ones (-32001); a unit out of range, an "
              "unknown kind, dissect on a dataset without concept masks, consistency without an adversarial set (-32602).")
    s.fail(9, "probe", {"model": "digits", "layer": "conv9", "kind": "activations", "inputs": TWO}, -32001,
           "<contains:params.layer: no layer named \"conv9\" in model \"digits\"; layers: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9>")
    s.fail(10, "probe", {"model": "digits", "layer": "3", "kind": "activations", "units": [32], "inputs": TWO}, -32602,
           "<contains:params.units[0]: 32 is out of range>", schema="valid")
    s.fail(11, "probe", {"model": "digits", "layer": "3", "kind": "histogram", "inputs": TWO}, -32602,
           "<contains:params.kind>")
    s.fail(12, "probe", {"model": "digits", "layer": "3", "kind": "dissect", "dataset": {"name": "mnist-test"}}, -32602,
           "<contains:params.dataset: \"mnist-test\" has no concept masks>", schema="valid")
    s.fail(13, "probe", {"model": "digits", "layer": "8", "kind": "consistency", "dataset": {"name": "mnist-test"}}, -32602,
           "<contains:params.adversarial>", schema="valid")
    s.finish(14)
    return s


SHAPES_CLASSES = ["car", "bus", "boat", "house", "tower", "face", "robot", "tree", "flower"]


def shapes_dataset(name, count, per_class, seed):
    return {"name": name, "kind": "shapes", "count": count, "imageShape": [3, 64, 64], "classes": SHAPES_CLASSES,
            "classCounts": [per_class] * 9, "source": f"shapes generator, seed {seed}",
            "concepts": "<array:44>", "classSimilarity": True}


def shapes():
    s = Session("shapes", "The generated shapes-and-parts set: load it with a split, read its concepts and class "
                "hierarchy, classify it with a fresh shapes-cnn, and the errors that name the field.")
    s.start()
    s.comment("count images of seed 3 (class of image i: i % 9), split 2 per class into shapes-test.")
    s.call(2, "dataset/load", {"name": "shapes", "kind": "shapes", "count": 90, "seed": 3, "split": {"testPerClass": 2, "seed": 0}},
           {"datasets": [shapes_dataset("shapes-train", 72, 8, 3), shapes_dataset("shapes-test", 18, 2, 3)]})
    s.comment("44 concepts with per-pixel masks: 21 parts, 10 colours, 4 textures, 9 objects; classSimilarity: "
              "the vehicle / building / figure / plant hierarchy defines LC's matrix A.")
    s.call(3, "dataset/info", {"name": "shapes-test"}, {
        **shapes_dataset("shapes-test", 18, 2, 3),
        "concepts": [{"name": "body", "kind": "part"}, {"name": "window", "kind": "part"}, {"name": "wheel", "kind": "part"},
                     {"name": "door", "kind": "part"}, {"name": "hull", "kind": "part"}, {"name": "mast", "kind": "part"},
                     {"name": "sail", "kind": "part"}, {"name": "wall", "kind": "part"}, {"name": "roof", "kind": "part"},
                     {"name": "chimney", "kind": "part"}, {"name": "head", "kind": "part"}, {"name": "eye", "kind": "part"},
                     {"name": "nose", "kind": "part"}, {"name": "mouth", "kind": "part"}, {"name": "antenna", "kind": "part"},
                     {"name": "arm", "kind": "part"}, {"name": "trunk", "kind": "part"}, {"name": "crown", "kind": "part"},
                     {"name": "stem", "kind": "part"}, {"name": "petal", "kind": "part"}, {"name": "centre", "kind": "part"},
                     {"name": "red", "kind": "colour"}, {"name": "orange", "kind": "colour"}, {"name": "yellow", "kind": "colour"},
                     {"name": "green", "kind": "colour"}, {"name": "blue", "kind": "colour"}, {"name": "purple", "kind": "colour"},
                     {"name": "brown", "kind": "colour"}, {"name": "white", "kind": "colour"}, {"name": "grey", "kind": "colour"},
                     {"name": "black", "kind": "colour"},
                     {"name": "solid", "kind": "texture"}, {"name": "striped", "kind": "texture"},
                     {"name": "dotted", "kind": "texture"}, {"name": "checkered", "kind": "texture"},
                     *({"name": c, "kind": "object"} for c in SHAPES_CLASSES)]})
    s.comment("Without masks the set is lighter (up to 20000 images); it has no concepts.")
    s.call(4, "dataset/load", {"name": "bulk", "kind": "shapes", "count": 900, "seed": 5, "masks": False},
           {"datasets": [{**shapes_dataset("bulk", 900, 100, 5), "source": "shapes generator, seed 5, no masks",
                          "concepts": "<absent>"}]})
    s.call(5, "model/create", {"name": "net", "architecture": "shapes-cnn", "seed": 0},
           {"name": "net", "architecture": "shapes-cnn", "inputShape": [3, 64, 64], "classes": SHAPES_CLASSES,
            "parameters": "<integer>", "fingerprint": "<regex:[0-9a-f]{16}>"})
    s.comment("An untrained network: the predictions are arbitrary; the labels (car, bus) come with the dataset: the "
              "split's default order interleaves the classes, so shapes-test index i holds class i mod 9.")
    s.call(6, "predict", {"model": "net", "inputs": {"dataset": "shapes-test", "indices": [0, 1]}, "topK": 1},
           {"predictions": [{"label": 0, "predictedName": "<string>"}, {"label": 1, "predictedName": "<string>"}], "count": 2})
    s.comment("The two passes of a sharded dissection (protocol/probe.md, \"Sharded dissection\"), as each shard runs "
              "them: first each unit's highest map values over the shard (18 images x 16 x 16 positions of relu3 = 4608 "
              "values per unit; here the top 5)...")
    s.call(7, "probe", {"model": "net", "layer": "relu3", "kind": "dissect", "units": [0, 1], "dataset": {"name": "shapes-test"},
                        "topValues": 5}, {
        "kind": "dissect", "layer": "relu3", "layerShape": [32, 16, 16], "count": 18, "dissection": "<absent>",
        "topValues": {"units": [0, 1], "valuesPerUnit": 4608, "values": [["<number>"] * 5] * 2}})
    s.comment("...then, with the thresholds merged from every shard's top values, the shard's raw counts, which add "
              "up over shards: per unit and concept the intersection, each unit's and each concept's area.")
    s.call(8, "probe", {"model": "net", "layer": "relu3", "kind": "dissect", "units": [0, 1], "dataset": {"name": "shapes-test"},
                        "thresholds": [0.5, 0.25], "counts": True}, {
        "kind": "dissect", "count": 18,
        "dissection": {"quantile": 0.005, "iouThreshold": 0.04, "concepts": "<array:44>",
                       "real": {"units": [{"unit": 0, "threshold": 0.5, "label": "<string>", "conceptKind": "<string>",
                                           "iou": "<number>", "detector": "<boolean>"},
                                          {"unit": 1, "threshold": 0.25, "label": "<string>", "conceptKind": "<string>",
                                           "iou": "<number>", "detector": "<boolean>"}],
                                "counts": {"intersections": ["<array:44>", "<array:44>"], "unitArea": "<array:2>",
                                           "conceptArea": "<array:44>"}},
                       "adversarial": "<absent>"}})
    s.fail(9, "dataset/load", {"name": "s", "kind": "shapes"}, -32602, "params.count: required for kind \"shapes\"")
    s.fail(10, "dataset/load", {"name": "s", "kind": "shapes", "count": 6000}, -32602,
           "params.count: must be in 1...5000 with masks (20000 with \"masks\": false), got 6000", schema="valid")
    s.fail(11, "dataset/load", {"name": "s", "kind": "shapes", "count": 10, "path": "data/mnist_5k.csv.gz"}, -32602,
           "<contains:params.path>", schema="valid")
    s.fail(12, "dataset/load", {"name": "s", "kind": "npy", "images": "x.npy", "seed": 1}, -32602,
           "params.seed: only for kind \"shapes\"", schema="valid")
    s.fail(13, "probe", {"model": "net", "layer": "relu3", "kind": "dissect", "units": [0, 1], "dataset": {"name": "shapes-test"},
                         "thresholds": [0.5]}, -32602, "params.thresholds: expected one threshold per unit (2 units), got 1",
           schema="valid")
    s.finish(14)
    return s


def explain():
    s = Session("explain", "explainPrediction on a trained model: the units and pixels behind one test image's "
                "prediction, then an adversarial twin (PGD) compared with the clean image, with heatmap PNGs, "
                "and errors that name the field.")
    s.start()
    s.call(2, "model/load", TRAINED, summary("digits"))
    s.call(3, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    s.comment("A clean 3. By default: ablation influence and gradient x activation of the last convolution's 32 "
              "channels (layer 4, the ReLU after conv 3) and of the 128 units feeding the last linear layer "
              "(layer 8), ranked by the logit drop when the unit is zeroed; saliency and Grad-CAM maps as tensors.")
    neuron = {"unit": "<integer>", "activation": "<number>", "probabilityDrop": "<number>", "logitDrop": "<number>",
              "gradientTimesActivation": "<number>"}
    s.call(4, "explainPrediction", {"model": "digits", "input": {"dataset": "mnist-test", "indices": [3]}, "topNeurons": 3}, {
        "prediction": {"predicted": 3, "predictedName": "3", "confidence": "<number>", "class": 3, "className": "3",
                       "probability": "<number>", "logit": "<number>", "label": 3, "top": "<array:3>"},
        "layers": [{"layer": "4", "unitKind": "channels", "unitCount": 32, "rankedBy": "logitDrop", "neurons": [neuron] * 3},
                   {"layer": "8", "unitKind": "units", "unitCount": 128, "rankedBy": "logitDrop", "neurons": [neuron] * 3}],
        "maps": {"saliency": {"tensor": {"shape": [1, 28, 28], "dtype": "float32", "data": "<string>"}, "min": "<number>",
                              "max": "<number>", "sum": "<number>"},
                 "gradCam": {"tensor": {"shape": [1, 8, 8], "dtype": "float32", "data": "<string>"}, "layer": "4",
                             "min": "<number>", "max": "<number>", "sum": "<number>"}},
        "comparison": "<absent>", "summary": "<regex:Predicted 3 with .*>", "timingsMs": "<object>", "elapsedMs": "<number>"})
    s.comment("Integrated gradients (Captum's Gauss-Legendre rule) from a black baseline, occlusion with a 4x4 window; "
              "convergenceDelta is sum(attributions) - (logit(x) - logit(baseline)).")
    s.call(5, "explainPrediction", {"model": "digits", "input": {"dataset": "mnist-test", "indices": [3]},
                                    "methods": ["integratedGradients", "occlusion", "inputTimesGradient"], "steps": 50,
                                    "window": 4, "stride": 2}, {
        "layers": [], "maps": {"integratedGradients": {"steps": 50, "integrationMethod": "gausslegendre",
                                                       "convergenceDelta": "<number>", "tensor": "<object>"},
                               "occlusion": {"tensor": "<object>"}, "inputTimesGradient": {"tensor": "<object>"}}})
    s.comment("An adversarial twin made by PGD, explained against the clean image: which units pushed it toward the "
              "wrong class. Heatmaps go to out/explain-example under the root.")
    s.call(6, "attack", {"model": "digits", "method": "pgd", "inputs": {"dataset": "mnist-test", "indices": [3]}, "epsilon": 0.3},
           {"handle": "adv-1", "samples": [sample(0, 3, success=True)]})
    change = {"unit": "<integer>", "influence": "<number>", "comparisonInfluence": "<number>", "change": "<number>",
              "activation": "<number>", "comparisonActivation": "<number>"}
    s.call(7, "explainPrediction", {"model": "digits", "input": {"handle": "adv-1"},
                                    "compareWith": {"dataset": "mnist-test", "indices": [3]}, "topNeurons": 2,
                                    "methods": ["influence", "saliency"], "return": {"png": "out/explain-example", "maps": False}}, {
        "prediction": {"predicted": "<let:wrong>", "label": 3},
        "comparison": {"predicted": 3, "predictedName": "3", "confidence": "<number>", "probabilityOfClass": "<number>",
                       "layers": [{"layer": "4", "unitKind": "channels", "measure": "logitDrop", "changed": [change] * 2,
                                   "pushedToward": "<array>"},
                                  {"layer": "8", "unitKind": "units", "measure": "logitDrop", "changed": [change] * 2,
                                   "pushedToward": "<array>"}],
                       "summary": "<regex:The input is classified as .*, the comparison input as 3 .*>"},
        "maps": {"saliency": {"tensor": "<absent>", "png": "<regex:.*/out/explain-example/explain-adv-1-0-class[0-9]-saliency[.]png>"}}})
    s.comment("Errors name the field.")
    s.fail(8, "explainPrediction", {"model": "digits", "input": {"dataset": "mnist-test", "indices": [1, 2]}}, -32602,
           "<contains:params.input>", schema="valid")
    s.fail(9, "explainPrediction", {"model": "digits", "input": {"dataset": "mnist-test", "indices": [1]}, "layers": ["nope"]},
           -32602, "<contains:params.layers[0]>", schema="valid")
    s.fail(10, "explainPrediction", {"model": "digits", "input": {"dataset": "mnist-test", "indices": [1]}, "methods": ["telepathy"]},
           -32602, "<contains:params.methods[0]>")
    s.finish(11)
    return s


def cache():
    s = Session("cache", "The cache database: initialize's cachePath (relative to rootPath; one that cannot be opened "
                "fails initialize), an attack's result kept there and logged, cache/stats, cache/clear of the cache "
                "tables (the default) and then of kept results and run logs, and -32602 for unknown table names.")
    s.comment("A cachePath whose directory cannot be made: -32602 naming the field; the session is not started.")
    s.fail(1, "initialize", {"cachePath": "/proc/advlens/cache.sqlite"}, -32602, "<contains:params.cachePath>", schema="valid")
    s.comment("A relative cachePath resolves inside rootPath; the result says which file the session uses.")
    s.call(2, "initialize", {"rootPath": "${TMP}", "cachePath": "cache/session.sqlite"},
           {"serverInfo": {"name": "advlensd"}, "cachePath": "${TMP}/cache/session.sqlite"})
    s.notify("initialized", {})
    s.call(3, "model/create", {"name": "m", "architecture": "mnist-small", "seed": 1}, summary("m"))
    s.comment("An attack keeps its adversarial batch in the cache database (it survives a restart) and logs the run.")
    s.call(4, "attack", {"model": "m", "method": "fgsm", "inputs": DIGIT_NCHW, "labels": [1], "epsilon": 0.1},
           {"handle": "adv-1", "samples": "<array:1>", "summary": "<object>", "config": "<object>"})

    def tables(activations, statistics, handles, run_logs, bytes="<integer>"):
        return [{"name": "activations", "rows": activations, "bytes": 0 if activations == 0 else "<integer>"},
                {"name": "statistics", "rows": statistics, "bytes": 0 if statistics == 0 else "<integer>"},
                {"name": "handles", "rows": handles, "bytes": 0 if handles == 0 else bytes},
                {"name": "runLogs", "rows": run_logs, "bytes": 0 if run_logs == 0 else bytes}]

    stats_after_attack = {"path": "${TMP}/cache/session.sqlite", "fileBytes": "<integer>", "databaseBytes": "<integer>",
                          "shardBytes": 0, "shardFiles": 0, "capBytes": 4294967296, "totalBytes": "<integer>", "tables": tables(0, 0, 1, 1)}
    s.call(5, "cache/stats", None, stats_after_attack)
    s.comment("cache/clear without params empties the cache tables (activations, statistics) only.")
    s.call(6, "cache/clear", {}, {"cleared": [{"name": "activations", "rows": 0, "bytes": 0},
                                               {"name": "statistics", "rows": 0, "bytes": 0}],
                                  "stats": stats_after_attack})
    s.fail(7, "cache/clear", {"what": ["handles", "bogus"]}, -32602, "<contains:params.what>")
    s.fail(8, "cache/clear", {"what": []}, -32602, "<contains:params.what>")
    s.comment("Kept results and run logs go only when named; then the handle is gone.")
    s.call(9, "cache/clear", {"what": ["handles", "runLogs"]},
           {"cleared": [{"name": "handles", "rows": 1, "bytes": "<integer>"}, {"name": "runLogs", "rows": 1, "bytes": "<integer>"}],
            "stats": {"path": "${TMP}/cache/session.sqlite", "fileBytes": "<integer>", "databaseBytes": "<integer>",
                      "shardBytes": 0, "shardFiles": 0, "capBytes": 4294967296, "totalBytes": 0, "tables": tables(0, 0, 0, 0)}})
    s.call(10, "handle/list", None, {"handles": [], "totalBytes": 0, "limitBytes": 4294967296})
    s.fail(11, "predict", {"model": "m", "inputs": {"handle": "adv-1"}}, -32001, "<contains:adv-1>")
    s.finish(12)
    return s


def step_report(**fields):
    return {"step": "<integer>", "learningRate": "<number>", "loss": "<number>", "parts": "<object>", **fields}


def train():
    s = Session("train", "trainStep and evaluate on MNIST: the consistent loss on a seeded dataset stream (each part of "
                "the loss, batch accuracies, the cumulative step count, the new fingerprint, $/progress), the resident "
                "optimiser kept when left out and replaced (its state dropped) when another is given, TRADES on one "
                "given batch, evaluate (clean, then robust under PGD, then the worst case over two attacks on a curve of epsilons "
                "with a gradient-masking check), and -32602 errors naming the field.")
    s.start()
    s.call(2, "model/create", {"name": "net", "architecture": "mnist-small", "seed": 1}, summary("net", fingerprint="<let:fp0>"))
    s.call(3, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    s.comment("Five steps of the consistent loss: CE(x) + CE(x*) + lambda * ||phi(x) - phi(x*)||^2 at the penultimate "
              "layer (\"8\", the default), x* from FGSM; SGD with momentum and a cosine schedule with warmup.")
    s.request(4, "trainStep", {"model": "net", "dataset": "mnist-train", "batchSize": 64, "seed": 3, "steps": 5,
                               "objective": {"kind": "consistent", "lambda": 0.1, "adversary": {"method": "fgsm", "epsilon": 0.3}},
                               "optimizer": {"kind": "sgd", "learningRate": 0.05, "momentum": 0.9},
                               "schedule": {"kind": "cosine", "warmupSteps": 2, "totalSteps": 100},
                               "workDoneToken": "train-4"})
    s.progress("train-4", {"kind": "begin", "title": "trainStep consistent", "message": "5 steps", "percentage": 0})
    s.progress("train-4", {"kind": "report", "message": "<regex:step 5/5, loss [0-9.]+, clean [0-9]+%, adversarial [0-9]+%>", "percentage": 100})
    s.progress("train-4", {"kind": "end", "message": "<regex:5 steps, loss [0-9.]+>"})
    s.result(4, {"steps": 5, "stepCount": 5, "fingerprint": "<let:fp1>", "loss": "<number>",
                 "parts": {"cleanCrossEntropy": "<number>", "adversarialCrossEntropy": "<number>", "featureDistance": "<number>"},
                 "cleanAccuracy": "<number>", "adversarialAccuracy": "<number>",
                 "history": [step_report(step=1, learningRate=0.025), step_report(step=2, learningRate=0.05), step_report(step=3),
                             step_report(step=4), step_report(step=5)],
                 "objective": {"kind": "consistent", "lambda": 0.1, "layers": ["8"], "featureReduction": "sum",
                               "adversary": {"method": "fgsm", "epsilon": 0.3, "stepSize": 0.3, "steps": 1, "randomStart": False}},
                 "optimizer": {"kind": "sgd", "learningRate": 0.05, "momentum": 0.9, "dampening": 0, "nesterov": False, "weightDecay": 0},
                 "schedule": {"kind": "cosine", "warmupSteps": 2, "totalSteps": 100, "minLearningRate": 0},
                 "optimizerReset": False, "batchPosition": 5, "elapsedMs": "<number>", "stepsPerSecond": "<number>"})
    s.call(5, "model/info", {"name": "net"}, {"summary": summary("net", fingerprint="<eq:fp1>") | {"trainingSteps": 5}})
    s.comment("Left out, the optimiser and schedule are the resident ones; Madry's PGD objective (3 steps of 0.1) continues the stream.")
    s.call(6, "trainStep", {"model": "net", "dataset": "mnist-train", "batchSize": 64, "seed": 3, "steps": 2,
                            "objective": {"kind": "pgd", "adversary": {"epsilon": 0.3, "stepSize": 0.1, "steps": 3}}},
           {"steps": 2, "stepCount": 7, "fingerprint": "<ne:fp1>", "parts": {"adversarialCrossEntropy": "<number>"},
            "cleanAccuracy": "<number>", "adversarialAccuracy": "<number>",
            "objective": {"kind": "pgd", "adversary": {"method": "pgd", "epsilon": 0.3, "stepSize": 0.1, "steps": 3, "randomStart": True}},
            "optimizer": {"kind": "sgd", "momentum": 0.9}, "optimizerReset": False, "batchPosition": 7})
    s.comment("Another optimiser replaces the resident one and drops its state; TRADES (beta 6, KL adversary) on one given batch.")
    s.call(7, "trainStep", {"model": "net", "inputs": {"dataset": "mnist-test", "indices": [0, 1, 2, 3]},
                            "optimizer": {"kind": "adam", "learningRate": 0.001},
                            "objective": {"kind": "trades", "adversary": {"epsilon": 0.3, "stepSize": 0.1, "steps": 2}}},
           {"steps": 1, "stepCount": 8, "parts": {"cleanCrossEntropy": "<number>", "kl": "<number>"},
            "objective": {"kind": "trades", "beta": 6, "adversary": {"method": "kl", "epsilon": 0.3, "stepSize": 0.1, "steps": 2, "randomStart": True}},
            "optimizer": {"kind": "adam", "learningRate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0},
            "schedule": {"kind": "cosine"}, "optimizerReset": True, "batchPosition": "<absent>"})
    s.comment("evaluate: clean accuracy on the test part, then robust accuracy under PGD (the attack method's parameters).")
    s.call(8, "evaluate", {"model": "net", "dataset": "mnist-test"},
           {"count": 1000, "cleanAccuracy": "<number>", "robustAccuracy": "<absent>", "attack": "<absent>", "fingerprint": "<string>",
            "elapsedMs": "<number>", "stoppedEarly": False})
    s.request(9, "evaluate", {"model": "net", "inputs": {"dataset": "mnist-test", "indices": list(range(20))},
                              "attack": {"method": "pgd", "epsilon": 0.3, "stepSize": 0.05, "steps": 10}, "workDoneToken": "eval-9"})
    s.progress("eval-9", {"kind": "begin", "title": "evaluate under pgd", "message": "20 images", "percentage": 0})
    s.progress("eval-9", {"kind": "report", "message": "<regex:20/20, clean [0-9.]+%, robust [0-9.]+%>", "percentage": 100})
    s.result(9, {"count": 20, "cleanAccuracy": "<number>", "robustAccuracy": "<number>",
                 "attack": {"method": "pgd", "models": [{"name": "net", "weight": 1, "fingerprint": "<string>"}], "norm": "linf",
                            "epsilon": 0.3, "stepSize": 0.05, "steps": 10, "restarts": 1, "randomStart": True, "targeted": False,
                            "earlyStop": True, "seed": 0},
                 "stoppedEarly": False})
    s.comment("Errors name the field; the first three are semantic (the schema cannot see them).")
    s.fail(10, "trainStep", {"model": "net", "dataset": "mnist-train", "objective": {"kind": "consistent", "layers": ["fc"]}},
           -32602, "<regex:params.objective.layers\\[0\\]: the model has no layer \"fc\">", schema="valid")
    s.fail(11, "trainStep", {"model": "net", "dataset": "mnist-train", "optimizer": {"kind": "sgd", "nesterov": True}},
           -32602, "<regex:params.optimizer.nesterov: .+>", schema="valid")
    s.fail(12, "trainStep", {"model": "net", "inputs": {"dataset": "mnist-test", "indices": [0]}, "labels": [10]},
           -32602, "<regex:params.labels\\[0\\]: 10 is not a class index.*>", schema="valid")
    s.fail(13, "trainStep", {"model": "net", "dataset": "mnist-train", "objective": {"kind": "trades", "lambda": 1}},
           -32602, "params.objective.lambda: trades does not use it")
    s.fail(14, "trainStep", {"model": "net", "dataset": "mnist-train", "schedule": {"kind": "step"}},
           -32602, "<regex:params.schedule.stepSize: .+>")
    s.fail(15, "trainStep", {"model": "net", "dataset": "mnist-train", "inputs": {"dataset": "mnist-test", "indices": [0]}},
           -32602, "<regex:params: give exactly one of dataset.*>")
    s.fail(16, "evaluate", {"model": "net", "dataset": "mnist-test", "attack": {"method": "fgsm", "steps": 3}},
           -32602, "<regex:params.attack.steps: fgsm does not use it.*>")
    s.fail(17, "trainStep", {"model": "nothing", "dataset": "mnist-train"}, -32001, "<regex:no model named.*>")
    s.comment("evaluate with a list of attacks over a curve of epsilons, on the trained fixture model: per point each attack's "
              "figures (by default an attack runs only on the images still robust after the ones before it, so only the first "
              "has a robust accuracy of its own), the worst case, one progress stream, and the gradient-masking checks: here a "
              "PGD whose ten steps of 0.001 cannot leave a ball of 0.01 does worse than FGSM.")
    s.call(18, "model/load", TRAINED, summary("digits"))
    weak_pgd = {"method": "pgd", "steps": 10, "stepSize": 0.001, "randomStart": False}
    s.request(19, "evaluate", {"model": "digits", "inputs": {"dataset": "mnist-test", "indices": list(range(50, 100))},
                               "attacks": [weak_pgd, {"method": "fgsm"}], "epsilons": [0.1, 0.3], "workDoneToken": "eval-19"})
    s.progress("eval-19", {"kind": "begin", "title": "evaluate under 2 attacks at 2 epsilons", "message": "50 images", "percentage": 0})
    s.progress("eval-19", {"kind": "report", "message": "<regex:50/50, epsilon 0.3, fgsm \\(2/2\\), clean [0-9.]+%, robust [0-9.]+%>",
                           "percentage": 100})
    s.progress("eval-19", {"kind": "end", "message": "50 images"})
    figures = {"config": "<object>", "attacked": "<integer>", "broken": "<integer>", "cumulativeRobustAccuracy": "<number>",
               "successRate": "<number>"}
    point = {"robustAccuracy": "<number>", "attacks": [dict(figures, robustAccuracy="<number>"), dict(figures, robustAccuracy="<absent>")],
             "samples": "<absent>", "tally": {"images": 50, "cleanCorrect": "<integer>", "attacked": "<array:2>", "broken": "<array:2>",
                                              "fooled": "<array:2>", "robustAfter": "<array:2>", "brokenWhereOtherFailed": "<array:2>"}}
    s.result(19, {"count": 50, "cleanAccuracy": "<number>", "robustAccuracy": "<absent>", "attack": "<absent>", "norm": "linf",
                  "independent": False, "curve": [dict(point, epsilon=0.1), dict(point, epsilon=0.3)],
                  "checks": [{"code": "iterativeWeakerThanSingleStep", "epsilon": 0.1, "attacks": [0, 1], "message": "<string>"},
                             {"code": "iterativeWeakerThanSingleStep", "epsilon": 0.3, "attacks": [0, 1],
                              "message": "<regex:the iterative pgd \\(attacks\\[0\\]\\) left [0-9.]+% more of the images robust than the single-step fgsm \\(attacks\\[1\\]\\) at epsilon 0.3; .+>"}],
                  "stoppedEarly": False})
    s.comment("Errors name the attack by its place in the list.")
    s.fail(20, "evaluate", {"model": "digits", "dataset": "mnist-test", "attacks": [{"method": "fgsm"}, {"method": "autoattak"}]},
           -32602, "<regex:params.attacks\\[1\\].method: unknown \"autoattak\".*>")
    s.fail(21, "evaluate", {"model": "digits", "dataset": "mnist-test", "attacks": [{"method": "pgd", "epsilon": 0.1}], "epsilons": [0.2]},
           -32602, "params.attacks[0].epsilon: given, but epsilons sets every attack's epsilon", schema="valid")
    s.comment("evaluate/checks: the checks of given tallies (each curve point's tally above, or sums of the tallies of "
              "shards of a dataset, as a Ray pool adds them), computed as evaluate computes its own: FGSM, run after "
              "the weak PGD, broke 24 of 200 images PGD left robust.")
    tally = {"images": 200, "cleanCorrect": 190, "attacked": [190, 189], "broken": [1, 24], "fooled": [1, 24],
             "robustAfter": [189, 165], "brokenWhereOtherFailed": [[0, 0], [24, 0]]}
    s.call(22, "evaluate/checks", {"model": "digits", "attacks": [weak_pgd, {"method": "fgsm"}], "epsilons": [0.1], "tallies": [tally]},
           {"checks": [{"code": "iterativeWeakerThanSingleStep", "epsilon": 0.1, "attacks": [0, 1],
                        "message": "the iterative pgd (attacks[0]) left 12.0% more of the images robust than the single-step "
                                   "fgsm (attacks[1]) at epsilon 0.1; iterative attacks should be at least as strong (masked "
                                   "gradients, or too few steps or too small a step size)"}]})
    s.comment("One tally per curve point, one count per attack, each within the images.")
    s.fail(23, "evaluate/checks", {"model": "digits", "attacks": [weak_pgd, {"method": "fgsm"}], "epsilons": [0.1, 0.3],
                                   "tallies": [tally]}, -32602, "params.tallies: 1 tallies for 2 curve points", schema="valid")
    s.fail(24, "evaluate/checks", {"model": "digits", "attacks": [weak_pgd, {"method": "fgsm"}], "epsilons": [0.1],
                                   "tallies": [dict(tally, broken=[1, 201])]}, -32602,
           "params.tallies[0].broken[1]: expected 0 to images (200), got 201", schema="valid")
    s.finish(25)
    return s


def train_checkpoint():
    s = Session("train-checkpoint", "Checkpoints inside the workspace root ${TMP}: a trained model's model/save also "
                "writes its training state (optimiser state, step count, schedule, batch cursor) beside the weights; "
                "model/load restores it, so the next step continues exactly as it would have without the save: both "
                "copies take the same step and end with the same fingerprint.")
    s.start(params={"rootPath": "${TMP}"})
    s.call(2, "model/create", {"name": "a", "architecture": "mnist-small", "seed": 2}, summary("a"))
    batch = {"inputs": DIGIT_NCHW, "labels": [1], "seed": 4,
             "optimizer": {"kind": "sgd", "learningRate": 0.1, "momentum": 0.9, "nesterov": True},
             "objective": {"kind": "pgd", "adversary": {"epsilon": 0.2, "stepSize": 0.05, "steps": 3}}}
    s.call(3, "trainStep", {"model": "a", "steps": 3, **batch}, {"steps": 3, "stepCount": 3})
    s.call(4, "model/save", {"name": "a", "spec": "a.json", "weights": "a.safetensors"},
           {"spec": "${TMP}/a.json", "weights": "${TMP}/a.safetensors", "bytes": "<integer>", "fingerprint": "<string>",
            "trainingState": "${TMP}/a.optimizer.safetensors"})
    s.call(5, "model/load", {"name": "b", "spec": "a.json", "weights": "a.safetensors"}, summary("b") | {"trainingSteps": 3})
    s.call(6, "trainStep", {"model": "a", **batch}, {"steps": 1, "stepCount": 4, "fingerprint": "<let:next>", "optimizerReset": False})
    s.call(7, "trainStep", {"model": "b", **batch}, {"steps": 1, "stepCount": 4, "fingerprint": "<eq:next>", "optimizerReset": False})
    s.comment("A model never trained here writes no training state.")
    s.call(8, "model/create", {"name": "c", "architecture": "mnist-small"}, summary("c"))
    s.call(9, "model/save", {"name": "c", "spec": "c.json", "weights": "c.safetensors"},
           {"spec": "${TMP}/c.json", "trainingState": "<absent>"})
    s.finish(10)
    return s


def onnx_import():
    s = Session("onnx", "model/load of an ONNX file (a CNN with BatchNorm and a residual block exported by "
                "torch.onnx.export: Tests/python/fixtures/onnx/small_cnn.onnx, made by scripts/make_onnx_fixtures.py) "
                "with the pixels' normalisation and class names; its nodes keep PyTorch's module names; model/save "
                "writes it as spec + safetensors and as ONNX into ${TMP}, which loads back; refusals name the file's problem or the field. No rootPath: "
                "relative paths are the repository's, and the copies go to ${TMP} by absolute path.")
    s.start()
    fixture = "Tests/python/fixtures/onnx"
    classes = [f"c{i}" for i in range(10)]
    s.call(2, "model/load", {"name": "cnn", "onnx": f"{fixture}/small_cnn.onnx", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                             "classes": classes},
           {"name": "cnn", "architecture": "cnn", "inputShape": [3, 16, 16], "classes": classes, "parameters": 1506,
            "fingerprint": "<let:fp>"})
    s.call(3, "model/info", {"name": "cnn"},
           {"input": {"shape": [3, 16, 16], "range": [0, 1], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
            "layers": [{"name": "conv1", "type": "conv2d", "outputShape": [8, 16, 16], "parameters": 216},
                       {"name": "bn1", "type": "batchnorm2d", "outputShape": [8, 16, 16], "parameters": 16},
                       {"name": "relu", "type": "relu", "outputShape": [8, 16, 16], "parameters": 0},
                       {"name": "layer1.0.conv1", "type": "conv2d", "outputShape": [8, 16, 16], "parameters": 576},
                       {"name": "layer1.0.bn1", "type": "batchnorm2d", "outputShape": [8, 16, 16], "parameters": 16},
                       {"name": "layer1.0.relu", "type": "relu", "outputShape": [8, 16, 16], "parameters": 0},
                       {"name": "layer1.0.conv2", "type": "conv2d", "outputShape": [8, 16, 16], "parameters": 576},
                       {"name": "layer1.0.bn2", "type": "batchnorm2d", "outputShape": [8, 16, 16], "parameters": 16},
                       {"name": "layer1.0", "type": "add", "outputShape": [8, 16, 16], "parameters": 0},
                       {"name": "layer1.0.relu_1", "type": "relu", "outputShape": [8, 16, 16], "parameters": 0},
                       {"name": "maxpool", "type": "maxpool2d", "outputShape": [8, 8, 8], "parameters": 0},
                       {"name": "avgpool", "type": "adaptiveavgpool2d", "outputShape": [8, 1, 1], "parameters": 0},
                       {"name": "reshape", "type": "reshape", "outputShape": [8], "parameters": 0},
                       {"name": "fc", "type": "linear", "outputShape": [10], "parameters": 90}]})
    s.call(4, "model/save", {"name": "cnn", "spec": "${TMP}/cnn.json", "weights": "${TMP}/cnn.safetensors"},
           {"spec": "${TMP}/cnn.json", "weights": "${TMP}/cnn.safetensors", "bytes": "<integer>", "fingerprint": "<eq:fp>"})
    s.call(5, "model/load", {"name": "copy", "spec": "${TMP}/cnn.json", "weights": "${TMP}/cnn.safetensors"},
           {"name": "copy", "fingerprint": "<eq:fp>"})
    s.comment("model/save writes the model back as ONNX (opset 17, the weights and the normalisation inside, the range and "
              "labels as metadata); loaded without mean/std it takes pixels and gives the same logits, with its labels.")
    s.call(6, "model/save", {"name": "cnn", "onnx": "${TMP}/cnn.onnx"},
           {"onnx": "${TMP}/cnn.onnx", "onnxBytes": "<integer>", "fingerprint": "<eq:fp>", "spec": "<absent>", "weights": "<absent>"})
    s.call(7, "model/load", {"name": "back", "onnx": "${TMP}/cnn.onnx"},
           {"name": "back", "inputShape": [3, 16, 16], "classes": classes, "parameters": 1506})
    s.comment("A file that is not ONNX (here a safetensors file), and fields that do not go together.")
    s.fail(8, "model/load", {"name": "x", "onnx": "${TMP}/cnn.safetensors"}, -32602, "<contains:does not decode as an ONNX ModelProto>",
           schema="valid")
    s.fail(9, "model/load", {"name": "x", "onnx": f"{fixture}/small_cnn.onnx", "weights": "${TMP}/cnn.safetensors"}, -32602,
           "<contains:params.weights: not with params.onnx>", schema="valid")
    s.fail(10, "model/load", {"name": "x", "onnx": f"{fixture}/small_cnn.onnx", "mean": [0.5, 0.5, 0.5]}, -32602,
           "<contains:params.std: required with params.mean>", schema="valid")
    s.fail(11, "model/save", {"name": "cnn", "weights": "${TMP}/w.safetensors"}, -32602,
           "<contains:params.spec: required with params.weights>", schema="valid")
    s.finish(12)
    return s


SESSIONS = [lifecycle, lifecycle_abrupt, models, datasets, predict, errors, transport, concurrency, attack,
            attack_output, attack_errors, attack_cancel, probe, shapes, explain, cache, train, train_checkpoint, onnx_import]


def render():
    """{file name: text} for every session."""
    out = {}
    for make in SESSIONS:
        s = make()
        out[s.name + ".jsonl"] = s.text()
    return out


if __name__ == "__main__":
    for name, text in render().items():
        (HERE / name).write_text(text)
        print("wrote", HERE / name)
