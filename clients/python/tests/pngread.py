"""Reads the PNGs the daemon writes (8-bit grey or RGB, not interlaced) into numpy arrays, for
tests that look at pictures: zlib and the five PNG row filters, no imaging library."""
import struct
import zlib

import numpy as np


def read_png(path):
    with open(path, "rb") as f:
        return decode_png(f.read())


def decode_png(data):
    """The pixels [H, W, channels] of PNG bytes; chunk checksums checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (0, 2), header
    channels = 1 if colour == 0 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        line = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 0:
                v = row[x]
            elif kind == 1:
                v = row[x] + a
            elif kind == 2:
                v = row[x] + b
            elif kind == 3:
                v = row[x] + (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                v = row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)
            line[x] = v & 0xFF
        out[y] = line
        previous = line
    return out.reshape(height, width, channels).astype(np.uint8)
