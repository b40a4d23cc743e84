# `make run` (the web chat on 127.0.0.1:8000), `make chat` (the terminal chat) and
# `make test` (the checks CI runs, browser tests included).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests drive Debian's chromium (Playwright cannot download its own here).
CHROMIUM := /usr/bin/chromium

.PHONY: run chat test lint bench bench-full eval clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/supportbot serve --host 127.0.0.1 --port 8000

chat: $(STAMP)
	$(BIN)/supportbot chat

# Installed where apt-get can; where it cannot, the browser tests fail (they never skip).
$(CHROMIUM):
	-apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy

test: lint $(CHROMIUM)
	$(BIN)/supportbot faq check
	$(BIN)/pytest -q

eval: $(STAMP)
	$(BIN)/supportbot eval evals/public.yaml

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/blind.py
	$(BIN)/python benchmarks/load.py --quick
	$(BIN)/python benchmarks/web.py --quick
	$(BIN)/python benchmarks/desk.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench-full: $(STAMP)
	$(BIN)/python benchmarks/run.py --full
	$(BIN)/python benchmarks/blind.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/web.py
