"""Ctrl-C in a terminal: the terminal sends SIGINT to the whole foreground process group. The
client's daemon must not be in it (its own session), so the keypress cancels the running
request (partial result) and the daemon, its models and datasets live on."""
import os
import signal
import subprocess
import sys

from conftest import DATA, MODEL_DIR, REPO

SCRIPT = """
import signal, sys
sys.path.insert(0, {client!r})
import advlens
signal.signal(signal.SIGINT, signal.default_int_handler)  # as an interactive python has it
with advlens.Client(daemon={daemon!r}, root={root!r}, progress=False) as c:
    c.model_load("digits", spec={spec!r}, weights={weights!r})
    c.dataset_load("mnist", kind="mnist-csv", path={data!r}, split={{"test_per_class": 20, "seed": 0}})
    begun = []
    def on_progress(value):
        if value["kind"] == "report" and not begun:
            begun.append(1)
            print("begun", flush=True)
    try:
        c.attack("digits", "cw", advlens.dataset("mnist-test", range(200)), steps=100000, progress=on_progress)
        print("finished", flush=True)
    except advlens.RequestCancelled as e:
        print("partial", e.data.summary["count"], e.data.summary["stoppedEarly"], flush=True)
    print("after", c.predict("digits", advlens.dataset("mnist-test", range(5))).count, flush=True)
"""


def test_ctrl_c_in_a_terminal_cancels_the_request_and_keeps_the_daemon(daemon, root, tmp_path):
    script = tmp_path / "repl.py"
    script.write_text(SCRIPT.format(client=str(REPO / "clients/python"), daemon=daemon, root=root,
                                    spec=str(MODEL_DIR / "model.json"), weights=str(MODEL_DIR / "model.safetensors"),
                                    data=str(DATA.resolve())))

    def as_a_terminal_job():
        # SIGINT delivered by default (a CI shell may start us with it ignored, which children inherit).
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    # The client in a process group of its own, as a shell's foreground job is.
    user = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=as_a_terminal_job)
    lines = []
    for line in user.stdout:
        lines.append(line.strip())
        if line.strip() == "begun":
            os.killpg(user.pid, signal.SIGINT)  # the terminal's Ctrl-C: the whole foreground group
    user.wait(60)
    assert lines[0] == "begun" and lines[1] == "partial 200 True", lines
    assert lines[2] == "after 5", lines  # the same daemon answers after the Ctrl-C
    assert user.returncode == 0
