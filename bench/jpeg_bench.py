#!/usr/bin/env python3
"""Decoding JPEG folders (issue 16's benchmark row): images/s of AdvLens's `imagefolder` load
(stb_image decoding, resize of the shorter side to 256, centre crop 224 x 224, floats in
[0, 1]) beside Pillow + numpy doing the same in this process, interleaved in one run.

The data: --count JPEGs of 500 x 375 (ImageNet's most common size; smooth colour fields plus
noise, quality 90; --unique of them written once with Pillow, the rest hard links to those)
in out/bench/jpeg/part<k>/c<j>/, in --parts parts (each part is loaded as one dataset, so the daemon holds one part's 602 KB per image,
not the whole set's).

Per part, in turns (AdvLens, then Pillow, parts alternating which goes first):
- AdvLens: `dataset/load` of the part (kind imagefolder, shape [3, 224, 224], resize 256),
  which reads and decodes every file; its wall time, and the daemon's CPU time
  (/proc/<pid>/stat utime + stime) over the load.
- Pillow: `Image.open(f).convert("RGB")`, `resize((w, h), Image.BILINEAR)` to the shorter
  side 256, the centre 224 x 224 cut with numpy, `/ 255` as float32, transposed to
  [3, 224, 224] into one preallocated array; wall and CPU time (time.process_time). Pillow's
  BILINEAR downscale filters over the scale (antialiasing), more arithmetic than AdvLens's
  two-tap bilinear (PyTorch's antialias=False) — the usual torchvision pipeline all the same.

Rows (JSON lines, the same names for "impl": "advlens" and "pillow", so bench/compare.py
puts them side by side with their ratio; target >= 1.0): jpeg_decode_images_per_s (wall),
jpeg_decode_cpu_ms_per_image (CPU time, what a loaded machine measures fairly). Both decode
on one thread (an in-memory load decodes its files in order), so the two ratios say the same
thing when the machine is idle. AdvLens rows go to --advlens-out, Pillow's to --reference-out
(appended), else both to stdout; the ratios go to stderr.

Usage: python3 bench/jpeg_bench.py [--advlensd .build/release/advlensd] [--count 10000] [--parts 10] [--unique 1000]
       [--advlens-out FILE --reference-out FILE]
Needs Pillow (`make bench` installs it into .venv; `make test` never needs it).
"""
import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_bench import ROOT, Daemon  # noqa: E402

WIDTH, HEIGHT, RESIZE, CROP = 500, 375, 256, 224


def generate(root, count, parts, unique):
    """count JPEGs in root/part<k>/c<j>/, once (a marker file records the layout): `unique`
    pictures written with Pillow, the others hard links to them (writing 10,000 JPEGs takes
    longer than the benchmark on a loaded machine; decoding a link costs what decoding any
    file does)."""
    marker = root / f"jpeg-{count}-{parts}-{unique}.done"
    if marker.exists():
        return
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH] / WIDTH
    written = []
    for i in range(count):
        k, j = i % parts, (i // parts) % 10
        folder = root / f"part{k}" / f"c{j}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{i:06d}.jpg"
        if path.exists():
            path.unlink()
        if i < unique:
            a, b = rng.uniform(1, 6, 2)
            base = np.stack([np.sin(a * xx + j), np.cos(b * yy - j), xx * yy * a], axis=-1) * 90 + 128
            picture = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
            Image.fromarray(picture).save(path, quality=90)
            written.append(path)
        else:
            os.link(written[i % unique], path)
    marker.write_text(f"{count} {parts} {unique}")


def pillow(files):
    """The files through Pillow + numpy: shorter side to RESIZE, centre CROP, floats [3, CROP, CROP]."""
    out = np.empty((len(files), 3, CROP, CROP), dtype=np.float32)
    for i, f in enumerate(files):
        with Image.open(f) as im:
            im = im.convert("RGB")
            w, h = im.size
            size = (RESIZE, h * RESIZE // w) if w <= h else (w * RESIZE // h, RESIZE)
            im = im.resize(size, Image.BILINEAR)
        a = np.asarray(im)
        top, left = (a.shape[0] - CROP) // 2, (a.shape[1] - CROP) // 2
        out[i] = (a[top:top + CROP, left:left + CROP].astype(np.float32) / np.float32(255)).transpose(2, 0, 1)
    return out


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advlensd", default=str(ROOT / ".build/release/advlensd"))
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--parts", type=int, default=10)
    ap.add_argument("--unique", type=int, default=1000)
    ap.add_argument("--data", default=str(ROOT / "out/bench/jpeg"))
    ap.add_argument("--advlens-out")
    ap.add_argument("--reference-out")
    args = ap.parse_args()
    root = pathlib.Path(args.data)
    root.mkdir(parents=True, exist_ok=True)
    generate(root, args.count, args.parts, min(args.count, args.unique))

    d = Daemon(args.advlensd)
    d.call("initialize", {"rootPath": str(root)})
    totals = {"advlens": [0, 0.0, 0.0], "pillow": [0, 0.0, 0.0]}   # images, wall s, CPU s

    def advlens(part):
        t, c = time.perf_counter(), cpu_seconds(d.proc.pid)
        r = d.call("dataset/load", {"name": "j", "kind": "imagefolder", "path": part, "shape": [3, CROP, CROP], "resize": RESIZE})
        n = r["datasets"][0]["count"]
        totals["advlens"][0] += n
        totals["advlens"][1] += time.perf_counter() - t
        totals["advlens"][2] += cpu_seconds(d.proc.pid) - c

    def reference(part):
        files = sorted((root / part).glob("c*/*.jpg"))
        t, c = time.perf_counter(), time.process_time()
        pillow(files)
        totals["pillow"][0] += len(files)
        totals["pillow"][1] += time.perf_counter() - t
        totals["pillow"][2] += time.process_time() - c

    for k in range(args.parts):
        first, second = (advlens, reference) if k % 2 == 0 else (reference, advlens)
        first(f"part{k}")
        second(f"part{k}")
    d.close()

    rate = {impl: n / wall for impl, (n, wall, _) in totals.items()}
    cpu = {impl: 1000 * c / n for impl, (n, _, c) in totals.items()}
    outputs = {"advlens": open(args.advlens_out, "a") if args.advlens_out else sys.stdout,
               "pillow": open(args.reference_out, "a") if args.reference_out else sys.stdout}
    print(json.dumps({"impl": "advlens", "row": "info", "jpeg": {"count": totals["advlens"][0], "parts": args.parts,
                      "source": f"{WIDTH}x{HEIGHT}", "resize": RESIZE, "crop": CROP}}), file=outputs["advlens"], flush=True)
    for impl in ("advlens", "pillow"):
        print(json.dumps({"impl": impl, "row": "jpeg_decode_images_per_s", "value": round(rate[impl], 1), "unit": "images/s"}),
              file=outputs[impl], flush=True)
        print(json.dumps({"impl": impl, "row": "jpeg_decode_cpu_ms_per_image", "value": round(cpu[impl], 3), "unit": "ms"}),
              file=outputs[impl], flush=True)
    print(f"jpeg_bench: {totals['advlens'][0]} JPEGs, AdvLens {rate['advlens']:.1f} images/s ({cpu['advlens']:.2f} ms CPU each), "
          f"Pillow {rate['pillow']:.1f} images/s ({cpu['pillow']:.2f} ms CPU each): {rate['advlens'] / rate['pillow']:.2f}x wall, "
          f"{cpu['pillow'] / cpu['advlens']:.2f}x CPU", file=sys.stderr)


if __name__ == "__main__":
    main()
