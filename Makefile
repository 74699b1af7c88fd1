# newswatch — the two commands of the README: `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run once test test-fast lint bench clean

$(STAMP): pyproject.toml
	scripts/bootstrap-python.sh $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run newswatch embedded on the shipped config/ (a local mail catcher receives the emails)
run: install
	scripts/mail-catcher.sh $(BIN)/python
	$(BIN)/newswatch run

## one full cycle, then exit
once: install
	$(BIN)/newswatch once

## lint (ruff), type check (mypy strict over worker/, configured in pyproject.toml), then
## the test suite; starts Redis (installing it when missing) first
test: install
	$(BIN)/ruff check worker tests benchmarks
	$(BIN)/mypy
	scripts/ensure-services.sh
	$(BIN)/python -m pytest

## the pure suite (no Redis, PostgreSQL, RabbitMQ, subprocess or browser): seconds, no services
test-fast: install
	$(BIN)/python -m pytest -m pure

lint: install
	$(BIN)/ruff check worker tests benchmarks
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/extraction.py
	$(BIN)/python benchmarks/topics.py
	$(BIN)/python benchmarks/fetch.py
	$(BIN)/python benchmarks/delivery.py
	$(BIN)/python benchmarks/feedparse.py

clean:
	rm -rf $(VENV) .newswatch .pytest_cache
