"""
The WebSocket transport as a way of today's dialer (L{DialerWay}, an
L{ITransport <twisted_bazaar.transports.interface.ITransport>}), and the
node's side of plugging it in (L{plugNode}).  A bridge only: once the
dialer calls transports by kind (``canDial``/``dial``), it calls
L{WebSocketTransport <twisted_bazaar.transports.websocket.transport.WebSocketTransport>}
itself, and this module goes.
"""

from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.identity.keys import decode
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.path import CONFIGURED, WEBSOCKET, Path
from twisted_bazaar.transports.relay.messages import FILES as FILES_PURPOSE
from twisted_bazaar.transports.websocket.endpoints import ROOT
from twisted_bazaar.transports.websocket.transport import FILES
from twisted_bazaar.wire.ids import shortId

__all__ = ["DialerWay", "plugNode"]


class _One(Factory):
    """Hands out one protocol made beforehand (the dialer's)."""

    noisy = False

    def __init__(self, protocol):
        self.made = protocol

    def buildProtocol(self, addr):
        return self.made


@implementer(ITransport)
class DialerWay:
    """
    Dials a peer at the first WebSocket path the node's book holds for it:
    a link at the peer's links resource, a transfer (purpose C{files}) at
    its files resource.  Raced at once beside TCP, which it does not hold
    back: behind a firewall that lets only HTTP(S) out, TCP's dial never
    connects, and this one is the way.
    """

    kind = WEBSOCKET
    delay = 0.0
    holds = False
    log = Logger()

    def __init__(self, transport):
        self.transport = transport

    def _path(self, dialer, peer, purpose, protocol):
        if peer.id is None or (protocol is not None and purpose != FILES_PURPOSE):
            return None
        for path in dialer.book.pathsOf(peer.id, WEBSOCKET):
            if self.transport.canDial(path):
                return path
        return None

    def applies(self, dialer, peer, purpose, protocol):
        return self._path(dialer, peer, purpose, protocol) is not None

    def attempt(self, dialer, peer, purpose, protocol):
        path = self._path(dialer, peer, purpose, protocol)
        if path is None:
            return None
        expected = None if peer.key is None else decode(peer.key)
        if protocol is None:
            d = dialer.node.overlay.connectTo(
                path.host, path.port, peer.id, purpose,
                lambda link: self.transport.dial(path, expected, _One(link)))
        else:
            d = self.transport.dial(path, expected, _One(protocol()), {"resource": FILES})

        def reached(result):
            self.log.info("reached node {id} over WebSocket at {host}:{port} ({purpose})",
                          id=shortId(peer.id), host=path.host, port=path.port,
                          purpose=purpose)
            return result

        return d.addCallback(reached)


class _Transfers(Factory):
    """The node's transfer port's protocols, once it serves one (a
    seller's); none before."""

    noisy = False

    def __init__(self, node):
        self.node = node

    def buildProtocol(self, addr):
        factory = self.node.transferFactory
        return None if factory is None else factory.buildProtocol(addr)


def plugNode(node, transport, peers=(), listen=True):
    """
    Have node's dialer try peers' WebSocket paths, write each of
    ``peers`` ((node id, host, port), the operator's word) into its book
    as a configured path, and, with ``listen``, serve its links (at
    L{ROOT}) and transfers (at L{FILES}) on transport's port.

    @return: the Deferred of the listening port, or None.
    """
    listening = None
    if listen:
        listening = defer.gatherResults(
            [transport.listen(OverlayFactory(node), ROOT),
             transport.listen(_Transfers(node), FILES)], consumeErrors=True)
        # One port serves both: its failure once, as it was.
        listening.addCallbacks(lambda ports: ports[0],
                               lambda reason: reason.value.subFailure)
    node.dialer.addTransport(DialerWay(transport))
    for peer_id, host, port in peers:
        node.dialer.book.add(peer_id, Path(WEBSOCKET, host, port, word=CONFIGURED))
        DialerWay.log.info("node {id} is reached over WebSocket at {host}:{port} "
                           "(--ws-peer)", id=shortId(peer_id), host=host, port=port)
    return listening
