# The two commands: `make run` (everything, with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := libs/contracts libs/platform services/scheduling services/booking services/billing \
	services/engagement services/notifications services/reporting gateway deploy/devstack

.PHONY: run test bench lint install clean

$(VENV)/.installed: constraints.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -r requirements-dev.txt $(foreach p,$(PACKAGES),-e $(p))
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m devstack run

test: install
	$(PY) -m devstack test

# The booking benchmark, platform vs one-database baseline; e.g. make bench BENCH_ARGS="--scale 0.1".
bench: install
	$(PY) -m bench $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .state
