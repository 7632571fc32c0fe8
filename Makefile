# kpidash: two commands on a fresh machine. `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE := data/sample
export KPIDASH_DB ?= data/warehouse.duckdb

.PHONY: install run test bench sample load clean help container-test

help:
	@echo "make run    set up, make and load the sample trust, start the service"
	@echo "make test   set up and run the whole test suite"
	@echo "make bench  run the benchmarks (results: docs/benchmarks.md)"
	@echo "make container-test  build the image offline with podman and run it, alone and with compose"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(SAMPLE)/manifest.json: | $(STAMP)
	$(BIN)/kpidash sample --out $(SAMPLE)

sample: $(SAMPLE)/manifest.json

load: sample
	$(BIN)/kpidash load $(SAMPLE)

# The scheduler (refresh, nightly history, weekly packs) runs beside the service and stops with it.
run: load
	@$(BIN)/kpidash scheduler & sched=$$!; trap 'kill $$sched 2>/dev/null' EXIT INT TERM; $(BIN)/kpidash serve

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The image built and run for real (podman, runc and debootstrap; root): docs/operations.md.
container-test: $(STAMP)
	$(BIN)/python -m pytest -m container tests/container

clean:
	rm -rf $(VENV) data .pytest_cache
