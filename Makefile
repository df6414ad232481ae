# Entry points for users and CI. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 2
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test lint format bench clean knowledge

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml
	@echo "Reports: reports/cohort/index.html"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile config/config.yaml
	$(BIN)/mypy

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile workflow/rules

# After editing resources/knowledge: validate and ship the compiled JSON jobs load
# (a test fails while it is out of date; the workflow then compiles its own copy).
knowledge: $(VENV)/.installed
	$(BIN)/python -m mmresist knowledge compile --dir resources/knowledge \
		--out resources/knowledge/compiled/knowledge.json

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/cohort.py

clean:
	rm -rf reports .snakemake work
