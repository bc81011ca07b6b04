"""
Tests of L{twisted_bazaar.transports.interface}: every way the dialer
tries is an L{ITransport}, and a new one plugs in as a module, declaring
its own place in the race (L{tests.reach.fakeudp}), no other file
touched.
"""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.reach.dialer import CANDIDATES, FILES, Peer
from twisted_bazaar.transports.path import CONFIGURED, UDP, Path
from twisted_bazaar.transports.interface import ITransport

from tests import records
from tests.reach.fakeudp import FakeUdp, Unanswered
from tests.helpers import RecordingConnector, dialingNode

SELLER = records.identity(3)
QUIC = Path(UDP, "203.0.113.7", 9443, word=CONFIGURED)


class TransportTests(SynchronousTestCase):
    def test_everyWayIsATransport(self):
        for transport in CANDIDATES + (FakeUdp(),):
            self.assertTrue(verifyObject(ITransport, transport))

    def setUp(self):
        self.udp = FakeUdp()
        self.node = dialingNode(None)
        # Its place is its declared delay, not where it is listed (first).
        self.node.dialer.addTransport(self.udp)
        self.connector = self.node.dialer.connector = RecordingConnector()

    def dial(self):
        return self.node.dial(Peer(SELLER.id, "203.0.113.7", 9002, None, SELLER.key),
                              FILES, object)

    def test_racedAtOnceItsAnswerWins(self):
        """A peer with a path of the new kind in the book is dialled there
        and at its TCP address at once; the first answer is the dial's,
        the other attempt cancelled."""
        self.node.dialer.book.add(SELLER.id, QUIC)
        dialled = self.dial()
        [(host, port, purpose, d)] = self.udp.dials
        self.assertEqual((host, port, purpose), ("203.0.113.7", 9443, FILES))
        [tcp] = self.connector.dials
        d.callback("quic")
        self.assertEqual(self.successResultOf(dialled), "quic")
        # Cancelled: its failure went to the race, which had done.
        self.assertTrue(tcp[5].called)

    def test_itsFailureLeavesTheOther(self):
        """A failure of it leaves the dial to the other way (here TCP);
        both failing, the dial says both reasons."""
        self.node.dialer.book.add(SELLER.id, QUIC)
        dialled = self.dial()
        self.udp.dials[0][3].errback(Unanswered("no answer at 203.0.113.7:9443"))
        self.assertNoResult(dialled)
        self.connector.dials[0][5].errback(ConnectionError("refused"))
        self.assertEqual(str(self.failureResultOf(dialled).value),
                         "no answer at 203.0.113.7:9443; refused")

    def test_noPathOfItsKind(self):
        """No path of its kind in the book: it does not apply; dropped
        paths are gone."""
        book = self.node.dialer.book
        book.add(SELLER.id, QUIC)
        book.drop(SELLER.id, QUIC)
        self.dial()
        self.assertEqual((self.udp.dials, len(self.connector.dials)), ([], 1))
        self.assertEqual(book.paths(SELLER.id), ())
