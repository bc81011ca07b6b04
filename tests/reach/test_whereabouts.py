"""
Tests of L{twisted_bazaar.reach.whereabouts}: what a node knows of where
its peers are, its parts made only when needed, and the questions to the
tracker that relayed links prompt.
"""

from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.base.peerhost import LOOPBACK
from twisted_bazaar.reach.book import NAMED_FOR
from twisted_bazaar.reach.peerhosts import NO_SCOPES, PeerHosts
from twisted_bazaar.reach.whereabouts import WHERE_ASKS_LIMIT, Whereabouts
from twisted_bazaar.transports.path import CLAIMED, DIRECT, LAN, NAMED, RELAYED, SEEN, Path
from twisted_bazaar.transports.relay.messages import FILES
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.net.link import LinkSettings

PEER = 0x77
RELAY = "198.51.100.1:7701"


class Tracker:
    """Answers whereis with the reply set (None: names the peer nowhere),
    noting each question."""

    def __init__(self, reply=None):
        self.reply = reply
        self.asked = []

    def whereRelay(self, node_id):
        self.asked.append(node_id)
        return defer.succeed(self.reply or wire.NodeReply(node_id, "", 0))


def makeWhereabouts(membership=None):
    clock = task.Clock()
    where = Whereabouts(clock, PeerLog(clock), LinkSettings().handshake_timeout)
    where.session = membership
    return where


def trackerLink(local, tracker=""):
    """A tracker connection leaving from local (to a tracker at
    ``tracker``)."""
    return SimpleNamespace(transport=SimpleNamespace(
        getHost=lambda: IPv4Address("TCP", local, 40000),
        getPeer=lambda: IPv4Address("TCP", tracker, 7700)))


class LazyPartsTests(SynchronousTestCase):
    """A simulated node (a million of them) that never dials a local
    address nor checks a host holds none of the parts: what it is asked
    on the way (where its tracker link leaves from, a peer that has no
    relay, a link's address) makes none."""

    def test_aSimulatedNodeMakesNoPart(self):
        where = makeWhereabouts()
        self.assertIsNone(where.announce(trackerLink("n5")))
        where.notePeer(PEER, None)
        self.assertIsNone(where.relayOf(PEER))
        self.assertIsNone(where.linkAddress(PEER))
        self.assertIsNone(where.directPath(PEER))
        self.assertEqual((where.atHome(), where.lanNamed(PEER), where.lanGroups(PEER)),
                         (False, (), frozenset()))
        where.trackerChanged()
        self.assertEqual((where._book, where._lan, where._hosts, where._whereAsks),
                         (None, None, None, None))

    def test_slotted(self):
        """One a node: no dict of its own."""
        self.assertFalse(hasattr(makeWhereabouts(), "__dict__"))

    def test_hostChecksMadeWhenAConnectionLeavesFromAnAddress(self):
        """Where a tracker connection leaves from says which scopes the
        node is in; a node's scopes are one shared empty set until it has
        one (base/sparing.py)."""
        where = makeWhereabouts()
        where.announce(trackerLink("127.0.0.1"))
        where.announce(trackerLink("127.0.0.1"))
        self.assertEqual(where.hosts.own, {LOOPBACK})
        self.assertIsNone(where._lan)
        self.assertIs(PeerHosts(where, None, None, 5.0).own, NO_SCOPES)

    def test_localAddressAnnounced(self):
        """A connection leaving from a local address: that address is the
        node's own on its LAN, told to the tracker."""
        where = makeWhereabouts()
        self.assertEqual(where.announce(trackerLink("192.168.1.2", "203.0.113.1")),
                         ("192.168.1.2",))
        self.assertEqual(where.lan.own, ("192.168.1.2",))
        self.assertIsNone(where.announce(trackerLink("203.0.113.9")))
        self.assertEqual(where.lan.own, ())


class WordsTests(SynchronousTestCase):
    """The words that name a peer's ways go into the book."""

    def test_heardAddressIsTheLinksAddress(self):
        where = makeWhereabouts()
        where.heard(PEER, "203.0.113.7", 9001, namedBy="203.0.0.0/16")
        path, namedBy = where.linkAddress(PEER)
        self.assertEqual((path.host, path.port, namedBy),
                         ("203.0.113.7", 9001, "203.0.0.0/16"))

    def test_anOffersTransferPortAndRelay(self):
        """A file's offer names the seller's transfer port and its relay:
        the port a claim of its own, the relay the seller's claim, both
        charged to the group of the peer whose reply brought it."""
        where = makeWhereabouts()
        where.heard(PEER, "203.0.113.7", 9002, "203.0.0.0/16", FILES, RELAY)
        path, namedBy = where.book.transferAddress(PEER)
        self.assertEqual((path.port, namedBy, where.relayOf(PEER), where.linkAddress(PEER)),
                         (9002, "203.0.0.0/16", RELAY, None))
        self.assertEqual(where.book._claims, {PEER: "203.0.0.0/16"})

    def test_relayNotedOrNamed(self):
        """A relay a peer says it is reached through is its claim; one
        the tracker named (a ``chordNear``), the tracker's word."""
        where = makeWhereabouts()
        where.notePeer(PEER, RELAY, group="198.18.0.0/16")
        where.notePeer(PEER + 1, RELAY, named=True)
        self.assertEqual([where.relayOf(PEER), where.relayOf(PEER + 1)], [RELAY, RELAY])
        self.assertEqual([where.book.paths(PEER), where.book.paths(PEER + 1)],
                         [(Path(RELAYED, relay=RELAY, word=CLAIMED),),
                          (Path(RELAYED, relay=RELAY, word=NAMED),)])

    def test_trackerNamedIsADirectPathUntilAnotherTracker(self):
        """The tracker's word naming a peer with no relay is a direct
        path; registered with another tracker, that word is forgotten."""
        where = makeWhereabouts()
        where.trackerNamed(wire.NodeReply(PEER, "198.51.100.7", 9000))
        self.assertEqual(where.directPath(PEER),
                         Path(DIRECT, "198.51.100.7", 9000, word=SEEN))
        where.trackerChanged()
        self.assertIsNone(where.directPath(PEER))


    def test_aClassmatesLocalAddressesAndTheirGroups(self):
        """The local addresses the tracker names for a peer (only to a
        node behind the same public address: a classmate), and their
        address groups: the LAN's, not the router's public address's."""
        where = makeWhereabouts()
        where.trackerNamed(wire.NodeReply(PEER, "198.51.100.7", 9000, paths=(
            Path(LAN, "192.168.5.7", 9000), Path(LAN, "fd00::7", 9000))))
        self.assertEqual(where.lanNamed(PEER), ("192.168.5.7", "fd00::7"))
        self.assertEqual(where.lanGroups(PEER), {"192.168.0.0/16", "fd00::/32"})
        self.assertEqual((where.lanNamed(PEER + 1), where.lanGroups(PEER + 1)),
                         ((), frozenset()))

    def test_atHomeWithALocalAddressOfItsOwn(self):
        """A node whose tracker connection leaves from a local address is
        at home: classmates may be on its LAN."""
        where = makeWhereabouts()
        where.announce(trackerLink("203.0.113.9"))
        self.assertFalse(where.atHome())
        where.announce(trackerLink("192.168.1.2", "203.0.113.1"))
        self.assertTrue(where.atHome())


    def test_hostsAllowedAsTheRulesSay(self):
        """Whether a host is one the node dials a peer at (its rules,
        nothing logged): a public address, not a private one from a node
        at home, nor a name (dialled only as the tracker names it)."""
        where = makeWhereabouts()
        where.announce(trackerLink("192.168.1.2", "203.0.113.1"))
        self.assertEqual([where.hosts.allows(host, 9000)
                          for host in ("198.51.100.7", "192.168.1.1", "peer.example")],
                         [True, False, False])


class LearnWhereTests(SynchronousTestCase):
    """A relayed link prompts a question of where its peer is (for the
    punch's go to find in the book whether the peer is dialled
    directly), charged to the link's address group: a stranger's fresh
    keys cannot spend the node's questions to its tracker."""

    def setUp(self):
        self.tracker = Tracker()
        self.where = makeWhereabouts(self.tracker)

    def test_aGroupsLinksAskAtItsRate(self):
        """100 relayed links of fresh keys from one group in a second ask
        the tracker twice (the bucket's burst), then once a second; another
        group asks all the same."""
        for n in range(100):
            self.where.learnWhere(1000 + n, "198.18")
        self.assertEqual(len(self.tracker.asked), 2)
        self.where.clock.advance(1)
        for n in range(100):
            self.where.learnWhere(2000 + n, "198.18")
        self.assertEqual(len(self.tracker.asked), 3)
        self.where.learnWhere(3000, "203.0")
        self.assertEqual(len(self.tracker.asked), 4)

    def test_aFreshWordIsNotAskedAgain(self):
        self.where.trackerNamed(wire.NodeReply(PEER, "203.0.113.7", 9001))
        self.where.learnWhere(PEER, "198.18")
        self.assertEqual(self.tracker.asked, [])
        self.where.clock.advance(NAMED_FOR)
        self.where.learnWhere(PEER, "198.18")
        self.assertEqual(self.tracker.asked, [PEER])

    def test_noTrackerNoQuestion(self):
        where = makeWhereabouts()
        where.learnWhere(PEER, "198.18")
        self.assertIsNone(where._whereAsks)

    def test_declared(self):
        self.assertIs(LIMITS["dialer.where-asks"], WHERE_ASKS_LIMIT)
        self.assertEqual(WHERE_ASKS_LIMIT.group, 1.0)
