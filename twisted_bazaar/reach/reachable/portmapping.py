"""
The node's port mapping service (docs/architecture.md, "Port mapping"),
as go-libp2p's NAT manager: once the tracker's check finds the node
cannot be dialled (C{reachChanged}, private), it asks the home router to
forward the node's listening port to it (UPnP IGD, NAT-PMP, PCP:
L{twisted_bazaar.reach.reachable.portmap}), keeps the mapping renewed, and
deletes it when the node stops.

A mapped port is advertised only as the tracker sees it: the service is
one of the node's dialer's sources of paths, and announces the mapped
path it found through them (L{Sources.own
<twisted_bazaar.reach.sources.Sources.own>}, a L{MAPPED} path), which
pass it on to the node; the node, hearing it, asks its tracker to check
its address again (``checkme``, docs/protocol.md §5); once that dial
reaches it, the tracker's ``reach`` says so, the node
is named at its address, and its relay reservation goes
(L{twisted_bazaar.reach.reachable.reserving}).  What the router says of its
external address is never asked, advertised or dialled.

Built by L{twisted_bazaar.daemon.build} for a daemon's node, unless
``--no-port-mapping``.
"""

from twisted.application.service import Service
from twisted.internet import defer

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.reachable.reachability import PRIVATE
from twisted_bazaar.reach.sources import OwnPathSource
from twisted_bazaar.transports.path import MAPPED, Path


class PortMappingService(Service, NodeObserver, OwnPathSource):
    """
    The mappings of a node's ports at its router, asked for the first
    time its tracker finds it private: its listening port, and the other
    ports peers dial it at (a seller's transfer port, its relay's port),
    each kept by a mapper of its own.  A source of paths to the node
    itself, which punches none (L{OwnPathSource
    <twisted_bazaar.reach.sources.OwnPathSource>}).

    @ivar mappers: port -> its L{PortMapper}, once asked.
    """

    def __init__(self, makeMapper, ports, sources):
        """
        @param makeMapper: (port, what, onMapped) -> a
            L{twisted_bazaar.reach.reachable.portmap.mapper.PortMapper} keeping
            port mapped (``what``: which port it is, for its lines), or
            None when there is no router to ask (no default gateway).
        @param ports: () -> the ports peers dial the node at, as they are
            when it is found private: (port, what) pairs, its listening
            port first (port 0: not listening).
        @param sources: the node's dialer's sources of paths
            (L{Sources <twisted_bazaar.reach.sources.Sources>}), which this
            is added to (by its builder), told of the listening port once
            mapped (a L{MAPPED} path).
        """
        self.makeMapper = makeMapper
        self.ports = ports
        self._sources = sources
        self.mappers = {}
        self._asked = False

    def reachChanged(self, reach, local_port):
        """Found private, the node asks its router for its ports (once)."""
        if reach.state != PRIVATE or self._asked or not self.running:
            return
        (port, what), *others = self.ports()
        if not port:
            return
        self._asked = True
        ports = {port: what}
        for other, what in others:
            if other:
                ports.setdefault(other, what)
        for each, what in ports.items():
            mapper = self.makeMapper(each, what, self._mapped if each == port else _quiet)
            if mapper is None:
                return
            self.mappers[each] = mapper
            mapper.start()

    def _mapped(self, mapped):
        """The router forwards the listening port: its path announced
        through the dialer's sources (the node, hearing it, asks its
        tracker to dial it there)."""
        self._sources.own(Path(MAPPED, port=mapped.external))

    def stopService(self):
        """The node stops: the mappings are deleted (a Deferred that fires
        once the router answered, or each one's timeout passed)."""
        super().stopService()
        mappers, self.mappers = self.mappers, {}
        return defer.gatherResults([mapper.stop() for mapper in mappers.values()])


def _quiet(mapped):
    """Another port mapped: the tracker checks only the listening port."""
