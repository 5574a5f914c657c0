"""Seeded dataset samples from the Python client (issue 16): advlens.dataset(..., sample=N)
reaches the daemon as a sample reference, in inputs and in probe's dataset, and the daemon
draws the same images for the same seed."""
import pytest

import advlens


def test_a_stratified_sample_covers_every_class(client):
    ref = advlens.dataset("mnist-test", sample=20, seed=3, stratified=True)
    assert ref == {"dataset": "mnist-test", "sample": 20, "seed": 3, "stratified": True}
    first = client.predict("digits", ref, top_k=1)
    labels = [p["label"] for p in first.predictions]
    assert len(labels) == 20 and sorted(set(labels)) == list(range(10))
    again = client.predict("digits", ref, top_k=1)
    assert again.predictions == first.predictions


def test_probe_takes_a_sample_as_its_real_set(client):
    ref = advlens.dataset("mnist-test", sample=30, seed=1)
    r = client.probe("digits", "8", "activations", dataset=ref, units=[0], array_encoding="json")
    indices = r.activations["indices"]
    assert r.count == 30 and len(set(indices)) == 30 and all(0 <= i < 200 for i in indices)
    # The same draw as the same reference among inputs, in the same order.
    drawn = client.predict("digits", ref, top_k=1)
    assert r.activations["labels"] == [p["label"] for p in drawn.predictions]
    other = client.probe("digits", "8", "activations", dataset=advlens.dataset("mnist-test", sample=30, seed=2),
                         units=[0], array_encoding="json")
    assert other.activations["indices"] != indices


def test_seed_without_a_sample_is_refused_locally():
    with pytest.raises(ValueError, match="sample=N"):
        advlens.dataset("mnist-test", seed=3)
