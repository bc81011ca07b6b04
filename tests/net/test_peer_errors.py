"""
Issue 21 at a node: well-formed ``error`` messages about a link cost their
sender its error budget, before the handshake and after, and what peers
make the node log is bounded per address group.  Routed errors (a
seller's answers) are trade, not complaints: they cost nothing.

The node's peers are links on StringTransports, on a fake clock.
"""

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import PEER_BURST
from twisted_bazaar.net.link import DEFAULT_ERROR_LIMIT, ERROR_WINDOW
from twisted_bazaar.wire import trade  # noqa: F401 (the soldout code)

from tests.helpers import feed, linkPeer, makeNode, openLink

ERROR = wire.Error("wtf", "x" * 500)


def lines(events):
    return [formatEvent(event) for event in events]


class PeerErrorTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(1)

    def test_errorsBeforeTheHandshake(self):
        link = openLink(self.node, host="198.51.100.9")
        feed(link, *[ERROR] * DEFAULT_ERROR_LIMIT)
        self.assertFalse(link.closing)
        feed(link, ERROR)
        self.assertTrue(link.closing)
        self.assertEqual(link.transport.value(), b"")  # an error is never answered

    def test_errorsOnAnEstablishedLink(self):
        link = linkPeer(self.node, 7)
        feed(link, *[ERROR] * DEFAULT_ERROR_LIMIT)
        self.assertFalse(link.closing)
        feed(link, ERROR)
        self.assertTrue(link.closing)

    def test_theBudgetIsPerWindow(self):
        """A peer that complains now and then is never cut."""
        link = linkPeer(self.node, 7)
        for _ in range(5):
            feed(link, *[ERROR] * DEFAULT_ERROR_LIMIT)
            self.node.clock.advance(ERROR_WINDOW)
        self.assertFalse(link.closing)

    def test_routedErrorsCostNothing(self):
        """A seller's soldout answers, relayed by a neighbour, are trade: a
        busy relay is not cut off for them."""
        link = linkPeer(self.node, 7)
        for n in range(DEFAULT_ERROR_LIMIT * 5):
            feed(link, wire.Error("soldout", "none left", n + 1, (9, 7, 1)))
        self.assertFalse(link.closing)

    def test_linesBoundedPerAddressGroup(self):
        """Many connections from one address, each spending its whole
        budget: a few lines of each kind are logged, the rest summed up;
        another address is still heard."""
        with capturedLogs() as events:
            for _ in range(100):
                link = openLink(self.node, host="198.51.100.9")
                feed(link, *[ERROR] * (DEFAULT_ERROR_LIMIT + 1))
                link.connectionLost(None)
            feed(openLink(self.node, host="203.0.113.5"), ERROR)
            self.node.clock.advance(10)
        logged = lines(events)
        refused = [line for line in logged if " refused the link: wtf" in line]
        self.assertEqual(len(refused), PEER_BURST + 1, logged)
        self.assertEqual(len([line for line in refused if "203.0.113.5" in line]), 1)
        self.assertIn(f"{100 * DEFAULT_ERROR_LIMIT - PEER_BURST} more lines like "
                      "'{peer} refused the link: {code}: {info}' from 198.51.0.0/16 "
                      "in the last 10 s, not logged", logged)

    def test_shutdownSumsUpAndLeavesNoTimer(self):
        with capturedLogs() as events:
            for _ in range(10):
                link = openLink(self.node, host="198.51.100.9")
                feed(link, ERROR)
                link.connectionLost(None)
            self.assertNotEqual(self.node.clock.getDelayedCalls(), [])
            self.node.shutdown()
        self.assertEqual(self.node.clock.getDelayedCalls(), [])
        self.assertIn("5 more lines like '{peer} refused the link: {code}: {info}' "
                      "from 198.51.0.0/16 in the last 10 s, not logged", lines(events))

    def test_misroutedErrorsSpendTheBudget(self):
        """Routed errors whose path does not lead here through the sender
        are not answered, but counted like any bad message."""
        link = linkPeer(self.node, 7)
        for n in range(DEFAULT_ERROR_LIMIT + 1):
            feed(link, wire.Error("soldout", "none left", n + 1, (9, 8, 1)))
        self.assertTrue(link.closing)
        self.assertEqual(link.transport.value(), b"")

    def test_messagesThatCannotBeRelayedLogBoundedLines(self):
        """A peer routing messages to a next hop this node has no link to
        gets a few lines logged, not one per message."""
        link = linkPeer(self.node, 7)
        with capturedLogs() as events:
            for n in range(100):
                feed(link, wire.Error("soldout", "none left", n + 1, (9, 7, 1, 5)))
        dropped = [line for line in lines(events) if "no link to next hop 5" in line]
        self.assertEqual(len(dropped), PEER_BURST)
        self.assertFalse(link.closing)


class OversizeLineTests(SynchronousTestCase):
    """
    A message too big to send was logged each time, outside the peer
    log: whatever a peer could make a node answer over the frame limit
    (an answer naming long hosts, before those were cut to a frame) cost
    a line a question.  It now goes through the peer log.
    """

    def test_oversizeAnswersLogBoundedLines(self):
        node = makeNode(1)
        link = linkPeer(node, 7)
        big = wire.Error("wtf", "x" * 1000)
        link._context.settings.frame_limit = 512
        with capturedLogs() as events:
            for _ in range(100):
                link.send(big)
        refused = [line for line in lines(events) if "over the frame limit" in line]
        self.assertEqual(len(refused), PEER_BURST)
        self.assertEqual(link.transport.value(), b"")
