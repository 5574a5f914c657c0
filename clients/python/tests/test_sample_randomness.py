"""Issue 19, item 4, through the real daemon: a sample's result depends on the request's seed
and its image's dataset index, not on the other images in its request. Images 100-199
attacked as their own request get, bit for bit, the adversarials and per-sample records they
get as the second half of one request over 0-199, for every attack method: the random ones
(their draws are keyed by the image) and the ones that read gradient magnitudes (L2 steps,
APGD's step-size halvings, FAB's projections, C&W, DeepFool), because the engine rounds a
sample's rows the same way in any batch (docs/scale-out.md, "Exactness"). AutoAttack's
rand version (20 gradient draws a step) runs on images 0-39 and their second half, its
standard version (minutes at these sizes) on a small classifier in
Tests/AttacksTests/SampleRandomnessTests.swift."""
import numpy as np
import pytest

from advlens import dataset

EVERY_METHOD = [
    {"method": "fgsm", "epsilon": 0.2},
    {"method": "bim", "epsilon": 0.2, "steps": 5},
    {"method": "mifgsm", "epsilon": 0.2, "steps": 5},
    {"method": "ffgsm", "epsilon": 0.2, "seed": 3},
    {"method": "pgd", "epsilon": 0.2, "steps": 5, "restarts": 2, "seed": 3},
    {"method": "pgd", "epsilon": 0.2, "steps": 5, "targeted": True, "target": "random", "seed": 3},
    {"method": "pgd", "norm": "l2", "epsilon": 1.5, "steps": 5, "seed": 3},
    {"method": "apgd", "epsilon": 0.15, "steps": 8, "restarts": 2, "seed": 3},
    {"method": "apgd", "norm": "l2", "epsilon": 1.5, "steps": 8, "seed": 3},
    {"method": "apgd-t", "epsilon": 0.1, "steps": 5, "target_classes": 2, "seed": 3},
    {"method": "fab-t", "epsilon": 0.1, "steps": 5, "restarts": 2, "target_classes": 2, "seed": 3},
    {"method": "square", "epsilon": 0.2, "queries": 40, "seed": 3},
    {"method": "square", "norm": "l2", "epsilon": 1.5, "queries": 40, "seed": 3},
    {"method": "cw", "steps": 10, "binary_search_steps": 2},
    {"method": "deepfool", "steps": 10},
    {"method": "ensemble-opt", "steps": 10, "targets_per_image": 2, "seed": 3},
]


@pytest.mark.parametrize("settings", EVERY_METHOD, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_second_half_alone_equals_second_half_of_the_whole(client, settings):
    settings = dict(settings)
    method = settings.pop("method")
    per = settings.get("targets_per_image", 1)
    whole = client.attack("digits", method, dataset("mnist-test", indices=range(0, 200)), **settings)
    alone = client.attack("digits", method, dataset("mnist-test", indices=range(100, 200)), **settings)
    assert np.array_equal(alone.images, whole.images[100 * per:200 * per])
    assert_same_samples(alone.samples, whole.samples[100 * per:200 * per])


def test_autoattack_rand_second_half_alone_equals_second_half_of_the_whole(client):
    settings = {"epsilon": 0.2, "version": "rand", "seed": 3}
    whole = client.attack("digits", "autoattack", dataset("mnist-test", indices=range(0, 40)), **settings)
    alone = client.attack("digits", "autoattack", dataset("mnist-test", indices=range(20, 40)), **settings)
    assert 0 < whole.summary["robustAccuracy"] < 1   # some images take all 100 steps
    assert np.array_equal(alone.images, whole.images[20:40])
    assert_same_samples(alone.samples, whole.samples[20:40])


def assert_same_samples(got, expected):
    """Per-sample records equal but for their numbering: classes, success, iterations, norms
    and confidence, exactly."""
    assert len(got) == len(expected)
    for a, w in zip(got, expected):
        skip = ("index", "source")
        assert {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in w.items() if k not in skip}


def test_arrays_are_keyed_by_their_position(client):
    """Inputs that are not dataset images are keyed by their position in the request's inputs:
    image 6 sent second as an array draws what any image sent second draws, so it gets the same
    adversarial beside image 5 or beside image 7, and another one than as dataset image 6."""
    picked = client.attack("digits", "pgd", dataset("mnist-test", indices=[5, 6, 7]), epsilon=0.2, steps=2, seed=1)
    x, labels = picked.originals, [s["label"] for s in picked.samples]
    beside5 = client.attack("digits", "pgd", x[[0, 1]], labels=labels[0:2], epsilon=0.2, steps=2, seed=1)
    beside7 = client.attack("digits", "pgd", x[[2, 1]], labels=[labels[2], labels[1]], epsilon=0.2, steps=2, seed=1)
    assert np.array_equal(beside5.images[1], beside7.images[1])
    assert not np.array_equal(beside5.images[1], picked.images[1])
