"""The AdvLens client: one method per protocol method, keyword arguments in, decoded results out."""
import itertools
import os
import threading
import time

from . import daemon as daemon_paths
from .errors import AdvLensError, ConnectionClosed, RequestCancelled, error_from_reply
from .handles import Handle
from .params import camel, from_wire, snake, to_wire
from .progress import ProgressSink
from .results import result_class
from .tensors import contains_torch, to_torch
from .transport import connect_socket, spawn_stdio

# The protocol methods the client knows; `initialize` adds any other the daemon lists. Each
# becomes a method named by snake_case (model/create -> model_create, explainPrediction ->
# explain_prediction). The data, not code, is what grows when the daemon grows.
KNOWN_METHODS = [
    "shutdown",
    "model/create", "model/load", "model/save", "model/list", "model/info", "model/unload",
    "dataset/load", "dataset/list", "dataset/info",
    "predict", "attack", "handle/list", "handle/drop", "handle/create",
    "probe", "explainPrediction", "trainStep", "evaluate", "evaluate/checks", "cache/stats", "cache/clear",
]
# Methods that report progress through a workDoneToken when asked.
PROGRESS_METHODS = {"predict", "attack", "probe", "explainPrediction", "trainStep", "evaluate"}
# A single positional argument fills the param naming what the method acts on.
POSITIONAL = {"model/create": "name", "model/load": "name", "model/save": "name", "model/info": "name",
              "model/unload": "name", "dataset/load": "name", "dataset/info": "name", "handle/drop": "handle",
              "trainStep": "model", "evaluate": "model"}


class _Pending:
    def __init__(self, method):
        self.method = method
        self.event = threading.Event()
        self.reply = None


class Client:
    """A session with one advlensd.

    `Client()` spawns the daemon over stdio (found from `daemon=`, $ADVLENSD, a `.build/release`
    above the working directory, or PATH); `Client(socket=True)` or `Client(socket=PATH)`
    connects to the shell client's per-user socket daemon, starting it when nothing answers.
    Paths are read and written where they point, relative ones against this process's working
    directory; `root=DIR` confines them to DIR (for a shared daemon).
    Use it as a context manager, or call close()."""

    def __init__(self, daemon=None, socket=None, root=None, cache=None, progress=None, start=True,
                 daemon_args=(), stderr=None, client_name="advlens-python"):
        self._ids = itertools.count(1)
        self._pending = {}
        self._progress = {}
        self._lock = threading.Lock()
        self._closed = False
        self.progress = progress  # None: tqdm when installed; False: none; callable(value): yours
        self.socket_path = None
        if socket:
            path = daemon_paths.default_socket() if socket is True else os.fspath(socket)
            if start and not daemon_paths.socket_answers(path):
                daemon_paths.start_socket_daemon(path, daemon)
            self._transport, self._socket = connect_socket(path, self._receive, self._closed_by_peer, timeout=10)
            self.socket_path = path
        else:
            args = list(daemon_args)
            self._transport = spawn_stdio(daemon_paths.find_daemon(daemon), args, self._receive,
                                          self._closed_by_peer, stderr=stderr)
        self.process = self._transport.process
        # Paths mean what they mean here: relative ones against this process's working
        # directory. A root confines the daemon to it (for a shared daemon), and is opt-in.
        params = {"clientInfo": {"name": client_name}, "workingDirectory": os.getcwd(),
                  "processId": os.getpid(), "capabilities": {"workDoneProgress": True}}
        if root:
            params["rootPath"] = os.path.abspath(os.path.expanduser(os.fspath(root)))
        if cache:
            # A file, or a directory to hold cache.sqlite; relative to this process's directory.
            params["cachePath"] = os.path.abspath(os.path.expanduser(os.fspath(cache))) + (os.sep if str(cache).endswith(os.sep) else "")
        try:
            self.server = self._request("initialize", params, progress=False)
        except Exception:
            self._transport.close()
            raise
        self.capabilities = self.server["capabilities"]
        self.notify("initialized", {})
        self.methods = list(KNOWN_METHODS)
        for method in self.capabilities.get("methods", []):
            if method not in self.methods and method != "initialize":
                self.methods.append(method)

    # ---- messages

    def _receive(self, message):
        if "method" in message:
            if message["method"] == "$/progress":
                params = message.get("params", {})
                sink = self._progress.get(params.get("token"))
                if sink is not None:
                    sink(params.get("value", {}))
            return
        with self._lock:
            pending = self._pending.pop(message.get("id"), None)
        if pending is not None:
            pending.reply = message
            pending.event.set()

    def _closed_by_peer(self):
        self._closed = True
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for p in pending:
            p.reply = {"error": {"code": -32099, "message": "connection to advlensd closed"}}
            p.event.set()

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._transport.send(message)

    def cancel(self, request_id):
        self.notify("$/cancelRequest", {"id": request_id})

    def _request(self, method, params, progress=None, as_torch=False):
        if self._closed:
            raise ConnectionClosed("connection to advlensd closed")
        request_id = next(self._ids)
        pending = _Pending(method)
        sink = None
        want = self.progress if progress is None else progress
        if want is not False and method in PROGRESS_METHODS and "workDoneToken" not in params:
            sink = ProgressSink(want)
            token = f"py-{request_id}"
            params = dict(params, workDoneToken=token)
            self._progress[token] = sink
        with self._lock:
            self._pending[request_id] = pending
        self._transport.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            self._wait(pending, request_id, sink)
        finally:
            if sink is not None:
                self._progress.pop(params["workDoneToken"], None)
                sink.close()
        reply = pending.reply
        if "error" in reply:
            if reply["error"].get("code") == -32099:
                raise ConnectionClosed(reply["error"]["message"])
            raise error_from_reply(reply["error"], method, lambda d: self._decode(method, d, as_torch))
        return reply.get("result")

    def _wait(self, pending, request_id, sink=None):
        """Wait in short slices so Ctrl-C reaches us, showing progress between them (on this
        thread: a notebook's output lands in the running cell); on Ctrl-C ask the daemon to
        cancel and wait for its answer (the partial result); a second Ctrl-C stops waiting."""
        def wait():
            while not pending.event.wait(0.05):
                if sink is not None:
                    sink.drain()
        try:
            wait()
        except KeyboardInterrupt:
            self.cancel(request_id)
            try:
                wait()
            except KeyboardInterrupt:
                with self._lock:
                    self._pending.pop(request_id, None)
                raise

    def _decode(self, method, value, as_torch=False):
        decoded = from_wire(value, self)
        if as_torch:
            decoded = to_torch(decoded)
        return result_class(method)(decoded, self) if isinstance(decoded, dict) else decoded

    def call(self, method, params=None, progress=None, **kwargs):
        """Any protocol method by its wire name: `call("model/create", name="m", architecture=...)`.
        Keyword arguments are snake_case or camelCase; numpy arrays and torch tensors become
        tensors (integer arrays lists of integers); handles, paths and PNG bytes in `inputs`
        become input sources. When a torch tensor went in, the result's arrays come back as
        torch tensors (a cancelled request's partial result too)."""
        merged = dict(params or {})
        merged.update(kwargs)
        as_torch = contains_torch(merged)
        return self._decode(method, self._request(method, to_wire(merged), progress, as_torch), as_torch)

    # ---- lifecycle

    def close(self, timeout=10):
        if self._closed:
            return
        try:
            self._request("shutdown", {}, progress=False)
            self.notify("exit")
        except (AdvLensError, OSError):
            pass
        self._transport.close(timeout)
        self._closed = True
        if self.process is not None:
            try:
                self.process.wait(timeout)
            except Exception:
                self.process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getattr__(self, name):
        # A method the daemon lists that KNOWN_METHODS does not (yet) name.
        for method in self.__dict__.get("methods", ()):
            if snake(method) == name:
                return _bound(self, method)
        raise AttributeError(name)

    # ---- first-class commands

    def from_torch(self, module, example_input, path, name=None, **params):
        """A PyTorch nn.Module exported to ONNX at `path` and loaded here (advlens.from_torch)."""
        from .torch_export import from_torch
        return from_torch(module, example_input, path, self, name=name, **params)

    def predict(self, model, inputs, progress=None, **params):
        """Class probabilities of `model` for `inputs` (array [N,C,H,W] or [C,H,W], Handle, path,
        PNG bytes, dataset(...) reference, or a list of these)."""
        return self.call("predict", dict(params, model=model, inputs=inputs), progress)

    def attack(self, model=None, method="pgd", inputs=None, progress=None, images=True, **params):
        """Adversarial examples; the result's handle is a Handle. `model` is a name or a dict
        {name: weight} / list of names for an ensemble. With `images` (default) the adversarial
        images and perturbations come back as arrays, for display."""
        return self.call("attack", dict(attack_params(model, images, params), method=method, inputs=inputs), progress)

    def probe(self, model, layer, kind="topActivations", dataset=None, adversarial=None, progress=None, **params):
        """What the units of one layer respond to (protocol/probe.md). `dataset` is a
        dataset name or advlens.dataset(name, indices); `adversarial` a Handle (or
        handle.select(...)) or {"attack": {...attack params}}. Activation tables come back as
        numpy arrays (the daemon sends them as base64 float32, arrayEncoding "base64": about four
        times smaller than rows of numbers and no number formatting on either side); pass
        array_encoding="json" for nested lists."""
        params.setdefault("array_encoding", "base64")
        if isinstance(dataset, str):
            dataset = {"name": dataset}
        elif isinstance(dataset, dict) and "dataset" in dataset:
            dataset = {"name": dataset["dataset"], **{k: dataset[k] for k in ("indices", "sample", "seed", "stratified") if k in dataset}}
        if isinstance(adversarial, Handle):
            adversarial = adversarial.as_input()
        return self.call("probe", dict(params, model=model, layer=layer, kind=kind, dataset=dataset,
                                       adversarial=adversarial), progress)

    def evaluate(self, model, dataset=None, attack=None, attacks=None, epsilons=None, progress=None, **params):
        """Clean accuracy of `model` on a dataset (a name) or `inputs=` with labels, and with
        `attack` (one) or `attacks` (a list) the worst case over them: an image is robust only
        when every attack fails on it; by default each attack runs only on the images still
        robust after the ones before it (`independent=True`: on every image). Each attack is a
        method name ("pgd") or a dict of the attack method's parameters ({"method": "pgd",
        "steps": 40}). `epsilons` makes a robustness curve, every attack's epsilon set to each in
        turn; values may be fractions ("8/255" or fractions.Fraction). The result's `curve`
        has a point per epsilon and `checks` lists signs of gradient masking (protocol/training.md)."""
        return self.call("evaluate", dict(evaluate_params(attack, attacks, epsilons, params), model=model, dataset=dataset), progress)

    def explain_prediction(self, model, input=None, progress=None, **params):
        """Why `model` predicts what it does on one input: top neurons, maps. `inputs=` (several
        images: an array [N, C, H, W], a Handle, a dataset(...) reference, a list) explains each
        in one request, like Captum's attribute(x_batch, target=...): `classes=` gives each
        one's class; the result's `explanations` hold one explanation per image."""
        return self.call("explainPrediction", dict(params, model=model, input=input), progress)

    explain = explain_prediction


def attack_params(model, images, params):
    """`attack`'s params: the model (a name, {name: weight} or a list for an ensemble) and,
    with `images`, the adversarial images and perturbations asked for."""
    params = dict(params)
    if isinstance(model, dict):
        params["models"] = [{"name": n, "weight": w} for n, w in model.items()]
    elif isinstance(model, (list, tuple)):
        params["models"] = [m if isinstance(m, dict) else {"name": m} for m in model]
    elif model is not None:
        params["model"] = model
    if images:
        ret = dict(params.pop("return_", None) or params.pop("return", None) or {})
        ret.setdefault("images", True)
        ret.setdefault("perturbations", True)
        params["return"] = ret
    return params


def evaluate_params(attack, attacks, epsilons, params):
    """`evaluate`'s params with its attacks (names or dicts) and epsilons (numbers or fractions)."""
    params = dict(params)
    if attack is not None:
        params["attack"] = _attack_params(attack)
    if attacks is not None:
        params["attacks"] = [_attack_params(a) for a in attacks]
    if epsilons is not None:
        params["epsilons"] = [_epsilon(e) for e in epsilons]
    return params


def _attack_params(attack):
    """An attack for evaluate: a method name, or a dict of the attack method's parameters."""
    if isinstance(attack, str):
        return {"method": attack}
    if isinstance(attack, dict):
        return dict(attack)
    raise TypeError(f"an attack is a method name or a dict of its parameters, not {type(attack).__name__}")


def _epsilon(value):
    """A number, a fractions.Fraction, or a string such as "8/255"."""
    if isinstance(value, str):
        num, sep, den = value.partition("/")
        try:
            return float(num) / float(den) if sep else float(num)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"epsilons: expected a number or a fraction such as 8/255, got {value!r}") from None
    return float(value)


def _bound(client, method):
    def invoke(*args, progress=None, **kwargs):
        if args:
            if len(args) != 1 or method not in POSITIONAL:
                raise TypeError(f"{snake(method)} takes keyword arguments")
            kwargs[POSITIONAL[method]] = args[0]
        return client.call(method, kwargs, progress)
    invoke.__name__ = snake(method)
    invoke.__doc__ = f"The `{method}` request; keyword arguments are its params (protocol/README.md)."
    return invoke


def _install(method):
    name = snake(method)
    if hasattr(Client, name):
        return

    def invoke(self, *args, progress=None, **kwargs):
        return _bound(self, method)(*args, progress=progress, **kwargs)
    invoke.__name__ = name
    invoke.__doc__ = f"The `{method}` request; keyword arguments are its params (protocol/README.md)."
    setattr(Client, name, invoke)


for _method in KNOWN_METHODS:
    _install(_method)
