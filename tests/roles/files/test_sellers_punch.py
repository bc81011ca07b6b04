"""
Tests of L{twisted_bazaar.roles.files.sellers.Sellers.connect} for a
seller at home (its offer names a relay), through the node's dialer
(L{twisted_bazaar.reach.dialer}): its transfer port is punched to over the
direct link the buyer has with it, and reached through its relay when no
punch is tried or the punch fails; a seller dialled directly is never
punched to.
"""

import errno
from types import SimpleNamespace

from twisted.internet import defer, error, task
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.client import TransferClient
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.roles.files.sellers import Sellers
from twisted_bazaar.reach.punch.tcp.exchange import PunchFailed
from twisted_bazaar.reach.sources import OwnPathSource
from twisted_bazaar.wire.ids import shortId

from tests import records
from tests.helpers import dialingNode, nodeReply, RecordingConnector

SELLER = records.identity(3)
RELAY = "198.51.100.1:7701"


class FakePunching(OwnPathSource):
    """Records each punch asked for; ``tried`` False: it tries none.  It
    answers the dialer's other questions as a source that punches none
    does (its base), but finds paths to peers."""

    #: It finds paths to peers (a punch).
    toPeers = True

    def __init__(self, tried=True):
        self.tried = tried
        self.punches = []

    def transfer(self, peer_id, key, protocol):
        if not self.tried:
            return None
        d = defer.Deferred()
        self.punches.append((peer_id, key, protocol, d))
        return d


class ConnectTests(SynchronousTestCase):
    def sellers(self, relay=RELAY, punching=None):
        self.connector = RecordingConnector()
        node = dialingNode(self.connector, punching=punching)
        if relay is not None:
            # The tracker named the seller's relay: dialled as named.
            node.whereabouts.book.trackerNamed(nodeReply(SELLER.id, "203.0.113.7", 9001,
                                                         relay=relay))
        fetcher = SimpleNamespace(node=node, stall=30.0, proven=(), unswitched=(), rng=None)
        #: What the download's moves were told of each connection:
        #: ("started", seller) as it is dialled, (seller, client) once up.
        self.told = []
        moves = SimpleNamespace(
            started=lambda seller: self.told.append(("started", seller)),
            connected=lambda *told: self.told.append(told))
        download = SimpleNamespace(fetcher=fetcher, clock=task.Clock(), stopped=False,
                                   name="big", watch=SimpleNamespace(problem=None),
                                   moves=moves,
                                   pieces=SimpleNamespace(schedule=None))
        sellers = Sellers(download, None)
        offer = SimpleNamespace(relay=relay, host="203.0.113.7", transfer=9002, namedBy=None,
                                record=SimpleNamespace(key=SELLER.key))
        sellers.sources = {SELLER.id: offer}
        return sellers

    def test_punchedConnection(self):
        """A punched connection is the seller's: nothing goes through the
        relay."""
        punching = FakePunching()
        sellers = self.sellers(punching=punching)
        connected = sellers.connect(SELLER.id)
        [(peer, key, client, d)] = punching.punches
        self.assertEqual((peer, key), (SELLER.id, SELLER.key))
        self.assertIsInstance(client, TransferClient)
        d.callback(client)
        self.assertIs(self.successResultOf(connected), client)
        self.assertEqual(sellers.clients, {SELLER.id: client})
        self.assertEqual(self.told, [("started", SELLER.id), (SELLER.id, client)])
        self.assertEqual(self.connector.dials, [])

    def test_failedPunchGoesThroughTheRelay(self):
        punching = FakePunching()
        sellers = self.sellers(punching=punching)
        connected = sellers.connect(SELLER.id)
        [(_, _, punched_client, d)] = punching.punches
        d.errback(PunchFailed("no direct connection after 1 attempt"))
        [(host, port, client, expected, through, dial)] = self.connector.dials
        self.assertEqual((host, port, expected), ("203.0.113.7", 9002,
                                                  decode(SELLER.key)))
        self.assertEqual(through, {"relay": RELAY, "target": SELLER.id,
                                   "purpose": "files"})
        self.assertIsNot(client, punched_client)
        dial.callback(client)
        self.assertIs(self.successResultOf(connected), client)

    def test_noPunchTried(self):
        """No punch tried (no direct link, say): through the relay at once."""
        sellers = self.sellers(punching=FakePunching(tried=False))
        sellers.connect(SELLER.id)
        [(_, _, _, _, through, _)] = self.connector.dials
        self.assertEqual(through["relay"], RELAY)

    def test_aSellerDialledDirectly(self):
        punching = FakePunching()
        sellers = self.sellers(relay=None, punching=punching)
        sellers.connect(SELLER.id)
        self.assertEqual(punching.punches, [])
        [(_, _, _, _, through, _)] = self.connector.dials
        self.assertEqual(through, {})

    def test_anUnreachableNetworkInWords(self):
        """A laptop whose network went away: the seller it cannot reach is
        said in the project's words, as the tracker is, in the line and
        in the download's state (before: Twisted's "No route to host:
        101: Network is unreachable.")."""
        sellers = self.sellers(relay=None)
        down = []
        sellers.markDown = down.append
        connected = sellers.connect(SELLER.id)
        [(_, _, _, _, _, dial)] = self.connector.dials
        with capturedLogs() as events:
            dial.errback(error.ConnectError(osError=errno.ENETUNREACH))
        self.assertEqual((self.successResultOf(connected), down), (None, [SELLER.id]))
        why = "the network is unreachable (this machine has no route to it)"
        self.assertEqual([formatEvent(event) for event in events],
                         [f"cannot reach seller {shortId(SELLER.id)} for big: {why}"])
        self.assertEqual(sellers.download.watch.problem,
                         f"cannot reach seller {shortId(SELLER.id)}: {why}")

    def test_theOffersAddressGoesThroughTheBook(self):
        """The offer's transfer port is heard into the node's book, as the
        seller's word, and the seller dialled by its id there: the dial
        takes the claim."""
        sellers = self.sellers(relay=None)
        book = sellers.fetcher.node.whereabouts.book
        sellers.connect(SELLER.id)
        [(host, port, _, expected, _, _)] = self.connector.dials
        self.assertEqual((host, port, expected), ("203.0.113.7", 9002, decode(SELLER.key)))
        self.assertIsNone(book.transferAddress(SELLER.id))
        self.assertTrue(book.empty())

    def test_cancelledPunchDialsNothing(self):
        """A download that stops while the punch is under way goes
        nowhere else."""
        punching = FakePunching()
        sellers = self.sellers(punching=punching)
        connected = sellers.connect(SELLER.id)
        sellers.download.stopped = True
        sellers.connecting[SELLER.id].cancel()
        self.assertIsNone(self.successResultOf(connected))
        self.assertEqual(self.connector.dials, [])
