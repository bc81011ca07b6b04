"""
Tests of L{twisted_bazaar.reach.vetting}: where a dial may go, the checks
of the dialer (L{twisted_bazaar.reach.dialer.Dialer}): a relay is dialled for
a peer only as the tracker named it (or when it is the tracker's own),
else as the tracker says when asked, and one at an address this node
does not dial is refused; where the tracker names a peer is checked as
a host a peer names.
"""

from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.reach.asking import TrackerGone, TrackerSilent
from twisted_bazaar.reach.dialer import FILES, Peer
from twisted_bazaar.reach.peerhosts import HostRefused
from twisted_bazaar.reach import vetting
from twisted_bazaar.reach.vetting import NotNamed, RelayRefused
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import RELAYED, Path
from twisted_bazaar.transports.table import overConnector

from tests.helpers import FakeConnector, RecordingConnector, dialingNode, nodeReply
from tests.reach.test_dialer import nameIn

PEER = 0x77
#: The tracker's own relay, and a public node's it named.
TRACKERS = "192.0.2.1:7701"
NAMED = "198.51.100.20:41597"
#: A victim's address, which a stranger names as its relay.
VICTIM = "203.0.113.66:22"


class VouchingTracker:
    """Answers whereis with the NodeReply the test sets, or fails with
    the exception it sets (TrackerGone: no answer); its own relay is
    TRACKERS."""

    #: It is reached at its TCP port: its relay is dialled at its own.
    trackerWay = None

    def __init__(self, reply=None):
        self.reply = reply
        self.asked = []

    def isTrackerRelay(self, relay):
        return relay == TRACKERS

    def whereRelay(self, node_id):
        self.asked.append(node_id)
        if isinstance(self.reply, Exception):
            return defer.fail(self.reply)
        return defer.succeed(self.reply)


class VouchTests(SynchronousTestCase):
    """A relay is dialled for a peer only as the tracker named it (or when
    it is the tracker's own, L{PathBook.vouches}); a relay a peer names
    otherwise is asked of the tracker first (through the book), and what
    the tracker names is dialled, never the peer's word.  The relayed
    connector under the dialer dials what it is told."""

    def setUp(self):
        self.dialled = FakeConnector()
        self.node = dialingNode(self.dialled)
        self.tracker = self.node.membership = VouchingTracker()

    def dial(self, relay):
        return self.node.dial(Peer(PEER, "10.0.0.5", 9001, relay), FILES, object)

    def relaysDialled(self):
        return [f"{r.host}:{r.port}" for r in self.dialled.requests]

    def test_trackerNamed(self):
        """A relay the tracker named for the peer is dialled at once."""
        nameIn(self.node, PEER, "203.0.113.7", None, NAMED)
        self.dial(NAMED)
        self.assertEqual((self.relaysDialled(), self.tracker.asked), ([NAMED], []))

    def test_trackersOwn(self):
        self.dial(TRACKERS)
        self.assertEqual((self.relaysDialled(), self.tracker.asked), ([TRACKERS], []))

    def test_peerNamesAVictim(self):
        """A stranger's thisisme (or record) names a victim's address as
        its relay: the node asks the tracker, and dials the relay the
        tracker names for it, never the victim; the answer is in the
        book, vouching for that relay for that peer alone."""
        self.tracker.reply = nodeReply(PEER, "203.0.113.7", 9001, relay=NAMED)
        self.dial(VICTIM)
        self.assertEqual((self.relaysDialled(), self.tracker.asked), ([NAMED], [PEER]))
        book = self.node.whereabouts.book
        self.assertTrue(book.vouches(NAMED, PEER))
        self.assertFalse(book.vouches(NAMED, PEER + 1))

    def test_trackerNamesItDirect(self):
        """The tracker names the peer without a relay: it is dialled where
        the tracker says."""
        self.tracker.reply = wire.NodeReply(PEER, "192.0.2.30", 9002)
        self.dial(VICTIM)
        self.assertEqual(self.relaysDialled(), ["192.0.2.30:9002"])

    def test_trackerNamesItDirectChecked(self):
        """Where the tracker names the peer without a relay is checked as a
        host a peer names: a loopback address is refused to a node on no
        loopback network, nothing dialled."""
        dialled = RecordingConnector()
        node = dialingNode(dialled)
        node.overlay = SimpleNamespace(peer_log=PeerLog(node.clock))
        node.membership = VouchingTracker(wire.NodeReply(PEER, "127.0.0.1", 9002))
        node.whereabouts.hosts.leftFrom("203.0.113.9")
        self.failureResultOf(node.dial(Peer(PEER, "10.0.0.5", 9001, VICTIM), FILES,
                                       object), HostRefused)
        node.membership.reply = wire.NodeReply(PEER + 1, "198.51.100.4", 9002)
        node.dial(Peer(PEER + 1, "10.0.0.5", 9001, VICTIM), FILES, object)
        self.assertEqual([dial[:2] for dial in dialled.dials], [("198.51.100.4", 9002)])

    def test_aRelayTheNodeDoesNotDialRefused(self):
        """Whatever the tracker names, a relay the node's dialer refuses
        (L{Dialer.whyNotRelay}) is not dialled, vouched for or asked
        about: the dial fails with why (L{RelayRefused})."""
        dialled = RecordingConnector()
        dialled.channel = dialled.peerLog = None
        node = dialingNode(dialled)
        node.overlay = SimpleNamespace(peer_log=PeerLog(node.clock))
        node.membership = VouchingTracker(
            nodeReply(PEER, "203.0.113.7", 9001, relay="127.0.0.1:6380"))
        node.membership.atTrackersHost = lambda relay: False
        node.whereabouts.hosts.leftFrom("203.0.113.9")
        failure = self.failureResultOf(node.dial(Peer(PEER, "", 9001, VICTIM), FILES,
                                                 object), RelayRefused)
        self.assertIn("the relay at 127.0.0.1:6380: 127.0.0.1 is a loopback address",
                      str(failure.value))
        nameIn(node, PEER, "203.0.113.7", None, "127.0.0.1:6379")
        self.failureResultOf(node.dial(Peer(PEER, "", 9001, "127.0.0.1:6379"), FILES,
                                       object), RelayRefused)
        self.assertEqual(dialled.dials, [])
        nameIn(node, PEER, "203.0.113.7", None, NAMED)
        node.dial(Peer(PEER, "", 9001, NAMED), FILES, object)
        self.assertEqual([dial[4]["relay"] for dial in dialled.dials], [NAMED])

    def test_trackerNamesNone(self):
        """The tracker names no address for the peer (or there is no
        tracker): nothing is dialled, said why."""
        self.tracker.reply = wire.NodeReply(PEER, "", 0)
        failure = self.failureResultOf(self.dial(VICTIM), NotNamed)
        self.assertIn("the tracker names no address for node", str(failure.value))
        self.assertIn("a relay is dialled only as the tracker names it",
                      str(failure.value))
        self.node.membership = None
        self.failureResultOf(self.dial(VICTIM), NotNamed)
        self.assertEqual(self.relaysDialled(), [])

    def test_trackerSilent(self):
        """The tracker did not answer (in time, or at all: its connection
        ended): nothing is dialled, and the refusal says what happened,
        not that the tracker names no address."""
        for gone, said in (
                (TrackerSilent("the tracker did not answer in 10 s"),
                 "the tracker did not say where node 119 is "
                 "(the tracker did not answer in 10 s)"),
                (TrackerGone("the tracker connection ended before it answered: "
                             "Connection was closed cleanly."),
                 "the tracker did not say where node 119 is (the tracker connection "
                 "ended before it answered: Connection was closed cleanly.)")):
            self.tracker.reply = gone
            failure = self.failureResultOf(self.dial(VICTIM), NotNamed)
            self.assertIn(said, str(failure.value))
            self.assertNotIn("names no address", str(failure.value))
            self.assertIn(f"{VICTIM} was named as its relay: a relay is dialled only as "
                          "the tracker names it", str(failure.value))
        self.assertEqual(self.relaysDialled(), [])

    def test_theTransportsDialWhatTheyAreTold(self):
        """The transports ask nobody: a relay a path names is dialled (the
        tracker's own web view dials the relays its tracker names so)."""
        overConnector(self.dialled, task.Clock()).dial(
            Path(RELAYED, "10.0.0.5", 9001, VICTIM), None, object,
            DialOptions(target=PEER))
        self.assertEqual((self.relaysDialled(), self.tracker.asked), ([VICTIM], []))


class VettingAloneTests(SynchronousTestCase):
    """The checks alone: what they read is the whereabouts and the
    connector they are given, nothing else (they keep nothing)."""

    def parts(self, addressed):
        where = SimpleNamespace(hosts=SimpleNamespace(
            whyNotRelay=lambda relay: f"{relay} refused",
            vet=lambda peer, purpose, resolve: defer.succeed(["checked"])))
        return SimpleNamespace(addressed=addressed, resolve=None), where

    def test_hostsAreLabels(self):
        """On a connector whose hosts are labels (a memory network's),
        every relay is dialled and a host is dialled as it is named."""
        connector, where = self.parts(False)
        self.assertIsNone(vetting.whyNotRelay(connector, where, VICTIM))
        self.assertEqual(self.successResultOf(vetting.vetted(
            connector, where, Peer(PEER, "node-7", 9001), FILES, None)), ["node-7"])

    def test_hostsAreAddresses(self):
        """On an addressed connector, a relay and a host are checked by the
        node's host checks; a host dialled through a relay, or vouched
        for, is not."""
        connector, where = self.parts(True)
        self.assertEqual(vetting.whyNotRelay(connector, where, VICTIM), f"{VICTIM} refused")
        self.assertEqual(self.successResultOf(vetting.vetted(
            connector, where, Peer(PEER, "10.0.0.5", 9001), FILES, None)), ["checked"])
        self.assertEqual(self.successResultOf(vetting.vetted(
            connector, where, Peer(PEER, "10.0.0.5", 9001), FILES, NAMED)), ["10.0.0.5"])
        self.assertEqual(self.successResultOf(vetting.vetted(
            connector, where, Peer(PEER, "10.0.0.5", 9001, vouched=True), FILES, None)),
            ["10.0.0.5"])
