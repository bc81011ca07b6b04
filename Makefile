# twisted-bazaar: `make test` runs the suite, `make demo` a small live market.
# Both create .venv and install the project into it first.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo install clean

install: $(STAMP)

# editable_mode=compat puts the checkout itself on sys.path, so twistd finds
# twisted/plugins/bazaar_plugins.py in the development set-up too.
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check \
		--editable '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q tests

demo: $(STAMP)
	$(PY) -m twisted_bazaar.cli.demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
	find . -name dropin.cache -delete

# `make bench` prints benchmark figures against baselines measured in the
# same run and writes benchmarks/results/latest.json; `make bench QUICK=1`
# is the short version (see docs/benchmarks.md).
.PHONY: bench
bench: $(STAMP)
	QUICK="$(QUICK)" $(PY) -m benchmarks.run
