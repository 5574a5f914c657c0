"""numpy arrays to and from the wire's tensors: {"shape", "dtype": "float32", "data": base64 of
little-endian float32, row-major}."""
import base64

import numpy as np


def encode_tensor(array):
    x = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    if x.ndim == 0:
        x = x.reshape(1)
    return {"shape": list(x.shape), "dtype": "float32", "data": base64.b64encode(x.tobytes()).decode("ascii")}


def is_wire_tensor(value):
    return (isinstance(value, dict) and value.get("dtype") == "float32"
            and isinstance(value.get("shape"), list) and isinstance(value.get("data"), str))


def decode_tensor(value):
    raw = base64.b64decode(value["data"])
    return np.frombuffer(raw, dtype="<f4").reshape(value["shape"]).astype(np.float32)
