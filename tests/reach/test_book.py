"""
Tests of L{twisted_bazaar.reach.book}: the one table of a node's
paths to its peers, the wire's words mapped into typed paths where they
arrive, and the one place that asks the tracker where a peer is.
"""


from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.sparing import NOTHING
from twisted_bazaar.base.lan import MAX_LAN
from twisted_bazaar.reach.book import HEARD_FOR, NAMED_FOR, RETRY_AFTER, PathBook
from twisted_bazaar.reach.bookaccount import KEPT
from twisted_bazaar.transports.path import (
    CLAIMED, CONFIGURED, DIRECT, LAN, MAPPED, NAMED, RELAYED, SEEN, UDP, Path)
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.transports.relay.messages import FILES
from twisted_bazaar.transports.websocket import WEBSOCKET

from tests.helpers import nodeReply

PEER = 0x77
RELAY = "198.51.100.1:7701"
OTHER = "198.51.100.2:7701"
TRACKERS = "192.0.2.1:7701"


class Tracker:
    """A tracker session as the book asks it: ``whereRelay`` answered by
    the test, and its own relay TRACKERS."""

    def __init__(self):
        self.asked = []

    def whereRelay(self, peer_id):
        d = defer.Deferred()
        self.asked.append((peer_id, d))
        return d

    def isTrackerRelay(self, relay):
        return relay == TRACKERS


class Owner:
    """What a book reads of the whereabouts it is given: the time
    (C{now}, of L{clock}) and the tracker session (C{tracker})."""

    def __init__(self, membership=None, clock=None):
        self.clock = task.Clock() if clock is None else clock
        self.membership = membership

    def now(self):
        return self.clock.seconds()

    def tracker(self):
        return self.membership


def bookOf(membership=None):
    return PathBook(Owner(membership))


class BoundaryTests(SynchronousTestCase):
    """The wire's words become typed paths, each with whose word it is."""

    def test_aNodeAtHome(self):
        """A nodereply with a relay and local addresses: a relayed path
        (the host where the tracker saw it, a label) and LAN paths, all
        the tracker's word."""
        book = bookOf()
        book.trackerNamed(nodeReply(PEER, "203.0.113.7", 9001, relay=RELAY,
                                         lan=("192.168.1.3",)))
        self.assertEqual(book.paths(PEER), (
            Path(RELAYED, "203.0.113.7", 9001, RELAY, NAMED),
            Path(LAN, "192.168.1.3", 9001, word=NAMED)))
        self.assertEqual((book.relayOf(PEER), book.namedRelay(PEER)), (RELAY, RELAY))
        self.assertEqual(book.lanNamed(PEER), ("203.0.113.7", ("192.168.1.3",)))

    def test_theRelaysWays(self):
        """The ways to its relay the tracker named with a relayed path (a
        public node's WebSocket port) stay with it, and go with the
        tracker's next word that names none."""
        ways = (Path(WEBSOCKET, "198.51.100.1", 443),)
        book = bookOf()
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.7", 9001, (
            Path(RELAYED, relay=RELAY, word=NAMED, ways=ways),)))
        self.assertEqual(book.paths(PEER), (
            Path(RELAYED, "203.0.113.7", 9001, RELAY, NAMED, ways=ways),))
        book.trackerNamed(nodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        self.assertEqual(book.pathsOf(PEER, RELAYED),
                         (Path(RELAYED, "203.0.113.7", 9001, RELAY, NAMED),))

    def test_aPublicNode(self):
        """A nodereply without a relay: a direct path the tracker checked."""
        book = bookOf()
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.8", 9001))
        self.assertEqual(book.paths(PEER), (Path(DIRECT, "203.0.113.8", 9001, word=SEEN),))
        self.assertIsNone(book.relayOf(PEER))

    def test_aPublicNodesQuicPort(self):
        """A nodereply's udp: a UDP path at the host the tracker names,
        its word; a later word without it, or none, or another tracker's
        (L{PathBook.forgetNamed}) forgets it."""
        book = bookOf()
        book.trackerNamed(nodeReply(PEER, "203.0.113.8", 9001, udp=9002))
        self.assertEqual(book.paths(PEER), (
            Path(DIRECT, "203.0.113.8", 9001, word=SEEN),
            Path(UDP, "203.0.113.8", 9002, word=NAMED)))
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.8", 9001))
        self.assertEqual(book.pathsOf(PEER, UDP), ())
        book.trackerNamed(nodeReply(PEER, "203.0.113.8", 9001, udp=9002))
        book._namedNowhere(PEER)
        self.assertEqual(book.pathsOf(PEER, UDP), ())
        book.trackerNamed(nodeReply(PEER, "203.0.113.8", 9001, udp=9002))
        book.add(PEER, Path(UDP, "192.0.2.9", 4433, word=CONFIGURED))
        book.forgetNamed()
        self.assertEqual(book.paths(PEER), (Path(UDP, "192.0.2.9", 4433, word=CONFIGURED),))
        book.trackerNamed(nodeReply(PEER, "203.0.113.8", 9001, udp=9002))
        self.assertEqual(book.pathsOf(PEER, UDP), (
            Path(UDP, "203.0.113.8", 9002, word=NAMED),
            Path(UDP, "192.0.2.9", 4433, word=CONFIGURED)))

    def test_aPeersClaim(self):
        """A thisisme's relay is the peer's claim: dialled through (noted),
        but the tracker does not vouch for it; None forgets it, and an
        empty peer is not kept."""
        book = bookOf()
        book.claimed(PEER, OTHER)
        self.assertEqual(book.paths(PEER), (Path(RELAYED, relay=OTHER, word=CLAIMED),))
        self.assertEqual((book.relayOf(PEER), book.namedRelay(PEER)), (OTHER, None))
        self.assertFalse(book.vouches(OTHER, PEER))
        book.claimed(PEER, None)
        self.assertEqual((book.paths(PEER), book._peers), ((), {}))

    def test_aChordNearsRelay(self):
        book = bookOf()
        book.relayNamed(PEER, RELAY)
        self.assertEqual(book.paths(PEER), (Path(RELAYED, relay=RELAY, word=NAMED),))

    def test_noTableUntilWritten(self):
        """A book nothing was written to holds the shared empty table (a
        simulated node's memory); forgetting none into nothing keeps it."""
        book = bookOf()
        book.claimed(PEER, None)
        book.forgetNamed()
        self.assertIs(book._peers, NOTHING)
        self.assertEqual((book.paths(PEER), book.relayOf(PEER), book.lanNamed(PEER)),
                         ((), None, None))

    def test_forgetNamed(self):
        """Another tracker: what this one named is forgotten (and vouches
        no more), a relay noted stays (a dial through it asks anew)."""
        book = bookOf(Tracker())
        book.trackerNamed(nodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        book.trackerNamed(wire.NodeReply(PEER + 1, "203.0.113.8", 9001))
        book.forgetNamed()
        self.assertEqual((book.namedRelay(PEER), book.known(PEER), book.vouches(RELAY, PEER)),
                         (None, False, False))
        self.assertEqual(book.relayOf(PEER), RELAY)
        self.assertNotIn(PEER + 1, book._peers)

    def test_pathsAdded(self):
        """A path of a kind no message names (added by its service) is
        the peer's until dropped; one of the tracker's word goes with
        the tracker's other words when another tracker registers the node."""
        book = bookOf()
        configured = Path(UDP, "203.0.113.7", 9443, word=CONFIGURED)
        mapped = Path(MAPPED, "203.0.113.7", 41000, word=SEEN)
        book.add(PEER, configured)
        book.add(PEER, configured)
        book.add(PEER, mapped)
        self.assertEqual(book.paths(PEER), (configured, mapped))
        self.assertEqual(book.pathsOf(PEER, UDP), (configured,))
        book.forgetNamed()
        self.assertEqual(book.paths(PEER), (configured,))
        book.drop(PEER, configured)
        self.assertEqual((book.paths(PEER), book._peers), ((), {}))


class HeardTests(SynchronousTestCase):
    """Where a peer's links are, as a peer's word gives it (an offer's, a
    ring entry's: a claim), is written in the book until its dial
    takes it, and a link is dialled where the book last says
    (L{PathBook.linkAddress})."""

    def test_aClaimedAddress(self):
        """A claim: a direct path of the peer's word, charged to the
        group of the peer that named it, dialled for HEARD_FOR seconds."""
        book = bookOf()
        book.heard(PEER, "203.0.113.7", 9001, namedBy="198.51.0.0/16")
        claim = Path(DIRECT, "203.0.113.7", 9001, word=CLAIMED)
        self.assertEqual(book.paths(PEER), (claim,))
        self.assertEqual(book.linkAddress(PEER), (claim, "198.51.0.0/16"))
        self.assertEqual(book.linkAddress(PEER)[0].expires,
                         book.where.clock.seconds() + HEARD_FOR)
        self.assertEqual(book._claims, {PEER: "198.51.0.0/16"})
        book.where.clock.advance(HEARD_FOR)
        self.assertEqual((book.paths(PEER), book.linkAddress(PEER)), ((), None))

    def test_theLastWordIsDialled(self):
        """The tracker's word after a claim is dialled (at its host, its
        expiry NAMED_FOR on), and a claim after the tracker's."""
        book = bookOf()
        book.heard(PEER, "203.0.113.7", 9001, namedBy="198.51.0.0/16")
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.8", 9001))
        seen = Path(DIRECT, "203.0.113.8", 9001, word=SEEN)
        self.assertEqual(book.linkAddress(PEER), (seen, None))
        self.assertEqual(book.linkAddress(PEER)[0].expires,
                         book.where.clock.seconds() + NAMED_FOR)
        book.heard(PEER, "203.0.113.9", 9001)
        self.assertEqual(book.linkAddress(PEER),
                         (Path(DIRECT, "203.0.113.9", 9001, word=CLAIMED), None))

    def test_aClaimOfWhatTheTrackerNamedHoldsNothingMore(self):
        book = bookOf()
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.8", 9001))
        book.heard(PEER, "203.0.113.8", 9001, namedBy="198.51.0.0/16")
        self.assertIsNone(book._peers[PEER].said)
        self.assertEqual(book.linkAddress(PEER)[0].word, SEEN)

    def test_taken(self):
        """A claim goes once a dial took it, and the tables with it when
        nothing else is held (the shared empty one again); what else is
        held of the peer (the tracker's word) stays."""
        book = bookOf()
        book.heard(PEER, "203.0.113.7", 9001, namedBy="198.51.0.0/16")
        book.taken(PEER)
        self.assertTrue(book.empty())
        self.assertIs(book._peers, NOTHING)
        self.assertIs(book._claims, NOTHING)
        book.trackerNamed(wire.NodeReply(0x78, "203.0.113.8", 9001))
        book.heard(0x78, "203.0.113.10", 9001)
        book.taken(0x78)
        self.assertEqual(book.linkAddress(0x78)[0].host, "203.0.113.8")

    def test_aTransferPort(self):
        """A file's offer names the peer's transfer port: a claim of its
        own, charged as a claim of its links is, dialled by a transfer
        (L{PathBook.transferAddress}) for HEARD_FOR seconds until a dial
        takes it; the tracker's word on the peer's links, or a claim of
        them, neither is it nor takes it."""
        book = bookOf()
        book.trackerNamed(wire.NodeReply(PEER, "203.0.113.8", 9001))
        book.heard(PEER, "203.0.113.8", 9001, namedBy="198.51.0.0/16", purpose=FILES)
        book.heard(0x78, "203.0.113.7", 9002, namedBy="198.51.0.0/16", purpose=FILES)
        book.heard(0x78, "203.0.113.7", 9001)
        port = Path(DIRECT, "203.0.113.7", 9002, word=CLAIMED)
        self.assertEqual(book.transferAddress(0x78), (port, "198.51.0.0/16"))
        self.assertEqual(book.transferAddress(PEER)[0].port, 9001)
        self.assertEqual(book.linkAddress(0x78)[0].port, 9001)
        self.assertNotIn(port, book.paths(0x78))
        self.assertEqual(book._claims, {0x78: ""})
        book.taken(0x78)
        self.assertEqual(book.transferAddress(0x78), (port, "198.51.0.0/16"))
        book.taken(0x78, FILES)
        self.assertIsNone(book.transferAddress(0x78))
        self.assertNotIn(0x78, book._peers)
        book.where.clock.advance(HEARD_FOR)
        self.assertIsNone(book.transferAddress(PEER))

    def test_strangersAddressesPushOutOnlyClaims(self):
        """1,100 strangers' keys, each heard at an address from one of
        four /16s, push out neither a configured path nor what the
        tracker named, nor a path a punch met: each past the bound pushes
        out a claim."""
        book = bookOf()
        configured = Path(UDP, "203.0.113.9", 7801, word=CONFIGURED)
        book.add(PEER, configured)
        book.trackerNamed(wire.NodeReply(0x78, "203.0.113.8", 9001))
        met = Path(UDP, "203.0.113.9", 40001, word=SEEN)
        book.add(0x79, met)
        groups = ("198.18", "198.19", "203.0", "100.64")
        for n in range(1100):
            book.heard(0x100000 + n, f"{groups[n % 4]}.0.{n % 200}", 9001,
                       namedBy=groups[n % 4])
        self.assertEqual(book.paths(PEER), (configured,))
        self.assertEqual(book.namedHost(0x78), "203.0.113.8")
        self.assertEqual(book.paths(0x79), (met,))
        self.assertEqual((len(book._peers), len(book._claims)), (KEPT, KEPT - 3))


class LanFactsTests(SynchronousTestCase):
    """What became of a node's dials to its peers' local addresses is the
    book's: a local address where the peer proved its key is a path it was
    seen at, with its expiry; one that failed, a note on the peer until
    it may be dialled again."""

    HOST = "192.168.1.9"

    def setUp(self):
        self.book = bookOf()
        self.book.trackerNamed(nodeReply(PEER, "203.0.113.9", 9000, RELAY,
                                              (self.HOST, "192.168.1.10")))

    def test_reached(self):
        """Proven there for NAMED_FOR seconds: a seen path, after the
        tracker's words."""
        self.book.lanReached(PEER, self.HOST, 9002)
        proven = Path(LAN, self.HOST, 9002, word=SEEN)
        self.assertTrue(self.book.lanProven(PEER, self.HOST))
        self.assertFalse(self.book.lanProven(PEER, "192.168.1.10"))
        self.assertEqual(self.book.paths(PEER)[-1], proven)
        self.book.where.clock.advance(NAMED_FOR)
        self.assertFalse(self.book.lanProven(PEER, self.HOST))
        self.assertNotIn(proven, self.book.paths(PEER))

    def test_failed(self):
        """Not dialled there for RETRY_AFTER seconds, nor taken as proven
        any more; proven again, the failure goes."""
        self.book.lanReached(PEER, self.HOST, 9000)
        self.book.lanFailed(PEER, self.HOST)
        self.assertEqual((self.book.lanFailedLately(PEER, self.HOST),
                          self.book.lanFailedLately(PEER, "192.168.1.10"),
                          self.book.lanProven(PEER, self.HOST)), (True, False, False))
        self.book.where.clock.advance(RETRY_AFTER)
        self.assertFalse(self.book.lanFailedLately(PEER, self.HOST))
        self.book.lanFailed(PEER, self.HOST)
        self.book.lanReached(PEER, self.HOST, 9000)
        self.assertFalse(self.book.lanFailedLately(PEER, self.HOST))

    def test_aPeerNotHeldKeepsNoFact(self):
        """A peer the tracker's word on went meanwhile: nothing noted."""
        self.book.lanFailed(PEER + 1, self.HOST)
        self.book.lanReached(PEER + 1, self.HOST, 9000)
        self.assertEqual(self.book.paths(PEER + 1), ())
        self.assertFalse(self.book.lanFailedLately(PEER + 1, self.HOST))

    def test_bounded(self):
        """However many local addresses a tracker names over time, a
        peer's notes hold the newest MAX_LAN of each."""
        for n in range(50):
            host = f"192.168.2.{n}"
            self.book.lanFailed(PEER, host)
            self.book.lanReached(PEER, f"192.168.3.{n}", 9000)
        held = self.book._peers[PEER]
        self.assertEqual(len(held.failed), MAX_LAN)
        self.assertEqual(len(self.book.pathsOf(PEER, LAN)), 2 + MAX_LAN)
        self.assertTrue(self.book.lanFailedLately(PEER, "192.168.2.49"))
        self.assertFalse(self.book.lanFailedLately(PEER, "192.168.2.0"))

    def test_aProvenPathIsPinnedWhileFresh(self):
        """A peer proven at its local address is kept as a punched one is:
        the tracker's words on others go first; once the proof is old,
        it goes as a tracker's word does."""
        self.book.lanReached(PEER, self.HOST, 9000)
        for peer in range(KEPT + 10):
            self.book.trackerNamed(wire.NodeReply(1000 + peer, "203.0.113.7", 9001))
        self.assertTrue(self.book.lanProven(PEER, self.HOST))
        self.book.where.clock.advance(NAMED_FOR)
        self.book.trackerNamed(wire.NodeReply(5000, "203.0.113.7", 9001))
        self.assertNotIn(PEER, self.book._peers)


class UnreachedTests(SynchronousTestCase):
    """Which peers nothing listened at when this node last dialled them
    is the book's too: a note on the peer's entry, which holds it, until
    a link to it comes up or RETRY_AFTER seconds pass; bounded with the
    book, right after the claims."""

    def test_notedUntilReachedOrOld(self):
        """A peer the book held nothing of is held by the note alone; a
        link up, or RETRY_AFTER seconds, and it is reachable again."""
        book = bookOf()
        book.unreached(PEER)
        self.assertEqual((book.unreachable(PEER), book.unreachable(PEER + 1),
                          book.paths(PEER)), (True, False, ()))
        book.reached(PEER)
        self.assertFalse(book.unreachable(PEER))
        self.assertTrue(book.empty())
        book.unreached(PEER)
        book.where.clock.advance(RETRY_AFTER)
        self.assertFalse(book.unreachable(PEER))

    def test_theOtherWordsStay(self):
        """The note is a fact beside the tracker's word and a claim: it
        takes none of them, nor frees a claim of its charge, and goes
        without them."""
        book = bookOf()
        book.trackerNamed(nodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        book.claimed(0x78, OTHER, "198.18")
        for peer in (PEER, 0x78):
            book.unreached(peer)
            book.reached(peer)
        self.assertEqual((book.namedRelay(PEER), book.relayOf(0x78), book._claims),
                         (RELAY, OTHER, {0x78: "198.18"}))

    def test_aDialTakingTheClaimLeavesTheNote(self):
        """A claim heard is taken by its dial; the note that the dial
        before found nothing stays."""
        book = bookOf()
        book.unreached(PEER)
        book.heard(PEER, "203.0.113.7", 9001, "198.18")
        book.taken(PEER)
        self.assertTrue(book.unreachable(PEER))

    def test_notesGoRightAfterClaims(self):
        """Past the bound, peers held by a note alone go after the claims,
        before the tracker's words: a stranger's made-up addresses,
        dialled and failed, push out nothing the tracker named; the note
        newest written stays while an older one is left to go."""
        book = bookOf()
        for peer in range(KEPT - 1):
            book.trackerNamed(wire.NodeReply(1000 + peer, "203.0.113.7", 9001))
        book.claimed(PEER, RELAY, "198.18")
        book.unreached(0x78)
        self.assertIsNone(book.relayOf(PEER))
        self.assertTrue(book.unreachable(0x78))
        book.unreached(0x79)
        self.assertEqual((book.unreachable(0x78), book.unreachable(0x79)), (False, True))
        self.assertEqual(book.namedHost(1000), "203.0.113.7")
        self.assertEqual(len(book._peers), KEPT)


class AskingTests(SynchronousTestCase):
    """The book alone asks the tracker; its answer is written in it."""

    def test_anAnswerIsWritten(self):
        tracker = Tracker()
        book = bookOf(tracker)
        asked = book.ask(PEER)
        [(peer, d)] = tracker.asked
        d.callback(nodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        self.assertEqual(self.successResultOf(asked).paths,
                         (Path(RELAYED, relay=RELAY, word=NAMED),))
        self.assertTrue(book.known(PEER))
        self.assertEqual(book.hostNamed(PEER), "203.0.113.7")
        book.where.clock.advance(NAMED_FOR)
        self.assertEqual((book.known(PEER), book.hostNamed(PEER)), (False, None))

    def test_whereIs(self):
        """(host, port), or None when it names no address (nothing written)."""
        tracker = Tracker()
        book = bookOf(tracker)
        found = book.whereIs(PEER)
        tracker.asked[0][1].callback(wire.NodeReply(PEER, "203.0.113.7", 9001))
        self.assertEqual(self.successResultOf(found), ("203.0.113.7", 9001))
        nowhere = book.whereIs(PEER + 1)
        tracker.asked[1][1].callback(wire.NodeReply(PEER + 1, "", 0))
        self.assertIsNone(self.successResultOf(nowhere))
        self.assertEqual(book.paths(PEER + 1), ())

    def test_noTracker(self):
        """No tracker to ask: the question fails, saying so, as one the
        tracker did not answer does."""
        failure = self.failureResultOf(bookOf().ask(PEER), TrackerGone)
        self.assertEqual(str(failure.value), "no tracker to ask")

    def test_vouches(self):
        """The tracker's own relay is vouched for any peer; a relay the
        tracker named, for that peer alone."""
        book = bookOf(Tracker())
        self.assertTrue(book.vouches(TRACKERS, PEER))
        book.trackerNamed(nodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        self.assertEqual((book.vouches(RELAY, PEER), book.vouches(RELAY, PEER + 1)),
                         (True, False))
