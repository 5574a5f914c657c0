#!/usr/bin/env python3
"""README transcripts made from real runs, so the outputs in the docs cannot drift.

A transcript is a fenced block between `<!-- transcript: KIND SESSION -->` and
`<!-- /transcript -->` in a Markdown file:

- `python SESSION`: the output of the ```python block just before it. The Python blocks of one
  session run as one program, in order (a later block may continue an earlier one's `with`).
- `shell SESSION`: the block holds `$ command` lines, each followed by its output. The commands of
  one session run in order through bash against one private daemon (its own socket and cache),
  after the session's hidden setup (SETUPS below).

Everything runs from the repository root with the release build (`advlens`, `advlensd` first on
PATH, $ADVLENSD), a private cache and socket. Paths under the repository print as
~/advlens/...

    python3 scripts/transcripts.py            # run everything, rewrite the outputs
    python3 scripts/transcripts.py --check    # run everything, fail on any difference
                                              # (timings, pids and the machine's engine masked,
                                              # last digits may differ by one)
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
FILES = ["clients/python/README.md", "clients/shell/README.md", "clients/shell/docs/explain.md", "clients/shell/docs/probe.md"]
MODEL = "Tests/AttacksTests/Fixtures/mnist-small"
# Commands run before a shell session's first shown command (what its prose says is loaded).
SETUPS = {
    "probe": [f"advlens model load trained --spec {MODEL}/model.json --weights {MODEL}/model.safetensors",
              "advlens dataset load mnist --kind mnist-csv --path data/mnist_5k.csv.gz --split-test-per-class 100 --split-seed 0"],
    "explain": [f"advlens model load digits --spec {MODEL}/model.json --weights {MODEL}/model.safetensors",
                "advlens dataset load mnist --kind mnist-csv --path data/mnist_5k.csv.gz --split-test-per-class 100 --split-seed 0"],
}
BLOCK = re.compile(r"<!-- transcript: (?P<kind>python|shell) (?P<session>[\w-]+) -->\n"
                   r"(?P<fence>```[^\n]*\n)(?P<body>.*?)```\n<!-- /transcript -->", re.S)
PYTHON_CODE = re.compile(r"```python\n(?P<code>.*?)```\n", re.S)
MARK = "@@advlens-transcript@@"
# What changes from run to run or machine to machine: masked when checking. An elapsed time prints
# as "812.3 ms" or, on a loaded machine, "1.42 s" (AttackCommand.elapsed): both mask alike.
VOLATILE = [
    (re.compile(r"\d+(\.\d+)? ms\b|\d+\.\d\d s\b"), "<ms> ms"), (re.compile(r"[\d.,]+ images/s"), "<rate> images/s"),
    (re.compile(r"^(pid|uptime|engine)( +).*$", re.M), r"\1\2<varies>"), (re.compile(r"\(pid \d+\)"), "(pid <varies>)"), (re.compile(r"[\d.]+ steps/s"), "<rate> steps/s"),
]


def environment(work):
    """A session's environment: its own runtime directory (the shell client's socket lives in
    $XDG_RUNTIME_DIR/advlens), its own cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("ADVLENS_SOCKET",)}
    (work / "runtime").mkdir(parents=True)
    env.update({"XDG_CACHE_HOME": str(work / "cache"), "XDG_RUNTIME_DIR": str(work / "runtime"),
                "ADVLENSD": str(REPO / ".build/release/advlensd"), "PATH": f"{REPO / '.build/release'}:{env.get('PATH', '')}",
                "PYTHONPATH": str(REPO / "clients/python")})
    return env


def shown_paths(text, env):
    for real, shown in ((env["XDG_RUNTIME_DIR"], "$XDG_RUNTIME_DIR"), (str(REPO.resolve()), "~/advlens"), (str(REPO), "~/advlens")):
        text = text.replace(real, shown)
    return text


def run_python(codes, env):
    # A marker at the indentation of the next block's first line keeps the program valid.
    pieces, out = [], []
    for i, code in enumerate(codes):
        pieces.append(code.rstrip("\n") + "\n")
        if i + 1 < len(codes):
            first = next(line for line in codes[i + 1].splitlines() if line.strip())
            pieces.append(first[:len(first) - len(first.lstrip())] + f"print({MARK!r})\n")
    program = "".join(pieces)
    r = subprocess.run([sys.executable, "-c", program], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"python session failed:\n{r.stderr}")
    return [shown_paths(part, env).strip("\n") + "\n" for part in r.stdout.split(MARK + "\n")]


def run_shell(commands, env):
    out = []
    for command in commands:
        # stdout and stderr through one pipe: the lines in the order a terminal shows them.
        r = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=900)
        out.append(shown_paths(r.stdout, env))
    return out


def shell_commands(body):
    """The `$ command` lines of a shell block (a trailing \\ continues on the next line)."""
    commands, lines = [], body.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("$ "):
            command = lines[i][2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command + "\n" + lines[i]
            commands.append(command)
        i += 1
    return commands


def transcripts(text):
    """(match, python code of it) for each transcript of a file."""
    found = []
    for m in BLOCK.finditer(text):
        code = None
        if m.group("kind") == "python":
            before = list(PYTHON_CODE.finditer(text, 0, m.start()))
            code = before[-1].group("code") if before else None
            if code is None:
                raise ValueError(f"python transcript {m.group('session')}: no ```python block before it")
        found.append((m, code))
    return found


def regenerate(path, scratch):
    text = path.read_text()
    found = transcripts(text)
    outputs = {}
    sessions = {}
    for m, code in found:
        sessions.setdefault((m.group("kind"), m.group("session")), []).append((m, code))
    for (kind, session), items in sessions.items():
        work = scratch / f"{path.parent.name}-{path.stem}-{session}"
        env = environment(work)
        try:
            if kind == "python":
                results = run_python([code for _, code in items], env)
                for (m, _), result in zip(items, results):
                    outputs[m.start()] = result
            else:
                run_shell(SETUPS.get(session, []), env)
                for m, _ in items:
                    commands = shell_commands(m.group("body"))
                    results = run_shell(commands, env)
                    outputs[m.start()] = "\n".join(f"$ {c}\n{r.rstrip()}\n" if r.strip() else f"$ {c}\n"
                                                   for c, r in zip(commands, results))
        finally:
            subprocess.run(["bash", "-c", "advlens daemon stop >/dev/null 2>&1 || true"], cwd=REPO, env=env)
    new, last = [], 0
    for m, _ in found:
        new.append(text[last:m.start("body")])
        new.append(outputs[m.start()])
        last = m.end("body")
    new.append(text[last:])
    return text, "".join(new)


def masked(text):
    # Progress lines come as fast as the machine is: how many is not the point.
    text = re.sub(r"^advlens: \w+ \[[#-]+\].*\n", "", text, flags=re.M)
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    # Table widths follow the longest cell, and a cell may hold the repository's path (shown as
    # ~/advlens but measured as wherever the clone is): compare rules and padding loosely.
    text = re.sub(r"^[- ]*-[- ]*$", lambda m: re.sub(r"-+", "-", m.group(0)), text, flags=re.M)
    return re.sub(r" {2,}", "  ", text)


NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def same(doc, run):
    """Whether a transcript still says what a fresh run says: the same text, numbers equal up to
    one unit in the last digit shown (another CPU's BLAS kernel may round the last digit the
    other way; a drift such as 56.0% -> 50.4% or unit 29 -> 59 is a difference)."""
    a, b = masked(doc), masked(run)
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
        if x == y:
            continue
        if "." not in x or "." not in y or len(x.split(".")[1]) != len(y.split(".")[1]):
            return False
        if abs(float(x) - float(y)) > 1.0001 * 10 ** -len(x.split(".")[1]):
            return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when a transcript differs from a fresh run")
    parser.add_argument("files", nargs="*", default=FILES)
    args = parser.parse_args()
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="advlens-transcripts-", dir="/tmp"))
    stale = []
    try:
        for name in args.files:
            path = REPO / name
            old, new = regenerate(path, scratch)
            if args.check:
                if not same(old, new):
                    import difflib
                    stale.append(name)
                    sys.stdout.writelines(difflib.unified_diff(masked(old).splitlines(True), masked(new).splitlines(True),
                                                               f"{name} (in the repository)", f"{name} (a fresh run)"))
            elif old != new:
                path.write_text(new)
                print(f"rewrote {name}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if stale:
        print(f"\nstale transcripts in {', '.join(stale)}: run python3 scripts/transcripts.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
