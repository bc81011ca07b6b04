"""Settings for the whole suite."""

#: Ctrl-C and SIGTERM stop the suite and every process it started
#: (twisted_bazaar/testing/stopping.py says why pytest alone does not).
pytest_plugins = ["twisted_bazaar.testing.stopping"]
