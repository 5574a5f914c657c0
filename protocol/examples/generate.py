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
           "model/unload", "dataset/load", "dataset/list", "dataset/info", "predict"]

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
            "architectures": ["mnist-small", "mnist-madry"],
            "layerTypes": "<array>",
            "datasetKinds": ["mnist-csv", "mnist-idx", "npy"],
            "inputKinds": ["tensor", "dataset", "handle", "png", "path"],
            "attacks": [], "explainers": [], "objectives": [],
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
    s.finish(12)
    return s


def datasets():
    s = Session("datasets", "Datasets: load the MNIST 5k CSV with a stratified split (registered as mnist-train and "
                "mnist-test), load it whole, list, info.")
    s.start()
    s.call(2, "dataset/load", MNIST_SPLIT, {"datasets": [dataset("mnist-train", 4000, 400), dataset("mnist-test", 1000, 100)]})
    s.call(3, "dataset/load", {"name": "mnist-all", "kind": "mnist-csv", "path": "${REPO}/data/mnist_5k.csv.gz"},
           {"datasets": [dataset("mnist-all", 5000, 500)]})
    s.call(4, "dataset/list", None, {"datasets": [dataset("mnist-all", 5000, 500), dataset("mnist-test", 1000, 100),
                                                  dataset("mnist-train", 4000, 400)]})
    s.call(5, "dataset/info", {"name": "mnist-test"}, dataset("mnist-test", 1000, 100))
    s.comment("A split registers only the two parts, not the name itself.")
    s.fail(6, "dataset/info", {"name": "mnist"}, -32001, "<contains:no dataset named \"mnist\">")
    s.finish(7)
    return s


def predict():
    s = Session("predict", "predict with every input form that needs no file: a base64 tensor ([N, C, H, W] and "
                "[C, H, W]), a PNG, a dataset reference, and an array of forms; topK, labels, returnLogits, "
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
    s.call(7, "predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": [0, 100, 200]}, "topK": 1}, {
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
    s.finish(10)
    return s


def errors():
    s = Session("errors", "Errors a method can answer: unknown method, invalid params that name the field, "
                "not found, shape mismatch, path outside the root, I/O, NaN in a tensor.")
    s.start()
    s.call(2, "model/create", {"name": "m", "architecture": "mnist-small"}, summary("m"))
    s.call(3, "dataset/load", MNIST_SPLIT, {"datasets": "<array:2>"})
    s.fail(4, "model/train", {"name": "m"}, -32601, "method not found: model/train")
    s.comment("-32602: the message names the field and what was expected.")
    s.fail(5, "model/info", {}, -32602, "params.name: required field missing")
    s.fail(6, "model/info", {"name": 3}, -32602, "params.name: expected a string, got number 3")
    s.fail(7, "model/create", {"name": "x", "architecture": "mnist-small", "seed": -1}, -32602, "<contains:params.seed>")
    s.fail(8, "model/create", {"name": "a/b", "architecture": "mnist-small"}, -32602, "<contains:params.name>")
    s.fail(9, "model/create", {"name": "x", "architecture": "resnet-50"}, -32602,
           "params.architecture: unknown \"resnet-50\"; known: mnist-small, mnist-madry")
    s.fail(10, "predict", {"model": "m", "inputs": {}}, -32602,
           "params.inputs: expected exactly one of shape (a tensor), dataset, handle, png or path; got none")
    s.fail(11, "predict", {"model": "m", "inputs": {"png": DIGIT_PNG, "path": "digit.png"}}, -32602,
           "<contains:got png, path>")
    s.fail(12, "predict", {"model": "m", "inputs": [DIGIT_CHW], "topK": 0}, -32602,
           "params.topK: expected a positive integer, got 0")
    s.fail(13, "predict", {"model": "m", "inputs": {**DIGIT_CHW, "dtype": "float64"}}, -32602, "<contains:dtype>")
    s.fail(14, "predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": []}}, -32602, "<contains:indices>")
    s.fail(15, "dataset/load", {"name": "x", "kind": "npy"}, -32602, "params.images: required for kind \"npy\"")
    s.fail(16, "dataset/load", {"name": "x", "kind": "cifar", "path": "x"}, -32602, "<contains:params.kind>")
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


SESSIONS = [lifecycle, lifecycle_abrupt, models, datasets, predict, errors, transport, concurrency]


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
