# deep-retrieval: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GPU ?= 0
CUDA_ARCH ?= 90
STAMP := $(VENV)/.deps-stamp
DEPS_HASH := $(shell cat requirements.txt requirements-dev.txt setup.py 2>/dev/null | sha256sum | cut -c1-16)
PIP_QUIET := 2>&1 | { grep -v '^WARNING: Location' || true; }

.PHONY: install venv caffe compute_ap default-model test test-deps demo proto bench bench-scale lint weights \
        check-gpu-build bench-gpu clean eval

## install: the virtual environment, Caffe (built, cached), compute_ap and the default model
install: caffe compute_ap default-model
	@echo "install: done; $(PY) -c 'import caffe' works"

venv: $(STAMP).$(DEPS_HASH)

$(STAMP).$(DEPS_HASH):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip $(PIP_QUIET)
	@$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt $(PIP_QUIET)
	@$(PY) -m pip install -q --no-deps -e . $(PIP_QUIET)
	@rm -f $(STAMP).*; touch $@

caffe: venv
	@bash caffe_ext/build.sh --python $(PY) $(if $(filter 1,$(GPU)),--gpu --cuda-arch "$(CUDA_ARCH)")

compute_ap:
	@bash evaluation/build_compute_ap.sh evaluation/compute_ap

default-model: caffe
	@echo "default model: learning, calibrating and measuring it on this CPU (about 15 minutes the first time; cached)"
	@$(PY) -m myPython model build-default > /dev/null

## test-deps: what only the tests need (headless Chromium for the report check)
test-deps:
	@command -v chromium > /dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null; }

test: install test-deps
	$(PY) -m pytest -q tests

demo: install
	$(PY) -m myPython demo --out out/demo

## eval: held-out evaluations, built only from evaluation-only packages (report, never tune)
eval: install
	$(PY) -m myPython eval-images --out out/eval/images --set all
	$(PY) -m myPython eval-videos --out out/eval/videos --set all

lint: venv
	$(VENV)/bin/ruff check .

proto: caffe
	$(PY) -m myPython proto --out proto

## check-gpu-build: compile and link Caffe with CUDA (no GPU needed); not part of `make test`
check-gpu-build: venv
	@bash caffe_ext/build.sh --python $(PY) --gpu --cuda-arch "$(CUDA_ARCH)" --no-install

## bench: extraction engines side by side, then FAISS index types on 1M synthetic descriptors
bench: install
	@$(PY) -c "import torch" 2> /dev/null || $(PY) -m pip install -q torch==2.13.0 $(PIP_QUIET)
	$(PY) bench/bench_extraction.py
	$(PY) bench/bench_index.py
	$(PY) bench/bench_video_match.py
	$(PY) bench/bench_verify.py
	$(PY) bench/bench_embed.py

## bench-scale: synth-pool, search, group and match-videos timed at growing sizes (SCALE_ROWS="100000 1000000": hours)
SCALE_ROWS ?= 10000 100000
bench-scale: install
	$(PY) bench/bench_scale.py --rows $(SCALE_ROWS)

## bench-gpu: GPU against CPU extraction, on a machine with an NVIDIA GPU (builds Caffe with GPU=1)
bench-gpu: install
	CUDA_ARCH="$(CUDA_ARCH)" bash bench/bench_gpu.sh

clean:
	rm -rf $(VENV) build out

## weights: fetch the published ResNet-101 R-MAC caffemodel (needs internet and URL=...)
weights: caffe
	@test -n "$(URL)" || { echo "make weights URL=<address of deep_retrieval.tgz or the .caffemodel>"; exit 2; }
	$(PY) -m myPython weights --url "$(URL)"
