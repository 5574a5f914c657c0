#!/usr/bin/env bash
# Builds the libFuzzer target (fuzz/FramingFuzz.swift + the JSON and RPC sources, with AddressSanitizer)
# and runs it for FUZZ_SECONDS (default 60). Crashes land in $FUZZ_OUT/artifacts; the corpus
# grows in $FUZZ_OUT/corpus (seeded from fuzz/seeds). Run with `make fuzz`.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${FUZZ_OUT:-.build-fuzz}
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}
mkdir -p "$OUT/corpus" "$OUT/artifacts"
cp -n fuzz/seeds/* "$OUT/corpus/" 2>/dev/null || true

echo "building $OUT/framing-fuzz"
# ld.gold warns about every ASan helper symbol it cannot export; that noise is filtered out.
# The JSON module first (RPC imports it), instrumented the same way, then RPC and the target.
mkdir -p "$OUT/modules"
if ! { swiftc -sanitize=fuzzer,address -parse-as-library -O -whole-module-optimization -module-name JSON \
         Sources/JSON/*.swift -emit-module -emit-module-path "$OUT/modules/JSON.swiftmodule" -c -o "$OUT/json.o" &&
       swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name RPCFuzz -I "$OUT/modules" \
         Sources/RPC/*.swift fuzz/FramingFuzz.swift "$OUT/json.o" -o "$OUT/framing-fuzz"; } > "$OUT/build.log" 2>&1; then
    cat "$OUT/build.log"
    exit 1
fi
grep -v "Cannot export local symbol '__asan" "$OUT/build.log" || true

echo "fuzzing for ${SECONDS_TO_RUN}s"
# Swift's own backtracer would catch the crash before libFuzzer could report it.
SWIFT_BACKTRACE=enable=no "$OUT/framing-fuzz" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 \
    -dict=fuzz/rpc.dict -artifact_prefix="$OUT/artifacts/" -print_final_stats=1 \
    "$OUT/corpus"
