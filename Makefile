# Two commands on a fresh machine: `make run` and `make test`. Each sets up
# .venv (dependencies, the service and the client, editable) on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ADDR   ?= 127.0.0.1:50051
RULES  ?= rules

.PHONY: setup run test lint proto clean bench

setup: $(STAMP)

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./clients/python
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/discretion serve --rules $(RULES) --address $(ADDR)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/discretion lint $(RULES)

# Benchmarks print their figures; nothing here asserts a time.
bench: $(STAMP)
	$(BIN)/python benchmarks/engine_bench.py

# Regenerate the committed stubs after editing proto/ (a test fails if they are stale).
proto: $(STAMP)
	$(BIN)/python proto/generate.py

clean:
	rm -rf $(VENV) .pytest_cache
