# Front Door Monitor: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: help system venv install kafka-up kafka-down kafka-status lint test test-unit demo schemas bench bench-series clean

help:
	@echo "make demo        run the whole stack on this machine with a synthetic MASH feed"
	@echo "make test        install everything, start Kafka secured (SASL_SSL + ACLs), run ruff, mypy, import-linter and pytest"
	@echo "make kafka-up    start the local Apache Kafka broker (KRaft) on 127.0.0.1:9092 (KAFKA_SECURE=1: SASL_SSL + ACLs)"
	@echo "make kafka-up KAFKA_BROKERS=3   a three-broker cluster (replication 3, min.insync.replicas 2)"
	@echo "make kafka-down  stop it"
	@echo "make bench       run the benchmarks and write bench/results"
	@echo "make bench-series  report --by month on the 153-council 10-year history against DuckDB (bench/results)"

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
# KAFKA_BROKERS=3: a three-node KRaft cluster (PLAINTEXT, replication 3, min.insync.replicas 2).
kafka-up:
	@python3 deploy/kafka/launcher.py up $(if $(filter 1,$(KAFKA_SECURE)),--secure) $(if $(KAFKA_BROKERS),--brokers $(KAFKA_BROKERS))

kafka-down:
	@python3 deploy/kafka/launcher.py down $(if $(KAFKA_BROKERS),--brokers $(KAFKA_BROKERS))

kafka-status:
	@python3 deploy/kafka/launcher.py status $(if $(KAFKA_BROKERS),--brokers $(KAFKA_BROKERS))

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

# report --by month against DuckDB's C1 monthly flags on the 10.2M-event history (reused from $TMPDIR when there)
bench-series: install
	$(BIN)/python -m bench.series_vs_duckdb

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
