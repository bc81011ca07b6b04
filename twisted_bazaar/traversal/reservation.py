"""
A node's side of a relay reservation (docs/protocol.md §5a): a node its
tracker found it cannot dial asks the tracker, its relay of last resort,
for a reservation over its tracker connection; once held, it advertises
the relay, and accepts each circuit the relay announces on a connection
of its own, running its end of the inner channel as the acceptor, under
the protocol its own port (links) or transfer port (files) would run.
"""

from twisted.internet.address import IPv4Address
from twisted.logger import Logger, LogLevel

from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.net.eviction import addressGroup
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.traversal.circuit import CircuitEnd
from twisted_bazaar.traversal.messages import NODE, RelayAccept, RelayReserve
from twisted_bazaar.wire.core import splitRelay


class RelayReservation:
    """
    One node's reservation at its tracker's relay.

    @ivar relay: the relay's ``HOST:PORT`` while the reservation is held,
        else None.
    """

    log = Logger()

    def __init__(self, node):
        self.node = node
        self.relay = None
        self.asked = False

    def ask(self, send):
        """Ask for a reservation (once per tracker connection)."""
        if not self.asked:
            self.asked = True
            send(RelayReserve())

    def reserved(self, message):
        """The tracker holds the reservation: the node advertises it (one
        line when it changes, through the peer log: the tracker says it)."""
        if self.relay != message.relay:
            host, _ = splitRelay(message.relay)
            self.node.overlay.peer_log.emit(
                self.log, LogLevel.info, addressGroup(host),
                "reachable through the relay at {relay}: nodes that cannot dial this "
                "node open circuits to it there", relay=message.relay)
        self.relay = message.relay

    def lost(self):
        """The tracker connection (and the reservation with it) is gone."""
        self.relay = None
        self.asked = False

    def incoming(self, message):
        """The relay announces a circuit: accept it on a new connection."""
        node = self.node
        factory = (OverlayFactory(node) if message.purpose == NODE
                   else node.transferFactory)
        if factory is None or self.relay is None:
            node.overlay.peer_log.emit(
                self.log, LogLevel.info, addressGroup(message.host),
                "declined a relayed circuit from {host} for {purpose}: this node "
                "takes none", host=message.host, purpose=message.purpose)
            return
        peer = IPv4Address("TCP", message.host, message.port)
        connector = node.connector
        channel = getattr(connector, "channel", None)

        def inner(transport):
            protocol = factory.buildProtocol(peer)
            if protocol is None or channel is None:
                return protocol
            return EncryptedProtocol(protocol, channel, False, node.clock,
                                     peerLog=getattr(connector, "peerLog", None))

        end = CircuitEnd(RelayAccept(message.circuit), inner, node.clock, peer,
                         seen=message.host)
        host, port = splitRelay(self.relay)
        d = connector.connect(host, port, end)
        d.addCallback(lambda _: end.opened)
        d.addErrback(self._failed, message.host)

    def _failed(self, reason, host):
        self.node.overlay.peer_log.emit(
            self.log, LogLevel.info, addressGroup(host),
            "a relayed circuit from {host} did not open: {why}", host=host,
            why=reason.getErrorMessage())
