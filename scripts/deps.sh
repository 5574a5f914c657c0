#!/usr/bin/env bash
# Installs what `make demo` (scripts/deps.sh) or `make test` (scripts/deps.sh --test) needs on a
# fresh Debian 12 machine, and nothing that is already there:
#
#   1. Debian packages, each checked with dpkg-query; `apt-get update` and `apt-get install` run
#      only when one is missing. As root they are installed; otherwise this stops at once and
#      prints the one `sudo apt-get install -y ...` line to run.
#   2. The project's Python virtual environment .venv (python3 -m venv; ignored by git), with
#      the packages of requirements.txt (--test) installed from PyPI by its own pip. A copy of
#      the requirements installed last is kept in .venv: while it matches, pip is not run.
#
# A second run checks and prints nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

test_deps=0
[ "${1:-}" = "--test" ] && test_deps=1

# Building (OpenBLAS's CBLAS, SQLite for GRDB, stb_image, zlib) and the virtual environment.
packages=(libopenblas-dev libsqlite3-dev libstb-dev zlib1g-dev python3-venv)
if [ "$test_deps" = 1 ]; then
    # The editor clients' tests: Neovim (Debian's 0.7), headless Chromium for the VS Code
    # webview, and Node (node --test) when none is on PATH.
    # jq: the shell client's documented transcripts pipe through it (scripts/transcripts.py).
    packages+=(neovim chromium jq)
    command -v node >/dev/null 2>&1 || packages+=(nodejs)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing Debian packages; run this, then make again:" >&2
        echo "sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "deps: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v swift >/dev/null 2>&1 || { echo "deps: swift is not on PATH: install Swift 6.1 or newer (swift.org)" >&2; exit 1; }

# The virtual environment: its pip downloads the data (make data) and installs the test packages.
PYTHON3="${PYTHON3:-python3}"
if [ ! -x .venv/bin/python ] || [ ! -x .venv/bin/pip ]; then
    echo "deps: creating .venv with $("$PYTHON3" --version 2>&1) ($(command -v "$PYTHON3"))"
    rm -rf .venv
    "$PYTHON3" -m venv .venv
fi
if [ "$test_deps" = 1 ] && ! cmp -s requirements.txt .venv/requirements.installed; then
    echo "deps: installing requirements.txt into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
    cp requirements.txt .venv/requirements.installed
fi
