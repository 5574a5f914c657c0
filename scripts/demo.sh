#!/usr/bin/env bash
# The main job (`make demo`): a real session through the daemon with the shell client.
# Expects the release build and data/ (make demo builds and fetches first).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.build/release
SOCK="$PWD/out/demo/daemon.sock"
MODEL=out/models/mnist-small
ADV=("$BIN/advlens" --socket "$SOCK")
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
mkdir -p out/demo

echo "== 1. mnist-small: trained weights in $MODEL"
if [ ! -f "$MODEL/model.safetensors" ]; then
    echo "   not trained yet: training with advlens-train (Adam 1e-3, batch 64, 5 epochs on the 4,000-image split)"
    "$BIN/advlens-train" --arch mnist-small --out "$MODEL"
else
    echo "   trained before: loading it"
fi

echo "== 2. start the daemon on $SOCK (it stays warm between commands)"
"${ADV[@]}" daemon stop >/dev/null 2>&1 || true
"${ADV[@]}" daemon start --pretty
trap '"${ADV[@]}" daemon stop --pretty >/dev/null 2>&1 || true' EXIT
"${ADV[@]}" --pretty model load mnist-small --spec "$MODEL/model.json" --weights "$MODEL/model.safetensors"
# The split's default order (version 2) interleaves the classes: test images 0-9 hold one of each digit.
"${ADV[@]}" --pretty dataset load mnist --kind mnist-csv --path data/mnist_5k.csv.gz --split-test-per-class 100 --split-seed 0

echo "== 3. predict the 1,000 test images"
"${ADV[@]}" predict --model mnist-small --dataset mnist-test --all | json '"   test accuracy %.4f on %d images (%.1f ms in the daemon)" % (d["accuracy"], d["count"], d["elapsedMs"])'

echo "== 4. a warm predict next to a cold one-shot process"
t0=$(ms); "${ADV[@]}" predict --model mnist-small --dataset mnist-test --indices 7 >/dev/null; t1=$(ms)
cold=$(printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}' \
  "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"model/load\",\"params\":{\"name\":\"m\",\"spec\":\"$MODEL/model.json\",\"weights\":\"$MODEL/model.safetensors\"}}" \
  '{"jsonrpc":"2.0","id":3,"method":"dataset/load","params":{"name":"mnist","kind":"mnist-csv","path":"data/mnist_5k.csv.gz","split":{"testPerClass":100}}}' \
  '{"jsonrpc":"2.0","id":4,"method":"predict","params":{"model":"m","inputs":{"dataset":"mnist-test","indices":[7]}}}' \
  '{"jsonrpc":"2.0","id":5,"method":"shutdown"}' '{"jsonrpc":"2.0","method":"exit"}')
t2=$(ms); printf '%s\n' "$cold" | "$BIN/advlensd" --log-level error >/dev/null; t3=$(ms)
echo "   warm: $((t1 - t0)) ms (a new advlens process asking the warm daemon)   cold: $((t3 - t2)) ms (a fresh advlensd that loads the model and the data first)"

echo "== 5. PGD attack (L-inf, eps 0.3, 40 steps) on 100 test images"
"${ADV[@]}" --pretty attack --model mnist-small --method pgd --epsilon 0.3 --step-size 0.01 --steps 40 \
    --dataset mnist-test --indices 0-99 --png out/demo/pgd --png-limit 4 --rows 5
echo "   comparison strips (original | adversarial | perturbation) in out/demo/pgd/"

echo "== 6. the penultimate layer's units under attack: probe consistency and r(x*)"
echo "   (ensemble-optimization attack, 2 targets per image, on the first 100 test images: ten of each digit; top 20 images per unit)"
"${ADV[@]}" --pretty probe consistency --model mnist-small --layer 8 --units 0-9 -k 20 --dataset mnist-test --all \
    --attack ensemble-opt --targets-per-image 2 --attack-indices 0-99 | tail -n +6
handle=$("${ADV[@]}" handle list | json 'd["handles"][-1]["handle"]')
"${ADV[@]}" --pretty probe representation --model mnist-small --layer 8 --dataset mnist-test --all --adversarial "$handle" \
    | sed -n '6,9p'
echo "== 7. explain a clean test image, then its adversarial twin against it"
"${ADV[@]}" --pretty explain --model mnist-small --dataset mnist-test --indices 301 --top 3 --png out/demo/explain
twin=$("${ADV[@]}" attack --model mnist-small --method pgd --epsilon 0.3 --dataset mnist-test --indices 301 | json 'd["handle"]')
"${ADV[@]}" --pretty explain --model mnist-small --handle "$twin" --compare-dataset mnist-test --compare-index 301 --top 3 \
    --png out/demo/explain
echo "   heatmaps (saliency, Grad-CAM) in out/demo/explain/"
echo "== 8. a short consistent-loss fine-tune (PAPER.md section 4) of a copy of the model"
# CE(x) + CE(x*) + 0.01 * ||phi(x) - phi(x*)||^2 at the penultimate layer "8", x* from FGSM eps 0.3.
"${ADV[@]}" model load fine --spec "$MODEL/model.json" --weights "$MODEL/model.safetensors" >/dev/null
robust() { "${ADV[@]}" evaluate --model fine --dataset mnist-test --attack fgsm --epsilon 0.3 \
    | json '"clean %.3f, robust %.3f under FGSM eps 0.3" % (d["cleanAccuracy"], d["robustAccuracy"])'; }
consistency() {
    local r h
    r=$("${ADV[@]}" probe consistency --model fine --layer 8 -k 20 --dataset mnist-test --all \
        --attack ensemble-opt --targets-per-image 2 --attack-indices 0-99)
    h=$(printf '%s' "$r" | json 'd["adversarialHandle"]')
    printf '%s' "$r" | json '"CS1 %.3f, CS2 %.3f, LC %.3f (means over the %d units of layer 8 that fire; %d silent left out; %d adversarials whose attack failed left out)" % (d["consistencySummary"]["meanCS1"], d["consistencySummary"]["meanCS2"], d["consistencySummary"]["meanLC"], d["consistencySummary"]["units"], d["consistencySummary"]["silentUnits"], d.get("adversarialExcluded", 0))' | tr -d '\n'
    "${ADV[@]}" probe representation --model fine --layer 8 --dataset mnist-test --all --adversarial "$h" \
        | json '"; r(x*) mean %.3f, %.0f%% below 1" % (d["representation"]["mean"], 100 * d["representation"]["fractionBelowOne"])'
}
echo "   before: $(robust)"
echo "           $(consistency)"
"${ADV[@]}" train --model fine --dataset mnist-train --steps 300 --batch-size 64 --seed 0 \
    --objective consistent --lambda 0.01 --layers 8 --adversary fgsm --epsilon 0.3 \
    --optimizer sgd --lr 0.01 --momentum 0.9 > out/demo/train.json
json '"   %d steps at %.1f steps/s; feature distance ||phi(x) - phi(x*)||^2 on the batch: %.2f at the first step, %.2f at the last; batch accuracy on x*: %.2f then %.2f" % (d["steps"], d["stepsPerSecond"], d["history"][0]["parts"]["featureDistance"], d["history"][-1]["parts"]["featureDistance"], d["history"][0]["adversarialAccuracy"], d["history"][-1]["adversarialAccuracy"])' < out/demo/train.json
echo "   after:  $(robust)"
echo "           $(consistency)"
"${ADV[@]}" --pretty model save fine --spec out/demo/fine.json --weights out/demo/fine.safetensors | grep -i "training\|weights" || true
