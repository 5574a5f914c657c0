"""Progress ($/progress through a workDoneToken) and cancellation (Ctrl-C -> $/cancelRequest)."""
import os
import re

import pytest

import advlens
import advlens.progress


def test_progress_reaches_a_callback_in_order(client):
    values = []
    result = client.attack("digits", "pgd", advlens.dataset("mnist-test", range(50)), steps=20,
                           early_stop=False, progress=values.append)
    kinds = [v["kind"] for v in values]
    assert kinds[0] == "begin" and kinds[-1] == "end" and set(kinds[1:-1]) == {"report"}
    assert values[0]["title"] == "attack pgd" and values[0]["message"] == "50 inputs"
    assert "iteration" in values[1]["message"]
    percentages = [v["percentage"] for v in values if "percentage" in v]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    assert values[-1]["message"] == f"{round(result.summary['successRate'] * 100)}% success"


def test_progress_draws_a_tqdm_bar_when_installed(client, capsys):
    if advlens.progress.tqdm is None:
        pytest.skip("tqdm is not installed")
    client.attack("digits", "bim", advlens.dataset("mnist-test", range(20)), steps=10, early_stop=False, progress=True)
    assert "attack bim" in capsys.readouterr().err


def test_no_progress_without_asking(client):
    seen = []
    client.progress = seen.append
    try:
        client.attack("digits", "fgsm", advlens.dataset("mnist-test", [0]), progress=False)
    finally:
        client.progress = False
    assert seen == []


def test_keyboard_interrupt_cancels_and_keeps_the_partial_result(client, ctrl_c_after_progress):
    # Ctrl-C after the first progress report, on an attack of 100,000 C&W steps that cannot
    # finish first.
    on_progress, begun = ctrl_c_after_progress
    with pytest.raises(advlens.RequestCancelled) as cancelled:
        client.attack("digits", "cw", advlens.dataset("mnist-test", range(200)), steps=100000,
                      progress=on_progress)
    assert begun.is_set(), "interrupted before any progress report"
    error = cancelled.value
    assert error.code == -32800
    partial = error.data
    assert isinstance(partial, advlens.AttackResult)
    assert partial.summary["stoppedEarly"] is True and partial.summary["count"] == 200
    assert isinstance(partial.handle, advlens.Handle) and partial.images.shape == (200, 1, 28, 28)
    # The partial batch is kept like any result, and the session goes on.
    assert client.predict("digits", partial.handle).count == 200
    partial.handle.drop()


def bar_percentages(stderr):
    """The percentages a tqdm text bar drew, in order."""
    return [int(p) for p in re.findall(r"(\d+)%\|", stderr)]


def test_terminal_bar_shows_rate_and_time_left_and_never_goes_backwards(client, capsys):
    if advlens.progress.tqdm is None:
        pytest.skip("tqdm is not installed")
    # A probe that runs its attack first: the attack's steps, then the probe's two phases.
    client.probe("digits", "8", "consistency", dataset="mnist-test", units=[0, 1], k=4, progress=True,
                 adversarial={"attack": {"method": "pgd", "steps": 10, "early_stop": False,
                                         "inputs": advlens.dataset("mnist-test", range(0, 200, 2))}})
    err = capsys.readouterr().err
    drawn = bar_percentages(err)
    assert drawn and drawn == sorted(drawn), drawn
    assert drawn[-1] == 100
    assert "%/s" in err and re.search(r"\[\d\d:\d\d<\d\d:\d\d", err)  # rate, elapsed<left


NOTEBOOK_CELLS = [
    "import advlens\nfrom conftest import load_fixtures\n"
    "client = advlens.Client(daemon={daemon!r}, root={root!r})\nload_fixtures(client)",
    "r = client.attack('digits', 'pgd', advlens.dataset('mnist-test', range(100)), steps=20, early_stop=False)",
]


def test_notebook_progress_is_an_html_bar_in_the_cell(daemon, root, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    if advlens.progress.notebook_tqdm() is not None:
        pytest.skip("ipywidgets is installed: the bar is tqdm's widget")
    from conftest import REPO
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    paths = [str(REPO / "clients/python"), str(REPO / "clients/python/tests"), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.format(daemon=daemon, root=root)) for c in NOTEBOOK_CELLS]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[1].outputs
    assert not [o for o in outputs if o.output_type in ("stream", "error")], outputs  # nothing in the stderr box
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert 'class="advlens-progress"' in html and "attack pgd" in html
    assert 'data-percentage="100"' in html and "%/s" in html and "left" in html and "success" in html
