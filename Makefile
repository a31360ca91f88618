# deep-retrieval: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GPU ?= 0
CUDA_ARCH ?= 90
STAMP := $(VENV)/.deps-stamp
DEPS_HASH := $(shell cat requirements.txt requirements-dev.txt setup.py 2>/dev/null | sha256sum | cut -c1-16)

.PHONY: install venv caffe compute_ap test demo proto bench lint weights check-gpu-build clean

install: caffe compute_ap
	@echo "install: done ($(PY) -c 'import caffe' works)"

venv: $(STAMP).$(DEPS_HASH)

$(STAMP).$(DEPS_HASH):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -m pip install -q --no-deps -e . 2>&1 | grep -v '^WARNING: Location' || true
	@rm -f $(STAMP).*; touch $@

caffe: venv
	@bash caffe_ext/build.sh --python $(PY) $(if $(filter 1,$(GPU)),--gpu --cuda-arch "$(CUDA_ARCH)")

compute_ap:
	@bash evaluation/build_compute_ap.sh evaluation/compute_ap

test: install
	$(PY) -m pytest -q tests

lint: venv
	$(VENV)/bin/ruff check .

proto: install
	$(PY) -m myPython.netgen --out proto

clean:
	rm -rf $(VENV) build
