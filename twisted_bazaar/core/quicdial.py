"""
QUIC over UDP as a way to a peer (L{QuicTransport}): the dialer's
transport for the book's paths of kind UDP, plugged into a node by
L{plugQuic}, which also serves the node's links and its transfer port on
the node's QUIC socket (docs/architecture.md, "QUIC").

Only the paths a peer's word alone names (a claim) are not dialled: a
peer could name a victim's address for every node linked to it to send
QUIC Initials to (docs/protocol.md §5, "Hosts a peer names").  A dial
that QUIC does not answer, or whose link does not come up, hands over to
the next way (TCP), which waits for it (L{QuicTransport.holds}).
"""

from twisted.internet.protocol import Factory
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.core.paths.path import CLAIMED, UDP
from twisted_bazaar.core.paths.transport import ITransport
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.net.quic.connector import FILES as FILES_SERVICE, LINKS, QuicConnector
from twisted_bazaar.traversal.messages import FILES
from twisted_bazaar.wire.ids import shortId

__all__ = ["QuicTransport", "plugQuic"]


@implementer(ITransport)
class QuicTransport:
    """
    Dials a peer at the first UDP path the node's book holds for it (not
    a claim): a link over the peer's links service, a transfer (purpose
    L{FILES}) over its files service; other connections of a protocol of
    their own are not carried yet.
    """

    kind = UDP
    #: Tried first, the TCP ways waiting for it to fail (it holds them,
    #: as a punch holds the relay): a UDP path is one the operator
    #: configured (``--quic-peer``), so the operator's choice is honoured
    #: while it answers.  When UDP paths are learned otherwise (the
    #: tracker's UDP check, issue 71), racing TCP at once is the better
    #: rank: TCP carries bulk bytes about twice as fast here
    #: (docs/architecture.md, "QUIC").
    delay = 0.0
    holds = True
    log = Logger()

    def __init__(self, links, files):
        """
        @param links: the L{QuicConnector} of the peers' links service.
        @param files: the L{QuicConnector} of their files service.
        """
        self.links = links
        self.files = files

    def _paths(self, dialer, peer, purpose, protocol):
        if peer.id is None or (protocol is not None and purpose != FILES):
            return []
        return [path for path in dialer.book.pathsOf(peer.id, UDP) if path.word != CLAIMED]

    def applies(self, dialer, peer, purpose, protocol):
        return bool(self._paths(dialer, peer, purpose, protocol))

    def attempt(self, dialer, peer, purpose, protocol):
        paths = self._paths(dialer, peer, purpose, protocol)
        if not paths:
            return None
        host, port = paths[0].host, paths[0].port
        expected = None if peer.key is None else decode(peer.key)
        if protocol is None:
            links = self.links
            d = dialer.node.overlay.connectTo(
                host, port, peer.id, purpose,
                lambda link: links.connect(host, port, link, expected=expected))
        else:
            d = self.files.connect(host, port, protocol(), expected=expected)

        def reached(result):
            self.log.info("reached node {id} over QUIC at {host}:{port} ({purpose})",
                          id=shortId(peer.id), host=host, port=port, purpose=purpose)
            return result

        return d.addCallback(reached)


class _Transfers(Factory):
    """The node's transfer port's protocols, once it serves one (a
    seller's: L{twisted_bazaar.files.server}); none before."""

    noisy = False

    def __init__(self, node):
        self.node = node

    def buildProtocol(self, addr):
        factory = self.node.transferFactory
        return None if factory is None else factory.buildProtocol(addr)


def plugQuic(node, endpoint, channel):
    """
    Serve node's links and transfers on endpoint (a L{QuicEndpoint
    <twisted_bazaar.net.quic.endpoint.QuicEndpoint>} on the node's UDP
    port) under channel, and have its dialer try a peer's UDP paths
    first.

    @return: the L{QuicTransport}.
    """
    links = QuicConnector(endpoint, channel, LINKS)
    files = QuicConnector(endpoint, channel, FILES_SERVICE, peerLog=links.peerLog)
    links.listen(OverlayFactory(node))
    files.listen(_Transfers(node))
    transport = QuicTransport(links, files)
    dialer = node.dialer
    dialer.candidates = (transport,) + tuple(
        candidate for candidate in dialer.candidates if candidate.kind != UDP)
    return transport
