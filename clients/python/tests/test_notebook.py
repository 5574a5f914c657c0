"""The example notebook runs headless (nbclient + ipykernel) against the real daemon, and its
outputs show what it promises."""
import os
import pathlib

import pytest

from conftest import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = REPO / "clients/python/examples/attack_and_probe.ipynb"


def html_of(cell):
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)


def text_of(cell):
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def test_example_notebook_executes_and_shows_results(daemon, monkeypatch, tmp_path):
    # The notebook copied out of the repository (issue 18, item 5), the package importable, the
    # daemon in $ADVLENSD: it finds its model and digits by itself, and its files land beside it.
    monkeypatch.setenv("ADVLENSD", daemon)
    monkeypatch.delenv("ADVLENS_REPO", raising=False)
    # No user-level kernel specs: "python3" is then the one of the interpreter running the tests
    # (make test: the project's .venv), whose ipykernel and numpy the notebook uses.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", str(REPO / "clients/python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    copied = tmp_path / "elsewhere"
    copied.mkdir()
    (copied / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())
    nb = nbformat.read(copied / NOTEBOOK.name, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(copied)}}).execute()
    cells = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert "'name': 'advlensd'" in text_of(cells[0])
    predict_html = html_of(cells[2])
    assert "advlens-predict" in predict_html and predict_html.count("<tr>") >= 11
    attack_html = html_of(cells[3])
    assert "advlens-attack" in attack_html
    assert attack_html.count("data:image/png;base64,") == 12  # 4 samples x (original, adversarial, perturbation)
    assert "== predict on the handle" in text_of(cells[4])
    robust, handle_accuracy = text_of(cells[4]).split("robust accuracy")[1].split("== predict on the handle")
    assert float(robust) == pytest.approx(float(handle_accuracy))
    assert len(text_of(cells[5]).strip().strip("[]").split(",")) == 4
    explain_html = html_of(cells[6])
    assert "advlens-explain" in explain_html and "advlens-comparison" in explain_html
    assert explain_html.count('class="advlens-bar"') >= 10  # 5 units in each of two layers, and the comparison's
    assert explain_html.count("data:image/png;base64,") == 2  # saliency and Grad-CAM
    top_html = html_of(cells[7])
    assert top_html.count('class="advlens-image advlens-file"') == 12  # 3 units x 4 patches
    assert len(list((copied / "notebook-patches").glob("*.png"))) == 12
    assert "cs1 per unit" in html_of(cells[8]) and html_of(cells[8]).count('class="advlens-bar"') == 8
    assert "attack pgd" in html_of(cells[9])
