#!/usr/bin/env python3
"""Writes the small safetensors fixtures under Tests/SafeTensorsTests/Fixtures/ with the
official `safetensors` package, so the Swift reader and writer are checked against the
reference implementation. Run from anywhere: python3 scripts/make_safetensors_fixture.py

- reference_numpy.safetensors: one tensor per numpy-supported dtype, with edge values.
- reference_f32_i64.safetensors: F32 and I64 tensors plus one metadata key; the Swift
  encoder must reproduce this file byte for byte.
- reference_torch.safetensors (only if torch is importable): BF16, F8_E4M3, F8_E5M2.
"""
import pathlib

import numpy as np
from safetensors.numpy import save_file

out = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "SafeTensorsTests" / "Fixtures"
out.mkdir(parents=True, exist_ok=True)

edge16 = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0**-24, 2.0**-14, np.inf, -np.inf, np.nan], dtype=np.float16)
save_file({
    "f64": np.array([[1.5, -2.25, 1e300], [0.1, -0.0, 3.0]], dtype=np.float64),
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4) / 8,
    "f16": edge16,
    "i64": np.array([0, -1, 2**40, 7], dtype=np.int64),
    "i32": np.array([-(2**31), 2**31 - 1, 5], dtype=np.int32),
    "i16": np.array([-32768, 32767], dtype=np.int16),
    "i8": np.array([-128, 127], dtype=np.int8),
    "u64": np.array([0, 123456789], dtype=np.uint64),
    "u32": np.array([4294967295], dtype=np.uint32),
    "u16": np.array([65535, 1], dtype=np.uint16),
    "u8": np.array([[0, 255], [17, 1]], dtype=np.uint8),
    "bool": np.array([True, False, True], dtype=np.bool_),
    "scalar": np.array(3.5, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
}, str(out / "reference_numpy.safetensors"), metadata={"format": "np", "note": "edge values"})

save_file({
    "conv.weight": (np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) - 11.5) / 3,
    "conv.bias": np.array([0.25, -0.75], dtype=np.float32),
    "bn.num_batches_tracked": np.array(1234, dtype=np.int64),
    "bn.running_mean": np.array([1e-8, 3e8], dtype=np.float32),
}, str(out / "reference_f32_i64.safetensors"), metadata={"format": "pt"})

try:
    import torch
    from safetensors.torch import save_file as save_torch
except ImportError:
    print("torch not importable: skipped reference_torch.safetensors")
else:
    vals = torch.tensor([0.0, -1.0, 3.140625, 1e-40, 3e38, float("inf"), float("-inf"), float("nan")])
    tensors = {"bf16": vals.to(torch.bfloat16)}
    small = torch.tensor([0.0, -1.5, 448.0, 2.0**-9, 0.1, float("nan")])
    if hasattr(torch, "float8_e4m3fn"):
        tensors["f8_e4m3"] = small.to(torch.float8_e4m3fn)
        tensors["f8_e5m2"] = torch.tensor([0.0, -1.5, 57344.0, 2.0**-16, float("inf")]).to(torch.float8_e5m2)
    save_torch(tensors, str(out / "reference_torch.safetensors"))

for p in sorted(out.glob("*.safetensors")):
    print(f"wrote {p.relative_to(out.parent.parent.parent)} ({p.stat().st_size} bytes)")
