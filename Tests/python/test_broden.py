"""dataset/load kind "broden" and probe kind "dissect" on it, through the real daemon and the
Python client, on a concept set written here in Broden's layout (index.csv, label.csv, images/
with label-map PNGs) whose concepts are known by construction.

Each image is grey with coloured 8 x 8 blocks (red, green, blue) on an 8-pixel lattice. A
hand-weighted model's 1x1 convolution gives unit k = 2 x_k - (r + g + b), so after its ReLU
unit k is positive exactly on blocks of colour k; a 4 x 4 max-pool makes the dissected layer an
8 x 8 grid under the 16 x 16 masks. Every concept's mask is written through another of Broden's
encodings (a red + 256 green label map, two part maps in one cell, a binary mask `N=file`, a
whole-image scene label), and the IoU the daemon reports for each unit's best concept is
compared with a reference computed here with numpy from the construction: Network Dissection's
quantile threshold, bilinear upsampling (align_corners=False) and dataset-level IoU."""
import json
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import advlens  # noqa: E402
from advlens.errors import AdvLensError  # noqa: E402
from test_datasets import png, safetensors  # noqa: E402

SIDE, MASK, GRID, IMAGES = 32, 16, 8, 12
QUANTILE = 0.2
# Label numbers: blue's 300 needs the green channel of the label map (300 = 44 + 256 * 1).
LABELS = [(0, "-", ""), (1, "red-c", "color(12)"), (2, "green-c", "color(12)"), (7, "box", "object(12)"),
          (8, "lid", "part(6)"), (9, "handle", "part(6)"), (20, "indoor", "scene(6)"),
          (21, "striped", "object(1);texture(5)"), (300, "blue-c", "color(12)")]


def label_map(numbers):
    """An RGB label map of [H, W] label numbers: red + 256 * green."""
    numbers = np.asarray(numbers, dtype=np.int64)
    return np.stack([numbers % 256, numbers // 256, np.zeros_like(numbers)], axis=-1)


def build(root):
    """Writes the set; returns the images ([N, 3, 32, 32] in [0, 1]) and the masks by concept
    name ([N, 16, 16] booleans)."""
    rng = np.random.default_rng(5)
    images, masks = [], {name: [] for _, name, _ in LABELS[1:]}
    rows = []
    for i in range(IMAGES):
        pixels = np.full((SIDE, SIDE, 3), 128, dtype=np.uint8)
        colour = np.zeros((MASK, MASK), dtype=np.int64)
        cells = rng.choice(16, size=3, replace=False)
        for k, cell in enumerate(cells):
            if (i + k) % 4 == 3:
                continue   # some images lack a colour
            y, x = 8 * (cell // 4), 8 * (cell % 4)
            pixels[y:y + 8, x:x + 8] = 0
            pixels[y:y + 8, x:x + 8, k] = rng.integers(150, 256)
            colour[y // 2:y // 2 + 4, x // 2:x // 2 + 4] = [1, 2, 300][k]
        red, green, blue = colour == 1, colour == 2, colour == 300
        lid = red & (np.arange(MASK)[:, None] % 4 < 2)   # the top half of each red block
        striped = blue & (np.arange(MASK)[None, :] % 4 < 2)   # the left half of each blue block
        scene = bool(red.any()) and i % 2 == 0
        for name, m in [("red-c", red), ("green-c", green), ("blue-c", blue), ("box", colour > 0), ("lid", lid),
                        ("handle", green), ("striped", striped), ("indoor", np.full((MASK, MASK), scene))]:
            masks[name].append(m)
        stem = f"set/img{i:02d}"
        png(root / "images" / f"{stem}.png", pixels)
        png(root / "images" / f"{stem}_color.png", label_map(colour))
        png(root / "images" / f"{stem}_object.png", label_map(np.where(colour > 0, 7, 0)))
        png(root / "images" / f"{stem}_part_a.png", label_map(np.where(lid, 8, 0)))
        png(root / "images" / f"{stem}_part_b.png", label_map(np.where(green, 9, 0)))
        png(root / "images" / f"{stem}_striped.png", np.where(striped, 255, 0).astype(np.uint8))
        rows.append([f"{stem}.png", "train", SIDE, SIDE, MASK, MASK, f"{stem}_color.png", f"{stem}_object.png",
                     f"{stem}_part_a.png;{stem}_part_b.png", "", "20" if scene else "", f"21={stem}_striped.png"])
        images.append(pixels.transpose(2, 0, 1) / 255.0)
    write_csv(root / "index.csv", ["image", "split", "ih", "iw", "sh", "sw", "color", "object", "part", "material", "scene", "texture"], rows)
    write_csv(root / "label.csv", ["number", "name", "category", "frequency", "coverage", "syns"],
              [[n, name, cat, 12, "1.0", ""] for n, name, cat in LABELS])
    return np.array(images), {k: np.array(v) for k, v in masks.items()}


def write_csv(path, header, rows):
    path.write_text("\n".join(",".join(str(v) for v in row) for row in [header] + rows) + "\n")


def model(client, directory, name="colours", side=SIDE):
    """Units 0, 1, 2 fire on red, green, blue pixels; a linear head gives two classes."""
    grid = side // 4
    spec = {"name": name, "input": {"shape": [3, side, side], "range": [0, 1]}, "classes": ["a", "b"],
            "layers": [{"type": "conv2d", "name": "conv", "in_channels": 3, "out_channels": 3, "kernel_size": 1},
                       {"type": "relu", "name": "relu"},
                       {"type": "maxpool2d", "name": "pool", "kernel_size": 4},
                       {"type": "flatten", "name": "flat"},
                       {"type": "linear", "name": "head", "in_features": 3 * grid * grid, "out_features": 2}]}
    (directory / f"{name}.json").write_text(json.dumps(spec))
    head = np.random.default_rng(1).normal(size=(2, 3 * grid * grid)).astype(np.float32)
    safetensors(directory / f"{name}.safetensors", {"conv.weight": (2 * np.eye(3) - 1).reshape(3, 3, 1, 1), "conv.bias": np.zeros(3),
                                                    "head.weight": head, "head.bias": np.zeros(2)})
    client.call("model/load", name=name, spec=f"{name}.json", weights=f"{name}.safetensors")


def pooled(images):
    """The pool layer's maps, [N, 3, side / 4, side / 4], computed here."""
    units = np.maximum(2 * images - images.sum(axis=1, keepdims=True), 0)
    n, _, side, _ = images.shape
    return units.reshape(n, 3, side // 4, 4, side // 4, 4).max(axis=(3, 5))


def upsample(maps, size):
    """Bilinear, align_corners=False, along both axes: [..., g, g] -> [..., size, size]."""
    grid = maps.shape[-1]
    src = np.maximum((np.arange(size) + 0.5) * grid / size - 0.5, 0)
    low = np.minimum(src.astype(int), grid - 1)
    high, weight = np.minimum(low + 1, grid - 1), src - low
    rows = maps[..., low, :] * (1 - weight)[:, None] + maps[..., high, :] * weight[:, None]
    return rows[..., low] * (1 - weight) + rows[..., high] * weight


def reference_iou(images, unit, mask):
    maps = pooled(images)[:, unit]
    threshold = np.quantile(maps.ravel(), 1 - QUANTILE)
    active = upsample(maps, mask.shape[-1]) > threshold
    return (active & mask).sum() / (active | mask).sum()


@pytest.fixture()
def concept_set(advlensd, tmp_path):
    images, masks = build(tmp_path / "broden")
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False) as c:
        model(c, tmp_path)
        yield c, images, masks


def dissect(client, dataset, **params):
    return client.call("probe", model="colours", layer="pool", kind="dissect", dataset={"name": dataset}, quantile=QUANTILE,
                       **params)["dissection"]


def test_every_encoding_gives_each_unit_its_concept_with_the_reference_iou(concept_set):
    client, images, masks = concept_set
    loaded = client.call("dataset/load", name="concepts", kind="broden", path="broden", model="colours")["datasets"][0]
    assert loaded["count"] == IMAGES and loaded["imageShape"] == [3, SIDE, SIDE] and loaded["classes"] == ["none"]
    # label.csv order, label 0 skipped; "striped" under its larger count (texture 5 > object 1).
    assert [(c["name"], c["kind"]) for c in loaded["concepts"]] == [
        ("red-c", "color"), ("green-c", "color"), ("box", "object"), ("lid", "part"), ("handle", "part"),
        ("indoor", "scene"), ("striped", "texture"), ("blue-c", "color")]
    report = dissect(client, "concepts")["real"]
    for unit, name in enumerate(["red-c", "green-c", "blue-c"]):
        row = report["units"][unit]
        assert (row["label"], row["conceptKind"], row["detector"]) == (name, "color", True), row
        assert row["iou"] == pytest.approx(reference_iou(images, unit, masks[name]), abs=1e-6)
        assert row["iou"] > 0.4
    assert report["byKind"] == [{"kind": "color", "detectors": 3, "uniqueConcepts": 3}]

    # One category at a time: each encoding alone gives the unit built for its regions.
    for category, expected in [("part", {0: "lid", 1: "handle"}), ("texture", {2: "striped"}),
                               ("scene", {0: "indoor"}), ("object", {0: "box", 1: "box", 2: "box"})]:
        client.call("dataset/load", name=category, kind="broden", path="broden", model="colours", categories=[category])
        units = dissect(client, category)["real"]["units"]
        for unit, name in expected.items():
            assert units[unit]["label"] == name and units[unit]["conceptKind"] == category, (category, units[unit])
            assert units[unit]["iou"] == pytest.approx(reference_iou(images, unit, masks[name]), abs=1e-6), (category, unit)


def test_a_centre_crop_takes_the_masks_under_it(concept_set, tmp_path):
    """A 24 x 24 model: the images are cropped at 4 pixels from the top and left, and the masks'
    grid is 12 x 12 (24 * 16 / 32), mask pixel (y, x) reading the map at (y + 2, x + 2)."""
    client, images, masks = concept_set
    model(client, tmp_path, name="crop", side=24)
    loaded = client.call("dataset/load", name="cropped", kind="broden", path="broden", model="crop")["datasets"][0]
    assert loaded["imageShape"] == [3, 24, 24]
    units = client.call("probe", model="crop", layer="pool", kind="dissect", dataset={"name": "cropped"},
                        quantile=QUANTILE)["dissection"]["real"]["units"]
    for unit, name in enumerate(["red-c", "green-c", "blue-c"]):
        assert units[unit]["label"] == name, units[unit]
        expected = reference_iou(images[:, :, 4:28, 4:28], unit, masks[name][:, 2:14, 2:14])
        assert units[unit]["iou"] == pytest.approx(expected, abs=1e-6), unit


def test_adversarial_dissection_uses_the_real_sets_thresholds(concept_set):
    client, _, _ = concept_set
    client.call("dataset/load", name="concepts", kind="broden", path="broden", shape=[3, SIDE, SIDE], count=8)
    # No class labels: the attack takes the model's predictions for them.
    inputs = {"dataset": "concepts", "indices": [0, 1, 2, 3]}
    attack = client.attack(model="colours", method="pgd", inputs=inputs, epsilon=0.05, stepSize=0.02, steps=2, images=False)
    clean = client.call("predict", model="colours", inputs=inputs)
    assert "accuracy" not in clean and all("label" not in p for p in clean["predictions"])
    assert [s["label"] for s in attack["samples"]] == [p["predicted"] for p in clean["predictions"]]
    r = client.call("probe", model="colours", layer="pool", kind="dissect", dataset={"name": "concepts"}, quantile=QUANTILE,
                    adversarial={"handle": attack["handle"]}, adversarials="all")
    real, adversarial = r["dissection"]["real"], r["dissection"]["adversarial"]
    assert r["count"] == 8 and r["adversarialCount"] == 4
    assert [u["threshold"] for u in adversarial["units"]] == [u["threshold"] for u in real["units"]]
    names = {c for c in r["dissection"]["concepts"]}
    assert all(u["label"] in names for u in adversarial["units"])


def broken(root, index=None, labels=None):
    """The set with index.csv or label.csv rows replaced: {row number (0 = header): text}."""
    for name, edits in [("index.csv", index), ("label.csv", labels)]:
        if edits:
            lines = (root / name).read_text().splitlines()
            for k, text in edits.items():
                lines[k] = text
            (root / name).write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("index,labels,message", [
    ({0: "image,split,ih,iw,sx,sw,color,object,part,material,scene,texture"}, None,
     'index.csv: line 1, column 13: no column "sh" in the header'),
    ({2: "set/img01.png,train,32,abc,16,16,,,,,,"}, None,
     'index.csv: line 3, column 4: field "iw": expected a whole number of pixels in 1...16384, got "abc"'),
    ({3: "set/img02.png,train,32,32,16,16"}, None, "index.csv: line 4, column 7: 6 fields, but the header has 12"),
    ({1: "set/img00.png,train,32,32,16,16,,,,,99,"}, None,
     'index.csv: line 2, column 11: field "scene": "99" is label 99, which label.csv does not list under a category read'),
    ({1: "set/img00.png,train,32,32,8,8,set/img00_color.png,,,,,"}, None,
     'index.csv: line 2, column 7: field "color": images/set/img00_color.png is 16x16 pixels, but sw, sh say 8x8'),
    ({1: "set/img00.png,train,30,32,16,16,,,,,,"}, None,
     'index.csv: line 2, column 3: field "ih": images/set/img00.png is 32x32 pixels, but iw, ih say 32x30'),
    ({1: "../img00.png,train,32,32,16,16,,,,,,"}, None,
     'index.csv: line 2, column 1: field "image": "../img00.png": expected a path relative to images/, without ".."'),
    ({1: "set/img00.png,train,32,32,16,16,,set/img00_striped.png,,,,"}, None,
     'index.csv: line 2, column 8: field "object": images/set/img00_striped.png holds label 255, which label.csv does not list'),
    ({1: "set/missing.png,train,32,32,16,16,,,,,,"}, None, 'index.csv: line 2, column 1: field "image": cannot read'),
    (None, {2: "2,green-c,color(x),12,1.0,"}, 'label.csv: line 3, column 3: field "category": "color(x)": expected category(count)'),
    (None, {3: "1,box,object(12),12,1.0,"}, 'label.csv: line 4, column 1: field "number": label 1 is listed twice'),
])
def test_malformed_files_are_refused_naming_file_line_and_field(concept_set, tmp_path, index, labels, message):
    client, _, _ = concept_set
    broken(tmp_path / "broden", index, labels)
    with pytest.raises(AdvLensError) as e:
        client.call("dataset/load", name="bad", kind="broden", path="broden", model="colours")
    assert e.value.code == -32602 and message in str(e.value), str(e.value)


def test_params_are_checked_by_name(concept_set):
    client, _, _ = concept_set
    for params, message in [({"categories": ["shape"]}, 'params.categories: "shape" is not a category column'),
                            ({"categories": []}, "params.categories: empty"),
                            ({"count": 0}, "params.count: the index rows to read, at least 1"),
                            ({"hierarchy": "h.json"}, "params.hierarchy: only for kinds"),
                            ({"model": None}, "params.shape: required for kind \"broden\"")]:
        call = {"name": "bad", "kind": "broden", "path": "broden", "model": "colours", **params}
        with pytest.raises(AdvLensError) as e:
            client.call("dataset/load", **{k: v for k, v in call.items() if v is not None})
        assert e.value.code == -32602 and message in str(e.value), str(e.value)


def coverage_files(root, striped_object=0.5, striped_texture=0.2, broken=None):
    """NetDissect's c_<category>.csv beside the set: code,number,name,frequency,coverage per
    category, every label under the categories label.csv gives it."""
    rows = {}
    for number, name, categories in LABELS[1:]:
        for item in categories.split(";"):
            rows.setdefault(item.split("(")[0], []).append((number, name))
    cover = {("object", 21): striped_object, ("texture", 21): striped_texture}
    for category, labels in rows.items():
        lines = [[code + 1, number, name, 12, cover.get((category, number), 0.3)] for code, (number, name) in enumerate(labels)]
        if broken and broken[0] == category:
            lines[0][4] = broken[1]
        write_csv(root / f"c_{category}.csv", ["code", "number", "name", "frequency", "coverage"], lines)
    write_csv(root / "c_material.csv", ["code", "number", "name", "frequency", "coverage"], [])


def test_netdissect_coverage_files_choose_each_concepts_primary_category(concept_set, tmp_path):
    client, _, _ = concept_set
    root = tmp_path / "broden"
    kinds = lambda: {c["name"]: c["kind"] for c in client.call("dataset/load", name="cov", kind="broden", path="broden",
                                                                  model="colours")["datasets"][0]["concepts"]}
    # Without c_*.csv: label.csv's counts (texture 5 > object 1).
    assert kinds()["striped"] == "texture"
    # With them: the larger pixel coverage (object 0.5 > texture 0.2), as NetDissect reports it.
    coverage_files(root)
    got = kinds()
    assert got["striped"] == "object" and got["box"] == "object" and got["red-c"] == "color", got
    # Reading only texture, it is a texture concept whatever its coverage elsewhere.
    only = client.call("dataset/load", name="tex", kind="broden", path="broden", model="colours", categories=["texture"])
    assert [(c["name"], c["kind"]) for c in only["datasets"][0]["concepts"]] == [("striped", "texture")]
    # A tie goes to the later category (NetDissect's max over (coverage, category index)).
    coverage_files(root, striped_object=0.4, striped_texture=0.4)
    assert kinds()["striped"] == "texture"
    # A malformed coverage is refused naming the file, line and field.
    coverage_files(root, broken=("part", "lots"))
    with pytest.raises(AdvLensError) as e:
        kinds()
    assert e.value.code == -32602 and 'c_part.csv: line 2, column 5: field "coverage": expected a non-negative number' in str(e.value), str(e.value)
    # Missing for one category read: label.csv decides, as without any.
    for f in root.glob("c_*.csv"):
        f.unlink()
    coverage_files(root)
    (root / "c_scene.csv").unlink()
    assert kinds()["striped"] == "texture"
