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

A laptop moves: once the tracker sees the node come from another public
address (not another of its IPv6 /64: a temporary address that rotates,
L{sameNetwork}), the router its mappers asked is another network's, so they are
stopped (their mappings deleted, as far as that router still answers)
and, if it is private there, the router of the network it is on now is
asked; found public with no port mapped, it needs no router, and its
mappers stop asking.

Built by L{twisted_bazaar.daemon.build} for a daemon's node, unless
``--no-port-mapping``.
"""

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.base.lan import sameNetwork
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC
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

    log = Logger()

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
        #: The public address the tracker saw the node come from when
        #: its mappers were made (None: none are): the network they ask
        #: a router of.
        self._askedFrom = None
        #: The deletions of mappings let go of while running (another
        #: network's, or no longer needed): L{stopService} waits for them.
        self._leaving = set()

    def reachChanged(self, reach, local_port):
        """Found private, the node asks its router for its ports (once on
        each network: see the module's docstring)."""
        if not self.running:
            return
        if self._askedFrom is not None:
            if not sameNetwork(reach.seen_host, self._askedFrom):
                self._letGo(f"the tracker sees it come from {reach.seen_host}, not "
                            f"{self._askedFrom}: it is on another network")
            elif reach.state == PUBLIC and not self._holding():
                self._letGo("it is reachable without a mapped port")
        if reach.state != PRIVATE or self._askedFrom is not None:
            return
        (port, what), *others = self.ports()
        if not port:
            return
        self._askedFrom = reach.seen_host
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

    def _holding(self):
        """Whether the router maps one of the node's ports now."""
        return any(mapper.mapping is not None for mapper in self.mappers.values())

    def _letGo(self, why):
        """The mappers stop (the router they ask is not this node's way
        in now, ``why``), their mappings deleted in the background."""
        mappers, self.mappers, self._askedFrom = self.mappers, {}, None
        if mappers:
            self.log.info("no longer asking the router to map this node's ports: {why}",
                          why=why)
        for mapper in mappers.values():
            d = mapper.stop()
            self._leaving.add(d)
            d.addBoth(lambda _, d=d: self._leaving.discard(d))

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
        return defer.gatherResults([mapper.stop() for mapper in mappers.values()]
                                   + list(self._leaving))


def _quiet(mapped):
    """Another port mapped: the tracker checks only the listening port."""
