"""AdvLens's attacks against torchattacks on the same weights and the same 256 test images.

Tests/AttacksTests/Fixtures/torchattacks_mnist-small.json holds torchattacks' robust
accuracies (made by scripts/make_attack_fixtures.py on the PyTorch side from
Tests/AttacksTests/Fixtures/mnist-small/model.safetensors). AdvLens runs the same attacks
with the same parameters through the real daemon and must land within the stated tolerance.

Tolerances: FGSM, PGD, MI-FGSM: 0.02 (5 images of 256); PGD-L2 and C&W: 0.03; APGD, APGD-T,
FAB-T (issue 17): 0.02; Square: the spread of torchattacks' seeds. Iterative
attacks run without early stopping here, as torchattacks does. DeepFool is compared one way:
AdvLens follows the original algorithm (the overshoot scales the accumulated perturbation,
as in Moosavi-Dezfooli et al.'s reference code), while torchattacks 3.5 applies the overshoot
to each step from the clipped current image, which stalls on many MNIST digits; so AdvLens
must leave no higher robust accuracy than torchattacks (+0.02), with a mean L2 within 30%.
"""
import io
import json
import pathlib
import subprocess

import pytest

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "AttacksTests/Fixtures"
REF = json.loads((FIXTURES / "torchattacks_mnist-small.json").read_text())


class Daemon:
    def __init__(self, binary, root):
        self.proc = subprocess.Popen([str(binary), "--log-level", "error"], cwd=root, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, bufsize=0)
        # Buffered: readline on the raw pipe would read one byte per system call.
        self.replies = io.open(self.proc.stdout.fileno(), "rb", buffering=1 << 16, closefd=False)
        self.next_id = 0

    def call(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        while True:
            reply = json.loads(self.replies.readline())
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply["error"]
                return reply["result"]

    def close(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def daemon(advlensd, repo_root):
    d = Daemon(advlensd, repo_root)
    d.call("initialize", {"rootPath": str(repo_root)})
    rel = FIXTURES.relative_to(repo_root)
    d.call("model/load", {"name": "m", "spec": f"{rel}/mnist-small/model.json", "weights": f"{rel}/mnist-small/model.safetensors"})
    # Split version 1 (dataset order): the reference's images are the first test indices ascending.
    d.call("dataset/load", {"name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz",
                            "split": {"testPerClass": 100, "seed": 0, "version": 1}})
    yield d
    d.close()


SUMMARIES = {}


def run(daemon, method, images=None, **params):
    # The fixture's images are the first 256 of the test split, in order (or the first
    # `images` of them). Deterministic from the seed, so a call repeated by another test is
    # answered from the first one's summary.
    images = images or REF["images"]
    key = json.dumps([method, images, params], sort_keys=True)
    if key not in SUMMARIES:
        inputs = {"dataset": "mnist-test", "indices": list(range(images))}
        SUMMARIES[key] = daemon.call("attack", {"model": "m", "method": method, "inputs": inputs, "seed": 0, **params})["summary"]
    return SUMMARIES[key]


def test_same_images_and_clean_accuracy(daemon):
    r = daemon.call("predict", {"model": "m", "inputs": {"dataset": "mnist-test", "indices": list(range(256))}})
    assert abs(r["accuracy"] - REF["clean_accuracy"]) < 1e-6


CASES = [
    ("fgsm", "fgsm", {"epsilon": 0.3}, 0.02),
    ("pgd", "pgd", {"epsilon": 0.3, "stepSize": 0.01, "steps": 40, "randomStart": True, "earlyStop": False}, 0.02),
    ("pgd_no_random_start", "pgd", {"epsilon": 0.3, "stepSize": 0.01, "steps": 40, "randomStart": False, "earlyStop": False}, 0.02),
    ("mifgsm", "mifgsm", {"epsilon": 0.3, "stepSize": 0.03, "steps": 10, "decay": 1.0, "earlyStop": False}, 0.02),
    ("pgdl2", "pgd", {"norm": "l2", "epsilon": 2.0, "stepSize": 0.2, "steps": 40, "randomStart": True, "earlyStop": False}, 0.03),
    ("pgdl2_no_random_start", "pgd", {"norm": "l2", "epsilon": 2.0, "stepSize": 0.2, "steps": 40, "randomStart": False, "earlyStop": False}, 0.03),
    ("cw", "cw", {"c": 1.0, "kappa": 0.0, "steps": 100, "learningRate": 0.01}, 0.03),
]


@pytest.mark.parametrize("key,method,params,tolerance", CASES, ids=[c[0] for c in CASES])
def test_robust_accuracy_matches_torchattacks(daemon, key, method, params, tolerance):
    ours = run(daemon, method, **params)["robustAccuracy"]
    theirs = REF["attacks"][key]["robust_accuracy"]
    assert abs(ours - theirs) <= tolerance, f"{key}: AdvLens {ours:.4f}, torchattacks {theirs:.4f}"


# The AutoAttack family at the paper's budgets (issue 17): APGD 100 iterations, APGD-T and
# FAB-T over the 9 other classes at 100 iterations each, Square 5,000 queries. At the paper's
# epsilon 0.3 on all 256 images (this standard model falls to every one of them: quick, and
# proves the figures agree where they are 0), and at 0.1, where it keeps ~0.71 robust accuracy
# and the comparison tells attacks apart: APGD on all 256; APGD-T, FAB-T and Square, which spend
# most of their budget on the robust images, on the first SUBSET images against torchattacks'
# per-image mask on the same images (make test's time). Tolerance 0.02 (5 images of 256, one of
# 64); Square, a random search, against the spread of torchattacks' seeds 0-4 (below).
SUBSET = 64
AUTOATTACK_FAMILY = [
    ("apgd_ce", "apgd", {"epsilon": 0.3, "steps": 100, "restarts": 1, "loss": "ce"}, 256),
    ("apgd_dlr", "apgd", {"epsilon": 0.3, "steps": 100, "restarts": 1, "loss": "dlr"}, 256),
    ("apgdt", "apgd-t", {"epsilon": 0.3, "steps": 100, "restarts": 1, "targetClasses": 9}, 256),
    ("fabt", "fab-t", {"epsilon": 0.3, "steps": 100, "restarts": 1, "targetClasses": 9}, 256),
    ("apgd_ce_eps01", "apgd", {"epsilon": 0.1, "steps": 100, "restarts": 1, "loss": "ce"}, 256),
    ("apgd_dlr_eps01", "apgd", {"epsilon": 0.1, "steps": 100, "restarts": 1, "loss": "dlr"}, 256),
    ("apgdt_eps01", "apgd-t", {"epsilon": 0.1, "steps": 100, "restarts": 1, "targetClasses": 9}, SUBSET),
    ("fabt_eps01", "fab-t", {"epsilon": 0.1, "steps": 100, "restarts": 1, "targetClasses": 9}, SUBSET),
]


def reference_on(key, images):
    """torchattacks' robust accuracy on the first `images` of the fixture's 256."""
    mask = REF["attacks"][key]["robust_mask"][:images]
    return mask.count("1") / images


@pytest.mark.parametrize("key,method,params,images", AUTOATTACK_FAMILY, ids=[c[0] for c in AUTOATTACK_FAMILY])
def test_autoattack_family_matches_torchattacks(daemon, key, method, params, images):
    ours = run(daemon, method, images=images, **params)["robustAccuracy"]
    theirs = reference_on(key, images)
    assert abs(ours - theirs) <= 0.02, f"{key} on {images} images: AdvLens {ours:.4f}, torchattacks {theirs:.4f}"


@pytest.mark.parametrize("key,eps,images", [("square", 0.3, 256), ("square_eps01", 0.1, SUBSET)])
def test_square_within_the_spread_of_seeds(daemon, key, eps, images):
    """Square's figure moves with its random windows: AdvLens must land within torchattacks'
    spread over seeds 0-4 (on 256 images; at least two images of the subset) of its seed-0
    figure on the same images."""
    seeds = REF["attacks"][key]["robust_accuracy_seeds"]
    slack = max(max(seeds) - min(seeds), 2 / images)
    ours = run(daemon, "square", images=images, epsilon=eps, queries=5000)["robustAccuracy"]
    theirs = reference_on(key, images)
    assert abs(ours - theirs) <= slack, f"{key}: AdvLens {ours:.4f}, torchattacks {theirs:.4f} (seeds {seeds})"


def test_autoattack_no_weaker_than_any_member(daemon):
    """The ensemble counts a sample robust only if every member failed on it (first 32 images)."""
    members = [run(daemon, m, images=32, epsilon=0.1, **p)["robustAccuracy"] for m, p in [
        ("apgd", {"loss": "ce"}), ("apgd-t", {}), ("fab-t", {}), ("square", {})]]
    ours = run(daemon, "autoattack", images=32, epsilon=0.1)["robustAccuracy"]
    assert ours <= min(members), (ours, members)


def test_deepfool_at_least_as_strong_with_similar_perturbations(daemon):
    ours = run(daemon, "deepfool", steps=50, overshoot=0.02)
    theirs = REF["attacks"]["deepfool"]
    assert ours["robustAccuracy"] <= theirs["robust_accuracy"] + 0.02
    assert abs(ours["meanL2"] - theirs["l2_mean"]) <= 0.3 * theirs["l2_mean"], (ours["meanL2"], theirs["l2_mean"])


def test_sanity_on_mnist_small(daemon):
    """The issue's expectations for an undefended mnist-small."""
    assert run(daemon, "fgsm", epsilon=0.3)["robustAccuracy"] < 0.1
    assert run(daemon, "pgd", epsilon=0.3, stepSize=0.01, steps=40)["robustAccuracy"] < 0.01
    cw = run(daemon, "cw", c=1.0, binarySearchSteps=6, steps=100, learningRate=0.05)
    assert cw["successRate"] > 0.95
    deepfool = run(daemon, "deepfool")
    pgdl2 = run(daemon, "pgd", norm="l2", epsilon=2.0, stepSize=0.2, steps=40, earlyStop=False)
    assert deepfool["meanL2"] < pgdl2["meanL2"]
