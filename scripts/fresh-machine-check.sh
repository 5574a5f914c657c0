#!/usr/bin/env bash
# The newcomer's test: clone this repository into a temporary folder and run the README's two
# commands there, `make demo` then `make test`, timing each.
#
#   scripts/fresh-machine-check.sh [BRANCH-OR-COMMIT]     (default: the commit checked out here)
#
# The clone has no .build/, .venv/, data/ nor out/: everything is installed, fetched and built
# as on a fresh machine (Debian packages already installed stay installed; remove some first
# to check that path too). Logs go to the clone's fresh-*.log; the clone is removed when both
# commands pass (KEEP=1 keeps it). Exits non-zero when either command fails.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REV="${1:-$(git -C "$ROOT" rev-parse HEAD)}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/advlens-fresh.XXXXXX")"
CLONE="$WORK/advlens"

echo "fresh-machine-check: cloning $ROOT at $REV into $CLONE"
git clone --quiet --no-local "$ROOT" "$CLONE" && git -C "$CLONE" checkout --quiet "$REV" || exit 1

status=0
results=()
for target in demo test; do
    echo "fresh-machine-check: make $target (log: $CLONE/fresh-$target.log; load average $(cut -d' ' -f1-3 /proc/loadavg))"
    start=$(date +%s)
    (cd "$CLONE" && make "$target" </dev/null) > "$CLONE/fresh-$target.log" 2>&1
    code=$?
    seconds=$(( $(date +%s) - start ))
    tail -n 15 "$CLONE/fresh-$target.log"
    if [ "$code" = 0 ]; then result=ok; else result="FAILED (exit $code)"; status=1; fi
    results+=("$(printf 'make %-5s %4d s (%dm%02ds)  %s' "$target" "$seconds" $((seconds / 60)) $((seconds % 60)) "$result")")
done

echo
echo "fresh-machine-check: $REV on $(nproc) cores, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
for r in "${results[@]}"; do echo "   $r"; done
if [ "$status" = 0 ] && [ "${KEEP:-0}" != 1 ]; then
    rm -rf "$WORK"
else
    echo "   the clone is kept in $CLONE"
fi
exit "$status"
