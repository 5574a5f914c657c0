#!/usr/bin/env bash
# `make test` (and `make test-long` with --long): each stage as its own make target, timed; the
# table of stage times at the end. The set-up stages (deps, data, build) stop the run when they
# fail; every test stage runs even when an earlier one failed, and the exit status is non-zero
# if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--long" ]; then
    tests=(test-swift-long test-crosscheck-long)
else
    tests=(test-swift test-protocol test-python test-nvim test-vscode)
fi

# The daemons the tests start keep their results in the default cache; a user's own cache must
# neither fill with them (4,900 kept results reached the 4 GiB cap here, and every later request
# that keeps a result failed: a long experiment run among them) nor decide whether a test passes.
# So the tests get a fresh cache directory of their own, removed at the end.
XDG_CACHE_HOME="$(mktemp -d /tmp/advlens-test-cache.XXXXXX)"
export XDG_CACHE_HOME
trap 'rm -rf "$XDG_CACHE_HOME"' EXIT

names=() seconds=() results=()
failed=0
total_start=$(date +%s.%N)

run() {  # run STAGE-NAME MAKE-TARGET
    local start end status
    echo "== $1 (make $2)"
    start=$(date +%s.%N)
    make --no-print-directory "$2" PREREQ=
    status=$?
    end=$(date +%s.%N)
    names+=("$1")
    seconds+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')")
    if [ "$status" = 0 ]; then results+=(ok); else results+=("FAILED ($status)"); failed=1; fi
    return "$status"
}

summary() {
    local total
    total=$(awk -v a="$total_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    echo
    echo "== stage times ($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
    for i in "${!names[@]}"; do
        printf '   %-16s %8s s   %s\n' "${names[$i]}" "${seconds[$i]}" "${results[$i]}"
    done
    printf '   %-16s %8s s\n' total "$total"
    local ok=0 bad=0
    for r in "${results[@]}"; do if [ "$r" = ok ]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi; done
    echo "stages: $ok passed, $bad failed"
}

for stage in deps:deps-test data:data build:build-tests; do
    run "${stage%%:*}" "${stage#*:}" || { summary; exit 1; }
done
for t in "${tests[@]}"; do
    run "${t#test-}" "$t"
done
summary
exit "$failed"
