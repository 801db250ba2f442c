# certsync: every target installs what it needs into ./.venv from the hash-pinned lock files.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-slow unit integration demo images lint bench lock clean

install: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock
	touch $(STAMP)

# Three workers: the tests wait often (processes starting, TLS, polling), but each worker costs
# its own start and collection, so on two cores three beat four (and two leave cores idle).
# worksteal keeps the long scenarios from piling up at the end of one worker's share.
# The workers keep what they compile (the tests' bytecode, pytest's assertion rewriting) even
# where the environment sets PYTHONDONTWRITEBYTECODE; it is all under the ignored __pycache__.
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -n 4 --dist worksteal

# The unit tests with the property tests at full strength (thousands of examples); CI runs it.
.PHONY: test-deep
test-deep: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest -q tests/unit

# Long scenarios (e.g. 150 rotations through the trigger); CI runs them after `make test`.
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

integration: $(STAMP)
	$(PY) -m pytest -q -m integration

demo: $(STAMP)
	$(PY) -m scripts.demo $(DEMO_ARGS)

# Both images, with docker or podman (whichever is present), for linux/amd64 (what Code Engine
# runs); prints the tags and the push commands. `make images REGISTRY=us.icr.io/my-ns TAG=1.0.0`.
images:
	$(PYTHON) -m scripts.images $(if $(REGISTRY),--registry $(REGISTRY)) $(if $(TAG),--tag $(TAG))

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m scripts.bench $(BENCH_ARGS)

# Re-resolve the pins (needs the uv tool and a package index); commit both lock files.
lock:
	uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 --no-header -o requirements.lock
	uv pip compile pyproject.toml --extra dev --generate-hashes --universal --python-version 3.11 --no-header -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
