# gymnasieprognos: `make reports` is the main job, `make test` runs the tests.
# Both create .venv and install the project on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SOURCES ?= ../shared/data/sources

.DEFAULT_GOAL := help
.PHONY: help setup reports data ingest test lab benchmarks clean browser

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

reports: data  ## main job: build the data, then run every report into reports/latest/
	$(BIN)/forecast report --config config/annual.yml

browser:  ## install Debian's chromium for the real-browser test (needs apt; root or sudo)
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || echo "warning: could not install chromium; the browser test will be skipped outside CI"; }

test: $(STAMP) browser data  ## run the test suite (installs the venv and chromium, builds the data when missing)
	$(BIN)/python -m pytest

lab: data  ## open JupyterLab on notebooks/
	$(BIN)/jupyter lab notebooks/

clean:  ## remove data/processed/ (rebuild with make data)
	find data/processed -mindepth 1 ! -name .gitkeep -delete
