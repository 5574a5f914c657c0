"""The files the example notebook uses — the mnist-small fixture model and the MNIST digits of
`make data` — found from wherever the notebook runs: a copy of it outside the repository, with
the package installed and the daemon on PATH or in $ADVLENSD, must work as well as the
original."""
import itertools
import os
import pathlib

from .daemon import find_daemon

MODEL = "Tests/AttacksTests/Fixtures/mnist-small"
DIGITS = "data/mnist_5k.csv.gz"


def candidate_checkouts():
    """Directories that may be an AdvLens checkout: $ADVLENS_REPO, then the ones holding the
    daemon binary (a build's .build/release/advlensd, links followed), this package, and the
    working directory."""
    if os.environ.get("ADVLENS_REPO"):
        yield pathlib.Path(os.environ["ADVLENS_REPO"])
    try:
        daemon = pathlib.Path(find_daemon())
        yield from daemon.resolve().parents
        yield from daemon.absolute().parents
    except FileNotFoundError:
        pass
    yield from pathlib.Path(__file__).resolve().parents
    here = pathlib.Path.cwd()
    yield from (here, *here.parents)


def example_files():
    """{"spec", "weights", "digits"}: absolute paths of the example's model and data."""
    tried = []
    for checkout in itertools.islice(candidate_checkouts(), 64):
        spec, weights, digits = checkout / MODEL / "model.json", checkout / MODEL / "model.safetensors", checkout / DIGITS
        if spec.is_file() and weights.is_file() and digits.exists():
            return {"spec": str(spec), "weights": str(weights), "digits": str(digits.resolve())}
        tried.append(str(checkout))
    raise FileNotFoundError(f"the example model ({MODEL}) and digits ({DIGITS}, from `make data`) are in no AdvLens "
                            f"checkout near the daemon, this package or the working directory; set ADVLENS_REPO. "
                            f"Tried: {', '.join(dict.fromkeys(tried))}")
