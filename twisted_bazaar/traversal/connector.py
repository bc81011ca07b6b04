"""
The one connector every dialler of a node goes through: it dials a peer
directly, or, for a peer that advertises a relay (it cannot be dialled:
docs/protocol.md §5a), opens a circuit to it through that relay, by the
peer's id, and runs the encrypted channel end to end inside it
(L{openCircuit}, which a status client uses too).

A relay's address is dialled only as the tracker named it for that peer
(its ``nodereply``), or when it is the tracker's own relay: a peer's word
(its ``thisisme``, a record, a ``leafRegister``) names a relay that may
be anyone's address, a victim's, which every node linked to it would
dial.  For any other relay the connector asks the tracker where the
peer is first, and dials what the tracker names, if the node's dialer
allows that address (L{RelayedConnector.vetRelay}): a tracker's word is
one tracker's, of several perhaps, and it may have been told a relay by
a stranger on its own network.
"""

from collections import OrderedDict

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from zope.interface import implementer

from twisted_bazaar.net.connector import IConnector, connectAny
from twisted_bazaar.net.encrypted import HANDSHAKE_TIMEOUT, EncryptedProtocol
from twisted_bazaar.traversal.circuit import CircuitEnd
from twisted_bazaar.traversal.messages import NODE, RelayConnect
from twisted_bazaar.wire.core import splitRelay
from twisted_bazaar.wire.ids import shortId

#: Peers whose relay, as the tracker named it, a node remembers.
NAMED_KEPT = 1024


class NotNamed(Exception):
    """The tracker names no address for the peer a relay was claimed for."""

    def __str__(self):
        return self.args[0]


class RelayRefused(Exception):
    """The relay a dial would go through is at an address this node does
    not dial (L{RelayedConnector.vetRelay})."""

    def __str__(self):
        return self.args[0]


def openCircuit(connectRelay, relay, target, purpose, protocol, clock, channel=None,
                expected=None, peerLog=None, peer=None, timeout=HANDSHAKE_TIMEOUT,
                pin=None):
    """
    Connect protocol to node ``target``'s port for ``purpose`` through the
    relay at ``relay`` (``HOST:PORT``): ``connectRelay(host, port, end)``
    connects the circuit's end to the relay (under a channel with it) and
    returns a Deferred.  Inside, the protocol runs under an encrypted
    channel of its own with the node (none without ``channel``: the
    in-memory network's), which must prove ``expected`` if given.

    @param peer: the inner transport's C{getPeer} (the node's advertised
        address); the relay's if None.
    @param pin: in place of ``expected``, the inner channel's key pin
        (see L{EncryptedProtocol}): told the key once proven.
    @return: a Deferred firing with protocol once the circuit is open, or
        failing with why not.
    """
    relay_host, relay_port = splitRelay(relay)

    def inner(transport):
        if channel is None:
            return protocol
        return EncryptedProtocol(protocol, channel, True, clock, timeout, peerLog=peerLog,
                                 expected=expected, pin=pin)

    end = CircuitEnd(RelayConnect(target, purpose), inner, clock,
                     peer or IPv4Address("TCP", relay_host, relay_port))
    d = connectRelay(relay_host, relay_port, end)
    d.addCallback(lambda _: end.opened)
    return d.addCallback(lambda _: protocol)


@implementer(IConnector)
class RelayedConnector:
    """
    Wraps a node's connector (its TCP one, or an in-memory network's):
    L{connect} without a relay is the wrapped connector's own, and so are
    L{listen}, L{channel} and L{peerLog}.

    @ivar connector: the wrapped connector.
    """

    __slots__ = ("connector", "clock", "tracker", "trackers", "_named", "vetDirect",
                 "vetRelay")

    def __init__(self, connector, clock, trackers=False):
        """
        @param trackers: True for the tracker's own connector (its web
            view), whose relays are the ones its tracker names: each is
            dialled as given.
        """
        self.connector = connector
        self.clock = clock
        self.trackers = trackers
        #: The node's tracker session, once it has one: what it says of
        #: relays (L{twisted_bazaar.core.membership.Membership.whereRelay},
        #: C{isTrackerRelay}).
        self.tracker = None
        #: peer id -> the relay the tracker named for it, the newest last;
        #: None until the tracker names one (an empty OrderedDict is 125
        #: bytes of each simulated node, nearly all of which never dial
        #: through a relay).
        self._named = None
        #: Where a node the tracker names without a relay is dialled:
        #: ``(target, host, port, purpose)`` -> a Deferred firing with the
        #: hosts to dial, in order (the node's dialer checks the host as
        #: one a peer names: L{twisted_bazaar.core.peerhosts}); None: at
        #: the host as named.
        self.vetDirect = None
        #: Why a relay (``HOST:PORT``) is not dialled: ``vetRelay(relay)``,
        #: a reason or None (the node's dialer checks it as a host a peer
        #: names); None: every relay is dialled (a memory network's labels).
        self.vetRelay = None

    def trackerNamed(self, peer_id, relay):
        """The tracker named peer_id with relay (None: with none)."""
        named = self._named
        if relay is None:
            if named is not None:
                named.pop(peer_id, None)
            return
        if named is None:
            named = self._named = OrderedDict()
        named[peer_id] = relay
        named.move_to_end(peer_id)
        while len(named) > NAMED_KEPT:
            named.popitem(last=False)

    def forgetNamed(self):
        """Forget the relays the tracker named: the node registered with
        another tracker, whose word alone it takes from now on."""
        self._named = None

    def whyNotRelay(self, relay):
        """Why relay is not dialled (L{vetRelay}), or None."""
        vet = self.vetRelay
        return None if vet is None else vet(relay)

    def vouched(self, relay, target):
        """Whether relay may be dialled for node target: the tracker named
        it for target, or it is the tracker's own."""
        tracker = self.tracker
        named = self._named
        return self.trackers or (named is not None and named.get(target) == relay) or (
            tracker is not None and tracker.isTrackerRelay(relay))

    @property
    def channel(self):
        """The wrapped connector's channel key (None: plain)."""
        return self.connector.channel

    @property
    def addressed(self):
        """Whether the wrapped connector's hosts are addresses (or names
        DNS resolves)."""
        return self.connector.addressed

    @property
    def peerLog(self):
        """The wrapped connector's log of failed channels, or None."""
        return self.connector.peerLog

    def listen(self, factory, port=0):
        return self.connector.listen(factory, port)

    def resolve(self, name, port):
        return self.connector.resolve(name, port)

    def connect(self, host, port, protocol, expected=None, relay=None, target=None,
                purpose=NODE):
        """
        Connect protocol to the peer at host:port, or with ``relay``
        (``HOST:PORT``), through that relay to node ``target``'s port for
        ``purpose``.  A Deferred firing with protocol once it is connected
        (through a relay: once the circuit is open), or failing with why.

        @param expected: the key (32 raw bytes) the peer must prove in the
            channel's handshake (the inner one, through a relay), or None.
        """
        if relay is None:
            if expected is None:
                return self.connector.connect(host, port, protocol)
            return self.connector.connect(host, port, protocol, expected=expected)
        if not self.vouched(relay, target):
            return self._asked(protocol, expected, relay, target, purpose)
        return self._through(host, port, protocol, expected, relay, target, purpose)

    def _through(self, host, port, protocol, expected, relay, target, purpose):
        """Connect through relay (see L{connect}), unless it is at an
        address the node does not dial (L{RelayRefused})."""
        why = self.whyNotRelay(relay)
        if why is not None:
            return defer.fail(RelayRefused(f"the relay at {relay}: {why}"))
        connector = self.connector
        peer = IPv4Address("TCP", host, port) if host and port else None
        return openCircuit(connector.connect, relay, target, purpose, protocol,
                           self.clock, connector.channel, expected, connector.peerLog, peer)

    def _asked(self, protocol, expected, relay, target, purpose):
        """Connect to target as the tracker says, its relay a peer named
        unvouched: through the relay the tracker names, or directly where
        it names the node without one; failing with L{NotNamed} when it
        names none, or did not answer (saying what became of the
        question), or there is no tracker to ask."""
        tracker = self.tracker
        if tracker is None:
            return defer.fail(NotNamed(
                f"no tracker to ask about the relay {relay} named for node "
                f"{shortId(target)}: a relay is dialled only as the tracker names it"))
        asking = tracker.whereRelay(target)

        def answered(reply):
            if not reply.port:
                raise NotNamed(f"the tracker names no address for node "
                               f"{shortId(target)}, for which {relay} was named as its "
                               "relay: a relay is dialled only as the tracker names it")
            if reply.relay is None:
                if self.vetDirect is None:
                    return self.connect(reply.host, reply.port, protocol, expected)
                return self.vetDirect(target, reply.host, reply.port, purpose).addCallback(
                    connectAny, lambda host: self.connect(host, reply.port, protocol,
                                                          expected))
            self.trackerNamed(target, reply.relay)
            return self._through(reply.host, reply.port, protocol, expected, reply.relay,
                                 target, purpose)

        def unanswered(reason):
            # The tracker's silence or loss (the question's failure says
            # which); a cancelled dial stays cancelled.
            if reason.check(defer.CancelledError):
                return reason
            raise NotNamed(f"the tracker did not say where node {shortId(target)} is "
                           f"({reason.getErrorMessage()}); {relay} was named as its "
                           "relay: a relay is dialled only as the tracker names it")

        return asking.addCallbacks(answered, unanswered)
