# The two commands of the README: `make demo` (the main job) and `make test` (the test suite).
# Each sets up what it needs on first use (tools/bootstrap.sh); later runs start in seconds.

VENV ?= .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.perception-ready
PYTEST_ARGS ?=

# Nodes, tests and benchmarks find the package through the venv, keep DDS traffic on this
# machine, and carry large images (see docs/architecture.md).
export AMENT_PREFIX_PATH ?= $(abspath $(VENV))
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST

export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
export PYTHONUNBUFFERED := 1

.PHONY: setup demo test lint bench-camera bench-sim bench-safety bench-detector bench-mapper \
	bench-optimize bench-telemetry bench-lifecycle bench-campaign campaign dataset models \
	clean

setup: $(READY)

# The folders under launch/, config/ and models/ are prerequisites too: a file added to or
# removed from one changes the folder's time, and bootstrap.sh links the share directory anew
# (absolute paths: `models` is also a target).
$(READY): tools/bootstrap.sh tools/link_share.py tools/cmake/venv_fixups.cmake \
		requirements/venv.txt requirements/constraints.txt setup.py setup.cfg package.xml \
		$(shell find interfaces -type f -not -path '*/build/*' 2>/dev/null) \
		$(abspath $(shell find launch config models -type d -not -name __pycache__ 2>/dev/null))
	bash tools/bootstrap.sh $(VENV)
	touch $@

# The main job: every scenario in the simulated warehouse; reports/demo/index.md links them.
SCENARIO ?= all
demo: $(READY)
	$(VENV)/bin/perception demo --scenario $(SCENARIO) --report-dir reports/demo

test: $(READY)
	$(PY) -m pytest -ra $(PYTEST_ARGS)

lint: $(READY)
	$(PY) -m flake8 src test bench launch tools setup.py
	$(PY) -m pydocstyle src bench launch tools setup.py

bench-camera: $(READY)
	$(PY) bench/bench_camera.py

bench-sim: $(READY)
	$(PY) bench/bench_sim.py

bench-safety: $(READY)
	$(PY) bench/bench_safety.py

# A labelled dataset of randomized scenes: make dataset IMAGES=2000 SEED=1
IMAGES ?= 1000
SEED ?= 0
dataset: $(READY)
	$(VENV)/bin/perception dataset --out data/sim_dataset --images $(IMAGES) --seed $(SEED)

# The shipped detectors: 2500 training images (seed 1), 300 held-out ones (seed 1001: other
# layouts, lighting and actors), 12 epochs on the CPU, FP32 and INT8 into models/.
# The shipped detectors' recipe (models/README.md): 8400 training images with hard cases, a
# label-only student, a teacher twice as wide, a student distilled from it, pruned copies; the
# distilled one ships. Hours on 2 CPU cores, minutes where PyTorch finds a GPU.
models: $(READY)
	PERCEPTION_TRAIN=1 bash tools/bootstrap.sh $(VENV)
	$(VENV)/bin/perception dataset --out data/train --images 8400 --seed 1 --val-fraction 0 \
		--hard-cases
	$(VENV)/bin/perception dataset --out data/heldout --images 300 --seed 1001 --val-fraction 0
	$(VENV)/bin/perception train-detector --train data/train --heldout data/heldout \
		--out models --epochs 20 --batch 64 --teacher-epochs 20 --prune 0.25,0.5 \
		--finetune-epochs 5 --ship distilled

bench-detector: $(READY)
	$(PY) bench/bench_detector.py

bench-optimize: $(READY)
	$(PY) bench/bench_optimize.py

bench-mapper: $(READY)
	$(PY) bench/bench_mapper.py

# The sim stack through a broker outage of 40 s with a restart of the telemetry node inside it.
bench-telemetry: $(READY)
	$(PY) bench/bench_telemetry.py

# Model updates in the sim stack: a rollback when the light changes, a rejection, drift.
bench-lifecycle: $(READY)
	$(PY) bench/bench_lifecycle.py

# One family's runs with 1 worker, then with 2: make bench-campaign RUNS=6 FAMILY=head_on_walker
RUNS ?= 6
FAMILY ?= person_from_rack_gap
bench-campaign: $(READY)
	$(PY) bench/bench_campaign.py --family $(FAMILY) --runs $(RUNS)

# A campaign of a scenario family: make campaign FAMILY=dim_light RUNS=200 SEED=0 WORKERS=2
WORKERS ?= 2
campaign: $(READY)
	$(VENV)/bin/perception campaign $(FAMILY) --runs $(RUNS) --seed $(SEED) --workers $(WORKERS)

clean:
	rm -rf $(VENV) build reports .pytest_cache
