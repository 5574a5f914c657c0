"""Errors the daemon answers, as Python exceptions that keep the JSON-RPC code, message and data."""


class AdvLensError(Exception):
    """A JSON-RPC error reply: `code`, `message` and `data` (decoded: tensors as numpy arrays)."""

    def __init__(self, code, message, data=None, method=None):
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data
        self.method = method


class RequestCancelled(AdvLensError):
    """-32800: the request was cancelled. `data` holds the partial result when the method has one
    (a cancelled attack answers its result so far, with summary.stoppedEarly true)."""


class ConnectionClosed(AdvLensError):
    """The daemon went away (process exited or socket closed) before answering."""

    def __init__(self, message):
        super().__init__(-32099, message)


CODES = {
    -32700: "parse error",
    -32600: "invalid request",
    -32601: "method not found",
    -32602: "invalid params",
    -32603: "internal error",
    -32002: "server not initialized",
    -32800: "request cancelled",
    -32001: "not found",
    -32010: "shape mismatch",
    -32011: "resource limit",
    -32012: "I/O error",
    -32013: "path outside root",
}


def error_from_reply(error, method=None, decode=lambda d: d):
    code = error.get("code", -32603)
    cls = RequestCancelled if code == -32800 else AdvLensError
    data = error.get("data")
    return cls(code, error.get("message", CODES.get(code, "error")), decode(data) if data is not None else None, method)
