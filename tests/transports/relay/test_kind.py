"""
Tests of L{twisted_bazaar.transports.relay.kind}: the relayed kind's
form, and the relay a node's word names for itself (an offer's, a
record's, a leaf's, a chordNearIs's node's) as exactly one relayed path;
the version-1 field that named it is refused.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.core.records import checkRecord
from twisted_bazaar.schemes.chord.messages import ChordNearIs
from twisted_bazaar.schemes.flood.messages import Reply
from twisted_bazaar.transports.path import NAMED, RELAYED, Path
from twisted_bazaar.transports.relay.kind import relayOfPaths, relaysOfPaths
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.wire.codec import ProtocolError
from twisted_bazaar.wire.paths import checkPaths

from tests.records import PLAIN_WIRE

RELAY = "203.0.113.1:7701"
ONE = [{"kind": "relayed", "relay": RELAY, "word": "claimed"}]


class RelayOfPathsTests(SynchronousTestCase):
    def test_oneRelayedPath(self):
        self.assertEqual(relayOfPaths.toWire(RELAY), ONE)
        self.assertEqual(relayOfPaths(ONE, "p"), RELAY)

    def test_anythingElseRefused(self):
        """No path, a path without its word (what was signed would not be
        read back), another word, another kind beside it: refused."""
        for paths in ([], [{"kind": "relayed", "relay": RELAY}],
                      [dict(ONE[0], word="seen")],
                      ONE + [{"kind": "udp", "port": 9002, "word": "claimed"}]):
            with self.assertRaises(ProtocolError) as caught:
                relayOfPaths(paths, "reply.paths")
            self.assertEqual(caught.exception.info,
                             "reply.paths must be one relayed path, its word claimed: a "
                             "node's relay is all it names here")

    def test_theTrackersRelays(self):
        """A chordNearIs's: a node id each, the tracker's word."""
        relays = relaysOfPaths(2)
        self.assertEqual(relays.toWire({7: RELAY}),
                         {"7": [dict(ONE[0], word="named")]})
        self.assertEqual(relays({"7": [dict(ONE[0], word="named")]}, "p"), {7: RELAY})
        with self.assertRaises(ProtocolError):
            relays({"7": ONE}, "p")


class VersionOneTests(SynchronousTestCase):
    def test_anOfferRoundTrips(self):
        reply = Reply(1, "pear", (7, 1), 7, "", 9001, relay=RELAY)
        self.assertEqual(reply.asDict()["paths"], ONE)
        self.assertEqual(wire.decode(wire.encode(reply)), reply)

    def test_refused(self):
        """An offer, a chordNearIs or a record naming its relay as version
        1 did is refused, naming the version this end speaks."""
        offer = Reply(1, "pear", (7, 1), 7, "", 9001).asDict()
        near = ChordNearIs(4, ()).asDict()
        for obj, field in ((dict(offer, relay=RELAY), "reply.relay"),
                           (dict(near, relays={"7": RELAY}), "chordNearIs.relays")):
            with self.assertRaises(ProtocolError) as caught:
                wire.MESSAGE_TYPES[obj["type"]].fromDict(obj)
            self.assertIn(f"{field} is a field of protocol version 1: this end speaks "
                          "version 2", caught.exception.info)
        with self.assertRaises(ProtocolError) as caught:
            checkRecord(dict(PLAIN_WIRE, relay=RELAY), "reply.record")
        self.assertIn("reply.record.relay is a field of protocol version 1",
                      caught.exception.info)

    def test_aRecordsRelaySigned(self):
        """A record's relay is read into it, and written back as it came."""
        record = checkRecord(dict(PLAIN_WIRE, paths=ONE), "r")
        self.assertEqual(record.relay, RELAY)
        self.assertEqual(record.asDict(), dict(PLAIN_WIRE, paths=ONE))


class RelayedFormTests(SynchronousTestCase):
    """A relayed path the tracker names may carry the relay's other ways
    (``paths``: a port of a transport plugin's that serves the relay
    too), which travel as a list of paths and read back as they went."""

    WAYS = [{"kind": "websocket", "host": "203.0.113.1", "port": 443, "word": "claimed"}]

    def test_theRelaysWaysTravel(self):
        entry = {"kind": "relayed", "relay": RELAY, "paths": self.WAYS, "word": "named"}
        [path] = checkPaths([entry], "p")
        self.assertEqual(path, Path(RELAYED, relay=RELAY, word=NAMED, ways=(
            Path(WEBSOCKET, "203.0.113.1", 443),)))
        self.assertEqual(checkPaths.toWire((path,)), [entry])
        # None named: no key written.
        self.assertEqual(checkPaths.toWire((Path(RELAYED, relay=RELAY, word=NAMED),)),
                         [{"kind": "relayed", "relay": RELAY, "word": "named"}])

    def test_aRelayedWayRefused(self):
        """A relay is reached at its own ways, never through another relay."""
        for ways, why in (([{"kind": "relayed", "relay": RELAY}],
                           "p entry.paths must name the relay's own ways: no relayed path"),
                          ("443", "p entry.paths must be a list of at most 16 paths")):
            with self.assertRaises(ProtocolError) as caught:
                checkPaths([{"kind": "relayed", "relay": RELAY, "paths": ways}], "p")
            self.assertEqual(caught.exception.info, why)
