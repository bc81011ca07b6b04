"""
Tests for L{twisted_bazaar.reach.reachable.accepting}: a circuit a relay
announces is accepted at that relay, on a connection of its own asking
for that circuit, never at the host the message names; one the node
cannot take is declined, saying why, and opens nothing.  (Its bounds:
tests/reach/reachable/test_incoming.py.)
"""

from twisted.logger import capturedLogs, formatEvent

from tests.reach.reachable.test_reservation import RELAY, PeerReservationCase
from twisted_bazaar import wire
from twisted_bazaar.reach.reachable.accepting import CircuitAccepting
from twisted_bazaar.transports.relay.messages import (
    RelayAccept,
    RelayIncoming,
    RelayReserved,
)
from twisted_bazaar.wire.framing import frame


class CircuitAcceptingTests(PeerReservationCase):
    def test_incomingDialsTheRelayHeld(self):
        """A circuit announced on the reservation's connection is accepted
        at the relay held: never at the host the message names."""
        hold, _ = self.held()
        hold.dataReceived(frame(wire.encode(RelayReserved(RELAY))))
        hold.dataReceived(frame(wire.encode(RelayIncoming("tok", "node", "6.6.6.6",
                                                          22))))
        request = self.node.connector.requests[-1]
        self.assertEqual((request.host, request.port), ("192.0.2.50", 7702))

    def test_acceptedAtTheRelay(self):
        """Accepted: None, and one connection to the relay, which asks it
        for the circuit announced."""
        accepting = CircuitAccepting(self.node)
        asked = len(self.node.connector.requests)
        self.assertIsNone(accepting.accept(RelayIncoming("tok", "node", "6.6.6.6", 22),
                                           RELAY))
        [request] = self.node.connector.requests[asked:]
        self.assertEqual((request.host, request.port), ("192.0.2.50", 7702))
        self.assertEqual(request.link.first, RelayAccept("tok"))

    def test_aPurposeTheNodeTakesNotIsDeclined(self):
        """A circuit for the file transfers of a node that shares none is
        declined: why, said in the log, and nothing opened."""
        accepting = CircuitAccepting(self.node)
        asked = len(self.node.connector.requests)
        with capturedLogs() as events:
            why = accepting.accept(RelayIncoming("tok", "files", "6.6.6.6", 22), RELAY)
        self.assertEqual(why, "this node takes none")
        self.assertEqual(self.node.connector.requests[asked:], [])
        self.assertIn(f"declined a relayed circuit from 6.6.6.6 for files (the relay "
                      f"at {RELAY} says): this node takes none",
                      [formatEvent(event) for event in events])
