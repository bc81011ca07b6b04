"""
End-to-end: the tracker restarted as the README starts it
(``twistd -n bazaar-tracker``, no ``--data-dir``) keeps its key in its
default state directory, so the nodes that remember its key register
again and the market goes on (issue 57).

The one change to the README's command is the port: a free one, not
7700, so that the test runs beside a market already there (as
tests/e2e/test_docs_commands.py does).  Each daemon's state home is its
folder's (``XDG_STATE_HOME``, set by twisted_bazaar/testing/daemons.py),
as a user's machine has one.
"""

import os
import re
import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import freePort, kill, listeningPort, waitBought
from twisted_bazaar.testing.daemons import JSON, STATE_HOME, LiveMarket, nodeId, waitUntil
from twisted_bazaar.wire.ids import shortId

TIMEOUT = 30.0
KEY = r"the tracker's key is (?P<key>[A-Za-z0-9_-]{43}) "
REGISTERED = r"registered with the tracker as node"


class ReadmeTrackerRestartTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-restart-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        self.port = freePort()

    def tracker(self, name):
        """``twistd -n bazaar-tracker`` on this test's port, once it listens;
        returns (daemon, the key it logs)."""
        daemon = self.market.start(name, ["bazaar-tracker", "--listen",
                                          f"tcp:{self.port}"])
        listeningPort(daemon, "tracker", TIMEOUT, port=self.port)
        return daemon, daemon.waitFor(KEY, TIMEOUT)["key"]

    def node(self, name, *roles):
        return self.market.start(name, ["bazaar-node", "--tracker",
                                        f"tcp:127.0.0.1:{self.port}", *roles])

    def test_killedAndRestartedTheNodesComeBack(self):
        """kill -9 the tracker and start it again with the same command:
        it proves the same key, kept in its state directory; the seller,
        which kept that key from its first contact, registers again at
        once, and a buyer started after the restart buys from it."""
        tracker, key = self.tracker("tracker")
        kept = os.path.join(self.folder, STATE_HOME, "twisted-bazaar",
                            f"tracker-{self.port}", "tracker.key")
        seller = self.node("seller", "--role", "seller", "--sell", "apple=3")
        seller_id = nodeId(seller, TIMEOUT)
        kill(tracker)
        seller.waitFor(r"lost the tracker at ", TIMEOUT)
        again, second_key = self.tracker("tracker again")
        waitUntil([seller], lambda: len(seller.matches(REGISTERED)) == 2, TIMEOUT,
                  what="the seller registered again")
        again.waitFor(rf"node {shortId(seller_id)} joined from ", TIMEOUT)
        buyer = self.node("buyer", "--role", "buyer", "--want", "apple")
        waitBought(buyer, "apple", TIMEOUT, n=1, q=1)
        self.assertEqual(second_key, key)
        for daemon in (tracker, again):
            self.assertEqual(len(daemon.matches(rf"kept in {re.escape(kept)}\)")), 1)
        self.assertEqual(seller.matches(r"the tracker proved "), [])
        for daemon in (seller, again, buyer):
            self.assertEqual(daemon.problems(), [], daemon.tail())
