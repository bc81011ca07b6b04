"""
Tests of twisted-bazaar, laid out to mirror the package.

Unit tests are trial ``SynchronousTestCase`` classes, so both pytest and
``python -m twisted.trial tests`` run them; they use fake transports and
``task.Clock`` and never sleep.  Hypothesis runs derandomized, so the
suite gives the same result every time.
"""

import atexit
import os
import shutil
import tempfile

#: No Hypothesis plugins of other installed packages: the one there is,
#: trio's (selenium depends on trio), had every process that imports
#: Hypothesis (each xdist worker, each fork server) import trio, 0.23 CPU-s
#: of its 0.42, for a library the suite does not use.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

from hypothesis import HealthCheck, settings  # noqa: E402 (after the setting it reads)

#: Every test runs with a state home of its own (``XDG_STATE_HOME``, where
#: a tracker without --data-dir keeps its key: twisted_bazaar/tap/statedir.py),
#: under pytest as under trial, so that no test writes into the user's
#: ~/.local/state or takes a key another run left there.  (The daemons of
#: the end-to-end tests get one in their own folder: testing/daemons.py.)
STATE_HOME = tempfile.mkdtemp(prefix="bazaar-state-")
os.environ["XDG_STATE_HOME"] = STATE_HOME
atexit.register(shutil.rmtree, STATE_HOME, True)

settings.register_profile(
    "bazaar", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("bazaar")
