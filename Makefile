# gymnasieprognos: `make reports` is the main job, `make test` runs the tests.
# Both create .venv and install the project on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SOURCES ?= ../shared/data/sources

.DEFAULT_GOAL := help
.PHONY: help setup reports data ingest test lab benchmarks clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the project with its dev extras (once)

data: $(STAMP)  ## rebuild data/processed/ from the committed extracts in data/raw/
	$(BIN)/forecast data

ingest: $(STAMP)  ## re-read the publisher files (SOURCES=...) into data/raw/
	$(BIN)/forecast ingest --sources $(SOURCES)

reports: data  ## main job: build the data, then run every report
	@echo "reports: the report runner (issue 5) is not built yet; the data is built and validated."

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest

lab: $(STAMP)  ## open JupyterLab on notebooks/
	$(BIN)/jupyter lab notebooks/

clean:  ## remove data/processed/ (rebuild with make data)
	find data/processed -mindepth 1 ! -name .gitkeep -delete
