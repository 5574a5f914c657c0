"""Arrays to and from the wire's tensors: {"shape", "dtype": "float32", "data": base64 of
little-endian float32, row-major}.

Arrays come in as numpy arrays or PyTorch tensors (torch stays optional: a tensor can only
exist when the user imported torch, so torch is looked up in sys.modules, never imported here).
A request that sent a torch tensor gets its result's arrays back as torch tensors."""
import base64
import sys

import numpy as np


def torch_module():
    """The torch module when the user has imported it, else None."""
    return sys.modules.get("torch")


def is_torch(value):
    torch = torch_module()
    return torch is not None and isinstance(value, torch.Tensor)


def to_numpy(value):
    """A numpy array of a numpy array or a torch tensor (detached, moved to the CPU; float
    dtypes numpy lacks, such as bfloat16, as float32); other values unchanged."""
    if is_torch(value):
        tensor = value.detach().cpu()
        if tensor.is_floating_point() and tensor.dtype not in (torch_module().float16, torch_module().float32,
                                                                 torch_module().float64):
            tensor = tensor.float()
        return tensor.numpy()
    return value


def is_integer_array(value):
    """A numpy array or torch tensor of integers or booleans: labels, indices, classes."""
    value = to_numpy(value)
    return isinstance(value, np.ndarray) and (np.issubdtype(value.dtype, np.integer) or value.dtype == np.bool_)


def is_array(value):
    return isinstance(value, np.ndarray) or is_torch(value)


def encode_tensor(array):
    x = np.ascontiguousarray(np.asarray(to_numpy(array), dtype="<f4"))
    if x.ndim == 0:
        x = x.reshape(1)
    return {"shape": list(x.shape), "dtype": "float32", "data": base64.b64encode(x.tobytes()).decode("ascii")}


def is_wire_tensor(value):
    return (isinstance(value, dict) and value.get("dtype") == "float32"
            and isinstance(value.get("shape"), list) and isinstance(value.get("data"), str))


def decode_tensor(value):
    raw = base64.b64decode(value["data"])
    return np.frombuffer(raw, dtype="<f4").reshape(value["shape"]).astype(np.float32)


def to_torch(value):
    """Every numpy array inside `value` (dicts, lists, tuples) as a torch tensor sharing its memory."""
    torch = torch_module()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, dict):
        for key in list(value.keys()):
            value[key] = to_torch(value[key])
        return value
    if isinstance(value, list):
        return [to_torch(v) for v in value]
    return value


def contains_torch(value):
    if is_torch(value):
        return True
    if isinstance(value, dict):
        return any(contains_torch(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_torch(v) for v in value)
    return False


def numpy_tree(value):
    """A copy of `value` (dicts, lists) with every torch tensor as a numpy array."""
    if is_torch(value):
        return to_numpy(value)
    if isinstance(value, dict):
        return {k: numpy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numpy_tree(v) for v in value]
    return value
