# Every target bootstraps .venv itself, so a fresh machine needs only `make demo` / `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
PIP_TRIES ?= 3
PIP_RESUMES ?= 20
PIP_PAUSE ?= 10

# make demo: the three seed-preset networks, one seed, a few epochs (3 to 6 min on 2 cores of an
# AMX Xeon or a Zen 5 EPYC; 14 min on an AVX2-only Zen 3 EPYC, see the README).
DEMO_DATA := data/mountains-synth-demo
DEMO_IMAGES ?= 1000
DEMO_EPOCHS ?= 6
DEMO := --data $(DEMO_DATA) --synthetic $(DEMO_IMAGES) --presets seed --seeds 1 \
	--epochs $(DEMO_EPOCHS) --runs runs/demo --out results/demo --images results/demo/figures \
	--no-readme

# make reproduce: the full study (3 models x 2 presets x SEEDS seeds); EPOCHS=0 means the
# per-preset schedule in study.py. DATA= points at your own dataset (dataset.py --images).
DATA ?= data/mountains-synth
EPOCHS ?= 0
SEEDS ?= 3
STUDY := --data $(DATA) --epochs $(EPOCHS) --seeds $(SEEDS) \
	$(if $(filter command line environment,$(origin DATA)),--no-build)

# make model: the recommended colorizer for your own photos (colorize.py's default model),
# trained on built-in landscapes only: the average of MODEL_MEMBERS networks of the recipe
# MODEL_TRAIN and, when MODEL_ALSO is set, as many of that second recipe (ensemble.py), shown
# photos MODEL_VIEW times larger (photos carry more detail per pixel than the landscapes; with
# several scales, the views' colours are averaged), the detail of that mean colour at
# MODEL_AGREED_OCTAVES octaves kept only as far as the networks and views agree on it
# (ensemble.py --agreed-octaves; 0: off), its edges led onto L's by a guided filter of
# MODEL_GUIDED_RADIUS px (--guided-radius; 0: off); with MODEL_CALIBRATE=1, its colours are
# multiplied by the gain that fits the validation landscapes best (ensemble.py --calibrate),
# one for each of MODEL_CHROMA_BANDS bands of their chroma (--chroma-bands).
# The recipe is tools/variants.py's RECOMMENDED variant; the README's variants table says what
# it won against. The dataset is rebuilt when the landscape generator or its MODEL_* settings
# change, and the members are trained again only when that changes the landscapes.
# make model-sunset: the colorizer for photos taken in low, warm light (colorize.py --light
# sunset), make model's recipe on landscapes mostly lit so: 6 in 10 under a sunset sky (half of
# them glowing up to the zenith), the clear ones lit by alpenglow; its own landscapes, networks
# and runs/model-sunset; its detail not thinned by agreement nor its edges guided (measured so,
# before those).
# (?= here, before the defaults below: a MODEL_* setting given on the command line or in the
# environment still wins.)
MODEL_LIGHT ?= any
ifeq ($(MODEL_LIGHT),sunset)
MODEL_SUFFIX := -sunset
MODEL_COLORIZE := --light sunset
MODEL_SUNSETS ?= 0.6
MODEL_GOLDEN ?= 0.5
MODEL_ALPENGLOW ?= 1
MODEL_AGREED_OCTAVES ?= 0
MODEL_GUIDED_RADIUS ?= 0
else ifneq ($(MODEL_LIGHT),any)
$(error MODEL_LIGHT is any or sunset, not $(MODEL_LIGHT))
endif
MODEL_DATA := data/mountains-model$(MODEL_SUFFIX)
MODEL_MEMBERS_DIR := runs/model$(MODEL_SUFFIX)-members
MODEL_OUT := runs/model$(MODEL_SUFFIX)
MODEL_IMAGES ?= 2500
MODEL_ZOOM ?= 1
MODEL_FINE ?= 1
MODEL_BOULDERS ?= 0
MODEL_GOLDEN ?= 0
MODEL_SHADOWS ?= 0
MODEL_OVERHEAD ?= 0
MODEL_TWILIGHT ?= 1
MODEL_ALPENGLOW ?= 0
MODEL_PATCHY ?= 0
MODEL_SUNSETS ?= 0.18
MODEL_TRAIN ?= --model unet --epochs 10 --learning-rate 0.002 --cosine --loss distance --weight-decay 1
MODEL_ALSO ?=
MODEL_MEMBERS ?= 3
MODEL_VIEW ?= 1 5/4 3/2 7/4
MODEL_AGREED_OCTAVES ?= 4
MODEL_GUIDED_RADIUS ?= 4
MODEL_CALIBRATE ?= 1
MODEL_CHROMA_BANDS ?= 12
MODEL_SEEDS := $(shell seq 1 $(MODEL_MEMBERS))
MODEL_RUNS := $(addprefix $(MODEL_MEMBERS_DIR)/member-s,$(MODEL_SEEDS)) \
	$(if $(strip $(MODEL_ALSO)),$(addprefix $(MODEL_MEMBERS_DIR)/also-s,$(MODEL_SEEDS)))
MODEL_DATA_ARGS := --synthetic $(MODEL_IMAGES) --zoom $(MODEL_ZOOM) --fine $(MODEL_FINE) \
	--boulders $(MODEL_BOULDERS) --golden $(MODEL_GOLDEN) --shadows $(MODEL_SHADOWS) \
	--overhead $(MODEL_OVERHEAD) --twilight $(MODEL_TWILIGHT) --alpenglow $(MODEL_ALPENGLOW) \
	--patchy $(MODEL_PATCHY) --sunsets $(MODEL_SUNSETS) --size 128 --seed 0

.PHONY: setup demo data train reproduce test bench browser clean realcheck model model-sunset \
	FORCE

FORCE:

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "Python 3.10 or newer is needed (found $$($(PYTHON) --version))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "Could not create a virtual environment: on Debian/Ubuntu run 'sudo apt-get install python3-venv'."; exit 1; }
# A .venv made before requirements.txt chose TensorFlow's CPU-only build on x86-64 Linux holds the
# full wheel, whose files the CPU build would be unpacked over: remove both first.
	@stale=$$($(PY) -c 'import importlib.metadata as m, platform, sys; \
		names = {d.metadata["Name"].lower().replace("_", "-") for d in m.distributions()}; \
		linux_x86 = sys.platform == "linux" and platform.machine() == "x86_64"; \
		print(*sorted(names & {"tensorflow", "tensorflow-cpu"}) if linux_x86 and "tensorflow" in names else [])' \
		2>/dev/null); \
	if [ -n "$$stale" ]; then \
		echo "Replacing the full TensorFlow wheel in $(VENV) with its CPU-only build."; \
		$(BIN)/pip uninstall --quiet --yes $$stale; \
	fi
# A download from PyPI breaks off now and then (TensorFlow's CPU wheel is 274 MB): pip resumes each
# one up to PIP_RESUMES times (a pip new enough to, hence the upgrade first), and the install
# starts over up to PIP_TRIES times before failing.
	@for try in $$(seq 1 $(PIP_TRIES)); do \
		$(BIN)/pip install --quiet --upgrade pip && \
		$(BIN)/pip install --quiet --resume-retries $(PIP_RESUMES) -r requirements-dev.txt && exit 0; \
		echo "pip install failed (try $$try of $(PIP_TRIES))."; \
		[ $$try -eq $(PIP_TRIES) ] || sleep $(PIP_PAUSE); \
	done; exit 1
	@touch $(STAMP)

# The scraper's tests drive the system Chromium; install it when it is missing.
browser:
	@./tools/ensure-chromium.sh

data: setup
	$(PY) dataset.py --synthetic $(DEMO_IMAGES) --size 128 --seed 0 --out $(DEMO_DATA)

# Trains what is missing; a finished run is skipped, a killed one resumes.
train: setup
	$(PY) study.py $(DEMO) --no-evaluate

demo: setup
	@start=$$(date +%s); $(PY) study.py $(DEMO) && \
		echo "demo finished in $$(( ($$(date +%s) - start) / 60 )) min; tables in results/demo," \
		     "figures in results/demo/figures"

reproduce: setup
	$(PY) study.py $(STUDY)

# dataset.py's arguments for make model's landscapes, written down only when they change, so
# that another MODEL_IMAGES or rendering share renders the landscapes again.
$(MODEL_DATA).args: FORCE
	@mkdir -p $(dir $@); echo '$(MODEL_DATA_ARGS)' | cmp -s - $@ || echo '$(MODEL_DATA_ARGS)' > $@

# New landscapes make the members trained on the old ones stale: they go with the old data. A
# change that draws these landscapes as before (same checksum) keeps them.
DATA_CHECKSUM = $(PY) -c 'import json, sys; print(json.load(open(sys.argv[1]))["checksum"])' \
	$(MODEL_DATA)/meta.json 2>/dev/null
$(MODEL_DATA)/meta.json: mountains.py $(MODEL_DATA).args | $(STAMP)
	@old=$$($(DATA_CHECKSUM)); \
	$(PY) dataset.py $(MODEL_DATA_ARGS) --out $(MODEL_DATA) || exit 1; \
	if [ "$$old" = "$$($(DATA_CHECKSUM))" ]; then \
		echo "$(MODEL_DATA): the same landscapes as before; its trained members stay"; \
	else rm -rf $(MODEL_MEMBERS_DIR) $(MODEL_OUT); fi

model: setup $(MODEL_DATA)/meta.json
	@start=$$(date +%s); \
	for s in $(MODEL_SEEDS); do \
		$(PY) train.py $(MODEL_TRAIN) --data $(MODEL_DATA) --seed $$s --runs $(MODEL_MEMBERS_DIR) \
			--run member-s$$s --verbose 2 || exit 1; \
		$(if $(strip $(MODEL_ALSO)),$(PY) train.py $(MODEL_ALSO) --data $(MODEL_DATA) --seed $$s \
			--runs $(MODEL_MEMBERS_DIR) --run also-s$$s --verbose 2 || exit 1;) \
	done; \
	$(PY) ensemble.py $(MODEL_RUNS) --view-scale $(MODEL_VIEW) \
		--agreed-octaves $(MODEL_AGREED_OCTAVES) --guided-radius $(MODEL_GUIDED_RADIUS) \
		$(if $(filter 1,$(MODEL_CALIBRATE)),--calibrate $(MODEL_DATA) \
			--chroma-bands $(MODEL_CHROMA_BANDS)) --out $(MODEL_OUT) && \
	echo "make model finished in $$(( ($$(date +%s) - start) / 60 )) min: $(MODEL_OUT);" \
	     "try it: .venv/bin/python $(strip colorize.py $(MODEL_COLORIZE) your_photo.jpg)"

model-sunset:
	@$(MAKE) --no-print-directory model MODEL_LIGHT=sunset

test: setup browser
	$(PY) -m pytest -q tests

# Every run in $(RUNS) scored on a folder of real photos (by default photos/, the repository's
# evaluation-only set) beside the gray baseline, with bootstrap intervals and comparison figures;
# trains nothing, and writes only under $(REALCHECK_OUT) (no README, no images/).
# One runs folder per experiment: evaluate.py refuses a model whose runs differ in recipe or dataset.
# Each photo's centre square is scored, as for every number in the README; WHOLE_FRAMES=1 scores
# the whole photos, as colorize.py colours them.
RUNS ?= runs/study
PHOTOS ?= photos
REALCHECK_OUT ?= results/realcheck
WHOLE_FRAMES ?= 0

realcheck: setup
	@test -d "$(PHOTOS)" || { echo "realcheck: no photo folder $(PHOTOS); pass PHOTOS=DIR"; exit 1; }
	$(PY) evaluate.py --photos "$(PHOTOS)" --runs "$(RUNS)" --out "$(REALCHECK_OUT)" \
		$(if $(filter 1,$(WHOLE_FRAMES)),--whole-frames)
	@sed -n '/^## Paired/,$$p' "$(REALCHECK_OUT)/summary.md"

bench: setup
	$(PY) bench.py

# Deletes what the scripts made: every dataset in data/ (but not scraped photos: data/raw/ and
# any other folder there with scrape.py's manifest.jsonl, such as data/commons/, stay, since they
# may not be there to scrape again), every trained run (runs/, make model's colorizer in
# runs/model included: 11 to 23 min on 2 cores to train again), results/ and colorized/.
clean:
	@echo "make clean: deleting datasets in data/ (keeping scraped photos: data/raw/ and folders" \
	     "with a manifest.jsonl), all trained runs in runs/ (make model's runs/model too)," \
	     "results/ and colorized/"
	@if [ -d data ]; then find data -mindepth 1 -maxdepth 1 ! -name raw \
		! -exec test -e {}/manifest.jsonl \; -exec rm -rf {} +; fi
	rm -rf runs results colorized
