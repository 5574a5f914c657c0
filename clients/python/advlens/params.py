"""Python keyword arguments to wire params: snake_case keys to camelCase, numpy arrays and torch
tensors to wire tensors (integer arrays, such as labels, to lists of integers), handles / paths /
PNG bytes to input sources; and wire results back (tensors to numpy, handle names to Handle
objects)."""
import base64
import os
import pathlib

import numpy as np

from .handles import Handle
from .tensors import decode_tensor, encode_tensor, is_array, is_integer_array, is_wire_tensor, to_numpy

# Params whose value is an input source (or a list of them).
INPUT_KEYS = {"inputs", "input", "compareWith"}


def camel(key):
    key = key.rstrip("_")  # return_ -> return
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name):
    out = []
    for ch in name.replace("/", "_").replace("$", ""):
        if ch.isupper():
            out.append("_" + ch.lower())
        else:
            out.append(ch)
    return "".join(out).strip("_")


def as_source(value):
    if isinstance(value, Handle):
        return value.as_input()
    if is_array(value):
        return encode_tensor(value)
    if isinstance(value, (bytes, bytearray)):
        return {"png": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (str, pathlib.PurePath)):
        return {"path": os.path.expanduser(os.fspath(value))}
    if isinstance(value, dict):
        return to_wire(value)
    raise TypeError(f"cannot send {type(value).__name__} as an input")


def to_wire(value, key=None):
    if key in INPUT_KEYS:
        if isinstance(value, (list, tuple)):
            return [as_source(v) for v in value]
        return as_source(value)
    if isinstance(value, dict):
        return {camel(k) if "_" in k else k: to_wire(v, camel(k)) for k, v in value.items() if v is not None}
    if isinstance(value, Handle):
        return str(value)
    if is_array(value):
        array = to_numpy(value)
        if array.ndim == 0:
            return array.item()
        # Labels, indices, classes: the protocol's integer arrays, never a float tensor.
        return array.tolist() if is_integer_array(array) else encode_tensor(array)
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pathlib.PurePath):
        return str(value)
    return value


def from_wire(value, client=None, key=None):
    if is_wire_tensor(value):
        return decode_tensor(value)
    if isinstance(value, dict):
        return {k: from_wire(v, client, k) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v, client) for v in value]
    if key == "handle" and isinstance(value, str):
        return Handle(value, client)
    return value


def dataset(name, indices=None, sample=None, seed=None, stratified=None):
    """An input source naming images of a loaded dataset: all, `indices`, or a seeded `sample`
    of N of them (of `indices` when given; `stratified=True` deals round-robin over the classes,
    so N >= classes covers every class), drawn by the daemon the same way everywhere."""
    source = {"dataset": name}
    if indices is not None:
        source["indices"] = [int(i) for i in indices]
    if sample is not None:
        source["sample"] = int(sample)
        if seed is not None:
            source["seed"] = int(seed)
        if stratified is not None:
            source["stratified"] = bool(stratified)
    elif seed is not None or stratified is not None:
        raise ValueError("seed and stratified describe a sample: pass sample=N")
    return source
