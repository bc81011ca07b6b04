"""
The tracker's UDP reach check and UDP punch
(L{twisted_bazaar.tracker.udpreach}; docs/protocol.md, "Hole punching
over UDP"): what it saw of a node's datagrams, told over its connection;
a punch's ``udppunchgo`` to both ends; and what it will not do.
"""

import random

from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import WiredLink, wirePaths
from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.tracker import Tracker, TrackerFactory
from twisted_bazaar.tracker.udpreach import (
    NEAR_FOR,
    SEEN_FOR,
    SECOND_WAIT,
    TOKEN_TIMEOUT,
    TrackerDatagrams,
)
from twisted_bazaar.wire.udpreach import probeDatagram, tokenOf

PORTS = (3479, 3480)


class DatagramTests(SynchronousTestCase):
    def test_token(self):
        """A probe datagram carries its token; other bytes carry none."""
        self.assertEqual(tokenOf(probeDatagram(77)), 77)
        for data in (b"", probeDatagram(77)[:-1], b"XXXX" + probeDatagram(77)[4:],
                     probeDatagram(77) + b"!"):
            self.assertIsNone(tokenOf(data))

    def test_declared(self):
        """The tracker's rates of checks and punches are in the registry."""
        self.assertEqual(LIMITS.get("tracker.udp-checks").unit, "messages/s")
        self.assertEqual(LIMITS.get("tracker.udp-punches").unit, "messages/s")


class UdpReachTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.tracker = Tracker(self.clock, random.Random(4), LinkSettings(ping_interval=0))
        self.tracker.udp.ports = PORTS
        self.factory = TrackerFactory(self.tracker)

    def join(self, host):
        link = WiredLink(self.factory, host)
        link.say({"type": "thisisme", "id": "", "port": 0, "host": ""})
        [you] = link.heard()
        return link, you["id"]

    def joinQuic(self, host, udp=9001):
        link = WiredLink(self.factory, host)
        link.say({"type": "thisisme", "id": "", "port": 9000, "host": "",
                  "paths": wirePaths(udp=udp)})
        [you] = link.heard()
        return link, you["id"]

    def check(self, link, host, ports=(40000, 40000)):
        """link's node asks a check and sends its two datagrams from host,
        seen at ports; what the tracker says."""
        link.say({"type": "udpcheck"})
        [probe] = link.heard()
        self.assertEqual((probe["type"], probe["port"], probe["second"]),
                         ("udpprobe", *PORTS))
        for index, port in enumerate(ports):
            if port:
                self.tracker.udp.datagramReceived(index, probeDatagram(probe["token"]),
                                                  (host, port))
        return probe

    def test_reach(self):
        """Both datagrams came: udpreach at once, with both ports."""
        link, _ = self.join("198.51.100.7")
        self.check(link, "198.51.100.7", (40001, 40007))
        self.assertEqual(link.heard(), [{"type": "udpreach", "seenHost": "198.51.100.7",
                                         "seenPort": 40001, "seenSecond": 40007}])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_oneCame(self):
        """One datagram came: udpreach SECOND_WAIT s later, the other
        port 0; none came: after TOKEN_TIMEOUT s, all empty."""
        link, _ = self.join("198.51.100.7")
        self.check(link, "198.51.100.7", (40001, 0))
        self.assertEqual(link.heard(), [])
        self.clock.advance(SECOND_WAIT)
        self.assertEqual(link.heard()[0]["seenSecond"], 0)
        self.check(link, "198.51.100.7", (0, 0))
        self.clock.advance(TOKEN_TIMEOUT)
        self.assertEqual(link.heard(), [{"type": "udpreach", "seenHost": "",
                                         "seenPort": 0, "seenSecond": 0}])

    def test_spoofed(self):
        """A datagram with the token from another host than the node's
        connection, or with no token given, is taken for nothing, and
        the tracker sends nothing anywhere but the node's connection."""
        link, _ = self.join("198.51.100.7")
        probe = self.check(link, "192.0.2.66")
        self.assertFalse(self.tracker.udp.datagramReceived(
            0, probeDatagram(probe["token"] + 1), ("198.51.100.7", 40000)))
        self.assertFalse(self.tracker.udp.datagramReceived(0, b"hello",
                                                           ("198.51.100.7", 40000)))
        self.clock.advance(TOKEN_TIMEOUT)
        self.assertEqual(link.heard()[0]["seenHost"], "")

    def test_punch(self):
        """udppunch sends both ends udppunchgo: the other's id, where its
        datagrams came from, one nonce."""
        a, a_id = self.join("198.51.100.7")
        b, b_id = self.join("203.0.113.9")
        self.check(a, "198.51.100.7", (40001, 40001))
        self.check(b, "203.0.113.9", (5000, 5002))
        a.heard(), b.heard()
        with capturedLogs() as events:
            a.say({"type": "udppunch", "id": b_id})
        [to_a], [to_b] = a.heard(), b.heard()
        self.assertEqual({key: to_a[key] for key in ("type", "id", "host", "port",
                                                      "second")},
                         {"type": "udppunchgo", "id": b_id, "host": "203.0.113.9",
                          "port": 5000, "second": 5002})
        self.assertEqual((to_b["id"], to_b["host"], to_b["port"], to_b["second"]),
                         (a_id, "198.51.100.7", 40001, 40001))
        self.assertEqual(to_a["nonce"], to_b["nonce"])
        # Said at debug (--verbose): which run each side was told of.
        [sent] = [event for event in events if event["log_level"] == LogLevel.debug]
        self.assertEqual(formatEvent(sent), f"udppunchgo {to_a['nonce']} sent to node "
                         f"{a_id} (asked) and node {b_id}")

    def test_near(self):
        """udppunchnear from an end of a punch of the last 10 s goes to the
        other end, once, naming the sender; one naming another node, with
        another nonce, said again, or later than 10 s, goes nowhere."""
        a, a_id = self.join("198.51.100.7")
        b, b_id = self.join("203.0.113.9")
        c, c_id = self.join("192.0.2.77")
        for end, host in ((a, "198.51.100.7"), (b, "203.0.113.9"), (c, "192.0.2.77")):
            self.check(end, host)
            end.heard()
        a.say({"type": "udppunch", "id": b_id})
        [go], _ = a.heard(), b.heard()
        nonce = go["nonce"]
        a.say({"type": "udppunchnear", "id": c_id, "nonce": nonce})
        a.say({"type": "udppunchnear", "id": b_id, "nonce": nonce + 1})
        c.say({"type": "udppunchnear", "id": b_id, "nonce": nonce})
        self.assertEqual((a.heard(), b.heard(), c.heard()), ([], [], []))
        self.clock.advance(NEAR_FOR - 1)
        a.say({"type": "udppunchnear", "id": b_id, "nonce": nonce})
        self.assertEqual(b.heard(), [{"type": "udppunchnear", "id": a_id, "nonce": nonce}])
        a.say({"type": "udppunchnear", "id": b_id, "nonce": nonce})
        self.assertEqual(b.heard(), [])
        self.clock.advance(2)
        b.say({"type": "udppunchnear", "id": a_id, "nonce": nonce})
        self.assertEqual(a.heard(), [])

    def test_punchRefused(self):
        """A punch with no fresh datagram of either end, with itself, with
        a node not registered, or from a tracker without UDP: noudp,
        saying why, and nothing to the other end."""
        a, a_id = self.join("198.51.100.7")
        b, b_id = self.join("203.0.113.9")

        def refusal(asked):
            self.clock.advance(1)  # within the rate of udppunch
            a.say({"type": "udppunch", "id": asked})
            [error] = a.heard()
            self.assertEqual((error["type"], error["code"]), ("error", "noudp"))
            self.assertEqual(b.heard(), [])
            return error["info"]

        self.assertIn("saw no datagram of yours", refusal(b_id))
        self.check(a, "198.51.100.7")
        a.heard()
        # b named no UDP port: it serves no QUIC, and no wait cures that
        # (issue 96: the tracker said it saw none of its datagrams yet).
        self.assertEqual(refusal(b_id), f"node {b_id} named no UDP port of its own (it "
                         "serves no QUIC): no UDP punch can work with it")
        quic, quic_id = self.joinQuic("203.0.113.10")
        self.assertEqual(refusal(quic_id), f"this tracker saw no datagram of node "
                         f"{quic_id} in the last {SEEN_FOR:g} s")
        self.assertEqual(refusal(a_id), "a UDP punch is with another node")
        self.assertEqual(refusal("12345"), "node 12345 is not registered here")
        self.check(b, "203.0.113.9")
        b.heard()
        self.clock.advance(SEEN_FOR + 1)
        self.assertIn("saw no datagram of yours", refusal(b_id))
        self.tracker.udp.ports = None
        self.assertIn("started with --no-udp", refusal(b_id))
        a.say({"type": "udpcheck"})
        self.assertIn("started with --no-udp", a.heard()[0]["info"])

    def test_rates(self):
        """Past its rate an address group's udpcheck is refused, saying
        so; the next second it is taken again."""
        link, _ = self.join("198.51.100.7")
        answers = []
        for _ in range(5):
            link.say({"type": "udpcheck"})
            answers.extend(link.heard())
        self.assertEqual([answer["type"] for answer in answers],
                         ["udpprobe", "udpprobe", "error", "error", "error"])
        self.assertEqual(answers[-1]["info"],
                         "your address group asked more than 1 udpcheck a second")
        self.clock.advance(1)
        link.say({"type": "udpcheck"})
        self.assertEqual(link.heard()[0]["type"], "udpprobe")

    def test_oneCheckANode(self):
        """A node's new udpcheck replaces the one under way: however often
        it asks, the tracker holds one token and one timer for it, and the
        old token is taken for nothing."""
        link, _ = self.join("198.51.100.7")
        first = self.check(link, "198.51.100.7", (0, 0))
        self.clock.advance(1)
        self.check(link, "198.51.100.7", (0, 0))
        self.assertEqual(len(self.tracker.udp._checks), 1)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.assertFalse(self.tracker.udp.datagramReceived(
            0, probeDatagram(first["token"]), ("198.51.100.7", 40000)))

    def test_badInput(self):
        """A udppunch with no id or a bad one is a clear protocol error."""
        link, _ = self.join("198.51.100.7")
        link.say({"type": "udppunch"})
        [error] = link.heard()
        self.assertEqual(error["type"], "error")
        self.assertIn("id", error["info"])
        link.say({"type": "udppunch", "id": 7})
        [error] = link.heard()
        self.assertIn("id", error["info"])

    def test_leaves(self):
        """A node that leaves mid-check leaves no timer and nothing seen."""
        link, node_id = self.join("198.51.100.7")
        link.say({"type": "udpcheck"})
        link.transport.loseConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.tracker.udp.seen, {})

    def test_port(self):
        """Each of the daemon's UDP ports hands its datagrams on by its
        number, and drops anything longer than a probe could be."""
        taken = []

        class Reach:
            def datagramReceived(self, index, data, address):
                taken.append((index, data, address))

        TrackerDatagrams(Reach(), 1).datagramReceived(b"x" * 12, ("h", 1))
        TrackerDatagrams(Reach(), 1).datagramReceived(b"x" * 65, ("h", 1))
        self.assertEqual(taken, [(1, b"x" * 12, ("h", 1))])


class NamedUdpTests(UdpReachTests):
    """A node's QUIC port (its thisisme's ``udp``) is named in a
    ``nodereply`` only once the UDP reach check saw the node's datagrams
    come from it, to both of the tracker's ports, from the host the
    tracker names it at (L{twisted_bazaar.tracker.registry.Registry.udpOf})."""

    def named(self, node_id):
        """The udp of the nodereply another node is given for node_id, to
        whereis and to nodereq alike (None: none)."""
        asker, _ = self.join("192.0.2.50")
        asker.say({"type": "whereis", "id": node_id})
        asker.say({"type": "nodereq"})
        where, picked = asker.heard()
        self.assertEqual(picked["id"], node_id)
        self.assertEqual(where.get("paths"), picked.get("paths"))
        asker.transport.loseConnection()
        udp = [path for path in where.get("paths", ()) if path["kind"] == "udp"]
        if not udp:
            return None
        # At the host the node is named at, as the check saw it.
        self.assertEqual(udp, wirePaths(udp=udp[0]["port"], host=where["host"],
                                        tracker=True))
        return udp[0]["port"]

    def test_seen(self):
        """Said, then seen from that port to both of the tracker's:
        named, at the host the tracker names the node at.  A node that
        said none has none named, whatever is seen."""
        link, node_id = self.joinQuic("198.51.100.7")
        self.assertIsNone(self.named(node_id))
        self.check(link, "198.51.100.7", (9001, 9001))
        self.assertEqual(self.named(node_id), 9001)
        link.transport.loseConnection()
        link = WiredLink(self.factory, "198.51.100.8")
        link.say({"type": "thisisme", "id": "", "port": 9000, "host": ""})
        [you] = link.heard()
        self.check(link, "198.51.100.8", (9001, 9001))
        self.assertIsNone(self.named(you["id"]))

    def test_notSeenThere(self):
        """Seen at another port, at two ports (a mapping per destination),
        or not at all: not named; a later check that sees another port
        unsays it."""
        link, node_id = self.joinQuic("198.51.100.7")
        for ports in ((40000, 40000), (9001, 9002), (0, 0)):
            self.check(link, "198.51.100.7", ports)
            self.clock.advance(TOKEN_TIMEOUT)
            link.heard()
            self.assertIsNone(self.named(node_id), ports)
        self.check(link, "198.51.100.7", (9001, 9001))
        link.heard()
        self.assertEqual(self.named(node_id), 9001)
        self.clock.advance(1)
        self.check(link, "198.51.100.7", (40000, 40000))
        self.assertIsNone(self.named(node_id))

    def test_relayedOrElsewhere(self):
        """A node reached through a relay, or named at another host than
        its datagrams came from (its --host), has no UDP port named."""
        link, text = self.joinQuic("198.51.100.7")
        self.check(link, "198.51.100.7", (9001, 9001))
        registry = self.tracker.registry
        [node_id] = registry.nodes
        registry.setRelay(node_id, "203.0.113.1:7701")
        self.assertIsNone(registry.udpOf(node_id))
        registry.setRelay(node_id, None)
        self.assertEqual(registry.udpOf(node_id), 9001)
        entry = registry._entries[node_id]
        entry.host, entry.port = "192.0.2.99", 9000
        self.assertIsNone(registry.udpOf(node_id))

    def test_badPort(self):
        """A thisisme whose UDP path has no port (0, text) is refused, as
        any bad field is."""
        for udp in (0, 65536, "9001"):
            link = WiredLink(self.factory, "198.51.100.7")
            link.say({"type": "thisisme", "id": "", "port": 9000, "host": "",
                      "paths": [{"kind": "udp", "port": udp}]})
            [error] = link.heard()
            self.assertEqual((error["type"], error["code"]), ("error", "wtf"))
            self.assertIn("thisisme.paths entry.port", error["info"])

    def test_versionOne(self):
        """A thisisme of protocol version 1, its QUIC port in ``udp``, is
        refused with a reason that names the version this tracker
        speaks, not calling it a node (it said "this node speaks")."""
        link = WiredLink(self.factory, "198.51.100.7")
        link.say({"type": "thisisme", "id": "", "port": 9000, "host": "", "udp": 9001})
        [error] = link.heard()
        self.assertEqual((error["type"], error["code"]), ("error", "wtf"))
        self.assertIn("thisisme.udp is a field of protocol version 1: this end speaks "
                      "version 2", error["info"])
