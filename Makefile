# The two commands of the README: `make run` and `make test`. Both create or update .venv first.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK_OPTIONS := --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-header --annotation-style line

.PHONY: venv run test test-unit test-integration test-e2e test-contract clients-check lint format token bench chaos eval-routing eval-screening replay asyncapi rekey lock clean

# The dependencies come from the lock file, every file checked against its hash; then the project itself.
$(STAMP): pyproject.toml requirements/dev.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install --quiet --upgrade pip >&2
	@$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.lock >&2
	@$(BIN)/python -m pip install --quiet --no-deps -e . >&2
	@touch $(STAMP)

venv: $(STAMP)  ## create or update the virtualenv

run: $(STAMP)  ## start the whole platform in the foreground (Ctrl-C stops it)
	@$(BIN)/python -m devtools.run

test: $(STAMP)  ## the whole suite: unit, integration and end-to-end, on their own servers
	$(BIN)/python -m pytest

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

test-e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

test-contract: $(STAMP)  ## the five services' API contract: OpenAPI documents, /docs offline, problem answers
	$(BIN)/python -m pytest tests/contract

# openapi-python-client in its own virtualenv: its pins (pydantic, ruff) differ from ours.
CLIENTS_VENV := .venv-clients
CLIENTS_STAMP := $(CLIENTS_VENV)/.installed
$(CLIENTS_STAMP): requirements/clients.lock
	@test -x $(CLIENTS_VENV)/bin/python || $(PY) -m venv $(CLIENTS_VENV) >&2
	@$(CLIENTS_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/clients.lock >&2
	@touch $(CLIENTS_STAMP)

clients-check: $(STAMP) $(CLIENTS_STAMP)  ## generate a client per service from its OpenAPI, call one endpoint (ARGS="--base-url intake=http://...")
	$(BIN)/python -m devtools.clients_check --tool-bin $(CLIENTS_VENV)/bin $(ARGS)

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

token: $(STAMP)  ## print one development bearer token: make token ROLE=dispatcher UNIT=<unit or mediation organization code> [SYSTEM=<external system>] [AGENT=<proxy agent id>]
	@test -n "$(ROLE)" || { echo "usage: make token ROLE=<role> [UNIT=<unit or mediation organization code>]" >&2; exit 2; }
	@$(BIN)/python -m devtools.keys --role "$(ROLE)" --unit "$(UNIT)" --system "$(SYSTEM)" --agent "$(AGENT)"

bench: $(STAMP)  ## the benchmarks: figures for the speed and size targets (make bench ARGS=--quick)
	$(BIN)/python -m bench $(ARGS)

chaos: $(STAMP)  ## the bounded chaos suite: kill -9 each part under load, count lost and duplicated effects
	$(BIN)/python -m bench.chaos $(ARGS)

lock: $(STAMP)  ## write requirements/*.lock from pyproject.toml (keeps the versions locked unless a pin moved)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_OPTIONS) -o requirements/production.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_OPTIONS) -o requirements/dev.lock
	$(BIN)/uv pip compile requirements/clients.in $(LOCK_OPTIONS) -o requirements/clients.lock

eval-routing: $(STAMP)  ## routing's accuracy on labelled cases (make eval-routing CASES=file.jsonl COUNTY_DIR=dir)
	$(BIN)/python -m services.routing.evaluate $(if $(CASES),--cases "$(CASES)") $(if $(COUNTY_DIR),--county-dir "$(COUNTY_DIR)")

replay: $(STAMP)  ## what-if replay with a candidate package or screening rules (make replay PACKAGE=dir|RULES=dir FROM=2026-03-01 TO=2026-04-01; docs/replay.md)
	@test -n "$(PACKAGE)$(RULES)" -a -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make replay PACKAGE=<candidate package folder>|RULES=<candidate screening rules folder> FROM=<date> TO=<date> [OUT=<folder>]" >&2; exit 2; }
	$(BIN)/python -m devtools.replay $(if $(RULES),--rules "$(RULES)",--package "$(PACKAGE)") --from "$(FROM)" --to "$(TO)" $(if $(OUT),--out "$(OUT)")

rekey: $(STAMP)  ## re-encrypt stored personal data under the active key (make rekey ARGS="--dry-run"; docs/operations.md)
	$(BIN)/python -m devtools.rekey $(ARGS)

eval-screening: $(STAMP)  ## how screening finds reports against officials (make eval-screening CASES=file.jsonl [REPORTS=1601])
	@test -n "$(CASES)" || { echo "usage: make eval-screening CASES=<labelled cases> [REPORTS=<subcategory of reports>]" >&2; exit 2; }
	$(BIN)/python -m services.intake.evaluate --cases "$(CASES)" $(if $(REPORTS),--report-subcategory "$(REPORTS)")

asyncapi: $(STAMP)  ## regenerate proto/asyncapi.yaml from proto/schemas
	$(BIN)/python -m devtools.asyncapi

clean:  ## remove local state (.run) but keep the virtualenv
	rm -rf .run
