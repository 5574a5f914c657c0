"""The transcripts in the READMEs are what a fresh run prints (issue 18, item 15):
scripts/transcripts.py --check runs every one against the built daemon and the shell client."""
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_readme_transcripts_match_a_fresh_run():
    r = subprocess.run([sys.executable, str(REPO / "scripts/transcripts.py"), "--check"], cwd=REPO,
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


def test_the_check_catches_a_drift():
    sys.path.insert(0, str(REPO / "scripts"))
    import transcripts
    doc = "Predicted 9 with 56.0% confidence ... unit 29 (logit drop +0.972), 12.5 ms in the daemon\npid       20004\n"
    assert transcripts.same(doc, doc.replace("12.5 ms", "3.1 ms").replace("20004", "77"))
    assert transcripts.same(doc, doc.replace("12.5 ms", "1.04 s"))   # over a second on a loaded machine
    assert transcripts.same(doc, doc.replace("+0.972", "+0.973"))   # the last digit, rounded the other way
    assert not transcripts.same(doc, doc.replace("56.0%", "50.4%"))
    assert not transcripts.same(doc, doc.replace("unit 29", "unit 59"))
    assert not transcripts.same(doc, doc.replace("+0.972", "+0.975"))
