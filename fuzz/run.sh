#!/usr/bin/env bash
# Builds the libFuzzer targets (with AddressSanitizer) and runs them side by side for
# FUZZ_SECONDS each (default 60). Run with `make fuzz`.
#   framing  fuzz/FramingFuzz.swift + JSON + RPC: framing, JSON, message classification, params
#   formats  fuzz/FormatsFuzz.swift + JSON, Files, SafeTensors, TensorEngine, NN, Data, SwiftProtobuf,
#            ONNX: the files clients name (safetensors, spec JSON, NPY, CSV, gzip, IDX, images, NPZ,
#            CIFAR, image-folder transforms, ImageNet-validation labels, ONNX models)
# FUZZ_TARGETS picks some ("formats"); crashes land in $FUZZ_OUT/artifacts-TARGET, the corpora
# grow in $FUZZ_OUT/corpus-TARGET (seeded from fuzz/seeds and fuzz/make_format_seeds.py), and
# each target's log (executions, coverage, final stats) is $FUZZ_OUT/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${FUZZ_OUT:-.build-fuzz}
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-framing formats}
mkdir -p "$OUT/modules"
SANITIZE=(-sanitize=fuzzer,address -parse-as-library -O)
CLIBS=(-I Sources/CBLAS -I Sources/CZlib -I Sources/CStb)

# One module, instrumented like the target: its .swiftmodule for the next ones, one object.
# ld.gold warns about every ASan helper symbol it cannot export; that noise is filtered out.
# The sources are Sources/NAME, or the folder given second (a package's checkout, whose
# `package` declarations need the package name given third).
module() {
    local name=$1 sources=${2:-Sources/$1} package=(${3:+-package-name "$3"})
    # shellcheck disable=SC2046
    if ! swiftc "${SANITIZE[@]}" -whole-module-optimization -module-name "$name" "${package[@]}" -I "$OUT/modules" "${CLIBS[@]}" \
            $(find "$sources" -name '*.swift' | sort) \
            -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" -c -o "$OUT/$name.o" > "$OUT/build-$name.log" 2>&1; then
        cat "$OUT/build-$name.log"
        exit 1
    fi
}

build() {
    local target=$1
    echo "building $OUT/$target-fuzz"
    case $target in
        framing)
            module JSON
            swiftc "${SANITIZE[@]}" -module-name RPCFuzz -I "$OUT/modules" \
                Sources/RPC/*.swift fuzz/FramingFuzz.swift "$OUT/JSON.o" -o "$OUT/framing-fuzz" > "$OUT/build.log" 2>&1 ||
                { cat "$OUT/build.log"; exit 1; }
            ;;
        formats)
            for m in JSON Files SafeTensors TensorEngine NN Data; do module "$m"; done
            # swift-protobuf's library from the package checkout (`swift package resolve` fetches it).
            [ -d .build/checkouts/swift-protobuf ] || swift package resolve
            module SwiftProtobuf .build/checkouts/swift-protobuf/Sources/SwiftProtobuf swift_protobuf
            module ONNX
            swiftc "${SANITIZE[@]}" -module-name FormatsFuzz -I "$OUT/modules" "${CLIBS[@]}" fuzz/FormatsFuzz.swift \
                "$OUT"/{JSON,Files,SafeTensors,TensorEngine,NN,Data,SwiftProtobuf,ONNX}.o -lopenblas -lz -lstb -o "$OUT/formats-fuzz" > "$OUT/build.log" 2>&1 ||
                { cat "$OUT/build.log"; exit 1; }
            python3 fuzz/make_format_seeds.py "$OUT/corpus-formats"
            ;;
        *) echo "unknown fuzz target $target (framing, formats)"; exit 2 ;;
    esac
    grep -v "Cannot export local symbol '__asan" "$OUT/build.log" || true
}

run() {
    local target=$1 options=(-max_len=8192 -timeout=10)
    mkdir -p "$OUT/corpus-$target" "$OUT/artifacts-$target"
    case $target in
        framing) cp -n fuzz/seeds/* "$OUT/corpus-framing/" 2>/dev/null || true; options+=(-dict=fuzz/rpc.dict) ;;
        formats) options=(-max_len=65536 -timeout=10 -rss_limit_mb=2048) ;;
    esac
    # Swift's own backtracer would catch the crash before libFuzzer could report it; one BLAS
    # thread keeps each target on one core.
    SWIFT_BACKTRACE=enable=no OPENBLAS_NUM_THREADS=1 "$OUT/$target-fuzz" \
        -max_total_time="$SECONDS_TO_RUN" "${options[@]}" \
        -artifact_prefix="$OUT/artifacts-$target/" -print_final_stats=1 \
        "$OUT/corpus-$target" > "$OUT/$target.log" 2>&1
}

for t in $TARGETS; do build "$t"; done
echo "fuzzing ${TARGETS} for ${SECONDS_TO_RUN}s each, side by side (logs: $OUT/<target>.log)"
pids=()
for t in $TARGETS; do run "$t" & pids+=($!); done
status=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || status=1; done
for t in $TARGETS; do
    echo "== $t: $(grep -E '^(#[0-9]+).*(DONE|pulse|NEW|REDUCE)' "$OUT/$t.log" | tail -1)"
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|Test unit written' "$OUT/$t.log" || true
done
exit $status
