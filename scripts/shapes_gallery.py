#!/usr/bin/env python3
"""Makes docs/img/shapes-gallery.png: the first 27 images of the shapes set (seed 0), three
of each class, one class per column, at twice their size.

The images come from the project itself: `advlens-train --arch shapes-cnn --epochs 0
--save-data DIR` writes the generated set as .npy; this script only lays them out. Needs numpy
and Pillow (not used by `make test`). Run from the repository root after `make build`:

    python3 scripts/shapes_gallery.py [--train .build/release/advlens-train] [--out docs/img/shapes-gallery.png]
"""
import argparse
import pathlib
import subprocess
import tempfile

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ["car", "bus", "boat", "house", "tower", "face", "robot", "tree", "flower"]
ROWS, SCALE, GAP, HEADER = 3, 2, 4, 14


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default=".build/release/advlens-train")
    ap.add_argument("--out", default="docs/img/shapes-gallery.png")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.train, "--arch", "shapes-cnn", "--epochs", "0", "--train-count", str(ROWS * len(CLASSES)),
                        "--test-count", "1", "--data-seed", "0", "--save-data", tmp], check=True, stdout=subprocess.DEVNULL)
        images = np.load(pathlib.Path(tmp) / "train-images.npy")
        labels = np.load(pathlib.Path(tmp) / "train-labels.npy")
    side = 64 * SCALE
    width = len(CLASSES) * (side + GAP) - GAP
    height = HEADER + ROWS * (side + GAP) - GAP
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (image, label) in enumerate(zip(images, labels)):
        row, col = divmod(i, len(CLASSES))
        assert CLASSES[label] == CLASSES[col], "image i has class i % 9"
        tile = Image.fromarray((image.transpose(1, 2, 0) * 255).round().astype(np.uint8)).resize((side, side), Image.NEAREST)
        sheet.paste(tile, (col * (side + GAP), HEADER + row * (side + GAP)))
        if row == 0:
            draw.text((col * (side + GAP) + 2, 1), CLASSES[label], fill="black")
    # An adaptive 96-colour palette keeps the file small; the noisy backgrounds dominate its size.
    sheet.quantize(colors=96, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print("wrote", args.out, pathlib.Path(args.out).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
