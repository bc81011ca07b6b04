"""
Tests for L{twisted_bazaar.sim.deafworker}: a local cluster's worker
ignores Ctrl-C, which its command handles.
"""

import signal

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim import deafworker


class DeafWorkerTests(SynchronousTestCase):
    def test_setupIgnoresSIGINT(self):
        """Dask's call of the preload in a worker's process leaves SIGINT
        ignored there."""
        before = signal.getsignal(signal.SIGINT)
        self.addCleanup(signal.signal, signal.SIGINT, before)
        deafworker.dask_setup(object())
        self.assertIs(signal.getsignal(signal.SIGINT), signal.SIG_IGN)
