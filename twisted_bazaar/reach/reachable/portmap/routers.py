"""
The protocols a node asks its router for a port with, in the order
tried: UPnP IGD first (what most home routers speak: an SSDP search, a
description, a SOAP action; 3 s lost on a router that does not), then
PCP and NAT-PMP (one datagram to the gateway each; a NAT-PMP router
answers PCP with its own version, so that fallback costs no wait).
"""

from twisted.logger import Logger

from twisted_bazaar.reach.reachable.portmap.exchange import Datagrams
from twisted_bazaar.reach.reachable.portmap.gateway import defaultGateway, localAddressToward
from twisted_bazaar.reach.reachable.portmap.http import requester
from twisted_bazaar.reach.reachable.portmap.mapper import PortMapper
from twisted_bazaar.reach.reachable.portmap.natpmp import NatPmp
from twisted_bazaar.reach.reachable.portmap.pcp import Pcp
from twisted_bazaar.reach.reachable.portmap.upnp import UPnP

log = Logger()


def datagramsOn(reactor):
    """A L{Datagrams} on a UDP socket of the reactor's, any free port."""
    return Datagrams(reactor, lambda protocol: reactor.listenUDP(0, protocol))


def routerProtocols(reactor, datagrams, gateway=defaultGateway,
                    local=localAddressToward):
    """
    (the gateway's address, [UPnP, PCP, NAT-PMP] to it) on reactor, over
    ``datagrams``; or (None, []) when the node has no default gateway, or
    no address toward it.  ``gateway()`` and ``local(host)`` are where the
    default gateway is and the node's address toward it (tests put
    theirs).
    """
    router = gateway()
    client = None if router is None else local(router)
    if client is None:
        return None, []
    return router, [UPnP(reactor, datagrams, requester(reactor), router, client),
                    Pcp(reactor, datagrams, router, client),
                    NatPmp(reactor, datagrams, router)]


def routerMapper(reactor, gateway=defaultGateway, local=localAddressToward):
    """What L{twisted_bazaar.reach.reachable.portmapping.PortMappingService} makes its
    mappers with: (port, what, onMapped) -> a L{PortMapper} asking the
    default gateway with every protocol, or None (and a line) without one.
    Its mappers share one UDP socket, open while one of them asks."""
    datagrams = datagramsOn(reactor)

    def make(port, what, onMapped):
        router, protocols = routerProtocols(reactor, datagrams, gateway, local)
        if not protocols:
            log.info("no IPv4 default gateway (or no address toward it): no router to "
                     "ask to map TCP port {port}", port=port)
            return None
        return PortMapper(reactor, protocols, port, onMapped, what=what)
    return make
