"""The AutoAttack family against torchattacks on an adversarially trained model (issue 17, item 4).

A standard model falls to every attack at the paper's MNIST epsilon 0.3, so agreeing with
torchattacks on it proves little. Tests/AttacksTests/Fixtures/mnist-small-at is the mnist-small
architecture trained with PGD adversarial training by scripts/make_robust_fixture.py (torch only
there); torchattacks_mnist-small-at.json holds torchattacks' per-image results at epsilon 0.3 on
the first test images at the paper's budgets: APGD-CE 100 steps, APGD-T and FAB-T over 9
target classes at 100 steps, Square 5,000 queries (seeds 0-2), and AutoAttack standard as the
per-image worst case of those four (an image is robust when all four failed on it). AdvLens runs the same attacks through the real daemon on the same weights and images.

Tolerances: robust accuracy within 0.02 of torchattacks' on the same images; Square within the
spread of torchattacks' seeds (at least 2 images). Iterative attacks run without early stopping,
as torchattacks' do.

What runs where (every attack at its full budget; a subset is compared against torchattacks'
per-image flags on the same images):

- `make test`: APGD-CE on all the reference's images (within 0.02), and AutoAttack standard,
  which runs all four members on what the earlier ones left robust, on the first SUBSET images
  (within one image: on a robust model most images go through all four members, about 3 s an
  image on a loaded 2-core machine);
- `make test-long` (ADVLENS_LONG=1): APGD-CE, APGD-T, FAB-T, Square and AutoAttack each on all
  the reference's images, within 0.02 (Square: its seed spread).
"""
import json
import os
import pathlib

import pytest

from test_attack_crosscheck import Daemon

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "AttacksTests/Fixtures"
REF = json.loads((FIXTURES / "torchattacks_mnist-small-at.json").read_text())
LONG = os.environ.get("ADVLENS_LONG") == "1"
SUBSET = 20
EPS = REF["epsilon"]
ATTACKS = {
    "apgd_ce": {"method": "apgd", "steps": 100, "restarts": 1, "loss": "ce"},
    "apgdt": {"method": "apgd-t", "steps": 100, "restarts": 1, "targetClasses": 9},
    "fabt": {"method": "fab-t", "steps": 100, "restarts": 1, "targetClasses": 9},
    "square": {"method": "square", "queries": 5000},
    "autoattack": {"method": "autoattack", "version": "standard"},
}


@pytest.fixture(scope="module")
def daemon(advlensd, repo_root):
    d = Daemon(advlensd, repo_root)
    d.call("initialize", {"rootPath": str(repo_root)})
    rel = FIXTURES.relative_to(repo_root) / "mnist-small-at"
    d.call("model/load", {"name": "at", "spec": f"{rel}/model.json", "weights": f"{rel}/model.safetensors"})
    # Split version 1 (dataset order): the reference's images are the first test indices ascending.
    d.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz",
                            "split": {"testPerClass": 100, "seed": 0, "version": 1}})
    yield d
    d.close()


def robust_accuracy(daemon, key, images):
    params = {"model": "at", "inputs": {"dataset": "mnist-test", "indices": list(range(images))},
              "epsilon": EPS, "earlyStop": False, "seed": 0, **ATTACKS[key]}
    return daemon.call("attack", params)["summary"]["robustAccuracy"]


def reference(key, images):
    """torchattacks' robust accuracy on the first `images` of the reference's images."""
    return REF["attacks"][key]["robust_mask"][:images].count("1") / images


def test_fixture_is_robust_and_the_images_are_the_same(daemon):
    """The model keeps clearly nonzero robust accuracy under the whole ensemble (else this file
    would prove no more than the standard model's cross-check), and AdvLens classifies the same
    images as torch did, image by image."""
    assert REF["attacks"]["autoattack"]["robust_accuracy"] >= 0.2
    r = daemon.call("predict", {"model": "at", "inputs": {"dataset": "mnist-test", "indices": list(range(REF["images"]))},
                                "topK": 1})
    correct = "".join("1" if p["predicted"] == p["label"] else "0" for p in r["predictions"])
    assert correct == REF["clean_mask"]


# (reference key, images, tolerance)
CASES = [("apgd_ce", REF["images"], 0.02)] + (
    [(k, REF["images"], 0.02) for k in ("apgdt", "fabt", "autoattack")] if LONG else [("autoattack", SUBSET, 1 / SUBSET)])


@pytest.mark.parametrize("key,images,tolerance", CASES, ids=[f"{k}-{n}" for k, n, _ in CASES])
def test_robust_accuracy_matches_torchattacks(daemon, key, images, tolerance):
    ours, theirs = robust_accuracy(daemon, key, images), reference(key, images)
    assert abs(ours - theirs) <= tolerance + 1e-9, f"{key} on {images} images: AdvLens {ours:.4f}, torchattacks {theirs:.4f}"


@pytest.mark.skipif(not LONG, reason="make test-long (5,000 queries on every robust image)")
def test_square_within_the_spread_of_seeds(daemon):
    images = REF["images"]
    seeds = REF["attacks"]["square"]["robust_accuracy_seeds"]
    slack = max(max(seeds) - min(seeds), 2 / images)
    ours, theirs = robust_accuracy(daemon, "square", images), reference("square", images)
    assert abs(ours - theirs) <= slack, f"square on {images} images: AdvLens {ours:.4f}, torchattacks {theirs:.4f} (seeds {seeds})"
