# Every target bootstraps .venv itself, so a fresh machine needs only `make demo` / `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

# Demo settings: small and quick, the whole pipeline on the built-in landscapes.
DEMO_DATA := data/mountains-synth-demo
DEMO_IMAGES ?= 600
DEMO_EPOCHS ?= 5
SEED ?= 0
DEMO_MODELS := autoencoder resnet unet

.PHONY: setup demo data train evaluate test bench browser clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "Python 3.10 or newer is needed (found $$($(PYTHON) --version))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "Could not create a virtual environment: on Debian/Ubuntu run 'sudo apt-get install python3-venv'."; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

# The scraper's tests drive the system Chromium; install it when it is missing.
browser:
	@./tools/ensure-chromium.sh

data: setup
	$(PY) dataset.py --synthetic $(DEMO_IMAGES) --size 128 --seed $(SEED) --out $(DEMO_DATA)

# The three seed-preset networks on the demo data; a finished run is skipped, a killed one resumes.
train: data
	@for model in $(DEMO_MODELS); do \
		$(PY) train.py --model $$model --data $(DEMO_DATA) --epochs $(DEMO_EPOCHS) \
			--seed $(SEED) --verbose 2 || exit 1; \
	done

demo: train

test: setup browser
	$(PY) -m pytest -q tests

bench: setup
	$(PY) bench.py

clean:
	rm -rf data runs results colorized
