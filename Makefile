# Two commands matter: `make run` (terminal chat) and `make test` (the checks CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-full eval clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/supportbot chat

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy

test: lint
	$(BIN)/supportbot faq check
	$(BIN)/pytest -q

eval: $(STAMP)
	$(BIN)/supportbot eval evals/public.yaml

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/blind.py
	$(BIN)/python benchmarks/load.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench-full: $(STAMP)
	$(BIN)/python benchmarks/run.py --full
	$(BIN)/python benchmarks/blind.py
	$(BIN)/python benchmarks/load.py
