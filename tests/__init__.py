"""
Tests of twisted-bazaar, laid out to mirror the package.

Unit tests are trial ``SynchronousTestCase`` classes, so both pytest and
``python -m twisted.trial tests`` run them; they use fake transports and
``task.Clock`` and never sleep.  Hypothesis runs derandomized, so the
suite gives the same result every time.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "bazaar", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("bazaar")
