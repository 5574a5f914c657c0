"""Progress ($/progress through a workDoneToken) and cancellation (Ctrl-C -> $/cancelRequest)."""
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
