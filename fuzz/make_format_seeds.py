#!/usr/bin/env python3
"""Writes the seed corpus of the formats fuzzer (fuzz/FormatsFuzz.swift) into a directory:
one small valid file per format, prefixed with the byte that selects the format, so libFuzzer
starts from inputs that get past every header. Standard library only (run by fuzz/run.sh)."""
import gzip
import io
import json
import pathlib
import struct
import sys
import zipfile
import zlib

FORMATS = ["safetensors", "spec", "npy", "npyLabels", "csv", "gzip", "idx", "image", "npz", "cifar", "imageTransform", "imagenetVal", "onnx"]
ROOT = pathlib.Path(__file__).resolve().parent.parent


def safetensors(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def npy(descr, shape, data, version=1):
    shape_text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    size_bytes = 2 if version == 1 else 4
    pad = -(10 + (size_bytes - 2) + len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode("latin1")
    length = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header + data


def png(width, height, channels, pixels):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    colour = {1: 0, 3: 2}[channels]
    rows = b"".join(b"\x00" + pixels[y * width * channels:(y + 1) * width * channels] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def seeds():
    yield "safetensors", "two", safetensors({
        "a.weight": ("F32", [2, 2], struct.pack("<4f", 1, -2, 0.5, 3)),
        "a.num_batches_tracked": ("I64", [], struct.pack("<q", 7)),
        "h": ("F16", [3], struct.pack("<3e", 1, 2, -0.5))}, {"format": "pt"})
    tiny = {"name": "tiny", "input": {"shape": [1, 4, 4], "range": [0, 1], "mean": [0.5], "std": [0.25]},
            "classes": ["a", "b", "c"], "layers": [
                {"type": "conv2d", "name": "conv", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1},
                {"type": "batchnorm2d", "name": "bn", "num_features": 2},
                {"type": "relu", "name": "relu"},
                {"type": "residual", "name": "res", "body": [
                    {"type": "conv2d", "name": "c", "in_channels": 2, "out_channels": 2, "kernel_size": [3, 1], "padding": [1, 0]}]},
                {"type": "maxpool2d", "name": "pool", "kernel_size": 2},
                {"type": "dropout", "name": "drop", "p": 0.1},
                {"type": "flatten", "name": "flat"},
                {"type": "linear", "name": "fc", "in_features": 8, "out_features": 3, "bias": False}]}
    yield "spec", "tiny", json.dumps(tiny).encode()
    yield "spec", "mnist-small", (ROOT / "Tests/AttacksTests/Fixtures/mnist-small/model.json").read_bytes()
    yield "npy", "f4", npy("<f4", [2, 3], struct.pack("<6f", *range(6)))
    yield "npy", "u1-v2", npy("|u1", [1, 2, 2], bytes([0, 128, 255, 3]), version=2)
    yield "npy", "f8-big-endian", npy(">f8", [2], struct.pack(">2d", 0.25, -1))
    yield "npyLabels", "i8", npy("<i8", [4], struct.pack("<4q", 0, 1, 2, 9))
    yield "npyLabels", "u1", npy("|u1", [3], bytes([1, 2, 3]))
    csv = b"0,255,3,4,1\n5,6,7,8,2\n"
    yield "csv", "rows", csv
    yield "csv", "header", b"p0,p1,p2,p3,label\n" + csv
    yield "gzip", "rows", gzip.compress(csv, mtime=0)
    images = struct.pack(">IIII", 0x803, 2, 2, 2) + bytes(range(8))
    labels = struct.pack(">II", 0x801, 2) + bytes([3, 4])
    yield "idx", "two", bytes([len(images) // 4]) + images + labels
    yield "image", "digit-7-28x28-grey", bytes([27]) + (ROOT / "clients/testdata/digit-7.png").read_bytes()
    yield "image", "2x2-rgb", bytes([1 | 0x20]) + png(2, 2, 3, bytes(range(12)))
    yield "image", "3x3-grey", bytes([2]) + png(3, 3, 1, bytes(range(0, 255, 28)))
    images = npy("|u1", [2, 1, 2, 2], bytes(range(8)))
    labels_npy = npy("<i8", [2], struct.pack("<2q", 0, 1))
    for method, name in ((zipfile.ZIP_STORED, "stored"), (zipfile.ZIP_DEFLATED, "deflated")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", method) as z:
            z.writestr("images.npy", images)
            z.writestr("labels.npy", labels_npy)
        yield "npz", name, bytes([0]) + buffer.getvalue()
    yield "cifar", "ten", bytes([0]) + bytes([3]) + bytes(range(256)) * 12
    yield "cifar", "hundred-coarse", bytes([3]) + bytes([7, 42]) + bytes(3072)
    yield "imageTransform", "resize-3x3-grey", bytes([2 << 1, 2]) + png(3, 3, 1, bytes(range(0, 255, 28)))
    yield "imageTransform", "crop-2x2-rgb", bytes([1 | 1 << 1, 0]) + png(2, 2, 3, bytes(range(12)))
    classes = b"n01 tench\nn02 goldfish\n"
    yield "imagenetVal", "by-file", bytes([len(classes)]) + classes + b"ILSVRC2012_val_00000001.png n02\n"
    yield "imagenetVal", "in-order", bytes([len(classes) + 1]) + classes + b"\n" + b"1\n"
    for name in ("small_cnn", "mobilenet_block"):
        yield "onnx", name, (ROOT / f"Tests/python/fixtures/onnx/{name}.onnx").read_bytes()


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for fmt, name, body in seeds():
        (out / f"seed-{fmt}-{name}").write_bytes(bytes([FORMATS.index(fmt)]) + body)


if __name__ == "__main__":
    main()
