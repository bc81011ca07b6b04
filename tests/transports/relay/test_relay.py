"""
The relay on an in-memory network: a circuit to a node holding a
reservation carries the inner channel both ways and nothing the relay
can read; everything else is refused, with a reason, within limits.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.net.capabilities import IRelayedTransport, ISecureTransport
from twisted_bazaar.net.handshake import channelKey
from twisted_bazaar.testing.capabilities import secured
from twisted_bazaar.transports.relay import relay as relay_module
from twisted_bazaar.transports.relay.circuit import CircuitEnd, CircuitRefused
from twisted_bazaar.transports.relay.limits import DRAIN_TIMEOUT, NODE_LIMITS, RelayLimits
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.transports.relay.messages import (
    RelayAccept,
    RelayConnect,
    RelayIncoming,
    RelayReserve,
    RelayReserved,
)
from twisted_bazaar.wire.framing import digitsFor, frame, readFrame
from twisted_bazaar.transports.relay.relay import Refused
from twisted_bazaar.wire.ids import shortId

from tests.transports.relay.helpers import NODE_ID, RELAY, RELAY_HOST, RELAY_PORT, Bed, Collect


class CircuitTests(SynchronousTestCase):
    def opened(self, bed, dialler=None):
        protocol = dialler or Collect()
        results = bed.dial(protocol)
        bed.run()
        [incoming] = bed.told
        self.assertIsInstance(incoming, RelayIncoming)
        self.assertEqual((incoming.purpose, incoming.host), ("node", "10.1.0.5"))
        bed.accept(incoming)
        bed.run()
        self.assertEqual(results, [protocol])
        return protocol, bed.accepted[-1]

    def test_bothWays(self):
        """What each end writes reaches the other, through the inner
        channel; the node's acceptor sees the dialler's address as the
        relay saw it."""
        bed = Bed()
        dialler, node = self.opened(bed)
        dialler.transport.write(b"buy apple")
        node.transport.write(b"sold")
        bed.run()
        self.assertEqual(node.received, b"buy apple")
        self.assertEqual(dialler.received, b"sold")
        self.assertEqual(node.transport.getPeer().host, "10.1.0.5")
        self.assertGreater(bed.relay.relayed, 0)

    def test_capabilitiesThroughTheInnerChannel(self):
        """The dialler's inner channel provides ISecureTransport with the
        node's key, and answers for its circuit's IRelayedTransport: where
        the relay saw the node come from."""
        bed = Bed()
        dialler, node = self.opened(bed)
        channel = dialler.transport
        verifyObject(ISecureTransport, channel)
        verifyObject(IRelayedTransport, channel.transport)
        self.assertEqual(channelKey(channel), bed.node.identity.key)
        self.assertEqual(IRelayedTransport(channel).relayedFrom, "192.168.1.2")
        self.assertEqual(IRelayedTransport(node.transport).relayedFrom, "10.1.0.5")

    def test_relayReadsNothing(self):
        """Every byte the relay copies is the inner channel's: the
        plaintext the ends exchange is nowhere in it."""
        carried = []
        original = relay_module._Circuit.carry
        self.patch(relay_module._Circuit, "carry",
                   lambda circuit, end, data: (carried.append(bytes(data)),
                                               original(circuit, end, data)))
        bed = Bed()
        dialler, node = self.opened(bed)
        dialler.transport.write(b"the secret of the apple")
        bed.run()
        self.assertEqual(node.received, b"the secret of the apple")
        self.assertTrue(carried)
        self.assertNotIn(b"secret", b"".join(carried))

    def test_relayCannotPose(self):
        """An end that proves another key than the node's (the relay, or
        anyone it hands the circuit to) fails the dialler's handshake:
        the dialler's protocol loses its connection with the reason."""
        bed = Bed()
        dialler = Collect()
        bed.dial(dialler)
        bed.run()
        [incoming] = bed.told
        impostor = Collect()
        other = ChannelKey.generate(None)
        end = CircuitEnd(RelayAccept(incoming.circuit),
                         lambda t: EncryptedProtocol(impostor, other, False, bed.clock),
                         bed.clock, None)
        bed.network.connect(RELAY_HOST, RELAY_PORT, end, from_host="192.168.1.2")
        bed.run()
        self.assertIsNotNone(dialler.lost)
        self.assertIn("pinned", dialler.lost.getErrorMessage())
        dialler.transport.write(b"secret")
        bed.run()
        self.assertEqual(impostor.received, b"")

    def test_closeEndsBoth(self):
        """One end closing closes the other, and the circuit is forgotten."""
        bed = Bed()
        dialler, node = self.opened(bed)
        dialler.transport.loseConnection()
        bed.run()
        self.assertIsNotNone(node.lost)
        self.assertEqual(bed.relay.circuits.used, 0)
        self.assertEqual(bed.network.connections, [])

    def test_noReservation(self):
        """A circuit to an id that holds no reservation is refused: the
        relay dials nobody, and the dialler is told why."""
        bed = Bed(reserve=False)
        with capturedLogs() as events:
            results = bed.dial(Collect())
            bed.run()
        [failure] = results
        failure.trap(CircuitRefused)
        self.assertIn("norelay: this relay holds no reservation for node",
                      failure.getErrorMessage())
        self.assertEqual(bed.told, [])
        self.assertTrue(any("refused a relay connection from 10.1.0.5" in
                            formatEvent(e) for e in events))
        self.assertEqual(bed.network.connections, [])

    def test_acceptTimeout(self):
        """A node that does not accept within the accept timeout: the
        dialler is refused, and nothing stays held."""
        bed = Bed(RelayLimits(accept_timeout=3.0))
        results = bed.dial(Collect())
        bed.run(5.0)
        [failure] = results
        self.assertIn("did not accept the circuit within 3 s", failure.getErrorMessage())
        self.assertEqual(bed.relay.circuits.used, 0)

    def test_wrongToken(self):
        """A relayAccept with a token no circuit waits with is refused."""
        bed = Bed()
        end = bed.accept(RelayIncoming("nosuchtoken", "node", "10.1.0.5", 1))
        results = []
        end.opened.addBoth(results.append)
        bed.run()
        self.assertIn("no circuit waits with that token", results[0].getErrorMessage())

    def test_acceptFromAnotherKey(self):
        """A relayAccept whose channel proved another key than the one
        the node registered with is refused, token or not."""
        self.patch(relay_module, "channelKey", lambda transport: "mallory")
        bed = Bed()
        bed.dial(Collect())
        bed.run()
        [incoming] = bed.told
        end = bed.accept(incoming)
        results = []
        end.opened.addBoth(results.append)
        bed.run()
        self.assertIn("that circuit is for another node's key",
                      results[0].getErrorMessage())

    def test_diallerTooEager(self):
        """A dialler that sends more than 4096 bytes before its circuit
        opens is refused, and the circuit is gone."""
        bed = Bed()
        dialler = Collect()
        bed.network.connect(RELAY_HOST, RELAY_PORT, dialler, from_host="10.1.0.5")
        bed.run()
        dialler.transport.write(frame(wire.encode(RelayConnect(NODE_ID, "node")))
                                + b"x" * 5000)
        bed.run()
        self.assertIn(b"over 4096 bytes before the circuit opened", dialler.received)
        self.assertIsNotNone(dialler.lost)
        self.assertEqual(bed.relay.circuits.used, 0)

    def test_nodeCircuits(self):
        """Circuits to one node are bounded: one more is refused."""
        bed = Bed(RelayLimits(node_circuits=1))
        self.opened(bed)
        results = bed.dial(Collect())
        bed.run()
        self.assertIn("has 1 circuits through this relay already",
                      results[0].getErrorMessage())

    def test_groupCircuits(self):
        """Circuits from one dialler's address group are bounded."""
        bed = Bed(RelayLimits(group_circuits=1, circuits=1))
        bed.dial(Collect())
        results = bed.dial(Collect())
        bed.run()
        self.assertIn("circuits", results[0].getErrorMessage())
        self.assertIsInstance(results[0].value, CircuitRefused)

    def test_byteLimit(self):
        """A circuit that carries more than its bytes is closed, both
        ends."""
        bed = Bed(RelayLimits(circuit_bytes=4096))
        dialler, node = self.opened(bed)
        dialler.transport.write(b"x" * 8192)
        bed.run()
        self.assertIsNotNone(dialler.lost)
        self.assertIsNotNone(node.lost)
        self.assertEqual(node.received, b"")
        self.assertEqual(bed.relay.circuits.used, 0)

    def test_timeLimit(self):
        """A circuit is closed when its time runs out."""
        bed = Bed(RelayLimits(circuit_seconds=30.0))
        dialler, node = self.opened(bed)
        bed.run(20.0)
        self.assertIsNone(dialler.lost)
        with capturedLogs() as events:
            bed.run(15.0)
        self.assertIsNotNone(dialler.lost)
        self.assertIsNotNone(node.lost)
        self.assertTrue(any("its time ran out (30 s a circuit)" in formatEvent(e)
                            for e in events))

    def test_silentConnection(self):
        """A connection that asks for nothing is closed after the first
        message's timeout."""
        bed = Bed(RelayLimits(first_message_timeout=2.0))
        end = Collect()
        bed.network.connect(RELAY_HOST, RELAY_PORT, end, from_host="10.1.0.9")
        bed.run(3.0)
        self.assertIn(b"notim", end.received)
        self.assertIsNotNone(end.lost)
        self.assertEqual(bed.relay.pending.used, 0)


class ReservationTests(SynchronousTestCase):
    def test_needsProvenKey(self):
        """A reservation for a node that proved no key is refused."""
        bed = Bed(reserve=False)
        error = self.assertRaises(Refused, bed.relay.reserve, 5, "10.1", print, None,
                                  RELAY_HOST)
        self.assertEqual(error.code, "norelay")
        self.assertIn("needs a key proven on this connection", error.info)
        self.assertFalse(bed.relay.holds(5))

    def test_groupLimit(self):
        """Reservations per address group are bounded."""
        bed = Bed(RelayLimits(group_reservations=1), reserve=False)
        self.assertEqual(bed.relay.reserve(1, "10.1", print, "k", RELAY_HOST), RELAY)
        error = self.assertRaises(Refused, bed.relay.reserve, 2, "10.1", print, "k",
                                  RELAY_HOST)
        self.assertEqual(error.code, "noslots")
        self.assertIn("your address group holds 1 reservations already", error.info)
        self.assertEqual(bed.relay.reserve(3, "10.2", print, "k", RELAY_HOST), RELAY)

    def test_full(self):
        """Past what the room left allows a group, a reservation is
        refused, and none held gives way."""
        bed = Bed(RelayLimits(reservations=4), reserve=False)
        bed.relay.reserve(1, "10.1", print, "k", RELAY_HOST)
        bed.relay.reserve(2, "10.1", print, "k", RELAY_HOST)
        error = self.assertRaises(Refused, bed.relay.reserve, 3, "10.1", print, "k",
                                  RELAY_HOST)
        self.assertEqual(error.info, "2 of this relay's 4 reservations are taken: your "
                         "address group may hold no more now")
        bed.relay.reserve(3, "10.2", print, "k", RELAY_HOST)
        self.assertTrue(bed.relay.holds(1) and bed.relay.holds(2))

    def test_off(self):
        """A relay with no reservations relays for nobody."""
        bed = Bed(RelayLimits(reservations=0), reserve=False)
        error = self.assertRaises(Refused, bed.relay.reserve, 1, "10.1", print, "k",
                                  RELAY_HOST)
        self.assertEqual(error.info, "this tracker relays for nobody")

    def test_release(self):
        """A released reservation takes no more circuits."""
        bed = Bed()
        bed.relay.release(NODE_ID)
        results = bed.dial(Collect())
        bed.run()
        self.assertIn("holds no reservation", results[0].getErrorMessage())
        self.assertEqual(bed.relay.reservations.used, 0)


def openedCircuit(bed, dialler="10.1.0.5", target=NODE_ID):
    """A dialler's (from host ``dialler``) and the node's connections to
    bed's relay, joined in a circuit to ``target``: (dialler, node)."""
    ends = []
    for host in (dialler, "192.168.1.2"):
        end = relay_module.RelayEnd(bed.relay)
        end.makeConnection(StringTransport(peerAddress=IPv4Address("TCP", host, 1)))
        ends.append(end)
    dialler, node = ends
    dialler.dataReceived(frame(wire.encode(RelayConnect(target, "node"))))
    incoming = bed.told[-1]
    node.dataReceived(frame(wire.encode(RelayAccept(incoming.circuit))))
    return dialler, node


#: A stranger's own node id, reserved at the relay it dials itself through.
STRANGER = 99


class CircuitsToOneNodeTests(SynchronousTestCase):
    """Circuits to one node are an account of their own, charged to the
    diallers' address groups: one group holds a few of them, and a
    newcomer group always gets one."""

    def connect(self, bed, host):
        """A relayConnect to NODE_ID from host: its connection."""
        end = _end(bed.relay, host)
        end.dataReceived(frame(wire.encode(RelayConnect(NODE_ID, "files"))))
        return end

    def test_oneGroupHoldsItsShare(self):
        """Past its share of a node's circuits a group is refused, with
        the reason; another group still gets one."""
        bed = Bed()
        for i in range(4):
            self.connect(bed, f"127.77.0.{i + 1}")
        refused = self.connect(bed, "127.77.0.9")
        [error] = _heard(refused)
        self.assertEqual(error.info, "your address group holds 4 circuits to node "
                         f"{shortId(NODE_ID)} already")
        self.assertEqual(len(bed.told), 4)
        honest = self.connect(bed, "10.1.0.5")
        self.assertEqual(_heard(honest), [])
        self.assertEqual(len(bed.told), 5)

    def test_newcomerGroupTakesTheNewestOfTheGroupHoldingMost(self):
        """A node's circuits all held: a group holding fewer takes the
        place of the newest circuit of the group holding most, which is
        closed with the reason."""
        bed = Bed(RelayLimits(node_circuits=4))
        held = [self.connect(bed, "127.78.0.1")]
        held += [self.connect(bed, f"127.77.0.{i + 1}") for i in range(3)]
        newcomer = self.connect(bed, "10.1.0.5")
        self.assertEqual(_heard(newcomer), [])
        self.assertEqual(len(bed.told), 5)
        [error] = _heard(held[-1])
        self.assertIn("gave way to a circuit of another address group", error.info)
        self.assertTrue(all(_heard(end) == [] for end in held[:-1]))
        self.assertEqual(bed.relay.circuits.used, 4)
        self.assertEqual(bed.relay._reserved[NODE_ID].circuits.used, 4)
        # A group holding as many as the newcomer's would keeps its place.
        again = self.connect(bed, "127.78.0.9")
        self.assertIn(f"node {shortId(NODE_ID)} has 4 circuits through this relay "
                      "already", _heard(again)[0].info)

    def test_atAPublicNodesRelay(self):
        """A public node's relay holds circuits to one node the same way."""
        bed = Bed(NODE_LIMITS)
        for i in range(NODE_LIMITS.node_group_circuits):
            self.connect(bed, f"127.77.0.{i + 1}")
        self.assertEqual(_heard(self.connect(bed, "127.77.1.1"))[0].code, "noslots")
        self.assertEqual(_heard(self.connect(bed, "10.1.0.5")), [])

    def test_closedCircuitFreesItsPlace(self):
        """A circuit that closes leaves the node's account."""
        bed = Bed()
        ends = [self.connect(bed, f"127.77.0.{i + 1}") for i in range(4)]
        ends[0].connectionLost(None)
        self.assertEqual(_heard(self.connect(bed, "127.77.0.9")), [])


class FlowControlTests(SynchronousTestCase):
    def test_eachEndProducesForTheOther(self):
        """Once open, each end's reading (its L{ReadGate}) is the other's
        producer: a reader that stops reading stops the relay reading its
        writer, until it reads again."""
        bed = Bed()
        dialler, node = openedCircuit(bed)
        self.assertIs(dialler.transport.producer, node.gate)
        self.assertIs(node.transport.producer, dialler.gate)
        self.assertIs(node.gate.transport, node.transport)
        self.assertTrue(dialler.transport.streaming and node.transport.streaming)
        dialler.dataReceived(b"inner bytes")
        self.assertTrue(node.transport.value().endswith(b"inner bytes"))
        node.transport.producer.pauseProducing()
        self.assertEqual((dialler.transport.producerState, node.transport.producerState),
                         ("paused", "producing"))
        node.transport.producer.resumeProducing()
        self.assertEqual(dialler.transport.producerState, "producing")


def _end(relay, host, **key):
    """A connection to relay's port from host, as a L{relay_module.RelayEnd}
    on a StringTransport; ``peerKey`` (raw bytes, or None) if given is
    what its channel proved (none given: a connection without the
    channel, as the in-memory network's)."""
    end = relay_module.RelayEnd(relay)
    transport = StringTransport(hostAddress=IPv4Address("TCP", RELAY_HOST, RELAY_PORT),
                                peerAddress=IPv4Address("TCP", host, 40000))
    if "peerKey" in key:
        secured(transport, key["peerKey"])
    end.makeConnection(transport)
    return end


def _heard(end):
    """The messages the relay wrote on end's connection so far."""
    data, start, messages = end.transport.value(), 0, []
    while start < len(data):
        begin, stop = readFrame(data, start, 4096, digitsFor(4096))
        messages.append(wire.decode(data[begin:stop]))
        start = stop + 1
    return messages


class ReserveHereTests(SynchronousTestCase):
    """A public node's relay takes reservations on its own port, over a
    connection the node keeps: only from a key its channel proved, each
    charged to the node's address group."""

    def relay(self, **limits):
        bed = Bed(RelayLimits(**limits), reserve=False)
        bed.relay.here, bed.relay.name = True, "node"
        return bed

    def test_reservedOverItsConnection(self):
        """relayReserve{id} is answered relayReserved; a circuit to the id
        is announced on that connection; its close ends the reservation."""
        bed = self.relay()
        holder = Collect()
        bed.network.connect(RELAY_HOST, RELAY_PORT, holder, from_host="192.168.1.2")
        bed.run()
        holder.transport.write(frame(wire.encode(RelayReserve(NODE_ID))))
        bed.run()
        self.assertEqual(wire.decode(holder.received[3:-1]), RelayReserved(RELAY))
        self.assertTrue(bed.relay.holds(NODE_ID))
        results = bed.dial(Collect())
        bed.run()
        self.assertIn(b'"type":"relayIncoming"', holder.received)
        self.assertEqual(results, [])
        holder.transport.loseConnection()
        bed.run()
        self.assertFalse(bed.relay.holds(NODE_ID))
        self.assertEqual(bed.relay.reservations.used, 0)

    def test_trackerRelayTakesNoneHere(self):
        """The tracker's relay takes reservations only over tracker
        connections: relayReserve on its port is refused."""
        bed = Bed(reserve=False)
        end = _end(bed.relay, "192.168.1.2")
        end.dataReceived(frame(wire.encode(RelayReserve(NODE_ID))))
        [error] = _heard(end)
        self.assertEqual(error.code, "wtf")
        self.assertFalse(bed.relay.holds(NODE_ID))

    def test_needsProvenKey(self):
        """A connection whose channel proved no key holds no reservation."""
        bed = self.relay()
        end = _end(bed.relay, "192.168.1.2", peerKey=None)
        end.dataReceived(frame(wire.encode(RelayReserve(NODE_ID))))
        [error] = _heard(end)
        self.assertEqual((error.code, error.info), (
            "norelay", "a reservation needs a key proven on this connection; this "
            "node proved none"))
        self.assertEqual(bed.relay.reservations.used, 0)
        self.assertTrue(end.transport.disconnecting)

    def test_idMustBeTheKeys(self):
        """The id asked for must be the id of the key the channel proved:
        nobody reserves (and takes the circuits of) another node's id."""
        bed = self.relay()
        identity = Identity.generate()
        end = _end(bed.relay, "192.168.1.2", peerKey=decode(identity.key))
        end.dataReceived(frame(wire.encode(RelayReserve(NODE_ID))))
        [error] = _heard(end)
        self.assertEqual(error.code, "norelay")
        self.assertIn("must be the id of the key", error.info)
        self.assertFalse(bed.relay.holds(NODE_ID))
        end = _end(bed.relay, "192.168.1.2", peerKey=decode(identity.key))
        end.dataReceived(frame(wire.encode(RelayReserve(identity.id))))
        self.assertEqual(_heard(end), [RelayReserved(RELAY)])
        self.assertTrue(bed.relay.holds(identity.id))

    def test_groupShare(self):
        """One address group holds its share of reservations and no more;
        another group still gets one."""
        bed = self.relay(group_reservations=2)
        for node_id in (1, 2, 3):
            end = _end(bed.relay, f"10.1.0.{node_id}")
            end.dataReceived(frame(wire.encode(RelayReserve(node_id))))
        self.assertEqual(_heard(end)[0].info,
                         "your address group holds 2 reservations already")
        self.assertFalse(bed.relay.holds(3))
        end = _end(bed.relay, "10.2.0.1")
        end.dataReceived(frame(wire.encode(RelayReserve(4))))
        self.assertEqual(_heard(end), [RelayReserved(RELAY)])
        self.assertEqual(bed.relay.refused, 1)

    def test_aKeyMovedIsChargedToItsNewGroup(self):
        """A key that reserves again from another address group (its
        reservation moved to the newer connection) is charged to that
        group, as a new one is: its first group has its share back, and
        the new group holds it.  It used to stay charged to its first
        group, whose own nodes were then refused for reservations another
        group's connections held."""
        bed = self.relay(group_reservations=2)
        keys = [Identity.generate() for _ in range(4)]
        for identity in keys[:2]:
            end = _end(bed.relay, "10.1.0.1", peerKey=decode(identity.key))
            end.dataReceived(frame(wire.encode(RelayReserve(identity.id))))
        for identity in keys[:2]:
            end = _end(bed.relay, "10.2.0.1", peerKey=decode(identity.key))
            end.dataReceived(frame(wire.encode(RelayReserve(identity.id))))
            self.assertEqual(_heard(end), [RelayReserved(RELAY)])
        account = bed.relay.reservations
        first, second = addressGroup("10.1.0.1"), addressGroup("10.2.0.1")
        self.assertEqual((account.held(first), account.held(second), account.used),
                         (0, 2, 2))
        for identity in keys[2:]:
            end = _end(bed.relay, "10.1.0.1", peerKey=decode(identity.key))
            end.dataReceived(frame(wire.encode(RelayReserve(identity.id))))
            self.assertEqual(_heard(end), [RelayReserved(RELAY)])
        # Back to its first group, refused there now: it stays where it is.
        end = _end(bed.relay, "10.1.0.2", peerKey=decode(keys[0].key))
        end.dataReceived(frame(wire.encode(RelayReserve(keys[0].id))))
        self.assertEqual(_heard(end)[0].info,
                         "your address group holds 2 reservations already")
        self.assertEqual((account.held(first), account.held(second), account.used),
                         (2, 2, 4))

    def test_aKeyMovedAtTheTrackersRelay(self):
        """At the tracker's relay (nothing gives way), a reservation asked
        again from another group moves there while that group has room,
        its own place counted free."""
        bed = Bed(RelayLimits(reservations=2), reserve=False)
        bed.relay.reserve(1, "10.1", print, "k", RELAY_HOST)
        bed.relay.reserve(2, "10.2", print, "k", RELAY_HOST)
        bed.relay.reserve(1, "10.3", print, "k", RELAY_HOST)
        account = bed.relay.reservations
        self.assertEqual((account.held("10.1"), account.held("10.3"), account.used),
                         (0, 1, 2))

    def test_sixGroupsFillNoRelay(self):
        """Six strangers' address groups reserve at a public node's relay
        on its own port (nobody needs the tracker's word to reserve
        there), four keys each: its 16 places taken.  A node at home the
        tracker names to it, of a seventh group, used to be refused (and
        six groups so filled every public relay, whatever their number,
        sending every node at home to the tracker's relay).  Now the
        newest reservation of a group holding the most gives way, its
        connection told why and closed; that group asking again is
        refused: no other holds more than it then would."""
        bed = Bed(NODE_LIMITS, reserve=False)
        bed.relay.here, bed.relay.name = True, "node"
        strangers = {}
        for group in range(1, 7):
            for key in range(4):
                node_id = 100 * group + key
                end = strangers[node_id] = _end(bed.relay, f"10.{group}.0.{key}")
                end.dataReceived(frame(wire.encode(RelayReserve(node_id))))
        self.assertEqual(bed.relay.reservations.used, NODE_LIMITS.reservations)
        held = {node_id for node_id in strangers if bed.relay.holds(node_id)}
        home = _end(bed.relay, "192.168.1.2")
        home.dataReceived(frame(wire.encode(RelayReserve(NODE_ID))))
        self.assertEqual(_heard(home), [RelayReserved(RELAY)])
        self.assertTrue(bed.relay.holds(NODE_ID))
        [gone] = [node_id for node_id in held if not bed.relay.holds(node_id)]
        evicted = strangers[gone]
        self.assertEqual(_heard(evicted)[-1].code, "noslots")
        self.assertIn("gave way to a node of another address group",
                      _heard(evicted)[-1].info)
        self.assertTrue(evicted.transport.disconnecting)
        again = _end(bed.relay, f"10.{gone // 100}.0.9")
        again.dataReceived(frame(wire.encode(RelayReserve(gone))))
        self.assertEqual(_heard(again)[0].code, "noslots")
        self.assertTrue(bed.relay.holds(NODE_ID))

    def test_oneConnectionHoldsAKeysReservation(self):
        """One key reserves again and again, each time on a new
        connection: each used to be kept open, counted in no pool (its
        first frame took it out of the connections still to say what they
        want, and its reservation was counted once), so one stranger held
        as many of the relay node's descriptors as its connection rate
        let it open.  Now the connection it held on before is told why
        and closed: one connection holds a reservation, circuits are told
        on the newest."""
        bed = self.relay()
        identity = Identity.generate()
        ends = []
        for _ in range(500):
            end = _end(bed.relay, "10.9.0.1", peerKey=decode(identity.key))
            end.dataReceived(frame(wire.encode(RelayReserve(identity.id))))
            ends.append(end)
        *before, newest = ends
        self.assertEqual([end.transport.disconnecting for end in before],
                         [True] * len(before))
        self.assertEqual(_heard(before[0])[-1], wire.Error(
            "noslots", "your reservation moved to a newer connection of your node"))
        self.assertFalse(newest.transport.disconnecting)
        self.assertEqual(bed.relay.reservations.used, 1)
        self.assertEqual(bed.relay.refused, 0)
        for end in before:
            end.connectionLost(None)
        self.assertTrue(bed.relay.holds(identity.id))
        dialler = _end(bed.relay, "10.3.0.1")
        dialler.dataReceived(frame(wire.encode(RelayConnect(identity.id, "node"))))
        self.assertIsInstance(_heard(newest)[-1], RelayIncoming)
        newest.connectionLost(None)
        self.assertFalse(bed.relay.holds(identity.id))

    def test_nothingMore(self):
        """A reservation's connection carries nothing more from its node:
        more is refused, and the reservation goes with the connection."""
        bed = self.relay()
        end = _end(bed.relay, "192.168.1.2")
        end.dataReceived(frame(wire.encode(RelayReserve(NODE_ID))))
        end.dataReceived(b"more")
        self.assertEqual(_heard(end)[-1].code, "wtf")
        end.connectionLost(None)
        self.assertFalse(bed.relay.holds(NODE_ID))


    def test_nothingMoreInTheSameRead(self):
        """What comes after relayReserve in the same read is refused as
        well (the end is raw after its one frame, no second frame read)."""
        bed = self.relay()
        end = _end(bed.relay, "192.168.1.2")
        end.dataReceived(frame(wire.encode(RelayReserve(NODE_ID))) + b"1:x,")
        self.assertEqual(_heard(end)[0], RelayReserved(RELAY))
        self.assertEqual(_heard(end)[-1].code, "wtf")

    def test_nothingReadAfterARefusal(self):
        """A connection refused reads nothing more: frames after the one
        refused, in the same read or later, get no second answer."""
        bed = self.relay()
        end = _end(bed.relay, "192.168.1.2")
        end.dataReceived(frame(wire.encode(RelayConnect(999, "node")))
                         + frame(wire.encode(RelayReserve(NODE_ID))))
        end.dataReceived(frame(wire.encode(RelayReserve(NODE_ID))))
        self.assertEqual([m.code for m in _heard(end)], ["norelay"])
        self.assertIsNone(end.reserved)


class ThrottleTests(SynchronousTestCase):
    def test_circuitsStopReadingPastTheRate(self):
        """Past its bytes a second, the relay stops both ends of every
        open circuit reading until the debt is paid, then they read
        again."""
        bed = Bed(RelayLimits(rate=1000))
        dialler, node = openedCircuit(bed)
        dialler.dataReceived(b"x" * 600)
        self.assertEqual(node.transport.producerState, "producing")
        dialler.dataReceived(b"x" * 900)
        self.assertEqual((dialler.transport.producerState, node.transport.producerState),
                         ("paused", "paused"))
        bed.clock.advance(0.4)
        self.assertEqual(dialler.transport.producerState, "paused")
        bed.clock.advance(0.2)
        self.assertEqual((dialler.transport.producerState, node.transport.producerState),
                         ("producing", "producing"))

    def test_flowControlDoesNotLiftTheThrottle(self):
        """Flow control never lets a circuit the throttle stopped read
        (its other end's buffer filled and drained meanwhile): it reads
        again once the debt is paid, and not while flow control still
        stops it.  (Before, a drained buffer let it read at once, so on
        a fast link a throttled relay read at line speed.)"""
        bed = Bed(RelayLimits(rate=1000))
        dialler, node = openedCircuit(bed)
        dialler.dataReceived(b"x" * 1500)
        for producer in (dialler.transport.producer, node.transport.producer):
            producer.pauseProducing()
            producer.resumeProducing()
        self.assertEqual((dialler.transport.producerState, node.transport.producerState),
                         ("paused", "paused"))
        node.transport.producer.pauseProducing()
        bed.clock.advance(1.0)
        self.assertEqual((dialler.transport.producerState, node.transport.producerState),
                         ("paused", "producing"))
        node.transport.producer.resumeProducing()
        self.assertEqual(dialler.transport.producerState, "producing")


def assertReadsOn(case, bed, dialler, node):
    """A circuit (its dialler's and node's ends) within its share reads
    on, and carries what its dialler sends, while the relay's throttle is
    in debt."""
    for _ in range(3):
        dialler.dataReceived(b"hello" * 20)
        case.assertEqual((dialler.transport.producerState, node.transport.producerState),
                         ("producing", "producing"))
        bed.clock.advance(0.1)
    case.assertTrue(node.transport.value().endswith(b"hello" * 20))


class FairThrottleTests(SynchronousTestCase):
    """The throttle is shared max-min fairly among the diallers' groups:
    one group past its share stops only its own circuits."""

    def test_oneGroupsExcessStopsOnlyItsOwnCircuits(self):
        """A stranger's circuits that spend the whole rate stop; an honest
        dialler's circuit, of another group, keeps reading and carries its
        handshake while the stranger's debt is paid."""
        bed = Bed(RelayLimits(rate=1000))
        honest, honest_node = openedCircuit(bed, "10.1.0.5")
        # The stranger's own reservation, and 8 circuits to itself from
        # two groups (one holds 4 circuits to a node at most).
        bed.relay.reserve(STRANGER, "127.77", bed.told.append, "key", RELAY_HOST)
        strangers = [openedCircuit(bed, f"127.{77 + i % 2}.0.{i + 1}", STRANGER)
                     for i in range(8)]
        for dialler, _ in strangers:
            dialler.dataReceived(b"x" * 500)
        for dialler, node in strangers:
            self.assertEqual((dialler.transport.producerState,
                              node.transport.producerState), ("paused", "paused"))
        assertReadsOn(self, bed, honest, honest_node)
        bed.clock.advance(5.0)
        self.assertEqual(strangers[0][0].transport.producerState, "producing")

    def test_anHonestTransferGetsItsGroupsShare(self):
        """Every circuit reads 64 bytes each hundredth of a second while it
        may (as a transfer whose sender always has more), each in its
        turn first: the honest
        dialler's group gets about a third of the rate beside the
        stranger's two groups of 4 circuits each, not a ninth (every
        circuit stopped and resumed together, as before)."""
        bed = Bed(RelayLimits(rate=1000))
        honest, _ = openedCircuit(bed, "10.1.0.5")
        bed.relay.reserve(STRANGER, "127.77", bed.told.append, "key", RELAY_HOST)
        diallers = [honest] + [openedCircuit(bed, f"127.{77 + i % 2}.0.{i + 1}",
                                             STRANGER)[0] for i in range(8)]
        for tick in range(1000):
            # Each in its turn first: they read at once, as TCP would.
            for dialler in diallers[tick % 9:] + diallers[:tick % 9]:
                if dialler.transport.producerState == "producing":
                    dialler.dataReceived(b"x" * 64)
            bed.clock.advance(0.01)
        carried = [dialler.circuit.carried for dialler in diallers]
        self.assertGreater(carried[0], 2500)
        self.assertLess(sum(carried), 1000 * 10 * 1.2)

    def test_aNewCircuitOfAStoppedGroupStops(self):
        """A circuit that opens while its group (here of one origin) is
        stopped starts stopped; one of another group does not."""
        bed = Bed(RelayLimits(rate=1000))
        dialler, _ = openedCircuit(bed, "127.77.0.1")
        dialler.dataReceived(b"x" * 1500)
        later, _ = openedCircuit(bed, "127.77.0.1")
        self.assertEqual(later.transport.producerState, "paused")
        other, _ = openedCircuit(bed, "10.1.0.5")
        self.assertEqual(other.transport.producerState, "producing")


class StopTests(SynchronousTestCase):
    def test_stopClosesEverything(self):
        """A relay that stops closes its circuits, the reservations held
        on its port and the connections still to say what they want, and
        leaves nothing scheduled."""
        bed = Bed(RelayLimits(rate=10))
        bed.relay.here = True
        holder = _end(bed.relay, "192.168.7.2")
        holder.dataReceived(frame(wire.encode(RelayReserve(5))))
        silent = _end(bed.relay, "10.3.0.1")
        dialler, node = _end(bed.relay, "10.1.0.5"), _end(bed.relay, "192.168.1.2")
        dialler.dataReceived(frame(wire.encode(RelayConnect(NODE_ID, "node"))))
        [incoming] = bed.told
        node.dataReceived(frame(wire.encode(RelayAccept(incoming.circuit))))
        dialler.dataReceived(b"x" * 100)
        bed.relay.stop()
        for end in (holder, silent, dialler, node):
            self.assertTrue(end.transport.disconnecting)
        self.assertEqual(bed.relay.circuits.used, 0)
        self.assertEqual(bed.clock.getDelayedCalls(), [])


class _Undrained(StringTransport):
    """A connection whose peer never reads: a close of one that was
    written a few KiB (all the socket's buffers take, here) waits for
    ever for them to go out, as TCP's does while the peer's window stays
    shut; a close of one written less, and an abort, end it at once."""

    aborted = False
    #: Bytes the socket's buffers take, here.
    BUFFERS = 4096

    def loseConnection(self):
        super().loseConnection()
        if len(self.value()) < self.BUFFERS:
            self.protocol.gone = True
            self.protocol.connectionLost(None)

    def abortConnection(self):
        self.aborted = True
        self.disconnecting = True
        self.protocol.connectionLost(None)


class ClosedCircuitsTests(SynchronousTestCase):
    """
    Issue 93 item 3, the ninth round: the relay's circuits are in the
    tracker's descriptor budget, two descriptors each.  A stranger holds
    a reservation for a node of its own, dials it through the relay,
    has the relay write toward its node, which never reads, and hangs up
    its dialler: the relay closes the node's connection "once what it
    was sent is out", never, and the circuit has left its account.
    """

    LIMITS = RelayLimits(circuits=4, group_circuits=4, pending=8, group_pending=8)

    def end(self, bed, host):
        end = relay_module.RelayEnd(bed.relay)
        transport = _Undrained(peerAddress=IPv4Address("TCP", host, 40000))
        transport.protocol = end
        end.makeConnection(transport)
        self.ends.append(end)
        return end

    def held(self):
        """The relay's connections whose descriptors are still open."""
        return [end for end in self.ends if not end.transport.aborted
                and not getattr(end, "gone", False)]

    def setUp(self):
        self.ends = []
        self.bed = Bed(self.LIMITS, reserve=False)
        self.bed.relay.reserve(STRANGER, "127.99", self.bed.told.append, "key", RELAY_HOST)
        self.bound = 2 * self.LIMITS.circuits + self.LIMITS.pending

    def cycle(self, node_host="127.98.0.2"):
        """One circuit to the stranger's node, bytes written toward it,
        then its dialler hung up: whether the circuit opened."""
        bed = self.bed
        dialler, node = self.end(bed, "127.99.0.1"), self.end(bed, node_host)
        dialler.dataReceived(frame(wire.encode(RelayConnect(STRANGER, "node"))))
        node.dataReceived(frame(wire.encode(RelayAccept(bed.told[-1].circuit))))
        dialler.dataReceived(b"x" * 4096)
        opened = node.transport.value().endswith(b"x" * 4096)
        dialler.gone = True
        dialler.connectionLost(None)
        bed.clock.advance(1)
        return opened

    def test_undrainedEndsStayInTheBudget(self):
        """However many circuits close so, the relay's connections held at
        once stay within two a circuit and its pending connections (before:
        one more for each circuit, 48 after 48); past its group's share of
        the pending ones the stranger's node is refused, while a node of
        another group gets its circuit."""
        most = opened = 0
        for _ in range(3 * self.bound):
            opened += self.cycle()
            most = max(most, len(self.held()))
        self.assertGreaterEqual(opened, self.LIMITS.group_pending)
        self.assertLessEqual(most, self.bound)
        self.assertEqual(self.bed.relay.circuits.used, 0)
        self.assertTrue(self.cycle(node_host="10.1.0.5"))
        # Every connection still held is in an account: the stranger's
        # oldest, evicted for the other group's, was aborted.
        self.assertEqual(set(self.held()) - set(self.bed.relay.pending), set())

    def test_anUndrainedEndIsAbortedInTime(self):
        """One such end, alone: aborted DRAIN_TIMEOUT s after its close, not held
        for ever; none is left before."""
        self.assertTrue(self.cycle())
        [node] = self.held()
        self.bed.clock.advance(DRAIN_TIMEOUT - 2)
        self.assertEqual(self.held(), [node])
        self.bed.clock.advance(1)
        self.assertEqual(self.held(), [])
        self.assertEqual(self.bed.clock.getDelayedCalls(), [])
