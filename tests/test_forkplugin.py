"""
Tests for tests/forkplugin.py: a test's daemons are forked by the fork
server, but a marked test's are exec'd.
"""

import os
import subprocess

import pytest
from twisted.trial.unittest import SynchronousTestCase

from tests import forkplugin
from twisted_bazaar.testing import daemons


class ForkedTests(SynchronousTestCase):
    def test_daemonsAreForked(self):
        """During a test, each daemon is started by the fork server's
        spawn (unless the run says BAZAAR_TEST_FORK=0)."""
        if os.environ.get(forkplugin.VARIABLE) == "0":
            self.assertIs(daemons.spawner, subprocess.Popen)
        else:
            self.assertIsInstance(daemons.spawner.__self__, forkplugin.ForkServer)


@pytest.mark.exec_daemons("this test checks the marker")
class ExecTests(SynchronousTestCase):
    def test_markedDaemonsAreExecd(self):
        self.assertIs(daemons.spawner, subprocess.Popen)
