# Front Door Monitor: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: help system venv install kafka-up kafka-down kafka-status lint test test-unit demo schemas bench clean

help:
	@echo "make demo        run the whole stack on this machine with a synthetic MASH feed"
	@echo "make test        install everything, start Kafka secured (SASL_SSL + ACLs), run ruff, mypy, import-linter and pytest"
	@echo "make kafka-up    start the local Apache Kafka broker (KRaft) on 127.0.0.1:9092 (KAFKA_SECURE=1: SASL_SSL + ACLs)"
	@echo "make kafka-down  stop it"
	@echo "make bench       run the benchmarks and write bench/results"

system:
	@bash deploy/bootstrap-system.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv install: system $(STAMP)

# KAFKA_SECURE=1: SASL_SSL, SCRAM users per service and ACLs (deploy/kafka/README.md, "Secure mode").
kafka-up:
	@python3 deploy/kafka/launcher.py up $(if $(filter 1,$(KAFKA_SECURE)),--secure)

kafka-down:
	@python3 deploy/kafka/launcher.py down

kafka-status:
	@python3 deploy/kafka/launcher.py status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m schemas.generate --check

# Starts Kafka if it is not running, runs every check with KAFKA_REQUIRED=1, and stops Kafka afterwards
# (only if this run started it) even when a step fails.
test: install
	@bash deploy/run-tests.sh

test-unit: install
	$(BIN)/python -m pytest tests/unit -q

demo: install
	@bash deploy/run-demo.sh

schemas: install
	$(BIN)/python -m schemas.generate

bench: install
	@bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
