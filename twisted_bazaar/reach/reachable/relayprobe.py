"""
A node's probe of the public node's relay that holds its reservation
(docs/protocol.md §5a, "Probing the relay"): the node dials itself
through that relay, as any dialler would (``relayConnect`` to its own
id), accepts the circuit the relay announces, and runs the inner
channel's handshake with itself.  The probe passes once that channel
proves the node's own key: the relay carried a circuit both ways.  A
relay that keeps the reservation and drops circuits fails it, and the
node leaves it (L{twisted_bazaar.reach.reachable.reservation}); the tracker
never names it the same relay group again while it stays registered.

What it cannot see: a relay that carries the circuits that come from the
node's own address (the probe's) and drops the rest.
"""

from twisted.internet.protocol import Protocol

from twisted_bazaar.identity.keys import decode
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import NAMED, RELAYED, Path
from twisted_bazaar.transports.relay.messages import NODE

#: Seconds between two probes of the relay that holds the reservation,
#: the first once it holds it.
PROBE_INTERVAL = 300.0
#: Seconds to the next probe after one whose failure was excused (the
#: node declined circuits the relay announced meanwhile): soon, and that
#: one is excused no more.
PROBE_AGAIN = 30.0


class _OwnKey:
    """The key the probe's inner channel must prove: the node's own (the
    channel's pin interface, L{twisted_bazaar.net.pin.KeyPin}'s)."""

    def __init__(self, key, proved):
        self.key = key
        self._proved = proved

    def refused(self, proven):
        return "the circuit reached another key than this node's own"

    def proved(self, proven):
        self._proved()


class RelayProbe(Protocol):
    """
    One probe: ``done(None)`` once the circuit to the node itself opened
    and its inner channel proved the node's key, ``done(why)`` if not;
    once, either way.  L{cancel} ends it with no word.
    """

    def __init__(self, node, relay, done):
        self.node = node
        self.relay = relay
        self._done = done
        # A circuit to itself, through the node's dialer (by its relay
        # transport, as any dialler's), to its own key.
        #: Without a channel (an in-memory network's nodes), the circuit
        #: opening is the proof.
        self._plain = node.dialer.connector.channel is None
        self._d = node.dialer.dialPath(
            Path(RELAYED, relay=relay, word=NAMED), None, lambda: self,
            DialOptions(target=node.id, purpose=NODE,
                        pin=_OwnKey(decode(node.identity.key), self._passed)))
        self._d.addErrback(lambda reason: self._end(reason.getErrorMessage()))

    def connectionMade(self):
        if self._plain:
            self._passed()

    def _passed(self):
        if self._end(None):
            self.transport.loseConnection()

    def connectionLost(self, reason):
        self._end(f"the circuit closed before it proved this node's key: "
                  f"{reason.getErrorMessage()}")

    def _end(self, why):
        """Report, once: whether this was the first word."""
        done, self._done = self._done, None
        if done is None:
            return False
        done(why)
        return True

    def cancel(self):
        """Stop the probe, reporting nothing."""
        self._done = None
        if not self._d.called:
            self._d.cancel()
        elif self.transport is not None:
            self.transport.abortConnection()
