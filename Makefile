# One entry point for people and CI. Every target sets itself up: a fresh clone needs only `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST  := $(BIN)/python -m pytest

.PHONY: venv sysdeps lint test test-unit test-mpy test-sim test-cluster test-device bench demo console-demo quickref mpy-check clean

# System packages (Mosquitto broker, RabbitMQ for the cluster rig, ALSA sample speech). Installs only what is missing.
sysdeps:
	@bash scripts/sysdeps.sh

# A new top-level package (host_tools/*/, firmware/*/) needs the editable install made again.
$(STAMP): requirements.txt pyproject.toml $(wildcard host_tools/*/__init__.py firmware/*/__init__.py)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@touch $@

venv: $(STAMP)

# Lint (ruff, pinned in requirements.txt, config in pyproject.toml): pyflakes and pycodestyle errors.
lint: venv
	$(BIN)/ruff check .

# All tiers that need no hardware, after the lint. Device tests skip themselves without --port.
test: sysdeps venv lint
	$(PYTEST) -q tests

test-unit: venv
	$(PYTEST) -q tests -m "not mpy and not sim and not device"

test-mpy: venv
	$(PYTEST) -q tests -m mpy

test-sim: sysdeps venv
	$(PYTEST) -q tests -m sim

# The 3-node RabbitMQ cluster tests alone (part of `make test`; one cluster per session, 10-40 s to start).
test-cluster: sysdeps venv
	$(PYTEST) -q tests -m cluster

test-device: venv
	$(PYTEST) -q tests -m device --port $(PORT)

# Every firmware file must compile for the ESP32 (xtensawin native emitter for viper kernels).
mpy-check: venv
	$(BIN)/python -m htctl.mpycheck

bench: sysdeps venv
	$(BIN)/python bench/run.py

demo: sysdeps venv
	$(BIN)/python -m htsim.fleetdemo
	$(BIN)/htctl console demo --out out/demo

# The simulated fleet and the Command Center console, kept running for a person: open http://127.0.0.1:8080
# and log in as `demo` with the password it prints (docs/CONSOLE.md). Ctrl-C stops it.
console-demo: sysdeps venv
	$(BIN)/htctl console demo --keep-running --no-screenshots

# The field card (docs/QUICKREF.md) as one A4 page: out/quickref.html and out/quickref.pdf (chromium prints it).
quickref: sysdeps venv
	$(BIN)/python scripts/quickref.py --out out

clean:
	rm -rf $(VENV) build bench/results.json out
