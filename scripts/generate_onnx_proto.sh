#!/usr/bin/env bash
# Regenerates Sources/ONNX/Generated/onnx.pb.swift, the Swift messages of ONNX's IR (onnx.proto),
# which is committed so that no build runs the protobuf plugin. Run it only when moving to a
# newer onnx.proto or swift-protobuf:
#   1. protoc from Debian's protobuf-compiler (apt-get install protobuf-compiler);
#   2. swift-protobuf's protoc-gen-swift at the version Package.swift names, built here from the
#      package mirror (a clone in /tmp; set PROTOC_GEN_SWIFT to use a plugin built elsewhere);
#   3. onnx.proto from the `onnx` PyPI package in the project's .venv (requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's|.*swift-protobuf", exact: "\([0-9.]*\)".*|\1|p' Package.swift)
[ -n "$version" ] || { echo "generate_onnx_proto: no swift-protobuf version in Package.swift" >&2; exit 1; }
command -v protoc >/dev/null || { echo "generate_onnx_proto: protoc missing: apt-get install protobuf-compiler" >&2; exit 1; }

plugin=${PROTOC_GEN_SWIFT:-}
if [ -z "$plugin" ]; then
    checkout=/tmp/swift-protobuf-$version
    if [ ! -d "$checkout" ]; then
        git clone -q --branch "$version" "${SWIFT_PROTOBUF_GIT:-https://github.com/apple/swift-protobuf}" "$checkout"
    fi
    (cd "$checkout" && swift build -c release --product protoc-gen-swift)
    plugin=$checkout/.build/release/protoc-gen-swift
fi

proto=$(.venv/bin/python -c 'import os, onnx; print(os.path.join(os.path.dirname(onnx.__file__), "onnx.proto"))')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cp "$proto" "$out/onnx.proto"
# Public types: the ONNX module's tests and its importer share them across files.
protoc --plugin=protoc-gen-swift="$plugin" --proto_path="$out" --swift_opt=Visibility=Public \
    --swift_out="$out" "$out/onnx.proto"
mkdir -p Sources/ONNX/Generated
cp "$out/onnx.pb.swift" Sources/ONNX/Generated/onnx.pb.swift
echo "generate_onnx_proto: Sources/ONNX/Generated/onnx.pb.swift from $proto (onnx $(.venv/bin/python -c 'import onnx; print(onnx.__version__)'), protoc $(protoc --version | cut -d' ' -f2), swift-protobuf $version)"
