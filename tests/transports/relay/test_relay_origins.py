"""
The relay charges each circuit to its origin (the key its dialler's
channel with the relay proved) as well as to its dialler's address
group: one origin holds fewer circuits than its group, asks for a
bounded number a second, and past its part of its group's share of the
rate stops reading alone (docs/protocol.md §5a; docs/reliability.md,
"Circuits charged to their origin").
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.transports.relay.limits import RelayLimits
from twisted_bazaar.transports.relay.messages import RelayConnect
from twisted_bazaar.wire.framing import frame
from twisted_bazaar.wire.ids import shortId

from tests.transports.relay.helpers import NODE_ID, Bed
from tests.transports.relay.test_relay import _end, _heard, assertReadsOn, openedCircuit


def _key():
    """A fresh key, raw, as a dialler's channel proves it."""
    return decode(Identity.generate().key)


def _connect(bed, host, key, target=NODE_ID):
    """A relayConnect to target from host, whose channel proved key."""
    end = _end(bed.relay, host, peerKey=key)
    end.dataReceived(frame(wire.encode(RelayConnect(target, "files"))))
    return end


class CircuitsPerOriginTests(SynchronousTestCase):
    def test_toOneNodeAnOriginHoldsFewerThanItsGroup(self):
        """One key holds 3 of its group's 4 circuits to a node: its 4th is
        refused with the reason, and another key of the same address (a
        second machine behind the same router) still gets one."""
        bed = Bed()
        mine = _key()
        for _ in range(3):
            self.assertEqual(_heard(_connect(bed, "127.77.0.1", mine)), [])
        [error] = _heard(_connect(bed, "127.77.0.1", mine))
        self.assertEqual((error.code, error.info), (
            "noslots", f"your key holds 3 circuits to node {shortId(NODE_ID)} already"))
        self.assertEqual(_heard(_connect(bed, "127.77.0.1", _key())), [])
        self.assertEqual(len(bed.told), 4)

    def test_inAllAnOriginHoldsThreeQuartersOfItsGroups(self):
        """Of the 16 circuits one group may hold (to any nodes), one key
        holds 12; another key of the group takes the rest."""
        bed = Bed(RelayLimits(node_group_circuits=16, node_origin_circuits=16))
        mine = _key()
        for _ in range(12):
            self.assertEqual(_heard(_connect(bed, "127.77.0.1", mine)), [])
            bed.clock.advance(0.2)  # within its 10 a second
        [error] = _heard(_connect(bed, "127.77.0.1", mine))
        self.assertEqual((error.code, error.info),
                         ("noslots", "your key holds 12 circuits already"))
        other = _key()
        for _ in range(4):
            self.assertEqual(_heard(_connect(bed, "127.77.0.2", other)), [])
        self.assertEqual(bed.relay.circuits.held(addressGroup("127.77.0.1")), 16)

    def test_anOriginAsksForTenASecond(self):
        """One key asks for at most 10 circuits a second (each closed at
        once, so no count bounds it): the 11th is refused, another key of
        its group is not, and a second later the key asks again."""
        bed = Bed()
        mine = _key()
        for _ in range(10):
            end = _connect(bed, "127.77.0.1", mine)
            self.assertEqual(_heard(end), [])
            end.connectionLost(None)
        [error] = _heard(_connect(bed, "127.77.0.1", mine))
        self.assertEqual((error.code, error.info), (
            "noslots", "your key asked for more than 10 circuits a second"))
        self.assertEqual(_heard(_connect(bed, "127.77.0.1", _key())), [])
        bed.clock.advance(1.0)
        self.assertEqual(_heard(_connect(bed, "127.77.0.1", mine)), [])


class RatePerOriginTests(SynchronousTestCase):
    def test_oneOriginsExcessStopsOnlyItsOwnCircuits(self):
        """Two origins of one address group: the one that spends the
        whole rate stops; the other, within its part of the group's share,
        keeps reading and carries its bytes while the debt is paid (on the
        code before, the whole group stopped)."""
        bed = Bed(RelayLimits(rate=1000))
        greedy, _ = openedCircuit(bed, "127.77.0.1")
        modest, modest_node = openedCircuit(bed, "127.77.0.2")
        greedy.dataReceived(b"x" * 1500)
        self.assertEqual(greedy.transport.producerState, "paused")
        assertReadsOn(self, bed, modest, modest_node)
        self.assertEqual(greedy.transport.producerState, "paused")
        bed.clock.advance(5.0)
        self.assertEqual(greedy.transport.producerState, "producing")

    def test_aNewCircuitOfAStoppedOriginStops(self):
        """A circuit its stopped origin opens while the debt is unpaid
        starts stopped: closing and opening again frees nothing."""
        bed = Bed(RelayLimits(rate=1000))
        greedy, _ = openedCircuit(bed, "127.77.0.1")
        openedCircuit(bed, "127.77.0.2")
        greedy.dataReceived(b"x" * 1500)
        greedy.connectionLost(None)
        again, _ = openedCircuit(bed, "127.77.0.1")
        self.assertEqual(again.transport.producerState, "paused")
