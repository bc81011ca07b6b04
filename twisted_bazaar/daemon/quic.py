"""
A node's QUIC socket as a daemon runs it (L{QuicService}): the UDP port of
``--quic-port``, its links and transfers served there, the peers'
``--quic-peer`` addresses written into the node's book as configured UDP
paths, its punches over UDP for the relayed links a TCP punch did not
replace (L{twisted_bazaar.reach.punch.udp.service}, on the sockets it opens
for them), and every socket closed (every connection told) when the
node stops.
"""

from twisted.application.service import Service
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.listenfault import listenFault
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.net.transfers import NodeTransfers
from twisted_bazaar.transports.path import CONFIGURED, UDP, Path
from twisted_bazaar.transports.quic.transport import QuicTransport
from twisted_bazaar.reach.punch.udp.service import UdpPunching
from twisted_bazaar.transports.quic.connector import FILES
from twisted_bazaar.transports.quic.endpoint import QuicEndpoint
from twisted_bazaar.wire.ids import shortId

__all__ = ["QuicService", "serveNode", "plugUdpPunching"]




def plugUdpPunching(node, sockets, limits=None, sounder=None, noUdp=None):
    """
    node's punches over UDP (L{UdpPunching}), on sockets (L{QuicService}'s,
    or a test's), built with the parts of node they use (not the node:
    reach/ never holds it): observing node's events, and one of its
    dialer's sources of paths, whose links wait for them too.

    @param limits: the TCP punch's count of attempts, which each counts in.
    @param sounder: what makes a punch's sounding (None: the real one,
        L{twisted_bazaar.reach.punch.udp.sounding.Sounding}; a test's fake).
    @param noUdp: C{noUdp(peer_id)}, whether a peer refused a TCP punch
        saying none over UDP can work with it either (the TCP punching's
        L{saidNoUdp
        <twisted_bazaar.reach.punch.tcp.service.Punching.saidNoUdp>}).
    """
    more = {} if sounder is None else {"sounder": sounder}
    punching = UdpPunching(node.clock, node.rng, node.overlay, node.whereabouts,
                           node.dialer.sources, sockets, lambda: node.udpPort, limits,
                           noUdp=noUdp, **more)
    node.addObserver(punching)
    node.dialer.sources.add(punching)
    return punching


def serveNode(transport, node):
    """Serve node's links and its transfers (once it serves a transfer
    port) over transport (a L{QuicTransport}), each stream under the
    channel."""
    transport.listen(OverlayFactory(node))
    transport.listen(NodeTransfers(node), FILES)


class QuicService(Service):
    """
    Made before the node it serves, whose dialer is built with its
    transport (L{transport}: L{twisted_bazaar.daemon.build.buildNode}'s
    ``more``), then told the node (L{serve}) before it starts.

    @ivar port: the listening UDP port while it runs, else None.
    @ivar endpoint: its QUIC endpoint (C{main}), bound when it starts.
    @ivar transport: the L{QuicTransport} over it.
    @ivar udpPunching: the node's L{UdpPunching}, or None.
    """

    log = Logger()

    def __init__(self, reactor, channel, port, interface="", peers=()):
        """
        @param port: the UDP port (0: a free one).
        @param interface: the address it listens on (--listen's).
        @param peers: (node id, host, port) of each peer to reach over
            QUIC at that address (an operator's word: dialled as given).
        """
        self.reactor = reactor
        self.channel = channel
        self.wanted = port
        self.interface = interface
        self.peers = peers
        self.node = None
        self.punching = None
        self.endpoint = QuicEndpoint(reactor, foreign=self._foreign)
        self.transport = QuicTransport(self.endpoint, channel)
        self.port = None
        self.udpPunching = None
        self.onFailure = None
        #: endpoint -> its UDP port, of the sockets opened for punches
        #: (the QUIC transport dials from one as its option C{via} names
        #: it).
        self._more = {}

    def serve(self, node, punching=None, onFailure=None):
        """
        Serve node (built with L{transport}), from when it starts: the
        builder's wiring, once.

        @param punching: the node's TCP L{Punching
            <twisted_bazaar.reach.punch.tcp.service.Punching>}, if it punches: a
            TCP punch that fails is followed by one over UDP.
        @param onFailure: told one line when its port cannot be taken (a
            daemon ends with it, as when its --listen port is taken; a
            buy, with its reason); None: the L{CannotListenError} is
            raised.
        """
        self.node = node
        self.punching = punching
        self.onFailure = onFailure

    def startService(self):
        super().startService()
        try:
            self.port = self.reactor.listenUDP(self.wanted, self.endpoint,
                                               interface=self.interface)
        except CannotListenError as e:
            if self.onFailure is None:
                raise
            self.onFailure(f"QUIC cannot listen on --quic-port {self.wanted}: "
                           f"{listenFault(e, udp=True)}")
            return
        transport = self.transport
        serveNode(transport, self.node)
        if self.punching is not None and self.punching.enabled:
            self.udpPunching = plugUdpPunching(self.node, self,
                                               self.punching.puncher.limits,
                                               noUdp=self.punching.saidNoUdp)
        book = self.node.whereabouts.book
        for peer_id, host, port in self.peers:
            book.add(peer_id, Path(UDP, host, port, word=CONFIGURED))
            self.log.info("node {id} is reached over QUIC at {where} first "
                          "(--quic-peer)", id=shortId(peer_id), host=host, port=port,
                          where=hostPort(host, port))
        where = self.port.getHost()
        # Told to the tracker, which names it to peers once its UDP
        # reach check saw it (docs/protocol.md, "Over UDP").
        self.node.setUdpPort(where.port)
        self.log.info("QUIC listening on {where} (udp)",
                      where=hostPort(where.host, where.port), host=where.host,
                      port=where.port)

    # -- the sockets of punches (L{UdpPunching}'s) ------------------------------------

    @property
    def main(self):
        return self.endpoint

    def open(self):
        """One more QUIC socket serving the node, on a free port of the
        same interface."""
        endpoint = QuicEndpoint(self.reactor, foreign=self._foreign)
        endpoint.serveAs(self.endpoint)
        self._more[endpoint] = self.reactor.listenUDP(0, endpoint,
                                                      interface=self.interface)
        return endpoint

    def _foreign(self, endpoint, data, addr):
        """A datagram too short for QUIC came to one of the node's QUIC
        sockets: to its UDP punches, if it punches."""
        if self.udpPunching is not None:
            self.udpPunching.foreignDatagram(endpoint, data, addr)

    def close(self, endpoint):
        port = self._more.pop(endpoint)
        endpoint.stop()
        port.stopListening()

    def stopService(self):
        super().stopService()
        if self.udpPunching is not None:
            self.udpPunching.nodeStopping()
        for endpoint in list(self._more):
            self.close(endpoint)
        self.node.setUdpPort(None)
        port, self.port = self.port, None
        if port is not None:
            self.endpoint.stop()
            return port.stopListening()
