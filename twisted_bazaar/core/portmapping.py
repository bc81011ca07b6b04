"""
The node's port mapping service (docs/architecture.md, "Port mapping"),
as go-libp2p's NAT manager: once the tracker's check finds the node
cannot be dialled (C{reachChanged}, private), it asks the home router to
forward the node's listening port to it (UPnP IGD, NAT-PMP, PCP:
L{twisted_bazaar.traversal.portmap}), keeps the mapping renewed, and
deletes it when the node stops.

A mapped port is advertised only as the tracker sees it: the node asks
its tracker to check its address again (``checkme``, docs/protocol.md §5)
and, once that dial reaches it, the tracker's ``reach`` says so, the node
is named at its address, and its relay reservation goes
(L{twisted_bazaar.core.reserving}).  What the router says of its
external address is never asked, advertised or dialled.

Built by L{twisted_bazaar.daemon.build} for a daemon's node, unless
``--no-port-mapping``.
"""

from twisted.application.service import Service
from twisted.internet import defer

from twisted_bazaar import wire
from twisted_bazaar.core.events import NodeObserver
from twisted_bazaar.core.reach import PRIVATE


class PortMappingService(Service, NodeObserver):
    """
    The mapping of a node's port at its router, asked for the first time
    its tracker finds it private.

    @ivar mapper: the L{PortMapper} once asked, else None.
    """

    def __init__(self, node, makeMapper):
        """
        @param makeMapper: (port, onMapped) -> a
            L{twisted_bazaar.traversal.portmap.mapper.PortMapper} keeping
            port mapped, or None when there is no router to ask (no
            default gateway).
        """
        self.node = node
        self.makeMapper = makeMapper
        self.mapper = None
        self._asked = False

    def reachChanged(self, reach, local_port):
        """Found private, the node asks its router for its port (once)."""
        port = self.node.port
        if reach.state != PRIVATE or self._asked or not self.running or not port:
            return
        self._asked = True
        self.mapper = self.makeMapper(port, self._mapped)
        if self.mapper is not None:
            self.mapper.start()

    def _mapped(self, mapped):
        """The router forwards the port: the tracker is asked to dial it."""
        membership = self.node.membership
        if membership is not None:
            membership.send(wire.CheckMe())

    def stopService(self):
        """The node stops: the mapping is deleted (a Deferred that fires
        once the router answered, or its timeout passed)."""
        super().stopService()
        mapper, self.mapper = self.mapper, None
        if mapper is None:
            return defer.succeed(None)
        return mapper.stop()
