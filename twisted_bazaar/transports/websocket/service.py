"""
A daemon's WebSocket port (L{WebSocketService}), made for a node
(L{nodeService}) or a tracker (L{trackerService}): listened on when the
daemon starts, logged as ``websocket listening on HOST:PORT`` like its
other ports, closed when it stops; a port that cannot be listened on
ends the daemon, saying why.
"""

from twisted.application.service import Service
from twisted.logger import Logger

from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.transports.websocket.dialerway import plugNode
from twisted_bazaar.transports.websocket.transport import WebSocketTransport

__all__ = ["WebSocketService", "nodeService", "trackerService"]


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
        self.log.info("{what} listening on {host}:{port}", what="websocket",
                      host=where.host, port=where.port)

    def _failed(self, reason):
        self.onFailure(f"websocket cannot listen on {self.description}: "
                       f"{reason.getErrorMessage()}")

    def stopService(self):
        super().stopService()
        self.port = None
        return self.transport.stopListening()


def nodeService(reactor, node, identity, port, interface, peers, onFailure):
    """
    A node's WebSocket: its port (``port``, None for none: it only
    dials), on ``interface``, serving its links and transfers under a
    channel key of ``identity``'s; its dialer's way over WebSocket; and
    ``peers`` ((node id, host, port) of ``--ws-peer``) in its book.
    """
    transport = WebSocketTransport(reactor, ChannelKey.generate(identity),
                                   node.overlay.peer_log, interface, port or 0)
    return WebSocketService(
        transport, lambda transport: plugNode(node, transport, peers, port is not None),
        onFailure, f"--ws-port {port}")


def trackerService(reactor, identity, factory, peerLog, port, interface, onFailure):
    """A tracker's WebSocket port: ``factory``'s protocols (the
    tracker's), under a channel key of ``identity``'s, at the root
    resource of ``port`` on ``interface``."""
    transport = WebSocketTransport(reactor, ChannelKey.generate(identity), peerLog,
                                   interface, port)
    return WebSocketService(transport, lambda transport: transport.listen(factory),
                            onFailure, f"--ws-port {port}")

