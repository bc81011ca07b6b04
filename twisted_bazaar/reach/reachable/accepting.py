"""
Accepting the circuits a relay announces to a node at home
(docs/protocol.md §5a, "A node's side"): each ``relayIncoming`` from a
relay that holds the node's reservation (its tracker's, or a public
node's) is accepted at that relay, on a connection of its own, running
the node's end of the inner channel as the acceptor, under the protocol
its own port (links) or transfer port (files) would run; within the
accepts in flight and their rates (L{IncomingAccepts}).

Apart from the reservation (L{twisted_bazaar.reach.reachable.reservation}),
which only learns whether a circuit was declined: what a circuit costs
and how it opens change with the relay's protocol and the node's
bounds, never with how a reservation is kept.
"""

from twisted.internet.address import IPv4Address
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.net.capabilities import ISecureTransport
from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.reach.reachable.incoming import IncomingAccepts
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.relay.messages import RelayAccept
from twisted_bazaar.wire.core import splitRelay


def provenKey(transport):
    """The key (raw bytes) the channel under transport proved, or None:
    no channel (a memory network's), or a keyless peer."""
    secure = ISecureTransport(transport, None)
    return None if secure is None else secure.peerKey


class CircuitAccepting:
    """
    A node's accepts of the circuits its relays announce.

    @ivar accepts: the L{IncomingAccepts} that bounds them.
    """

    log = Logger()

    def __init__(self, home, accepts=None, opened=None, failed=None):
        """
        @param home: what it uses of the node (L{RelayHome
            <twisted_bazaar.reach.reachable.home.RelayHome>}: its clock,
            peer log, dialer and the factories of what it takes).
        @param accepts: the L{IncomingAccepts} that bounds the circuits
            it accepts at once; None: one with the declared limits.
        @param opened: told C{opened(relay)} each time a circuit accepted
            at ``relay`` opens, or None.
        @param failed: told C{failed(relay)} each time this node could not
            reach ``relay`` to accept a circuit there (its own dial failed:
            not a circuit the relay or the dialler ended), or None.
        """
        self._home = home
        self.accepts = IncomingAccepts(home.clock) if accepts is None else accepts
        self.opened = opened
        self.failed = failed
        #: The dials to a relay under way (L{stop} gives them up).
        self._dials = set()

    def accept(self, message, relay, way=None, key=None):
        """The relay at ``relay`` (the one that holds the reservation it
        came by) announces a circuit: accept it there, on a new
        connection, within the accepts in flight (L{accepts}), through the
        node's dialer (L{Dialer.toRelay
        <twisted_bazaar.reach.dialer.Dialer.toRelay>}): by ``way`` (a
        L{Path} to the relay's service, as the transport the reservation
        was kept over serves it), else by the way the dialer picks (the
        port of a transport plugin's the tracker was reached at, for the
        tracker's relay; else ``relay``'s own port).  The relay must prove
        ``key`` (raw bytes: the key the connection holding the reservation
        proved, L{provenKey}; None: any), so that an impostor at its
        address is refused in the channel's handshake, before this node
        proves its own key or asks for the circuit.  The
        circuit's connection is charged to the relay's own address (its
        ``host`` is only what the relay says: a label, never a group to
        charge).  Why it was declined (said in the log), or None."""
        home = self._home
        factory = home.takes(message.purpose)
        host, port = splitRelay(relay)
        why = "this node takes none" if factory is None else None
        end = None
        if why is None:
            end = object()
            why = self.accepts.take(relay, end, message.host)
        if why is not None:
            home.peerLog.emit(
                self.log, LogLevel.info, addressGroup(host),
                "declined a relayed circuit from {claimed} for {purpose} (the relay at "
                "{relay} says): {why}", claimed=message.host, purpose=message.purpose,
                relay=relay, why=why)
            return why
        peer = IPv4Address("TCP", host, port)
        connector = home.dialer.connector
        channel = connector.channel

        def inner(transport):
            protocol = factory.buildProtocol(peer)
            if protocol is None or channel is None:
                return protocol
            return EncryptedProtocol(protocol, channel, False, home.clock,
                                     peerLog=connector.peerLog)

        accept = end
        end = CircuitEnd(RelayAccept(message.circuit), inner, home.clock, peer,
                         seen=message.host)
        dial = home.dialer.toRelay(relay, lambda: end, way, key)
        self._dials.add(dial)
        d = dial.addBoth(self._settled, dial)
        d.addErrback(self._unreached, relay)
        d.addCallback(lambda _: end.opened)
        d.addCallbacks(self._opened, self._failed, callbackArgs=(relay,),
                       errbackArgs=(message.host, relay))
        d.addBoth(lambda _: self.accepts.release(accept))
        return None

    def stop(self):
        """The reservation goes (the tracker connection, or the node,
        stops): every dial to a relay under way is given up, and says
        nothing (at a daemon's end, the reactor would fail each with a
        connection error whose text is a traceback's)."""
        dials, self._dials = self._dials, set()
        for dial in dials:
            dial.cancel()

    def _settled(self, result, dial):
        """A dial to a relay ended: as it ended, unless L{stop} gave it up."""
        if dial in self._dials:
            self._dials.discard(dial)
            return result
        return Failure(_GivenUp())

    def _opened(self, _, relay):
        if self.opened is not None:
            self.opened(relay)

    def _failed(self, reason, claimed, relay):
        if reason.check(_GivenUp):
            return
        host, _ = splitRelay(relay)
        self._home.peerLog.emit(
            self.log, LogLevel.info, addressGroup(host),
            "a relayed circuit from {host} did not open: {why}", host=claimed,
            why=inWords(reason))

    def _unreached(self, reason, relay):
        if self.failed is not None and not reason.check(_GivenUp):
            self.failed(relay)
        return reason


class _GivenUp(Exception):
    """A dial to a relay this node gave up (L{CircuitAccepting.stop})."""
