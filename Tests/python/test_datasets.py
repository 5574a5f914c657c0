"""dataset/load's file kinds through the real daemon and the Python client, on data written
here: image folders (PNG written with zlib), the ImageNet-validation layout, CIFAR-10 and
CIFAR-100 binaries written byte by byte, and NPZ archives written by numpy (stored and
deflated). The loaded pixels are read back exactly through an identity model (a 1x1
convolution with identity weights, then flatten: its logits are the input pixels) and compared
with references computed here: the bilinear resize with numpy's np.interp, an implementation
independent of the daemon's."""
import json
import pathlib
import shutil
import struct
import sys
import zlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients/python"))

import advlens  # noqa: E402
from advlens.errors import AdvLensError  # noqa: E402


def png(path, pixels):
    """Writes an 8-bit grey ([H, W]) or RGB ([H, W, 3]) PNG."""
    pixels = np.asarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def identity_model(client, directory, name, shape, value_range=(0, 1)):
    """A model whose logits are its input pixels, flattened."""
    c, h, w = shape
    spec = {"name": name, "input": {"shape": list(shape), "range": list(value_range)},
            "classes": [str(i) for i in range(c * h * w)],
            "layers": [{"type": "conv2d", "name": "id", "in_channels": c, "out_channels": c, "kernel_size": 1, "bias": False},
                       {"type": "flatten", "name": "flat"}]}
    (directory / f"{name}.json").write_text(json.dumps(spec))
    safetensors(directory / f"{name}.safetensors", {"id.weight": np.eye(c, dtype=np.float32).reshape(c, c, 1, 1)})
    client.call("model/load", name=name, spec=f"{name}.json", weights=f"{name}.safetensors")


def pixels(client, model, dataset, indices, shape):
    """The dataset's images at `indices`, as the daemon holds them ([N, C, H, W])."""
    r = client.call("predict", model=model, inputs={"dataset": dataset, "indices": indices}, returnLogits=True)
    return np.array([p["logits"] for p in r.predictions], dtype=np.float32).reshape([len(indices)] + list(shape))


def resize_reference(image, side):
    """Bilinear, half-pixel centres, no antialiasing, shorter side to `side` ([C, H, W] floats),
    with np.interp along rows then columns (the ends clamp, as np.interp does)."""
    c, h, w = image.shape
    nh, nw = (side, w * side // h) if h <= w else (h * side // w, side)

    def coords(n_in, n_out):
        return np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    ys, xs = coords(h, nh), coords(w, nw)
    out = np.empty((c, nh, nw), dtype=np.float64)
    for ch in range(c):
        rows = np.stack([np.interp(ys, np.arange(h), image[ch, :, x]) for x in range(w)], axis=1)
        out[ch] = np.stack([np.interp(xs, np.arange(w), rows[y]) for y in range(nh)])
    return out


def center_crop(image, height, width):
    _, h, w = image.shape
    top, left = (h - height) // 2, (w - width) // 2
    return image[:, top:top + height, left:left + width]


@pytest.fixture()
def client(advlensd, tmp_path):
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False) as c:
        yield c


def refused(client, code, field, **params):
    with pytest.raises(AdvLensError) as e:
        client.call("dataset/load", **params)
    assert e.value.code == code and field in str(e.value), str(e.value)
    return str(e.value)


def test_imagefolder_resizes_crops_and_orders_like_the_reference(client, tmp_path):
    rng = np.random.default_rng(0)
    images = {"cat/b.png": rng.integers(0, 256, (30, 41, 3)), "cat/a.PNG": rng.integers(0, 256, (50, 23, 3)),
              "dog/z.png": rng.integers(0, 256, (24, 24, 3)), "ant/x.png": rng.integers(0, 256, (19, 33, 3))}
    for name, p in images.items():
        png(tmp_path / "root" / name, p)
    (tmp_path / "root/dog/notes.txt").write_text("not an image")
    png(tmp_path / "root/dog/.hidden.png", np.zeros((4, 4, 3)))
    identity_model(client, tmp_path, "ident", (3, 16, 12))
    r = client.call("dataset/load", name="folder", kind="imagefolder", path="root", model="ident", resize=18)
    info = r.datasets[0]
    assert info["classes"] == ["ant", "cat", "dog"] and info["classCounts"] == [1, 2, 1]
    assert info["imageShape"] == [3, 16, 12] and info["kind"] == "imagefolder"
    got = pixels(client, "ident", "folder", [0, 1, 2, 3], (3, 16, 12))
    # Sorted by bytes: "a.PNG" before "b.png"; the classes in folder order.
    for i, name in enumerate(["ant/x.png", "cat/a.PNG", "cat/b.png", "dog/z.png"]):
        image = images[name].transpose(2, 0, 1) / 255.0
        expected = center_crop(resize_reference(image, 18), 16, 12)
        np.testing.assert_allclose(got[i], expected, atol=2e-6, err_msg=name)
    # Labels follow the folders: predict reports them per image.
    labels = [p["label"] for p in client.call("predict", model="ident", inputs={"dataset": "folder"}).predictions]
    assert labels == [0, 1, 1, 2]

    # A label map: the classes' order gives the labels, a class may have no folder.
    r = client.call("dataset/load", name="mapped", kind="imagefolder", path="root", shape=[3, 16, 12], resize=18,
                    classes=["dog", "bird", "cat", "ant"])
    assert r.datasets[0]["classCounts"] == [1, 0, 2, 1]
    labels = [p["label"] for p in client.call("predict", model="ident", inputs={"dataset": "mapped"}).predictions]
    assert labels == [3, 2, 2, 0]
    message = refused(client, -32602, "cat", name="m", kind="imagefolder", path="root", shape=[3, 16, 12], resize=18,
                      classes=["dog", "ant"])
    assert "not one of the 2 classes" in message

    # Without resize, a picture smaller than the crop is refused, naming the file.
    message = refused(client, -32602, "x.png", name="small", kind="imagefolder", path="root", shape=[3, 20, 20])
    assert "smaller than the 20x20 crop" in message


def test_imagefolder_grey_and_rgb_conversion(client, tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]])
    png(tmp_path / "c/one/rgb.png", rgb)
    png(tmp_path / "c/one/grey.png", np.array([[0, 100], [200, 255]]))
    identity_model(client, tmp_path, "grey", (1, 2, 2))
    identity_model(client, tmp_path, "colour", (3, 2, 2))
    client.call("dataset/load", name="g", kind="imagefolder", path="c", model="grey")
    client.call("dataset/load", name="c", kind="imagefolder", path="c", model="colour")
    g = pixels(client, "grey", "g", [0, 1], (1, 2, 2))
    c = pixels(client, "colour", "c", [0, 1], (3, 2, 2))
    # "grey.png" sorts first. Grey to RGB repeats the value; RGB to grey is stb_image's
    # (77 r + 150 g + 29 b) >> 8.
    np.testing.assert_array_equal(g[0, 0] * 255, [[0, 100], [200, 255]])
    for ch in range(3):
        np.testing.assert_array_equal(np.rint(c[0, ch] * 255), [[0, 100], [200, 255]])
    luma = (77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2]) >> 8
    np.testing.assert_array_equal(np.rint(g[1, 0] * 255), luma)
    np.testing.assert_array_equal(np.rint(c[1] * 255), rgb.transpose(2, 0, 1))


def test_imagenet_validation_layout(client, tmp_path):
    rng = np.random.default_rng(1)
    pictures = [rng.integers(0, 256, (8, 8)) for _ in range(3)]
    for i, p in enumerate(pictures):
        png(tmp_path / f"val/ILSVRC2012_val_{i + 1:08d}.png", p)
    (tmp_path / "synsets.txt").write_text("n01 tench, Tinca tinca\nn02 goldfish\n\nn03 shark\n")
    (tmp_path / "truth.txt").write_text("3\n1\n3\n")           # 1-based, in file order
    (tmp_path / "pairs.txt").write_text("ILSVRC2012_val_00000003.png n02\nILSVRC2012_val_00000001.png,n01\n"
                                        "ILSVRC2012_val_00000002.png 2\n")
    identity_model(client, tmp_path, "tiny", (1, 8, 8))
    # The client passes snake_case params through as the protocol's camelCase.
    r = client.dataset_load("val", kind="imagenet-val", path="val", labels="truth.txt",
                            classes_file="synsets.txt", label_base=1, model="tiny")
    assert r.datasets[0]["classes"] == ["n01 tench, Tinca tinca", "n02 goldfish", "n03 shark"]
    assert r.datasets[0]["classCounts"] == [1, 0, 2]
    labels = [p["label"] for p in client.call("predict", model="tiny", inputs={"dataset": "val"}).predictions]
    assert labels == [2, 0, 2]
    got = pixels(client, "tiny", "val", [0, 1, 2], (1, 8, 8))
    np.testing.assert_array_equal(np.rint(got[:, 0] * 255), np.stack(pictures))
    r = client.call("dataset/load", name="val2", kind="imagenet-val", path="val", labels="pairs.txt",
                    classesFile="synsets.txt", model="tiny")
    labels = [p["label"] for p in client.call("predict", model="tiny", inputs={"dataset": "val2"}).predictions]
    assert labels == [0, 2, 1]
    (tmp_path / "short.txt").write_text("1\n2\n")
    refused(client, -32602, "short.txt", name="v", kind="imagenet-val", path="val", labels="short.txt",
            classesFile="synsets.txt", model="tiny")
    (tmp_path / "bad.txt").write_text("1\n2\n9\n")
    message = refused(client, -32602, "bad.txt", name="v", kind="imagenet-val", path="val", labels="bad.txt",
                      classesFile="synsets.txt", model="tiny")
    assert "line 3" in message
    refused(client, -32602, "params.classesFile", name="v", kind="imagenet-val", path="val", labels="truth.txt", model="tiny")
    refused(client, -32602, "params.labelBase", name="v", kind="imagenet-val", path="val", labels="truth.txt",
            classesFile="synsets.txt", model="tiny", labelBase=2)


def cifar_records(labels, pixels, coarse=None):
    """CIFAR binary records: [coarse byte,] label byte, 3072 pixel bytes (R, G, B planes)."""
    out = bytearray()
    for i, label in enumerate(labels):
        if coarse is not None:
            out.append(coarse[i])
        out.append(label)
        out += bytes(pixels[i].reshape(-1).tolist())
    return bytes(out)


def test_cifar_ten_and_hundred(client, tmp_path):
    rng = np.random.default_rng(2)
    ten = tmp_path / "cifar-10-batches-bin"
    ten.mkdir()
    batches = []
    for b in range(2):
        px = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
        labels = [(b * 3 + k) % 10 for k in range(3)]
        (ten / f"data_batch_{b + 1}.bin").write_bytes(cifar_records(labels, px))
        batches.append((labels, px))
    test_px = rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
    (ten / "test_batch.bin").write_bytes(cifar_records([9, 4], test_px))
    identity_model(client, tmp_path, "c32", (3, 32, 32))
    r = client.call("dataset/load", name="c10", kind="cifar", path="cifar-10-batches-bin", part="train")
    d = r.datasets[0]
    assert d["count"] == 6 and d["imageShape"] == [3, 32, 32] and d["classes"][0] == "airplane"
    assert d["classSimilarity"] is False
    got = pixels(client, "c32", "c10", [0, 4], (3, 32, 32))
    np.testing.assert_array_equal(np.rint(got[0] * 255), batches[0][1][0])
    np.testing.assert_array_equal(np.rint(got[1] * 255), batches[1][1][1])
    labels = [p["label"] for p in client.call("predict", model="c32", inputs={"dataset": "c10"}).predictions]
    assert labels == batches[0][0] + batches[1][0]
    r = client.call("dataset/load", name="c10t", kind="cifar", path="cifar-10-batches-bin", part="test")
    assert r.datasets[0]["count"] == 2
    refused(client, -32602, "params.labelSet", name="x", kind="cifar", path="cifar-10-batches-bin", part="test", labelSet="coarse")
    only_test = tmp_path / "only-test"
    only_test.mkdir()
    (only_test / "test_batch.bin").write_bytes(cifar_records([9, 4], test_px))
    refused(client, -32012, "data_batch", name="x", kind="cifar", path="only-test", part="train")
    refused(client, -32602, "params.part", name="x", kind="cifar", path="cifar-10-batches-bin")
    (ten / "test_batch.bin").write_bytes(cifar_records([9, 4], test_px)[:-5])
    message = refused(client, -32602, "test_batch.bin", name="x", kind="cifar", path="cifar-10-batches-bin", part="test")
    assert "3073-byte" in message

    hundred = tmp_path / "cifar-100-binary"
    hundred.mkdir()
    fine, coarse = [0, 1, 2, 0, 3], [5, 5, 7, 5, 7]   # 0 and 1 share superclass 5, 2 and 3 share 7
    px = rng.integers(0, 256, (5, 3, 32, 32), dtype=np.uint8)
    (hundred / "train.bin").write_bytes(cifar_records(fine, px, coarse))
    (hundred / "test.bin").write_bytes(cifar_records(fine[:2], px[:2], coarse[:2]))
    (hundred / "coarse_label_names.txt").write_text("".join(f"super{i}\n" for i in range(20)))
    r = client.call("dataset/load", name="c100", kind="cifar", path="cifar-100-binary", part="train")
    d = r.datasets[0]
    assert len(d["classes"]) == 100 and d["classSimilarity"] is True and d["classCounts"][:4] == [2, 1, 1, 1]
    r = client.call("dataset/load", name="c20", kind="cifar", path="cifar-100-binary", part="train", labelSet="coarse")
    d = r.datasets[0]
    assert d["classes"][5] == "super5" and d["classCounts"][5] == 3 and d["classCounts"][7] == 2 and d["classSimilarity"] is False
    got = pixels(client, "c32", "c100", [3], (3, 32, 32))
    np.testing.assert_array_equal(np.rint(got[0] * 255), px[3])
    # Inconsistent hierarchy: fine label 0 under two superclasses.
    (hundred / "train.bin").write_bytes(cifar_records([0, 0], px[:2], [5, 6]))
    message = refused(client, -32602, "train.bin", name="x", kind="cifar", path="cifar-100-binary", part="train")
    assert "fine label 0" in message


def test_npz_stored_and_deflated_in_either_layout(client, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (5, 3, 4, 6), dtype=np.uint8)
    y = np.array([0, 2, 1, 2, 0], dtype=np.int64)
    np.savez(tmp_path / "plain.npz", images=x, labels=y)
    np.savez_compressed(tmp_path / "packed.npz", x_test=x.transpose(0, 2, 3, 1), y_test=y.astype(np.uint8))
    floats = rng.random((5, 4, 6), dtype=np.float32)
    np.savez_compressed(tmp_path / "grey.npz", images=floats, labels=y)
    identity_model(client, tmp_path, "n", (3, 4, 6))
    identity_model(client, tmp_path, "g", (1, 4, 6))
    client.call("dataset/load", name="a", kind="npz", path="plain.npz", layout="NCHW")
    r = client.call("dataset/load", name="b", kind="npz", path="packed.npz", images="x_test", labels="y_test", layout="NHWC")
    assert r.datasets[0]["classCounts"] == [2, 1, 2] and r.datasets[0]["imageShape"] == [3, 4, 6]
    a = pixels(client, "n", "a", list(range(5)), (3, 4, 6))
    b = pixels(client, "n", "b", list(range(5)), (3, 4, 6))
    np.testing.assert_array_equal(np.rint(a * 255), x)
    np.testing.assert_array_equal(a, b)
    client.call("dataset/load", name="f", kind="npz", path="grey.npz", layout="NCHW")
    np.testing.assert_array_equal(pixels(client, "g", "f", list(range(5)), (1, 4, 6))[:, 0], floats)

    # ZIP64 throughout (as archives past 4 GiB are written): zipfile's limit lowered so every
    # size and offset goes through the ZIP64 extra fields and end records.
    import zipfile
    limit, count_limit = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 16, 1
    try:
        np.savez_compressed(tmp_path / "zip64.npz", images=x, labels=y)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limit, count_limit
    assert b"PK\x06\x06" in (tmp_path / "zip64.npz").read_bytes()
    client.call("dataset/load", name="z", kind="npz", path="zip64.npz", layout="NCHW")
    np.testing.assert_array_equal(pixels(client, "n", "z", list(range(5)), (3, 4, 6)), a)

    message = refused(client, -32602, "x_test", name="c", kind="npz", path="packed.npz", layout="NHWC")
    assert '"images"' in message
    refused(client, -32602, "params.layout", name="c", kind="npz", path="plain.npz")
    refused(client, -32602, "params.layout", name="c", kind="npz", path="plain.npz", layout="HWC")
    # A flipped byte in the deflated data: zlib or the CRC-32 catches it.
    data = bytearray((tmp_path / "packed.npz").read_bytes())
    data[60] ^= 0xFF
    (tmp_path / "broken.npz").write_bytes(bytes(data))
    refused(client, -32602, "broken.npz", name="c", kind="npz", path="broken.npz", images="x_test", labels="y_test", layout="NHWC")
    (tmp_path / "cut.npz").write_bytes(bytes(data[:100]))
    message = refused(client, -32602, "cut.npz", name="c", kind="npz", path="cut.npz", layout="NHWC")
    assert "not a ZIP file" in message


def test_params_a_kind_does_not_use_are_refused(client, tmp_path):
    refused(client, -32602, "params.resize", name="x", kind="cifar", path="c", part="test", resize=3)
    message = refused(client, -32602, "params.layout", name="x", kind="imagefolder", path="c", shape=[1, 2, 2], layout="NCHW")
    assert 'only for kinds "npy", "npz"' in message
    refused(client, -32602, "params.shape", name="x", kind="imagefolder", path="c")
    refused(client, -32602, "params.shape", name="x", kind="imagefolder", path="c", shape=[2, 4, 4])
    refused(client, -32602, "params.resize", name="x", kind="imagefolder", path="c", shape=[1, 4, 4], resize=0)
    refused(client, -32001, '"nope"', name="x", kind="imagefolder", path="c", model="nope")
    (tmp_path / "file.txt").write_text("x")
    refused(client, -32602, "params.path", name="x", kind="imagefolder", path="file.txt", shape=[1, 4, 4])


def test_npz_entries_are_inflated_within_the_limits(advlensd, tmp_path):
    import io
    import zipfile
    # 64 MiB of zeros deflate to ~64 KiB: the daemon may read 8 MiB, so the entry is refused
    # from its recorded size, before inflating.
    big = np.zeros((16, 1, 1024, 1024), dtype=np.float32)
    np.savez_compressed(tmp_path / "bomb.npz", images=big, labels=np.zeros(16, dtype=np.int64))
    assert (tmp_path / "bomb.npz").stat().st_size < 1 << 20
    # An entry recording fewer bytes than it inflates to stops at the recorded size.
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 1, 8, 8), dtype=np.float32))
    payload = buffer.getvalue()
    with zipfile.ZipFile(tmp_path / "liar.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("images.npy", payload)
        labels = io.BytesIO()
        np.save(labels, np.zeros(4, dtype=np.int64))
        z.writestr("labels.npy", labels.getvalue())
    data = bytearray((tmp_path / "liar.npz").read_bytes())
    directory = data.index(b"PK\x01\x02")  # the first central-directory entry: images.npy
    struct.pack_into("<I", data, directory + 24, len(payload) - 100)
    (tmp_path / "liar.npz").write_bytes(bytes(data))
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False,
                        daemon_args=["--max-file-bytes", str(8 << 20)]) as client:
        message = refused(client, -32011, "bomb.npz", name="b", kind="npz", path="bomb.npz", layout="NCHW")
        assert '"images"' in message
        message = refused(client, -32602, "liar.npz", name="l", kind="npz", path="liar.npz", layout="NCHW")
        assert "inflates to more than" in message
        assert client.call("dataset/list").datasets == []


MNIST_SMALL = ROOT / "Tests/AttacksTests/Fixtures/mnist-small"


@pytest.fixture()
def mnist(advlensd):
    """The mnist-small fixture and the MNIST split (mnist-test: 20 per class, classes interleaved by
    the default split order, version 2: index i holds class i mod 10)."""
    if not (ROOT / "data/mnist_5k.csv.gz").is_file():
        pytest.skip("data/mnist_5k.csv.gz is missing: run `make data`")
    with advlens.Client(daemon=str(advlensd), root=str(ROOT), progress=False) as c:
        c.call("model/load", name="digits", spec=str(MNIST_SMALL / "model.json"), weights=str(MNIST_SMALL / "model.safetensors"))
        c.call("dataset/load", name="mnist", kind="mnist-csv", path="data/mnist_5k.csv.gz", split={"testPerClass": 20, "seed": 0})
        yield c


def probed(client, dataset):
    r = client.call("probe", model="digits", layer="8", kind="activations", units=[0], dataset=dataset)
    return r.activations["indices"], r.activations["labels"]


def test_seeded_samples_name_the_same_images_everywhere(mnist):
    ref = {"dataset": "mnist-test", "sample": 10, "seed": 0, "stratified": True}
    labels = [p["label"] for p in mnist.call("predict", model="digits", inputs=ref).predictions]
    assert sorted(labels) == list(range(10)), "a stratified sample of 10 holds one image of each class"
    indices, probe_labels = probed(mnist, {"name": "mnist-test", "sample": 10, "seed": 0, "stratified": True})
    assert probe_labels == labels and indices == sorted(indices) and len(set(indices)) == 10
    assert [i % 10 for i in indices] == labels, "mnist-test interleaves the classes: index i holds class i mod 10"
    assert probed(mnist, {"name": "mnist-test", "sample": 10, "seed": 0, "stratified": True})[0] == indices
    assert probed(mnist, {"name": "mnist-test", "sample": 10, "seed": 1, "stratified": True})[0] != indices
    # Stratified 25 of 10 classes: 3 each for the first five, 2 for the rest (round-robin).
    _, many = probed(mnist, {"name": "mnist-test", "sample": 25, "stratified": True})
    assert [many.count(c) for c in range(10)] == [3] * 5 + [2] * 5
    # Plain samples are drawn from the pool given by indices.
    pool = list(range(2, 200, 10)) + list(range(3, 200, 10))
    drawn, pool_labels = probed(mnist, {"name": "mnist-test", "indices": pool, "sample": 7, "seed": 3})
    assert len(drawn) == 7 and set(drawn) <= set(pool) and set(pool_labels) <= {2, 3}
    # An attack on a sample keeps the sampled indices as its clean images: explain can compare.
    attack = mnist.call("attack", {"model": "digits", "method": "fgsm", "epsilon": 0.1, "inputs": ref})
    assert [s["label"] for s in attack.samples] == labels


def test_sample_errors_name_the_field(mnist):
    for ref, field in [({"dataset": "mnist-test", "sample": 0}, "params.inputs.sample"),
                       ({"dataset": "mnist-test", "sample": 201}, "params.inputs.sample"),
                       ({"dataset": "mnist-test", "indices": [1, 2], "sample": 3}, "params.inputs.sample"),
                       ({"dataset": "mnist-test", "seed": 3}, "params.inputs.seed"),
                       ({"dataset": "mnist-test", "stratified": True}, "params.inputs.stratified")]:
        with pytest.raises(AdvLensError) as e:
            mnist.call("predict", model="digits", inputs=ref)
        assert e.value.code == -32602 and field in str(e.value), str(e.value)
    with pytest.raises(AdvLensError) as e:
        probed(mnist, {"name": "mnist-test", "sample": 500})
    assert e.value.code == -32602 and "params.dataset.sample" in str(e.value)


def test_inputs_outside_the_models_range_are_refused_with_advice(mnist, tmp_path):
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (2, 1, 28, 28)).astype(np.float32)
    pixels[0, 0, 0, 0] = 255
    with pytest.raises(AdvLensError) as e:
        mnist.call("predict", model="digits", inputs=pixels)
    message = str(e.value)
    assert e.value.code == -32602 and "params.inputs: values span [0, 255]" in message, message
    assert "[0, 1]" in message and "divide by 255" in message
    # Divided by 255 they are accepted, the bounds included.
    ok = mnist.call("predict", model="digits", inputs=pixels / 255)
    assert ok.count == 2
    with pytest.raises(AdvLensError) as e:
        mnist.call("predict", model="digits", inputs=pixels / 127.5 - 1)
    assert "(x + 1) / 2" in str(e.value), str(e.value)
    # A float dataset in 0...255 loads (npy and npz take floats as they are) but is refused
    # where it meets the model, naming the input.
    (ROOT / "out").mkdir(exist_ok=True)
    np.savez(ROOT / "out" / f"range-{tmp_path.name}.npz", images=pixels, labels=np.array([1, 2]))
    try:
        mnist.call("dataset/load", name="raw", kind="npz", path=f"out/range-{tmp_path.name}.npz", layout="NCHW")
        with pytest.raises(AdvLensError) as e:
            mnist.call("predict", model="digits", inputs=[pixels[:1] / 255, {"dataset": "raw"}])
        assert "params.inputs[1]: values span [0, 255]" in str(e.value), str(e.value)
    finally:
        (ROOT / "out" / f"range-{tmp_path.name}.npz").unlink()


def test_the_range_check_finds_the_bounds_anywhere_in_the_batch(client, tmp_path):
    """The check reads eight values at a time and the rest one by one: an image of 45 values
    (40 in whole eights, 5 after them) out of range at either end, or at both, gives the exact
    span; the bounds themselves pass."""
    identity_model(client, tmp_path, "id", [3, 5, 3])
    base = np.full((1, 3, 5, 3), 0.5, dtype=np.float32)
    for where, value, span in [((0, 0, 1, 0), -0.25, "[-0.25, 0.5]"), ((0, 2, 4, 2), 1.75, "[0.5, 1.75]"),
                               ((0, 2, 4, 1), 3.5, "[0.5, 3.5]")]:
        x = base.copy()
        x[where] = value
        with pytest.raises(AdvLensError) as e:
            client.call("predict", model="id", inputs=x)
        assert e.value.code == -32602 and f"params.inputs: values span {span}" in str(e.value), str(e.value)
    both = base.copy()
    both[0, 0, 0, 2] = -2
    both[0, 2, 4, 2] = 7
    with pytest.raises(AdvLensError) as e:
        client.call("predict", model="id", inputs=np.concatenate([base, both]))
    assert "values span [-2, 7]" in str(e.value), str(e.value)
    edges = base.copy()
    edges[0, 0, 0, 0], edges[0, 2, 4, 2] = 0, 1
    assert client.call("predict", model="id", inputs=edges).count == 1


def test_a_hierarchy_file_gives_lc_its_class_similarity(mnist, tmp_path):
    out = ROOT / "out" / f"hierarchy-{tmp_path.name}"
    out.mkdir(parents=True, exist_ok=True)
    tree = {"0": "round", "6": "round", "8": "round", "9": "round", "1": "stroke", "4": "stroke", "7": "stroke",
            "round": "digit", "stroke": "digit"}
    (out / "tree.json").write_text(json.dumps(tree))
    (out / "cycle.json").write_text(json.dumps({"0": "a", "a": "b", "b": "a"}))
    (out / "bad.json").write_text(json.dumps({"0": 3}))
    (out / "none.json").write_text(json.dumps({"cat": "animal"}))
    rel = out.relative_to(ROOT)
    try:
        r = mnist.call("dataset/load", name="mh", kind="mnist-csv", path="data/mnist_5k.csv.gz", hierarchy=f"{rel}/tree.json")
        assert r.datasets[0]["classSimilarity"] is True
        ref = {"dataset": "mh", "sample": 20, "stratified": True, "seed": 2}

        def lc(dataset):
            r = mnist.call("probe", {"model": "digits", "layer": "8", "kind": "consistency", "units": list(range(16)), "k": 10,
                                     "dataset": {"name": dataset, "sample": 200, "stratified": True},
                                     "adversarial": {"attack": {"method": "pgd", "inputs": {**ref, "dataset": dataset},
                                                                "targeted": True, "target": "random", "steps": 5}}})
            return r.consistencySummary
        mnist.call("dataset/load", name="mp", kind="mnist-csv", path="data/mnist_5k.csv.gz")
        with_tree, plain = lc("mh"), lc("mp")
        assert with_tree["similarity"] == "dataset" and plain["similarity"] == "identity"
        # The same images and attack: CS1 and CS2 agree; LC credits moves to related classes.
        assert with_tree["meanCS1"] == plain["meanCS1"] and with_tree["meanCS2"] == plain["meanCS2"]
        assert with_tree["meanLC"] >= plain["meanLC"]
        for name, field in [("cycle.json", "cycle"), ("bad.json", "not a string"), ("none.json", "names none")]:
            with pytest.raises(AdvLensError) as e:
                mnist.call("dataset/load", name="x", kind="mnist-csv", path="data/mnist_5k.csv.gz", hierarchy=f"{rel}/{name}")
            assert e.value.code == -32602 and "params.hierarchy" in str(e.value) and field in str(e.value), str(e.value)
    finally:
        for f in out.iterdir():
            f.unlink()
        out.rmdir()


def split_labels(client, name, count):
    """The true labels of a dataset's first `count` images."""
    r = client.call("predict", model="digits", inputs={"dataset": name, "indices": list(range(count))})
    return [p["label"] for p in r.predictions]


def test_the_default_split_interleaves_the_classes_and_version_one_keeps_the_dataset_order(mnist):
    # The fixture's split named no version: 2, classes interleaved, in both parts.
    assert split_labels(mnist, "mnist-test", 200) == list(range(10)) * 20
    assert split_labels(mnist, "mnist-train", 30) == list(range(10)) * 3
    r = mnist.call("dataset/load", name="v1", kind="mnist-csv", path="data/mnist_5k.csv.gz",
                   split={"testPerClass": 20, "seed": 0, "version": 1})
    assert r.split == {"testPerClass": 20, "seed": 0, "version": 1}, "the result names the split it made"
    assert [d["classCounts"] for d in r.datasets] == [[480] * 10, [20] * 10]
    assert split_labels(mnist, "v1-test", 200) == [c for c in range(10) for _ in range(20)], "version 1: dataset order, class by class"
    assert split_labels(mnist, "v1-train", 480) == [0] * 480
    # The same images as version 1's parts, reordered; the same seed gives the same order.
    def values(name):
        r = mnist.call("predict", model="digits", inputs={"dataset": name, "indices": list(range(200))}, returnLogits=True)
        return [p["logits"] for p in r.predictions]
    default = values("mnist-test")
    again = mnist.call("dataset/load", name="v2", kind="mnist-csv", path="data/mnist_5k.csv.gz",
                       split={"testPerClass": 20, "seed": 0, "version": 2})
    assert again.split == {"testPerClass": 20, "seed": 0, "version": 2}
    assert values("v2-test") == default
    assert sorted(values("v1-test")) == sorted(default) and values("v1-test") != default
    for version in (0, 3):
        with pytest.raises(AdvLensError) as e:
            mnist.call("dataset/load", name="v3", kind="mnist-csv", path="data/mnist_5k.csv.gz", split={"testPerClass": 20, "version": version})
        assert e.value.code == -32602 and "params.split.version" in str(e.value) and f"got {version}" in str(e.value)
    whole = mnist.call("dataset/load", name="whole", kind="mnist-csv", path="data/mnist_5k.csv.gz")
    assert "split" not in whole, "no split, no split named"


@pytest.mark.parametrize("test_per_class, seed", [(100, 0), (100, 5), (50, 0), (20, 3)])
def test_the_first_images_of_the_default_split_cover_every_class(mnist, test_per_class, seed):
    r = mnist.call("dataset/load", name="d", kind="mnist-csv", path="data/mnist_5k.csv.gz",
                   split={"testPerClass": test_per_class, "seed": seed})
    assert r.split == {"testPerClass": test_per_class, "seed": seed, "version": 2}
    for part in ("d-test", "d-train"):
        for n in (10, 20, 50):
            first = split_labels(mnist, part, n)
            assert sorted(set(first)) == list(range(10)), f"{part} 0-{n - 1}: {first}"
            assert [first.count(c) for c in range(10)] == [n // 10] * 10, f"{part} 0-{n - 1}: as many of each class"


def test_split_version_one_reproduces_the_committed_fixtures_images_bit_for_bit(advlensd, tmp_path):
    """The attack fixtures (Tests/AttacksTests/Fixtures/torchattacks_*.json) name the file indices of
    the first 256 test images of split version 1 (seed 0, 100 per class): version 1's mnist-test
    0-255 are those images, pixel for pixel (read back through an identity model)."""
    if not (ROOT / "data/mnist_5k.csv.gz").is_file():
        pytest.skip("data/mnist_5k.csv.gz is missing: run `make data`")
    fixture = json.loads((ROOT / "Tests/AttacksTests/Fixtures/torchattacks_mnist-small.json").read_text())
    assert len(fixture["indices"]) == 256 and "first 256 test indices ascending" in fixture["split"]
    shutil.copy(ROOT / "data/mnist_5k.csv.gz", tmp_path / "mnist.csv.gz")
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False) as c:
        identity_model(c, tmp_path, "ident", (1, 28, 28))
        c.call("dataset/load", name="all", kind="mnist-csv", path="mnist.csv.gz")
        old = c.call("dataset/load", name="old", kind="mnist-csv", path="mnist.csv.gz", split={"testPerClass": 100, "seed": 0, "version": 1})
        assert old.split == {"testPerClass": 100, "seed": 0, "version": 1}
        first = pixels(c, "ident", "old-test", list(range(256)), (1, 28, 28))
        assert first.tobytes() == pixels(c, "ident", "all", fixture["indices"], (1, 28, 28)).tobytes()
        # The default order holds the same 1,000 images, none twice.
        c.call("dataset/load", name="new", kind="mnist-csv", path="mnist.csv.gz", split={"testPerClass": 100, "seed": 0})
        every = list(range(1000))
        rows = {x.tobytes() for x in pixels(c, "ident", "old-test", every, (1, 28, 28)).reshape(1000, -1)}
        new = [x.tobytes() for x in pixels(c, "ident", "new-test", every, (1, 28, 28)).reshape(1000, -1)]
        assert len(rows) == 1000 and set(new) == rows and len(set(new)) == 1000


def test_an_image_folder_past_the_memory_budget_is_streamed_not_decoded(advlensd, tmp_path):
    for i in range(3):
        png(tmp_path / f"big/c/{i}.png", np.full((8, 8, 3), 40 * i))
    # Three [3, 1024, 1024] float images take 36 MiB; the daemon may hold 20 MB: they are
    # streamed (test_streaming.py checks what that gives), with a quarter of it as cache.
    with advlens.Client(daemon=str(advlensd), root=str(tmp_path), progress=False,
                        daemon_args=["--memory-limit", str(20_000_000)]) as client:
        big = client.call("dataset/load", name="b", kind="imagefolder", path="big", shape=[3, 1024, 1024], resize=1024).datasets[0]
        assert big["streamed"] == {"decodedBytes": 3 * 3 * 1024 * 1024 * 4, "cacheBytes": 5_000_000}
        r = client.call("dataset/load", name="small", kind="imagefolder", path="big", shape=[3, 64, 64], resize=64)
        assert "streamed" not in r.datasets[0]
        assert r.datasets[0]["count"] == 3
