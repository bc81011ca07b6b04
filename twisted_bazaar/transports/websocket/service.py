"""
A daemon's WebSocket port (L{WebSocketService}), made for a node
(L{NodeWebSocket}) or a tracker (L{trackerService}): listened on when the
daemon starts, logged as ``websocket listening on HOST:PORT`` like its
other ports, closed when it stops; a port that cannot be listened on
ends the daemon, saying why.
"""

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.listenfault import LISTENING, listenFault
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.transports.path import CONFIGURED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.transports.websocket.endpoints import ROOT
from twisted_bazaar.transports.websocket.transport import FILES, RELAY, WebSocketTransport
from twisted_bazaar.wire.ids import shortId

__all__ = ["WebSocketService", "NodeWebSocket", "trackerService"]


class WebSocketService(Service):
    """
    Runs ``serve(transport)`` when the daemon starts: it plugs the
    transport in, and returns the Deferred of its listening port (None
    when it listens on none).

    @ivar port: the listening port while it runs, else None.
    """

    log = Logger()

    def __init__(self, transport, serve, onFailure, description):
        """
        @param onFailure: told one line (why it cannot listen) when it
            cannot.
        @param description: the option as the user gave it
            (``--ws-port 443``), for that line.
        """
        self.transport = transport
        self.serve = serve
        self.onFailure = onFailure
        self.description = description
        self.port = None

    def startService(self):
        super().startService()
        listening = self.serve(self.transport)
        if listening is not None:
            listening.addCallbacks(self._listening, self._failed)

    def _listening(self, port):
        self.port = port
        where = port.getHost()
        self.log.info(LISTENING, what="websocket", where=hostPort(where.host, where.port),
                      host=where.host, port=where.port)

    def _failed(self, reason):
        self.onFailure(f"websocket cannot listen on {self.description}: "
                       f"{listenFault(reason.value)}")

    def advertised(self):
        """The path of its port once it listens, at no host (the
        transport's, L{WebSocketTransport.advertised}), else None: a
        tracker's relay is served there too, and names it
        (L{twisted_bazaar.transports.relay.relay.Relay.servedAt})."""
        return self.transport.advertised()

    def stopService(self):
        super().stopService()
        self.port = None
        return self.transport.stopListening()


class NodeWebSocket:
    """
    A node's WebSocket, made before the node (its transport goes into the
    node's transports, L{twisted_bazaar.daemon.node.serveNode}) and
    served once the node is built (L{serve}), given what it serves and
    the book its paths go in, not the node.
    """

    log = Logger()

    def __init__(self, reactor, channel, peerLog, port, interface, peers, onFailure,
                 names=()):
        """
        @param port: the port it listens on (None: none, it only dials;
            0: a free one), on ``interface``.
        @param peers: (node id, host, port) of ``--ws-peer``, written into
            the node's book.
        @param names: the host names its port answers to besides
            loopback's and its address (``--ws-names``).
        """
        self.transport = WebSocketTransport(reactor, channel, peerLog, interface, port or 0,
                                            names=names)
        self.listens = port is not None
        self.peers = peers
        self.onFailure = onFailure
        self.description = f"--ws-port {port}"

    def serve(self, book, links, transfers, relay=None):
        """The service that runs it for a node: the factories of its links
        (served at L{ROOT}) and of its transfers (at L{FILES}) on its
        port, and of its relay (``relay``, or None: it relays for nobody)
        at L{RELAY}, where a node at a home that lets only HTTP(S) out
        holds its reservation and accepts its circuits; and its
        ``--ws-peer`` paths in the node's book (a L{PathBook
        <twisted_bazaar.reach.book.PathBook>}) as configured paths."""
        for peer_id, host, port in self.peers:
            book.add(peer_id, Path(WEBSOCKET, host, port, word=CONFIGURED))
            self.log.info("node {id} is reached over WebSocket at {where} "
                          "(--ws-peer)", id=shortId(peer_id), host=host, port=port,
                          where=hostPort(host, port))
        served = [(links, ROOT), (transfers, FILES)]
        if relay is not None:
            served.append((relay, RELAY))
        return WebSocketService(self.transport, lambda transport: _listen(transport, served)
                                if self.listens else None, self.onFailure, self.description)


def _listen(transport, served):
    """Serve each (factory, resource) of served on transport's one port:
    the Deferred of the port (its failure once)."""
    listening = defer.gatherResults(
        [transport.listen(factory, resource) for factory, resource in served],
        consumeErrors=True)
    return listening.addCallbacks(lambda ports: ports[0],
                                  lambda reason: reason.value.subFailure)


def trackerService(reactor, identity, factory, peerLog, port, interface, onFailure,
                   names=(), relay=None):
    """A tracker's WebSocket port: ``factory``'s protocols (the
    tracker's), under a channel key of ``identity``'s, at the root
    resource of ``port`` on ``interface``, answering to ``names`` too
    (``--ws-names``); and ``relay``'s (its relay's factory, or None) at
    L{RELAY}, where the nodes that reach the tracker here accept the
    circuits it announces to them."""
    transport = WebSocketTransport(reactor, ChannelKey.generate(identity), peerLog,
                                   interface, port, names=names)
    served = [(factory, ROOT)] + ([] if relay is None else [(relay, RELAY)])
    return WebSocketService(transport, lambda transport: _listen(transport, served),
                            onFailure, f"--ws-port {port}")
