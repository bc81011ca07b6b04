"""
Tests for L{twisted_bazaar.traversal.connector}: a relay is dialled for a
peer only as the tracker named it (or when it is the tracker's own); a
relay a peer names otherwise is asked of the tracker first, and what the
tracker names is dialled, never the peer's word.
"""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import FakeConnector
from twisted_bazaar import wire
from twisted_bazaar.core.questions import TrackerGone, TrackerSilent
from twisted_bazaar.traversal.connector import (
    NAMED_KEPT, NotNamed, RelayedConnector, RelayRefused)

PEER = 0x77
#: The tracker's own relay, and a public node's it named.
TRACKERS = "192.0.2.1:7701"
NAMED = "198.51.100.20:41597"
#: A victim's address, which a stranger names as its relay.
VICTIM = "203.0.113.66:22"


class FakeTracker:
    """Answers whereis with the NodeReply the test sets, or fails with
    the exception it sets (TrackerGone: no answer); its own relay is
    TRACKERS."""

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
    def setUp(self):
        self.dialled = FakeConnector()
        self.connector = RelayedConnector(self.dialled, Clock())
        self.tracker = self.connector.tracker = FakeTracker()

    def dial(self, relay):
        return self.connector.connect("10.0.0.5", 9001, object(), relay=relay,
                                      target=PEER)

    def relaysDialled(self):
        return [f"{r.host}:{r.port}" for r in self.dialled.requests]

    def test_trackerNamed(self):
        """A relay the tracker named for the peer is dialled at once."""
        self.connector.trackerNamed(PEER, NAMED)
        self.dial(NAMED)
        self.assertEqual((self.relaysDialled(), self.tracker.asked), ([NAMED], []))

    def test_trackersOwn(self):
        self.dial(TRACKERS)
        self.assertEqual((self.relaysDialled(), self.tracker.asked), ([TRACKERS], []))

    def test_peerNamesAVictim(self):
        """A stranger's thisisme (or record) names a victim's address as
        its relay: the node asks the tracker, and dials the relay the
        tracker names for it, never the victim."""
        self.tracker.reply = wire.NodeReply(PEER, "203.0.113.7", 9001, relay=NAMED)
        self.dial(VICTIM)
        self.assertEqual((self.relaysDialled(), self.tracker.asked), ([NAMED], [PEER]))
        self.assertTrue(self.connector.vouched(NAMED, PEER))
        self.assertFalse(self.connector.vouched(NAMED, PEER + 1))

    def test_trackerNamesItDirect(self):
        """The tracker names the peer without a relay: it is dialled where
        the tracker says."""
        self.tracker.reply = wire.NodeReply(PEER, "192.0.2.30", 9002)
        self.dial(VICTIM)
        self.assertEqual(self.relaysDialled(), ["192.0.2.30:9002"])

    def test_trackerNamesItDirectChecked(self):
        """Where the tracker names the peer without a relay is checked as
        a host a peer names (the node's dialer sets L{vetDirect}): dialled
        at the addresses the check gives, in turn; nothing dialled when
        it refuses."""
        checked = []

        def vet(target, host, port, purpose):
            checked.append((target, host, port))
            if host == "peer.example":
                return defer.succeed(["192.0.2.31", "192.0.2.32"])
            return defer.fail(ValueError("refused"))

        self.connector.vetDirect = vet
        self.tracker.reply = wire.NodeReply(PEER, "peer.example", 9002)
        self.dial(VICTIM)
        self.assertEqual(self.relaysDialled(), ["192.0.2.31:9002"])
        self.tracker.reply = wire.NodeReply(PEER, "127.0.0.1", 9002)
        self.failureResultOf(self.dial(VICTIM), ValueError)
        self.assertEqual(checked, [(PEER, "peer.example", 9002), (PEER, "127.0.0.1", 9002)])
        self.assertEqual(self.relaysDialled(), ["192.0.2.31:9002"])

    def test_trackerNamesNone(self):
        """The tracker names no address for the peer (or there is no
        tracker): nothing is dialled, said why."""
        self.tracker.reply = wire.NodeReply(PEER, "", 0)
        failure = self.failureResultOf(self.dial(VICTIM), NotNamed)
        self.assertIn("the tracker names no address for node", str(failure.value))
        self.assertIn("a relay is dialled only as the tracker names it",
                      str(failure.value))
        self.connector.tracker = None
        self.failureResultOf(self.dial(VICTIM), NotNamed)
        self.assertEqual(self.relaysDialled(), [])

    def test_trackerSilent(self):
        """The tracker did not answer (in time, or at all: its connection
        ended): nothing is dialled, and the refusal says what happened,
        not that the tracker names no address (which it used to say)."""
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

    def test_aRelayTheNodeDoesNotDialRefused(self):
        """Whatever the tracker names, a relay the node's dialer refuses
        (L{RelayedConnector.vetRelay}) is not dialled, vouched for or
        asked about: the dial fails with why (L{RelayRefused})."""
        self.connector.vetRelay = lambda relay: (
            "a loopback address" if relay.startswith("127.") else None)
        self.connector.trackerNamed(PEER, "127.0.0.1:6379")
        failure = self.failureResultOf(self.dial("127.0.0.1:6379"), RelayRefused)
        self.assertEqual(str(failure.value), "the relay at 127.0.0.1:6379: a loopback "
                         "address")
        self.tracker.reply = wire.NodeReply(PEER, "203.0.113.7", 9001,
                                            relay="127.0.0.1:6380")
        self.failureResultOf(self.dial(VICTIM), RelayRefused)
        self.assertEqual(self.relaysDialled(), [])
        self.connector.trackerNamed(PEER, NAMED)
        self.dial(NAMED)
        self.assertEqual(self.relaysDialled(), [NAMED])

    def test_kept(self):
        """The newest NAMED_KEPT peers' relays are kept; None forgets."""
        for peer in range(NAMED_KEPT + 1):
            self.connector.trackerNamed(peer, NAMED)
        self.assertFalse(self.connector.vouched(NAMED, 0))
        self.assertTrue(self.connector.vouched(NAMED, NAMED_KEPT))
        self.connector.trackerNamed(NAMED_KEPT, None)
        self.assertFalse(self.connector.vouched(NAMED, NAMED_KEPT))

    def test_theTrackersOwnConnector(self):
        """The tracker's own connector (its web view) dials the relays its
        tracker names as given, with no one to ask."""
        connector = RelayedConnector(self.dialled, Clock(), trackers=True)
        connector.connect("10.0.0.5", 9001, object(), relay=NAMED, target=PEER)
        self.assertEqual(self.relaysDialled(), [NAMED])
