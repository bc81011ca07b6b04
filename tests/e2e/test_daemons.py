"""
End to end: the real ``twistd`` daemons, started the way a user starts
them, trading an apple over loopback.

Every wait is on a log line, bounded by a generous timeout; nothing sleeps.
"""

import os
import shutil
import signal
import sys
import tempfile

import pytest
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import (
    JSON,
    SHUT_DOWN,
    TERMINATED,
    LiveMarket,
    nodeId,
    runTwistd,
)
from tests.e2e.helpers import short, waitBought, waitSold, waitWantsMet

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: A wrapper that runs its command with SIGHUP's default action, as the
#: twistd -n of a terminal has it: a suite started under nohup (a CI's
#: background run) has every process it starts ignore SIGHUP, and a
#: daemon leaves an ignored SIGHUP ignored (tap/stopsignals.py).
HANGUP_DEFAULT = (sys.executable, "-c", "import os, signal, sys; "
                  "signal.signal(signal.SIGHUP, signal.SIG_DFL); "
                  "os.execv(sys.argv[1], sys.argv[1:])")


def scratchFolder(test):
    """A fresh folder to run daemons in, removed after the test."""
    folder = tempfile.mkdtemp(prefix="bazaar-e2e-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


class PluginTests(SynchronousTestCase):
    """twistd finds the project's plugins, from any folder."""

    def test_twistdListsTheDaemons(self):
        result = runTwistd(["--help"], scratchFolder(self))
        self.assertEqual(result.returncode, 0, result.stderr)
        commands = [line.split()[0] for line in result.stdout.splitlines()
                    if line.startswith("    ") and line.split()]
        self.assertIn("bazaar-node", commands)
        self.assertIn("bazaar-tracker", commands)

    def test_nodeHelpExplainsTheRoleOptions(self):
        """--help: the options most runs need, and examples; --help-all:
        every option."""
        result = runTwistd(["bazaar-node", "--help"], scratchFolder(self))
        self.assertEqual(result.returncode, 0, result.stderr)
        for flag in ("--role", "--sell", "--want", "--quantity", "--tracker",
                     "--listen", "--verbose", "Examples:", "--help-all"):
            self.assertIn(flag, result.stdout)
        result = runTwistd(["bazaar-node", "--help-all"], scratchFolder(self))
        self.assertEqual(result.returncode, 0, result.stderr)
        for flag in ("--role", "--sell", "--want", "--quantity", "--tracker",
                     "--listen", "--neighbours", "--max-connections", "--verbose"):
            self.assertIn(flag, result.stdout)


class BadFlagTests(SynchronousTestCase):
    """A mistyped flag ends in one line of usage error, never a traceback."""

    def assertUsageError(self, args, expected):
        folder = scratchFolder(self)
        result = runTwistd(["-n", "bazaar-node", *args], folder)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stderr.splitlines(),
                         [f"twistd bazaar-node: error: {expected} "
                          "(see twistd bazaar-node --help)"])
        self.assertNotIn("Traceback", result.stdout + result.stderr)
        self.assertEqual(os.listdir(folder), [])

    def test_sellWithoutACount(self):
        self.assertUsageError(["--role", "seller", "--sell", "apple"],
                              "--sell: wants ITEM=COUNT, not 'apple'")

    def test_negativeStock(self):
        self.assertUsageError(["--role", "seller", "--sell", "apple=-1"],
                              "--sell apple=-1: the count of units cannot be negative")

    def test_unknownRole(self):
        self.assertUsageError(["--role", "wizard"],
                              "unknown role 'wizard' (known roles: buyer, seller)")


@pytest.mark.exec_daemons("the trade as a user starts it: each daemon an exec of "
                          "twistd, not a fork of the suite's server")
class TradeTests(SynchronousTestCase):
    """A tracker, a seller and a buyer in one folder trade an apple."""

    def setUp(self):
        self.folder = scratchFolder(self)
        self.market = LiveMarket(self.folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def test_sellerSellsAnAppleToTheBuyer(self):
        market = self.market
        tracker = market.startTracker(timeout=TIMEOUT)
        # --verbose: the polite close of its tracker link is a debug line.
        seller = market.startNode("seller", "--role", "seller", "--sell", "apple=3",
                                  "--verbose")
        seller_id = nodeId(seller, TIMEOUT)
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "apple")
        buyer_id = nodeId(buyer, TIMEOUT)

        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        waitWantsMet(buyer, TIMEOUT, bag=1)
        waitSold(seller, "apple", TIMEOUT, buyer=buyer_id, left=2)
        self.assertEqual(len(seller.matches(r"sold apple")), 1)
        self.assertFalse(os.path.exists(os.path.join(self.folder, "twistd.pid")))

        self.assertEqual(market.stop(TIMEOUT),
                         {"seller": TERMINATED, "buyer": TERMINATED,
                          "tracker": TERMINATED})
        for daemon in (tracker, seller, buyer):
            self.assertTrue(daemon.matches(SHUT_DOWN), daemon.tail())
            self.assertEqual(daemon.problems(), [])
        self.assertTrue(seller.matches(r"Received SIGTERM, shutting down"))
        self.assertTrue(seller.matches(r"closing link to tracker .*: node "
                                       r"shutting down"), seller.tail())
        self.assertTrue(tracker.matches(rf"node {short(seller_id)} left"), tracker.tail())
        self.assertEqual(os.listdir(self.folder), [])

    def test_hangUpStopsANodeInOrder(self):
        """SIGHUP (the terminal of twistd -n closed) killed a node at once:
        no dc, its control socket left (the fifth new user).  It stops in
        order, as for SIGTERM, and ends by that signal (its SIGHUP at the
        default action, as a terminal's is, however the suite was
        started)."""
        tracker = self.market.startTracker(timeout=TIMEOUT)
        seller = self.market.startNode("seller", "--role", "seller", "--sell",
                                       "apple=3", "--verbose", wrapper=HANGUP_DEFAULT)
        seller_id = nodeId(seller, TIMEOUT)
        seller.process.send_signal(signal.SIGHUP)
        self.assertEqual(seller.finish(TIMEOUT), -signal.SIGHUP, seller.tail())
        self.assertTrue(seller.matches(r"received SIGHUP: stopping, as for SIGTERM"))
        self.assertTrue(seller.matches(r"closing link to tracker .*: node "
                                       r"shutting down"), seller.tail())
        tracker.waitFor(rf"node {short(seller_id)} left", TIMEOUT)
