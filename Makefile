# twisted-bazaar: `make test` runs the suite, `make unit` its unit tests
# alone, `make demo` a small live market, `make docs` builds the docs site
# into site/.
# Each creates .venv and installs the project into it first.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test unit demo install clean

install: $(STAMP)

# editable_mode=compat puts the checkout itself on sys.path, so twistd finds
# twisted/plugins/bazaar_plugins.py in the development set-up too.
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check \
		--editable '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

# The suite runs in JOBS worker processes (pytest-xdist). The end-to-end
# tests spend most of their time waiting on their daemons, so on 2 cores
# 4 workers measured best (docs/running.md, "Tests"); JOBS=0 runs it in one
# process. --dist loadgroup keeps the tests that must not share a moment
# with each other on one worker (tests/conftest.py says which and why).
JOBS ?= 4
PARALLEL := -n $(JOBS) --dist loadgroup

test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q $(PARALLEL) tests

# The unit tests alone: everything but the end-to-end tests (tests/e2e/),
# a few minutes; `make test` before a push.
unit: $(STAMP)
	$(PY) -m pytest -q $(PARALLEL) tests --ignore=tests/e2e

demo: $(STAMP)
	$(PY) -m twisted_bazaar.cli.demo

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
	find . -name dropin.cache -delete

# `make docs` builds the site of mkdocs.yml into site/, every warning an
# error (tests/test_docs_site.py builds it in `make test` too).
# `make screenshot` makes docs/web-view.png again: the browser test
# of a 20-node market (tests/e2e/test_web_market_live.py) saves its
# picture of the web view there.
.PHONY: docs screenshot
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

screenshot: $(STAMP)
	@command -v chromedriver >/dev/null || { echo "make screenshot needs Chromium:" \
		"apt-get install chromium chromium-driver"; exit 1; }
	BAZAAR_WEB_SCREENSHOT=$(CURDIR)/docs/web-view.png $(PY) -m pytest -q \
		tests/e2e/test_web_market_live.py -k test_floodMarket

# `make bench` prints benchmark figures against baselines measured in the
# same run and writes benchmarks/results/latest.json; `make bench QUICK=1`
# is the short version (see docs/benchmarks.md).
.PHONY: bench
bench: $(STAMP)
	QUICK="$(QUICK)" $(PY) -m benchmarks.run

# `make figures` draws docs/adversaries/success-*.png, docs/scale/growth.png
# and docs/nat/nat.png
# again from runs made by `bazaar-sim sweep` (docs/simulator.md, "Sweeps").
# A run whose --json is there is kept (delete the files to run them again);
# SWEEP_FLAGS="--scheduler tcp://HOST:8786" runs them on a Dask cluster.
# The scale runs go one at a time (--workers 1): their wall time is the
# figure, and a million nodes needs a machine's memory.
SWEEP := $(VENV)/bin/bazaar-sim sweep
WARM := --seed 1 --searches 500 --start warm --crypto fast
SCHEMES := flood,index,superpeer,chord
.PHONY: figures
figures: $(STAMP)
	for n in 1000 10000; do \
	  out=docs/adversaries/n$$n; \
	  $(SWEEP) $(SWEEP_FLAGS) --out $$out --summary summary-honest --nodes $$n $(WARM) \
	    --discovery $(SCHEMES) --name '{discovery}-honest' && \
	  $(SWEEP) $(SWEEP_FLAGS) --out $$out --summary summary-attack --nodes $$n $(WARM) \
	    --discovery $(SCHEMES) --adversaries 0.05,0.1,0.2,0.3 \
	    --adversary withhold,misroute,notyet,squat --no-baseline \
	    --name '{discovery}-{adversary}-{adversaries}' && \
	  $(SWEEP) $(SWEEP_FLAGS) --out $$out --summary summary-sybil --nodes $$n $(WARM) \
	    --discovery chord --adversaries 0.05,0.1,0.2,0.3 --adversary sybil --no-baseline \
	    --name '{discovery}-{adversary}-{adversaries}' && \
	  $(PY) -m twisted_bazaar.sim.plot docs/adversaries/success-$$n.png $$out/*.json \
	  || exit 1; \
	done
	$(SWEEP) --workers 1 $(SWEEP_FLAGS) --out docs/scale --summary summary-index-superpeer \
	  --nodes 10000,100000,1000000 $(WARM) --discovery index,superpeer --name '{discovery}-{nodes}'
	$(SWEEP) --workers 1 $(SWEEP_FLAGS) --out docs/scale --summary summary-flood \
	  --nodes 10000,100000,1000000 $(WARM) --discovery flood --ttl 5 --name '{discovery}-{nodes}'
	$(SWEEP) --workers 1 $(SWEEP_FLAGS) --out docs/scale --summary summary-chord \
	  --nodes 10000,100000,1000000 $(WARM) --discovery chord --chord-stabilize 30 \
	  --chord-fix-fingers 30 --chord-ping 30 --name '{discovery}-{nodes}'
	$(PY) -m twisted_bazaar.sim.plot docs/scale/growth.png docs/scale/*.json
	$(SWEEP) $(SWEEP_FLAGS) --out docs/nat --summary summary-nat --nodes 1000 --seed 1 \
	  --topology tracker --discovery $(SCHEMES) --nat 0,0.2,0.4,0.6,0.8 --nat-symmetric 0.5 \
	  --name '{discovery}-nat{nat}'
	$(PY) -m twisted_bazaar.sim.plot docs/nat/nat.png docs/nat/*.json
