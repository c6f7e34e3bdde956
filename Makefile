# autobuild developer tasks. `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Shared benchmark data lives beside the checkout when available.
ifneq ($(wildcard ../shared/data),)
export AUTOBUILD_DATA ?= $(abspath ../shared/data)
endif

.PHONY: install test demo bench lint wheel docs clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# constraints.txt holds the exact versions the tests pass with; the 2.13.0 CPU build of
	# torch goes in first so that nothing pulls a CUDA build.
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

demo: install
	$(BIN)/autobuild demo --out demo-out

# Build the wheel, install it into a fresh virtual environment (no source tree on its path)
# and run `autobuild demo` from there.
wheel: install
	rm -rf dist build/wheel-venv build/wheel-demo build/wheel-mplconfig
	$(BIN)/python -m build --wheel --outdir dist . > /dev/null
	$(PYTHON) -m venv build/wheel-venv
	build/wheel-venv/bin/pip install --quiet -c constraints.txt torch==2.13.0
	build/wheel-venv/bin/pip install --quiet -c constraints.txt dist/autobuild-*.whl
	cd build && wheel-venv/bin/python -c "import autobuild, sys; assert 'site-packages' in autobuild.__file__, autobuild.__file__; print('autobuild', autobuild.__version__, 'from', autobuild.__file__)"
	# Its own matplotlib cache: one shared with another environment names that one's fonts.
	cd build && MPLCONFIGDIR=$$PWD/wheel-mplconfig wheel-venv/bin/autobuild demo --out wheel-demo

# The documentation site (mkdocs.yml, docs/) into site/; --strict fails on broken links.
docs: install
	$(BIN)/pip install --quiet -c constraints.txt -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: install
	$(BIN)/pip install --quiet -c constraints.txt -e '.[bench]'
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/train.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/train.py --preset paper
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/train.py --set isolate_embedding=false
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/train.py --set corr_lambda=0
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/train.py --set unit_lambda=0
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/construct.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/construct.py --set unit_lambda=0 --skip-timing
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/latency.py --preset latency
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/latency.py --set steps=2000
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/ir.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/few_labels.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/exhaustive.py --threads 1 2
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/nas.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/nas.py --k 5
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/generalization.py --jobs 2 --out bench-out/generalization.jsonl
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) demo-out bench-out dist build .pytest_cache .mypy_cache .ruff_cache
