"""
A node's QUIC socket as a daemon runs it (L{QuicService}): the UDP port of
``--quic-port``, its links and transfers served there, the peers'
``--quic-peer`` addresses written into the node's book as configured UDP
paths, and the socket closed (every connection told) when the node stops.
"""

from twisted.application.service import Service
from twisted.logger import Logger

from twisted_bazaar.core.paths.path import CONFIGURED, UDP, Path
from twisted_bazaar.core.quicdial import plugQuic
from twisted_bazaar.net.quic.endpoint import QuicEndpoint
from twisted_bazaar.wire.ids import shortId

__all__ = ["QuicService"]


class QuicService(Service):
    """
    @ivar port: the listening UDP port while it runs, else None.
    """

    log = Logger()

    def __init__(self, reactor, node, channel, port, interface="", peers=()):
        """
        @param port: the UDP port (0: a free one).
        @param interface: the address it listens on (--listen's).
        @param peers: (node id, host, port) of each peer to reach over
            QUIC at that address (an operator's word: dialled as given).
        """
        self.reactor = reactor
        self.node = node
        self.channel = channel
        self.wanted = port
        self.interface = interface
        self.peers = peers
        self.endpoint = None
        self.port = None

    def startService(self):
        super().startService()
        self.endpoint = QuicEndpoint(self.reactor)
        self.port = self.reactor.listenUDP(self.wanted, self.endpoint,
                                           interface=self.interface)
        plugQuic(self.node, self.endpoint, self.channel)
        book = self.node.dialer.book
        for peer_id, host, port in self.peers:
            book.add(peer_id, Path(UDP, host, port, word=CONFIGURED))
            self.log.info("node {id} is reached over QUIC at {host}:{port} first "
                          "(--quic-peer)", id=shortId(peer_id), host=host, port=port)
        where = self.port.getHost()
        self.log.info("QUIC listening on {host}:{port} (udp)", host=where.host,
                      port=where.port)

    def stopService(self):
        super().stopService()
        endpoint, self.endpoint = self.endpoint, None
        port, self.port = self.port, None
        if endpoint is not None:
            endpoint.stop()
        if port is not None:
            return port.stopListening()
