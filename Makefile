# The two commands a newcomer types: `make demo` and `make test`.
# Both create .venv and install fastbp into it first. Another installed Python:
# `make test PYTHON=python3.13` (or its path) tests in .venv-python3.13, made with it.
PYTHON ?= python3
VENV := $(if $(filter python3,$(PYTHON)),.venv,.venv-$(notdir $(PYTHON)))
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: compile demo test test-fast test-boundscheck lint bench clean clean-cache fuzz

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,bench,dask,onnx]"
	rm -f $(VENV)/.installed-*
	touch $@

# Every kernel compiled into Numba's cache once (fastbp/_compile.py), so that nothing
# compiles during the demo or a test; a second run only checks the cache.
compile: $(STAMP)
	$(VENV)/bin/fastbp compile

demo: compile
	$(VENV)/bin/fastbp demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint compile
	$(PY) -m pytest
	# The kernels again as plain Python, so their source is exercised too.
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -m "not slow" tests

# The inner loop: compiled, without the slow tests and the Dask cluster (under a
# minute with a warm cache).
test-fast: compile
	$(PY) -m pytest -q -x -m "not slow and not cluster" tests

# Every index into a buffer inside a kernel bounds-checked (its own Numba cache, as
# bounds-checked code is compiled apart): an out-of-bounds read or write is an
# IndexError instead of garbage. BLAS calls through pointers are not checked.
test-boundscheck: $(STAMP)
	NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(CURDIR)/.boundscheck-cache $(PY) -m pytest -q -m "not slow" tests

# The property tests with many random examples each (the "fuzz" profile of tests/conftest.py).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/test_properties.py

# Times fastbp against scikit-learn and whichever of PyTorch and JAX install, and
# writes bench/RESULTS.md, bench/results.png and bench/scaling.png (~8 minutes;
# the steps: bench/__main__.py, also run by `fastbp bench`).
# torch==2.13.0 exactly: that pin resolves to the CPU build, without CUDA packages.
bench: $(STAMP)
	$(PY) -m pip install -q torch==2.13.0 || true
	$(PY) -m pip install -q jax jaxlib || true
	$(PY) -m bench

# Not needed after editing a kernel: the cache is keyed by every kernel source it
# depends on (fastbp/_kernels/cache.py). To free the space, or start over:
clean-cache:
	find fastbp -name '*.nbi' -delete -o -name '*.nbc' -delete
	rm -rf fastbp/_kernels/__pycache__/generated .boundscheck-cache

clean: clean-cache
	rm -rf $(VENV) build *.egg-info fastbp/__pycache__
