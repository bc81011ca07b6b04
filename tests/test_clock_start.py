"""
The unit suite holds with its clocks at an epoch, not only at 0: a few
files that held only at 0 once (a fixture signed at 0 ms, a time
counted from 0 in an assert, a fake network's steps short of a timer by
a rounding), run in a pytest of their own at C{--clock-start 1.8e9}
(tests/conftest.py), a daemon's wall clock.  A few seconds, not the
suite again: C{--clock-start} runs all of it so.
"""

import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

ROOT = Path(__file__).resolve().parent.parent

#: One of each kind that held only at 0: records signed at the clock's
#: start against times from 0, a store handed its times, a paced
#: download's bound on a fake network; buys expiring at a time from 0,
#: timers' times asserted as the clock reads them and a deadline a sum of
#: steps short, a documented session replayed at its own moment, a
#: benchmark's clock moved to its moment from wherever it started.
FILES = (
    "tests/core/test_records.py",
    "tests/schemes/chord/test_records.py",
    "tests/roles/files/test_sellers_silent.py",
    "tests/test_abuse.py::SignedTradeTests",
    "tests/schemes/test_superpeer_query.py::GatheringTests",
    "tests/schemes/test_superpeer_superpeer.py::DocumentedExampleTests",
    "tests/test_benchmarks.py::IndexMemoryBenchmarkTests::test_bothLayoutsFillTheIndex",
)


class EpochTests(SynchronousTestCase):
    def test_representativeFilesHoldAtAnEpoch(self):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--clock-start", "1.8e9", *FILES],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stdout[-4000:] + done.stderr[-2000:])
