# kpidash: two commands on a fresh machine. `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE := data/sample
PORT   ?= 8000
export KPIDASH_DB ?= data/warehouse.duckdb

.PHONY: install run test bench sample load clean help container-test constraints

help:
	@echo "make run    set up, make and load the sample trust, start the service (PORT=8080: on another port)"
	@echo "make test   set up and run the whole test suite"
	@echo "make bench  run the benchmarks (results: docs/benchmarks.md)"
	@echo "make container-test  build the image offline with podman and run it, alone and with compose"

# constraints.txt pins every package at the version this release was tested with, so a figure never
# shifts because a dependency (holidays) moved; `make constraints` refreshes it (README, "Pinned versions").
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(SAMPLE)/manifest.json: | $(STAMP)
	$(BIN)/kpidash sample --out $(SAMPLE)

sample: $(SAMPLE)/manifest.json

load: sample
	$(BIN)/kpidash load $(SAMPLE)

# The scheduler (refresh, nightly history, weekly packs) runs beside the service and stops with it; both
# reach the API on PORT (make run PORT=8080).
run: export KPIDASH_API_URL ?= http://127.0.0.1:$(PORT)
run: load
	@echo "kpidash is installed in $(BIN): run $(BIN)/kpidash --help (or 'source $(BIN)/activate', then kpidash --help)"
	@$(BIN)/kpidash scheduler & sched=$$!; trap 'kill $$sched 2>/dev/null' EXIT INT TERM; $(BIN)/kpidash serve --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The image built and run for real (podman, runc and debootstrap; root): docs/operations.md.
container-test: $(STAMP)
	$(BIN)/python -m pytest -m container tests/container

# Re-pin to the newest versions pyproject.toml allows, in a fresh environment; then run `make test` before committing.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install --quiet --upgrade pip
	.venv-constraints/bin/pip install --quiet -e '.[test,postgres]'
	.venv-constraints/bin/pip freeze --exclude-editable | grep -v '^kpidash' > constraints.txt
	rm -rf .venv-constraints

clean:
	rm -rf $(VENV) data .pytest_cache
