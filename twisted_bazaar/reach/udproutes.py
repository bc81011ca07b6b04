"""
The sockets a node's UDP punches met its peers from (L{UdpRoutes}): a
path a punch met is dialled from the socket it met it on (only that
5-tuple passes the routers), and whoever punched it is told when a dial
there meets silence.  The dialer's QUIC ways read it
(L{twisted_bazaar.reach.ways.Quic}); the UDP punches write it
(L{twisted_bazaar.reach.punch.udpservice}).
"""

__all__ = ["UdpRoutes"]


class UdpRoutes:
    """(peer id, host, port) -> the QUIC socket a punch met that path
    from, and who is told of silence there."""

    __slots__ = ("_routes",)

    def __init__(self):
        self._routes = {}

    def route(self, peer_id, path, socket, lost=None):
        """Dial peer_id's UDP ``path`` from ``socket``, the punched one,
        first among its UDP paths (the transport's option C{via});
        ``lost(peer_id, path, why)`` is told when nothing answers a dial
        there (the routers forgot the 5-tuple, or the peer is gone)."""
        self._routes[(peer_id, path.host, path.port)] = (socket, lost)

    def unroute(self, peer_id, path):
        self._routes.pop((peer_id, path.host, path.port), None)

    def of(self, peer_id, path):
        """The (socket, lost) peer_id's UDP path is dialled from, or
        None: the node's own socket."""
        return self._routes.get((peer_id, path.host, path.port))
