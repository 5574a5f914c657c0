"""Arrays as users hold them: numpy integer arrays (labels, indices) and PyTorch tensors.

torch is optional and never installed by `make test`: the numpy-integer cases run everywhere; the
torch cases run where torch is importable (bench machines, a researcher's environment)."""
import numpy as np
import pytest

import advlens
from advlens.params import to_wire


def test_numpy_integer_labels_reach_the_daemon_as_integers(client):
    refs = advlens.dataset("mnist-test", [0, 25, 47, 66])
    truth = [p["label"] for p in client.predict("digits", refs).predictions]
    images = client.attack("digits", "fgsm", refs, epsilon=0.1).originals
    for labels in (np.array(truth), np.array(truth, dtype=np.int32), np.array(truth, dtype=np.uint8)):
        result = client.predict("digits", images, labels=labels)
        assert [p["label"] for p in result.predictions] == truth
        assert result.accuracy == pytest.approx(np.mean([p["predicted"] == t for p, t in zip(result.predictions, truth)]))
    # A scalar numpy integer, and numpy indices in a dataset reference, are plain integers too.
    assert to_wire({"top_k": np.int64(3)}) == {"topK": 3}
    assert client.predict("digits", advlens.dataset("mnist-test", np.arange(3)), top_k=np.int64(2)).count == 3


def test_float_arrays_outside_inputs_stay_tensors():
    wire = to_wire({"weights": np.array([0.5, 1.5], dtype=np.float64)})
    assert wire["weights"]["dtype"] == "float32" and wire["weights"]["shape"] == [2]


def test_torch_tensors_in_and_out(client):
    torch = pytest.importorskip("torch")
    refs = advlens.dataset("mnist-test", [0, 25, 47])
    originals = client.attack("digits", "fgsm", refs, epsilon=0.1).originals
    truth = [p["label"] for p in client.predict("digits", refs).predictions]
    # A float64 tensor that requires grad, labels as a torch integer tensor.
    x = torch.from_numpy(originals).double().requires_grad_(True)
    result = client.predict("digits", x, labels=torch.tensor(truth), return_logits=True)
    assert [p["label"] for p in result.predictions] == truth
    attack = client.attack("digits", "fgsm", x, labels=torch.tensor(truth), epsilon=0.1)
    assert isinstance(attack.images, torch.Tensor) and attack.images.shape == (3, 1, 28, 28)
    assert isinstance(attack.originals, torch.Tensor)
    assert "data:image/png;base64," in attack._repr_html_()
    # bfloat16 (no numpy dtype) goes as float32.
    assert client.predict("digits", x.detach().to(torch.bfloat16)).count == 3
