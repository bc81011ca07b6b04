"""
The tracker as the relay of last resort: a node that proved its key on
its tracker connection gets a reservation, is introduced and named with
the relay (its check passes by it); anyone else is refused with a reason.
"""

import random

from twisted.internet.address import IPv6Address
from twisted.internet.error import ConnectionRefusedError
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import WiredLink, feed, sent, wirePaths
from tests.tracker.checking import checkingTracker
from twisted_bazaar import wire
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.identity.proofs import CHECK, REGISTER, Handshake
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.tracker import Tracker, TrackerFactory
from twisted_bazaar.tracker.relays import MOST_NAMED, PLACES_LIMIT
from twisted_bazaar.tracker.reserving import ASK_RATE, REPORT_RATE
from twisted_bazaar.transports.relay.limits import RelayLimits
from twisted_bazaar.transports.relay.relay import Relay
from twisted_bazaar.transports.path import Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.wire.ids import parseWireId, wireId

RELAY_PORT = 7701


class ReservationTests(SynchronousTestCase):
    def setUp(self):
        checkingTracker(self, relayPort=RELAY_PORT)

    def keyed(self, seed=9, host="203.0.113.5", paths=None):
        """A node that registers (naming ``paths`` of itself, if given) and
        proves its key: (connection, id)."""
        identity = Identity.fromRandom(random.Random(seed))
        handshake = Handshake(identity, REGISTER)
        peer = WiredLink(self.factory, host)
        more = {} if paths is None else {"paths": paths}
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": "",
                  "key": identity.key, "nonce": handshake.nonce, **more})
        [you] = peer.heard()
        peer.say({"type": "proof", "sig": handshake.prove(you["key"], you["nonce"])})
        return peer, identity.id

    def keyless(self, host="198.51.100.1", port=0):
        peer = WiredLink(self.factory, host)
        peer.say({"type": "thisisme", "id": "", "port": port, "host": ""})
        [you] = peer.heard()
        return peer, parseWireId(you["id"])

    def ask(self, asker, node_id):
        asker.say({"type": "nodereq", "exclude": []})
        asker.say({"type": "whereis", "id": wireId(node_id)})
        return asker.heard()

    def test_aDualStackTrackersRelayAsIPv4(self):
        """A tracker on a dual-stack socket, reached over IPv4: its own
        address on the connection is ``::ffff:a.b.c.d``, and the relay it
        names is ``a.b.c.d:PORT`` (it named ``[::ffff:a.b.c.d]:PORT``)."""
        peer, node_id = self.keyed()
        peer.transport.hostAddr = IPv6Address("TCP", "::ffff:192.0.2.1", 7700)
        self.connector.failLast(ConnectionRefusedError())
        peer.heard()
        peer.say({"type": "relayReserve"})
        self.assertEqual(peer.heard(), [{"type": "relayReserved",
                                         "relay": f"192.0.2.1:{RELAY_PORT}"}])

    def test_reservedIntroducedThroughTheRelay(self):
        """A node whose check fails holds a reservation: it is told the
        relay's address (the tracker's own address on its connection, the
        relay's port), its checks end, and the tracker names it with the
        relay."""
        peer, node_id = self.keyed()
        asker, _ = self.keyless()
        self.connector.failLast(ConnectionRefusedError())
        peer.heard()
        with capturedLogs() as events:
            peer.say({"type": "relayReserve"})
        relay = f"{peer.transport.getHost().host}:{RELAY_PORT}"
        self.assertEqual(peer.heard(), [{"type": "relayReserved", "relay": relay}])
        self.assertTrue(self.tracker.relay.holds(node_id))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.ask(asker, node_id), [
            {"type": "nodereply", "id": wireId(node_id), "host": "203.0.113.5",
             "port": 4001, "paths": wirePaths(relay=relay, tracker=True)}] * 2)
        self.assertTrue(any("introducing it through " + relay in formatEvent(e)
                            for e in events))

    def test_namedAtTheTrackersHostWhenGiven(self):
        """A tracker behind a port forward (its --host, the router's
        address): its relay is named there, to the node held and to the
        nodes it is introduced to, not at the tracker's own (private)
        address on the connection, which the node refused (wtf: not the
        host it connected to) and no node outside could dial."""
        self.tracker = None
        checkingTracker(self, relayPort=RELAY_PORT, relay_host="198.51.100.77")
        peer, node_id = self.keyed()
        asker, _ = self.keyless()
        self.connector.failLast(ConnectionRefusedError())
        peer.heard()
        peer.say({"type": "relayReserve"})
        relay = f"198.51.100.77:{RELAY_PORT}"
        self.assertNotEqual(peer.transport.getHost().host, "198.51.100.77")
        self.assertEqual(peer.heard(), [{"type": "relayReserved", "relay": relay}])
        self.assertEqual(self.ask(asker, node_id)[0]["paths"],
                         wirePaths(relay=relay, tracker=True))

    def test_aNodeRefusingTheRelaysHostIsAWarningOnce(self):
        """A node that reached the tracker at another address than the
        one its relay is named at (a port forward, no --host) refuses it
        with error{wtf}: the tracker says so once, as a warning with the
        way out, beside the refusal's own line at info (there was only
        that line, and no node at home held a reservation)."""
        why = ("relayReserved names 192.168.1.2:7701: this tracker's own relay is at "
               "the host this node connected to")
        peers = [self.keyed(seed)[0] for seed in (9, 10)]
        with capturedLogs() as events:
            for peer in peers:
                peer.say({"type": "error", "code": "wtf", "info": why})
        warnings = [formatEvent(e) for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertIn(f"refused this tracker's relay ({why}): it reached the tracker "
                      "at another address, so it holds no reservation here; nodes "
                      "reaching this tracker through a port forward take its relay "
                      "only with --host and the address they reach (said once)",
                      warnings[0])
        self.assertEqual(sum("says wtf" in formatEvent(e) for e in events), 2)

    def test_namedWithTheTrackersOtherWays(self):
        """The tracker's relay served at another port of the tracker's too
        (its --ws-port): a node held there is named with that way, at the
        relay's host, the tracker's word, as a public node's relay's ways
        are: a client whose firewall lets only HTTP(S) out (``bazaar node``
        at such a home) opens its circuit there, not at the relay's own
        port."""
        self.tracker.relay.servedAt(lambda: Path(WEBSOCKET, port=80))
        self.tracker.relay.servedAt(lambda: None)
        peer, node_id = self.keyed()
        asker, _ = self.keyless()
        self.connector.failLast(ConnectionRefusedError())
        peer.heard()
        peer.say({"type": "relayReserve"})
        host = peer.transport.getHost().host
        relay = f"{host}:{RELAY_PORT}"
        self.assertEqual(peer.heard(), [{"type": "relayReserved", "relay": relay}])
        [reply, _] = self.ask(asker, node_id)
        self.assertEqual(reply["paths"], [{
            "kind": "relayed", "relay": relay, "word": "named",
            "paths": [{"kind": WEBSOCKET, "host": host, "port": 80, "word": "named"}]}])

    def test_asksPerAddressGroupAreRated(self):
        """
        A registered key at home sends relayReserve after relayReserve:
        on the code before each was acted on and answered (100 at once,
        100 relayReserved; with public nodes' relays, each a relayAt of a
        new group, then the whole pool searched).  Now an address group's
        nodes get ASK_RATE a second acted on, in bursts of twice that;
        the rest are answered noslots, saying why, and nothing is looked
        up.  Another group is not held back; a second later the first
        asks again.
        """
        peer, node_id = self.keyed()
        self.connector.failLast(ConnectionRefusedError())
        peer.heard()
        for _ in range(100):
            peer.say({"type": "relayReserve"})
        answers = peer.heard()
        self.assertEqual(len(answers), 100)
        granted = [a for a in answers if a["type"] == "relayReserved"]
        refused = [a for a in answers if a["type"] == "error"]
        self.assertEqual(len(granted), 2 * ASK_RATE)
        self.assertEqual({a["code"] for a in refused}, {"noslots"})
        self.assertIn("faster than 10 a second", refused[0]["info"])
        other, _ = self.keyed(seed=10, host="198.51.100.9")
        self.connector.failLast(ConnectionRefusedError())
        other.heard()
        other.say({"type": "relayReserve"})
        self.assertEqual([a["type"] for a in other.heard()], ["relayReserved"])
        self.clock.advance(1)
        peer.say({"type": "relayReserve"})
        self.assertEqual([a["type"] for a in peer.heard()], ["relayReserved"])

    def test_confirmationsAndOffersPerAddressGroupAreRated(self):
        """
        A registered node sends relayReserved naming a relay it was never
        named, and relayOffer it may not make, over and over: on the code
        before each was answered error{norelay} and logged (100 of each,
        200 answers).  Now an address group's nodes get REPORT_RATE a
        second of both together taken, in bursts of twice that; the rest
        are dropped unanswered, the drop logged once a connection and
        kind; but for the first offer of a connection, always heard (an
        honest node offers once a connection).  Another group is not held
        back; a second later the first is heard again.
        """
        peer, _ = self.keyed()
        self.connector.failLast(ConnectionRefusedError())
        peer.heard()
        with capturedLogs() as events:
            for _ in range(100):
                peer.say({"type": "relayReserved", "relay": "192.0.2.7:7701"})
                peer.say({"type": "relayOffer", "port": 7702, "slots": 4})
        answers = peer.heard()
        self.assertEqual(len(answers), 2 * REPORT_RATE + 1)
        self.assertEqual({a["code"] for a in answers}, {"norelay"})
        drops = [e for e in events if "faster than" in formatEvent(e)]
        self.assertEqual(len(drops), 2)
        other, _ = self.keyed(seed=10, host="198.51.100.9")
        self.connector.failLast(ConnectionRefusedError())
        other.heard()
        other.say({"type": "relayOffer", "port": 7702, "slots": 4})
        self.assertEqual([a["code"] for a in other.heard()], ["norelay"])
        self.clock.advance(1)
        peer.say({"type": "relayReserved", "relay": "192.0.2.7:7701"})
        self.assertEqual([a["code"] for a in peer.heard()], ["norelay"])

    def test_releasedWhenGone(self):
        """The reservation ends with the node's tracker connection."""
        peer, node_id = self.keyed()
        peer.say({"type": "relayReserve"})
        peer.link.transport.loseConnection()
        self.assertFalse(self.tracker.relay.holds(node_id))
        self.assertEqual(self.tracker.relay.reservations.used, 0)

    def test_keylessRefused(self):
        """A node that proved no key on its connection gets no
        reservation: an error says why, and nothing is held."""
        peer, node_id = self.keyless(port=4001)
        with capturedLogs() as events:
            peer.say({"type": "relayReserve"})
        [error] = peer.heard()
        self.assertEqual((error["type"], error["code"]), ("error", "norelay"))
        self.assertIn("needs a key proven on this connection", error["info"])
        self.assertFalse(self.tracker.relay.holds(node_id))
        self.assertTrue(any("refused" in formatEvent(e) and "relay reservation"
                            in formatEvent(e) for e in events))
        self.assertNotIn(node_id, self.tracker.registry.relays)

    def test_beforeRegistrationRefused(self):
        """relayReserve before thisisme is refused like anything else."""
        peer = WiredLink(self.factory, "203.0.113.5")
        peer.say({"type": "relayReserve"})
        [error] = peer.heard()
        self.assertEqual(error["code"], "wtf")
        self.assertTrue(peer.closed)

    def test_noRelay(self):
        """A tracker without a relay refuses every reservation."""
        self.tracker.relay = None
        peer, node_id = self.keyed()
        peer.say({"type": "relayReserve"})
        [error] = [m for m in peer.heard() if m["type"] == "error"]
        self.assertEqual((error["code"], error["info"]),
                         ("noslots", "this tracker relays for nobody"))

    def test_overTheGroupLimit(self):
        """Past its address group's reservations, a node is refused
        (noslots), and not introduced through a relay."""
        self.tracker.relay = Relay(self.clock, PeerLog(self.clock),
                                   RelayLimits(group_reservations=1))
        self.tracker.relay.port = RELAY_PORT
        first, _ = self.keyed(seed=1)
        first.say({"type": "relayReserve"})
        second, second_id = self.keyed(seed=2)
        second.heard()
        second.say({"type": "relayReserve"})
        [error] = [m for m in second.heard() if m["type"] == "error"]
        self.assertEqual(error["code"], "noslots")
        self.assertIn("your address group holds 1 reservations already", error["info"])
        self.assertNotIn(second_id, self.tracker.registry.verified)


class PeerRelayTests(SynchronousTestCase):
    """The tracker names public nodes' relays before its own: only nodes
    it dialled may offer one, and a node is named only with a relay the
    tracker named it."""

    setUp = ReservationTests.setUp
    keyed = ReservationTests.keyed
    keyless = ReservationTests.keyless

    def checkless(self):
        """The tracker without address checks: each node is taken where it
        registered (as if its check passed)."""
        self.tracker.connector = None

    def relaying(self, seed=20, host="192.0.2.20", slots=2, paths=None):
        """A public node offering its relay on port 7702 (naming ``paths``
        of itself, if given): its id."""
        peer, node_id = self.keyed(seed, host, paths)
        peer.heard()
        peer.say({"type": "relayOffer", "port": 7702, "slots": slots})
        self.assertEqual(peer.heard(), [])
        return peer, node_id

    def test_aCampusOfPublicRelaysIsHeard(self):
        """Public nodes of one address group (a campus's /16) start at
        once, each offering its relay once on its connection: every offer
        is taken, past the group's REPORT_RATE.  Before, past the burst
        (20) each was dropped, and its node, which offers once a
        connection, was never a relay; a repeat is still held to it."""
        self.checkless()
        offered = [self.relaying(seed=100 + n, host=f"192.0.2.{n + 1}")
                   for n in range(3 * int(REPORT_RATE))]
        pool = self.tracker.reservations.pool
        self.assertEqual(len(pool._offers), 3 * REPORT_RATE)
        peer, _ = offered[0]
        with capturedLogs() as events:
            for _ in range(3 * int(REPORT_RATE)):
                peer.say({"type": "relayOffer", "port": 7702, "slots": 2})
        self.assertEqual(len([e for e in events if "faster than" in formatEvent(e)]), 1)

    def test_namedAPublicRelay(self):
        """A node at home asking for a reservation is named the public
        node's relay, at the host the tracker knows it by; once it says it
        holds it, the tracker names it with that relay."""
        self.checkless()
        _, relaying = self.relaying()
        peer, node_id = self.keyed()
        asker, _ = self.keyless()
        peer.heard()
        peer.say({"type": "relayReserve"})
        relay = "192.0.2.20:7702"
        self.assertEqual(peer.heard(), [{"type": "relayAt", "id": wireId(relaying),
                                         "relay": relay}])
        self.assertFalse(self.tracker.relay.holds(node_id))
        peer.say({"type": "relayReserved", "relay": relay})
        self.assertEqual(peer.heard(), [])
        self.assertEqual(self.tracker.registry.relayOf(node_id), relay)
        asker.say({"type": "whereis", "id": wireId(node_id)})
        self.assertEqual(asker.heard()[0]["paths"], wirePaths(relay=relay, tracker=True))

    def test_aRelayOfTheAskersFamily(self):
        """A node at home on IPv6 alone was named a relay by address group
        alone, one at an IPv4 address as often as not, which it cannot
        dial (issue 96): it is named one of its own family while one has
        room, and an IPv4 node an IPv4 relay; a node whose family no relay
        is of is named another's, as before."""
        self.checkless()
        self.relaying(seed=20, host="192.0.2.20", slots=8)
        self.relaying(seed=21, host="2001:db8:20::20", slots=7)
        named = []
        for n in range(6):
            peer, _ = self.keyed(seed=30 + n, host=f"2001:{0xdb9 + n:x}::5")
            peer.heard()
            peer.say({"type": "relayReserve"})
            named.append(peer.heard()[0]["relay"])
            peer, _ = self.keyed(seed=40 + n, host=f"203.{n}.113.5")
            peer.heard()
            peer.say({"type": "relayReserve"})
            named.append(peer.heard()[0]["relay"])
        self.assertEqual(named, ["[2001:db8:20::20]:7702", "192.0.2.20:7702"] * 6)
        # The IPv6 relay full after one more: the next IPv6 node is named
        # the IPv4 one.
        for n in range(2):
            peer, _ = self.keyed(seed=50 + n, host=f"2001:{0xde0 + n:x}::5")
            peer.heard()
            peer.say({"type": "relayReserve"})
            self.assertEqual(peer.heard()[0]["relay"],
                             ["[2001:db8:20::20]:7702", "192.0.2.20:7702"][n])

    def test_theConfirmationOfANameIsHeardPastTheRate(self):
        """Its address group's relayReserved and relayOffer over their rate
        (a campus of nodes at home, or one looping), a node confirms the
        relay named to it: heard, and it is named with it.  Before, it was
        dropped, never sent again, and the node never named with its relay
        (issue 96 LOW); a confirmation of a relay not named is still held
        to the rate."""
        self.checkless()
        self.relaying(slots=4)
        noisy, _ = self.keyed(seed=1, host="203.0.113.6")
        noisy.heard()
        for _ in range(3 * int(REPORT_RATE)):
            noisy.say({"type": "relayReserved", "relay": "192.0.2.7:7701"})
        self.assertEqual(len(noisy.heard()), 2 * REPORT_RATE)
        peer, node_id = self.keyed()
        peer.heard()
        peer.say({"type": "relayReserve"})
        relay = "192.0.2.20:7702"
        self.assertEqual(peer.heard()[0]["relay"], relay)
        peer.say({"type": "relayReserved", "relay": relay})
        self.assertEqual(peer.heard(), [])
        self.assertEqual(self.tracker.registry.relayOf(node_id), relay)
        peer.say({"type": "relayReserved", "relay": relay})
        self.assertEqual(peer.heard(), [], "a repeat is held to the rate: dropped")

    def test_namedWithTheRelayingNodesOtherWays(self):
        """The relay named comes with the relaying node's paths of a
        transport plugin's kind (its WebSocket port, which serves its
        relay too), at the relay's host whatever host the node said: a
        node whose firewall lets only HTTP(S) out reserves there."""
        self.checkless()
        _, relaying = self.relaying(paths=[
            {"kind": "websocket", "host": "198.51.100.99", "port": 443},
            {"kind": "lan", "host": "10.0.0.2"}])
        peer, _ = self.keyed()
        peer.heard()
        peer.say({"type": "relayReserve"})
        self.assertEqual(peer.heard(), [{
            "type": "relayAt", "id": wireId(relaying), "relay": "192.0.2.20:7702",
            "paths": [{"kind": WEBSOCKET, "host": "192.0.2.20", "port": 443,
                       "word": "claimed"}]}])

    def test_aNodeHeldThereNamedWithTheRelaysOtherWays(self):
        """A node held at a public node's relay is named with the relay and
        its other ways (``paths`` of its relayed path): a dialler whose
        firewall lets only HTTP(S) out opens its circuits there; named
        again at the tracker's own relay, without them."""
        self.checkless()
        self.relaying(paths=[{"kind": "websocket", "port": 443}])
        peer, node_id = self.keyed()
        asker, _ = self.keyless()
        peer.heard()
        peer.say({"type": "relayReserve"})
        peer.heard()
        peer.say({"type": "relayReserved", "relay": "192.0.2.20:7702"})
        asker.say({"type": "whereis", "id": wireId(node_id)})
        [relayed] = [path for path in asker.heard()[0]["paths"]
                     if path["kind"] == "relayed"]
        self.assertEqual(relayed, {"kind": "relayed", "relay": "192.0.2.20:7702",
                                   "paths": [{"kind": WEBSOCKET, "host": "192.0.2.20",
                                              "port": 443, "word": "claimed"}],
                                   "word": "named"})
        self.tracker.registry.setRelay(node_id, "192.0.2.1:7701")
        asker.say({"type": "whereis", "id": wireId(node_id)})
        [relayed] = [path for path in asker.heard()[0]["paths"]
                     if path["kind"] == "relayed"]
        self.assertNotIn("paths", relayed)

    def test_lastResort(self):
        """With every public relay full (or tried by this node), the
        tracker's relay holds the reservation."""
        self.checkless()
        self.relaying(slots=1)
        first, _ = self.keyed(seed=1)
        first.heard()
        first.say({"type": "relayReserve"})
        self.assertEqual(first.heard()[0]["type"], "relayAt")
        second, second_id = self.keyed(seed=2)
        second.heard()
        second.say({"type": "relayReserve"})
        self.assertEqual(second.heard()[0]["type"], "relayReserved")
        self.assertTrue(self.tracker.relay.holds(second_id))
        # The first one's relay went: asked again, the tracker's relay.
        first.say({"type": "relayReserve"})
        self.assertEqual(first.heard()[0]["type"], "relayReserved")

    def test_mostNamed(self):
        """However many slots a node offers, the tracker names its relay to
        at most MOST_NAMED nodes: one relay that drops their circuits
        keeps only those out of reach."""
        self.checkless()
        self.relaying(slots=10**6)
        answers = []
        for seed in range(MOST_NAMED + 1):
            peer, _ = self.keyed(seed=100 + seed, host=f"10.{seed}.0.1")
            peer.heard()
            peer.say({"type": "relayReserve"})
            answers.append(peer.heard()[0]["type"])
        self.assertEqual(answers, ["relayAt"] * MOST_NAMED + ["relayReserved"])

    def test_relayNotNamedRefused(self):
        """A node that says it holds a reservation at a relay the tracker
        did not name it is refused, and named with none."""
        self.checkless()
        peer, node_id = self.keyed()
        peer.heard()
        with capturedLogs() as events:
            peer.say({"type": "relayReserved", "relay": "198.51.100.66:80"})
        [error] = peer.heard()
        self.assertEqual((error["code"], error["info"]), (
            "norelay", "this tracker named you no relay at 198.51.100.66:80"))
        self.assertIsNone(self.tracker.registry.relayOf(node_id))
        self.assertTrue(any("not the one named to it" in formatEvent(e) for e in events))
        # Named one, it cannot claim another.
        self.relaying()
        peer.say({"type": "relayReserve"})
        self.assertEqual(peer.heard()[0]["type"], "relayAt")
        peer.say({"type": "relayReserved", "relay": "198.51.100.66:80"})
        self.assertEqual(peer.heard()[0]["code"], "norelay")
        self.assertIsNone(self.tracker.registry.relayOf(node_id))

    def test_offerBeforeTheCheckRefused(self):
        """A node whose address check has not passed cannot offer a relay:
        the tracker would send nodes to an address nobody vouched for."""
        peer, node_id = self.keyed()
        peer.heard()
        peer.say({"type": "relayOffer", "port": 7702, "slots": 4})
        [error] = peer.heard()
        self.assertEqual((error["code"], error["info"]), (
            "norelay", "this tracker names as relays only nodes it dialled and "
            "that proved a key"))
        self.assertEqual(len(self.tracker.relays), 0)

    def test_relayedNodeOffersNothing(self):
        """A node reached through a relay itself cannot offer one."""
        self.checkless()
        peer, node_id = self.keyed()
        peer.heard()
        peer.say({"type": "relayReserve"})
        peer.heard()
        peer.say({"type": "relayOffer", "port": 7702, "slots": 4})
        self.assertEqual(peer.heard()[0]["code"], "norelay")
        self.assertEqual(len(self.tracker.relays), 0)

    def test_portlessOffersNothing(self):
        """A node of port 0 (taken without a check of the host it names)
        cannot offer a relay: the tracker would send nodes at home to dial
        a host nobody vouched for."""
        self.checkless()
        identity = Identity.fromRandom(random.Random(5))
        handshake = Handshake(identity, REGISTER)
        peer = WiredLink(self.factory, "203.0.113.5")
        peer.say({"type": "thisisme", "id": "", "port": 0, "host": "198.51.100.99",
                  "key": identity.key, "nonce": handshake.nonce})
        [you] = peer.heard()
        peer.say({"type": "proof", "sig": handshake.prove(you["key"], you["nonce"])})
        peer.heard()
        peer.say({"type": "relayOffer", "port": 7702, "slots": 4})
        self.assertEqual(peer.heard()[0]["code"], "norelay")
        self.assertEqual(len(self.tracker.relays), 0)

    def test_keylessOffersNothing(self):
        self.checkless()
        peer, _ = self.keyless(port=4001)
        peer.say({"type": "relayOffer", "port": 7702, "slots": 4})
        self.assertEqual(peer.heard()[0]["code"], "norelay")
        self.assertEqual(len(self.tracker.relays), 0)

    def test_relayLeaves(self):
        """A relaying node that leaves is named to nobody from then on."""
        self.checkless()
        relayer, _ = self.relaying()
        relayer.link.transport.loseConnection()
        peer, node_id = self.keyed()
        peer.heard()
        peer.say({"type": "relayReserve"})
        self.assertEqual(peer.heard()[0]["type"], "relayReserved")


class StrangerRelayTests(SynchronousTestCase):
    """
    Issue 55: the tracker's relay pool and reservations take nothing a
    stranger says as fact.  A stranger here has free keys at 127.77.0.1
    (address group 127.77); honest relays and nodes at home are each in a
    group of their own.
    """

    STRANGER = "127.77.0.1"

    def setUp(self):
        ReservationTests.setUp(self)
        self.seeds = iter(range(1000, 2000))

    keyed = ReservationTests.keyed

    def checkless(self):
        self.tracker.connector = None

    def relaying(self, host, slots=16, port=7702):
        """A public node at host offering its relay: (connection, id)."""
        peer, node_id = self.keyed(next(self.seeds), host)
        peer.heard()
        peer.say({"type": "relayOffer", "port": port, "slots": slots})
        self.assertEqual(peer.heard(), [])
        return peer, node_id

    def home(self, host):
        """A node at home asking for a reservation: (connection, id,
        what the tracker answered)."""
        peer, node_id = self.keyed(next(self.seeds), host)
        peer.heard()
        peer.say({"type": "relayReserve"})
        [answer] = peer.heard()
        return peer, node_id, answer

    def test_keysAddNothing(self):
        """Twelve relay keys offered from one address beside two honest
        relays: six new nodes at home are named two relays of each group
        (named by key, the stranger's took nearly every one)."""
        self.checkless()
        stranger = {wireId(self.relaying(self.STRANGER, port=7000 + n)[1])
                    for n in range(12)}
        honest = {wireId(self.relaying(host)[1]) for host in ("192.0.2.20",
                                                              "198.51.100.20")}
        named = [self.home(f"10.{n}.0.1")[2]["id"] for n in range(6)]
        self.assertEqual(sum(relaying in stranger for relaying in named), 2)
        self.assertEqual(sum(relaying in honest for relaying in named), 4)

    def test_reRegisteringResetsNothing(self):
        """A relay offering one slot registers again, under a new key,
        before the next node at home: its group still holds the first, so
        the next is held at the tracker's relay."""
        self.checkless()
        relayer, _ = self.relaying("192.0.2.20", slots=1)
        first, _, answer = self.home("10.1.0.1")
        self.assertEqual(answer["type"], "relayAt")
        first.say({"type": "relayReserved", "relay": answer["relay"]})
        relayer.link.transport.loseConnection()
        self.relaying("192.0.2.20", slots=1)
        _, _, answer = self.home("10.2.0.1")
        self.assertEqual(answer["type"], "relayReserved")
        # The first node at home asks again: its place is free.
        first.say({"type": "relayReserve"})
        self.assertEqual(first.heard()[0]["type"], "relayReserved")
        _, _, answer = self.home("10.3.0.1")
        self.assertEqual(answer["type"], "relayAt")

    def test_namesNeverConfirmed(self):
        """Thirty-one keys of one group ask for reservations and never
        reserve: they are named an honest relay 4 times (their group's
        share of names not yet confirmed), and a node of another group
        still is."""
        self.checkless()
        self.relaying("192.0.2.20", slots=16)
        answers = [self.home(f"127.77.0.{n}")[2] for n in range(1, 32)]
        self.assertEqual([answer["type"] for answer in answers[:4]], ["relayAt"] * 4)
        self.assertNotIn("relayAt", [answer["type"] for answer in answers[4:]])
        _, _, answer = self.home("10.1.0.1")
        self.assertEqual(answer["type"], "relayAt")

    def test_confirmedWithoutReserving(self):
        """Sixteen keys of one group ask for reservations, and each
        confirms at once the relay it is named (``relayReserved``), never
        connecting to it: the tracker took their word, and the honest
        relay's 16 places were all counted held, so every node at home of
        another group went to the tracker's relay (256 keys of one group
        filled 16 relays so).  Now one group holds at most the share the
        relay itself grants a group, 4 places there, confirmed or not:
        the rest of its keys are held at the tracker's relay (8, its share
        there) or refused, and 12 nodes at home of other groups are still
        named the honest relay."""
        self.checkless()
        self.relaying("192.0.2.20", slots=16)
        answers = []
        for n in range(1, 17):
            peer, _, answer = self.home(f"127.77.0.{n}")
            if answer["type"] == "relayAt":
                peer.say({"type": "relayReserved", "relay": answer["relay"]})
                self.assertEqual(peer.heard(), [])
            answers.append(answer["type"])
        share = PLACES_LIMIT.group
        self.assertEqual(answers[:share], ["relayAt"] * share)
        self.assertNotIn("relayAt", answers[share:])
        honest = [self.home(f"10.{n}.0.1")[2]["type"] for n in range(1, 14)]
        self.assertEqual(honest, ["relayAt"] * (16 - share) + ["relayReserved"])

    def test_nameExpires(self):
        """A name not confirmed within the tracker's timeout holds no
        place: the node at home that confirms it later is refused, and the
        place goes to the next."""
        self.tracker = Tracker(self.clock, random.Random(4), LinkSettings(ping_interval=0),
                               relay=self.tracker.relay, relay_name_timeout=5.0)
        self.factory = TrackerFactory(self.tracker)
        self.relaying("192.0.2.20", slots=1)
        late, _, answer = self.home("10.1.0.1")
        self.assertEqual(self.home("10.2.0.1")[2]["type"], "relayReserved")
        self.clock.advance(5.0)
        late.say({"type": "relayReserved", "relay": answer["relay"]})
        self.assertEqual(late.heard()[0]["code"], "norelay")
        self.assertEqual(self.home("10.3.0.1")[2]["type"], "relayAt")

    def passCheck(self, peer, node_id, identity_seed):
        """The tracker's check of the last registered node reaches it."""
        identity = Identity.fromRandom(random.Random(identity_seed))
        probe = self.connector.connectLast()
        [ask] = sent(probe)
        answer = Handshake(identity, CHECK)
        feed(probe, wire.ThisIsMe(node_id, 4001, key=identity.key,
                                  nonce=answer.nonce, sig=answer.prove(ask.key, ask.nonce)))
        self.assertIn(node_id, self.tracker.registry.checked)

    def namedRelay(self, seed, name, reached):
        """A node registered at host ``name``, which the tracker's check
        dials and reaches at ``reached``, offering its relay: its id."""
        identity = Identity.fromRandom(random.Random(seed))
        handshake = Handshake(identity, REGISTER)
        peer = WiredLink(self.factory, reached)
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": name,
                  "key": identity.key, "nonce": handshake.nonce})
        [you] = peer.heard()
        peer.say({"type": "proof", "sig": handshake.prove(you["key"], you["nonce"])})
        self.assertEqual(self.connector.requests[-1][:2], (name, 4001))
        probe = self.connector.connectLast(reached)
        [ask] = sent(probe)
        answer = Handshake(identity, CHECK)
        feed(probe, wire.ThisIsMe(identity.id, 4001, key=identity.key, nonce=answer.nonce,
                                  sig=answer.prove(ask.key, ask.nonce)))
        peer.heard()
        peer.say({"type": "relayOffer", "port": 7702, "slots": 16})
        self.assertEqual(peer.heard(), [])
        return identity.id

    def test_relayNamedAtTheAddressReached(self):
        """A relay registered at a name is named at the address the
        tracker's check reached it at, never the name (DNS could answer
        the nodes sent there otherwise, docs/protocol.md §5a), and
        grouped by that address: a thousand names of one machine are one
        relay group, as twelve keys are."""
        relaying = self.namedRelay(30, "relay.example", "192.0.2.20")
        _, _, answer = self.home("10.1.0.1")
        self.assertEqual((answer["type"], answer["id"], answer["relay"]),
                         ("relayAt", wireId(relaying), "192.0.2.20:7702"))
        stranger = {wireId(self.namedRelay(40 + n, f"r{n}.evil.example", self.STRANGER))
                    for n in range(12)}
        self.namedRelay(60, "honest.example", "198.51.100.20")
        named = [self.home(f"10.{n}.0.1")[2] for n in range(2, 8)]
        self.assertEqual(sum(answer["id"] in stranger for answer in named), 2)
        self.assertNotIn("evil", " ".join(answer["relay"] for answer in named))

    def test_victimsAddressNeverNamed(self):
        """
        A key registered at a victim's address (its check fails) says it
        holds the relay it was named, without connecting: it is named at
        the host its tracker connection comes from, never the victim's,
        and its relayOffer is refused (a reservation is no address
        check), even once it holds no relay.
        """
        peer, relaying = self.keyed(7, "192.0.2.20")
        self.passCheck(peer, relaying, 7)
        peer.say({"type": "relayOffer", "port": 7702, "slots": 4})
        identity = Identity.fromRandom(random.Random(8))
        handshake = Handshake(identity, REGISTER)
        stranger = WiredLink(self.factory, self.STRANGER)
        stranger.say({"type": "thisisme", "id": "", "port": 4001, "host": "198.51.100.77",
                      "key": identity.key, "nonce": handshake.nonce})
        [you] = stranger.heard()
        stranger.say({"type": "proof", "sig": handshake.prove(you["key"], you["nonce"])})
        self.assertEqual(self.connector.requests[-1][:2], ("198.51.100.77", 4001))
        self.connector.failLast(ConnectionRefusedError())
        stranger.heard()
        stranger.say({"type": "relayReserve"})
        [answer] = stranger.heard()
        stranger.say({"type": "relayReserved", "relay": answer["relay"]})
        asker, _ = ReservationTests.keyless(self)
        asker.say({"type": "nodereq", "exclude": [wireId(relaying)]})
        asker.say({"type": "whereis", "id": wireId(identity.id)})
        self.assertEqual([(m["id"], m["host"], m["port"]) for m in asker.heard()],
                         [(wireId(identity.id), self.STRANGER, 4001)] * 2)
        # It asks again, with nowhere to hold it: named with no relay, and
        # still no relay of its own taken.
        self.tracker.relay = None
        stranger.say({"type": "relayReserve"})
        self.assertIsNone(self.tracker.registry.relayOf(identity.id))
        stranger.heard()
        stranger.say({"type": "relayOffer", "port": 7702, "slots": 4})
        self.assertEqual(stranger.heard()[0]["code"], "norelay")
        self.assertEqual(len(self.tracker.relays), 1)
        self.assertEqual(self.tracker.registry.nodes[identity.id], (self.STRANGER, 4001))

    def test_portlessNamedWhereSeen(self):
        """A node of port 0 is never checked: the host it names is not
        recorded, the one its connection comes from is."""
        peer = WiredLink(self.factory, self.STRANGER)
        peer.say({"type": "thisisme", "id": "", "port": 0, "host": "198.51.100.77"})
        [you] = peer.heard()
        self.assertEqual(self.tracker.registry.nodes[parseWireId(you["id"])],
                         (self.STRANGER, 0))
