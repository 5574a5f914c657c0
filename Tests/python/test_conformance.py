"""Framing and lifecycle conformance, checked with a third-party JSON-RPC implementation.

python-lsp-jsonrpc (the transport of the Python LSP server, from PyPI) reads and writes LSP's
Content-Length framing and matches requests to responses. If advlensd frames or answers
anything differently from the JSON-RPC 2.0 / LSP conventions, these calls fail or time out.
"""
import subprocess
import threading

import pytest
from pylsp_jsonrpc.endpoint import Endpoint
from pylsp_jsonrpc.exceptions import JsonRpcException
from pylsp_jsonrpc.streams import JsonRpcStreamReader, JsonRpcStreamWriter

TIMEOUT = 60


class Session:
    """advlensd over stdio, driven by pylsp_jsonrpc's endpoint."""

    def __init__(self, binary, cwd):
        self.proc = subprocess.Popen([str(binary), "--log-level", "warning"], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.notifications = []
        self.writer = JsonRpcStreamWriter(self.proc.stdin)
        self.reader = JsonRpcStreamReader(self.proc.stdout)
        self.endpoint = Endpoint({"$/progress": self.notifications.append}, self.writer.write)
        self.thread = threading.Thread(target=self.reader.listen, args=(self.endpoint.consume,), daemon=True)
        self.thread.start()

    def call(self, method, params=None):
        return self.endpoint.request(method, params if params is not None else {}).result(timeout=TIMEOUT)

    def notify(self, method, params=None):
        self.endpoint.notify(method, params)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def session(advlensd, repo_root):
    s = Session(advlensd, repo_root)
    yield s
    s.close()


def test_lifecycle_and_methods_through_a_third_party_client(session, repo_root):
    with pytest.raises(JsonRpcException) as before:
        session.call("model/list")
    assert before.value.code == -32002

    init = session.call("initialize", {"processId": None, "clientInfo": {"name": "pylsp-jsonrpc"}, "rootPath": str(repo_root)})
    assert init["serverInfo"]["name"] == "advlensd"
    assert "predict" in init["capabilities"]["methods"]
    session.notify("initialized", {})

    created = session.call("model/create", {"name": "m", "architecture": "mnist-small", "seed": 2})
    assert created["parameters"] > 0 and len(created["fingerprint"]) == 16
    session.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz",
                                  "split": {"testPerClass": 100}})
    result = session.call("predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": list(range(300))},
                                      "topK": 2, "workDoneToken": "tok"})
    assert result["count"] == 300 and len(result["predictions"][0]["top"]) == 2
    kinds = [n["value"]["kind"] for n in session.notifications if n["token"] == "tok"]
    assert kinds[0] == "begin" and kinds[-1] == "end"

    with pytest.raises(JsonRpcException) as bad:
        session.call("model/info", {"name": 3})
    assert bad.value.code == -32602 and "params.name" in bad.value.message
    with pytest.raises(JsonRpcException) as unknown:
        session.call("no/such/method")
    assert unknown.value.code == -32601

    assert session.call("shutdown", None) in ({}, None)
    session.notify("exit")
    assert session.proc.wait(timeout=10) == 0
