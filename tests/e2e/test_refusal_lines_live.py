"""
End to end: a tracker connection refused for a reason of its own is said
once an attempt in the node's log, by its tracker client's retry line
alone (issue 96: the channel said it too): a plain address at a
WebSocket port (the 426), a tls: certificate that names no host.  A
wrong key is tests/e2e/test_channel_live.py's.

Every wait is on a log line, bounded.
"""

import shutil
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import freePort
from tests.e2e.test_tls_live import selfSigned
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN, LiveMarket

#: Each wait ends on its event; the bound is for a machine at load.
TIMEOUT = 90.0
#: The node's second attempt, its reason the same as the first's.
AGAIN = r"lost the tracker at 127\.0\.0\.1:\d+, for the same reason as before; trying again"


class RefusalLinesTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-refusal-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.market = LiveMarket(self.folder)
        self.addCleanup(self.market.stop)

    def node(self, tracker):
        return self.market.start("node", ["bazaar-node", "--tracker", tracker,
                                          "--listen", LOOPBACK_LISTEN])

    def assertSaidOnceAnAttempt(self, node, words):
        """Two attempts: the first's retry line says why, in full; the
        second's, that it is the same; no other line says it."""
        node.waitFor(AGAIN, TIMEOUT)
        said = [match.string for match in node.matches(words)]
        self.assertEqual(len(said), 1, node.tail())
        self.assertIn("[Reconnector#info] lost the tracker at 127.0.0.1:", said[0])
        self.assertEqual(node.matches(r"closing connection with"), [], node.tail())
        self.assertEqual(node.problems(), [], node.tail())

    def test_aWebSocketPortDialledPlain(self):
        ws = freePort()
        self.market.startTracker("tracker", TIMEOUT, "--ws-port", str(ws))
        self.market.tracker.waitFor(rf"websocket listening on 127\.0\.0\.1:{ws}", TIMEOUT)
        node = self.node(f"127.0.0.1:{ws}")
        self.assertSaidOnceAnAttempt(
            node, rf"426 this port speaks WebSocket, reached at ws:127\.0\.0\.1:{ws}")

    def test_aCertificateThatNamesNoHost(self):
        key, cert, trust = selfSigned(self.folder, names=False)
        self.market.startTracker(
            "tracker", TIMEOUT, "--listen",
            f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}")
        node = self.node(f"tls:127.0.0.1:{self.market.tracker_port}:trustRoots={trust}")
        self.assertSaidOnceAnAttempt(node, r"names no host \(no subjectAltName\)")
