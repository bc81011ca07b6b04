"""
The transports a dialer (or a tracker, which has no node) dials through
(L{Transports}), found by the kind of path dialled: the kinds are the
open registry of L{twisted_bazaar.transports.path}, each carried by the
transport of its carrier's kind.  Built where a node or a tracker is
built (L{overConnector}, plus what else the daemon runs: QUIC) and
handed in at construction.
"""

from twisted.internet import defer
from zope.interface.verify import verifyObject

from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.path import DIRECT, KINDS
from twisted_bazaar.transports.relay.transport import RelayTransport
from twisted_bazaar.transports.tcp.transport import TcpTransport

__all__ = ["Transports", "NoTransport", "overConnector"]


class NoTransport(Exception):
    """No transport of this table dials the path."""

    def __str__(self):
        return self.args[0]


class Transports(tuple):
    """
    One transport per kind (L{ITransport}s), each found by kind: a tuple
    of them, in the order given.
    """

    #: A tuple itself, looked through by kind: a few transports, one table
    #: a node (a simulation's million nodes hold one each; a dict is four
    #: times the size, and an object holding a tuple 40 bytes more).
    __slots__ = ()

    def __new__(cls, transports):
        transports = tuple(transports)
        kinds = set()
        for transport in transports:
            verifyObject(ITransport, transport)
            if transport.kind not in KINDS:
                raise ValueError(f"a transport of an unregistered kind {transport.kind!r}")
            if transport.kind in kinds:
                raise ValueError(f"two transports of kind {transport.kind!r}")
            kinds.add(transport.kind)
        return super().__new__(cls, transports)

    @property
    def kinds(self):
        """The kinds held, in the order given."""
        return tuple(transport.kind for transport in self)

    def of(self, kind):
        """The transport that dials paths of kind (that of its carrier),
        or None."""
        carrier = KINDS.carrierOf(kind)
        for transport in self:
            if transport.kind == carrier:
                return transport
        return None

    def canDial(self, path):
        """Whether a transport here dials path."""
        transport = self.of(path.kind)
        return transport is not None and transport.canDial(path)

    def dial(self, path, expectedKey, protocolFactory, options=None):
        """Dial path by the transport of its kind (L{ITransport.dial}), or
        fail with L{NoTransport}."""
        transport = self.of(path.kind)
        if transport is None or not transport.canDial(path):
            return defer.fail(NoTransport(f"no transport here dials {path}"))
        return transport.dial(path, expectedKey, protocolFactory, options)

    def advertised(self):
        """The paths the node names of itself for its transports (a tuple,
        in their order): each transport's C{advertised()}, for one that
        has it (an optional part of a transport: one whose addresses
        travel, a plugin's, names its own port there), None left
        out."""
        found = ()
        for transport in self:
            advertise = getattr(transport, "advertised", None)
            path = None if advertise is None else advertise()
            if path is not None:
                found += (path,)
        return found

    def dialingFrom(self, fromPort):
        """This table, its TCP transport dialling from a port by
        ``fromPort`` (L{TcpTransport}'s), the relay's circuits over that
        one: itself if it does already; else a new table, the others
        the same (a node whose punching is plugged after it was built, a
        simulation's)."""
        tcp = self.of(DIRECT)
        if tcp is None or tcp.fromPort is fromPort:
            return self
        dialing = TcpTransport(tcp.connector, fromPort)
        return Transports(
            dialing if transport is tcp else
            RelayTransport(dialing, transport.clock, transport.channel, transport.peerLog)
            if isinstance(transport, RelayTransport) and transport.carrier is tcp else
            transport for transport in self)


def overConnector(connector, clock, fromPort=None, more=()):
    """
    The transports over a connector (TCP under its channel, or a memory
    network's): direct paths by it (L{TcpTransport}, dialling from a port
    by ``fromPort`` if given: a node that punches), relayed ones by a
    circuit through a relay dialled by it (L{RelayTransport}), and
    ``more`` (QUIC's, for a node that runs it).
    """
    tcp = TcpTransport(connector, fromPort)
    relay = RelayTransport(tcp, clock, connector.channel, connector.peerLog)
    return Transports((tcp, relay) + tuple(more))
