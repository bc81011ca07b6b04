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

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.reach.reachable.incoming import IncomingAccepts
from twisted_bazaar.transports.relay.circuit import CircuitEnd
from twisted_bazaar.transports.relay.messages import NODE, RelayAccept
from twisted_bazaar.wire.core import splitRelay


class CircuitAccepting:
    """
    A node's accepts of the circuits its relays announce.

    @ivar accepts: the L{IncomingAccepts} that bounds them.
    """

    log = Logger()

    def __init__(self, node, accepts=None, opened=None, failed=None):
        """
        @param accepts: the L{IncomingAccepts} that bounds the circuits
            it accepts at once; None: one with the declared limits.
        @param opened: told C{opened(relay)} each time a circuit accepted
            at ``relay`` opens, or None.
        @param failed: told C{failed(relay)} each time this node could not
            reach ``relay`` to accept a circuit there (its own dial failed:
            not a circuit the relay or the dialler ended), or None.
        """
        self.node = node
        self.accepts = IncomingAccepts(node.clock) if accepts is None else accepts
        self.opened = opened
        self.failed = failed

    def accept(self, message, relay):
        """The relay at ``relay`` (the one that holds the reservation it
        came by) announces a circuit: accept it there, on a new
        connection, within the accepts in flight (L{accepts}), through the
        node's dialer, which picks the way to the relay's service
        (L{Dialer.toRelay <twisted_bazaar.reach.dialer.Dialer.toRelay>}:
        as the transport the reservation was kept over serves it, the
        port of a transport plugin's the tracker was reached at, else
        ``relay``'s own port).  The
        circuit's connection is charged to the relay's own address (its
        ``host`` is only what the relay says: a label, never a group to
        charge).  Why it was declined (said in the log), or None."""
        node = self.node
        factory = (OverlayFactory(node) if message.purpose == NODE
                   else node.transferFactory)
        host, port = splitRelay(relay)
        why = "this node takes none" if factory is None else None
        end = None
        if why is None:
            end = object()
            why = self.accepts.take(relay, end, message.host)
        if why is not None:
            node.overlay.peer_log.emit(
                self.log, LogLevel.info, addressGroup(host),
                "declined a relayed circuit from {claimed} for {purpose} (the relay at "
                "{relay} says): {why}", claimed=message.host, purpose=message.purpose,
                relay=relay, why=why)
            return why
        peer = IPv4Address("TCP", host, port)
        connector = node.dialer.connector
        channel = connector.channel

        def inner(transport):
            protocol = factory.buildProtocol(peer)
            if protocol is None or channel is None:
                return protocol
            return EncryptedProtocol(protocol, channel, False, node.clock,
                                     peerLog=connector.peerLog)

        accept = end
        end = CircuitEnd(RelayAccept(message.circuit), inner, node.clock, peer,
                         seen=message.host)
        d = node.dialer.toRelay(relay, lambda: end)
        d.addErrback(self._unreached, relay)
        d.addCallback(lambda _: end.opened)
        d.addCallbacks(self._opened, self._failed, callbackArgs=(relay,),
                       errbackArgs=(message.host, relay))
        d.addBoth(lambda _: self.accepts.release(accept))
        return None

    def _opened(self, _, relay):
        if self.opened is not None:
            self.opened(relay)

    def _failed(self, reason, claimed, relay):
        host, _ = splitRelay(relay)
        self.node.overlay.peer_log.emit(
            self.log, LogLevel.info, addressGroup(host),
            "a relayed circuit from {host} did not open: {why}", host=claimed,
            why=reason.getErrorMessage())

    def _unreached(self, reason, relay):
        if self.failed is not None:
            self.failed(relay)
        return reason
