"""
QUIC over UDP as a way to a peer (L{QuicTransport}): the dialer's
transport for the book's paths of kind UDP, plugged into a node by
L{plugQuic}, which also serves the node's links and its transfer port on
the node's QUIC socket (docs/architecture.md, "QUIC").

Only the paths a peer's word alone names (a claim) are not dialled: a
peer could name a victim's address for every node linked to it to send
QUIC Initials to (docs/protocol.md §5, "Hosts a peer names").  A path
this node's operator configured, or a UDP punch met, is tried first: a
dial there that QUIC does not answer, or whose link does not come up,
hands over to the next way (TCP), which waits for it
(L{QuicTransport.holds}).  A path the tracker named (the QUIC port of a
peer it dials directly, as its UDP reach check saw it) is raced after
TCP (L{TrackerNamedQuic}): TCP carries bulk bytes faster, and QUIC is
the way when TCP does not connect.
"""

from twisted.internet.protocol import Factory
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.transports.path import CLAIMED, NAMED, UDP, WORDS
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.net.capabilities import IQuicTransport
from twisted_bazaar.net.overlay import OverlayFactory
from twisted_bazaar.transports.quic.errors import QuicSilent
from twisted_bazaar.transports.quic.connector import FILES as FILES_SERVICE, LINKS, QuicConnector
from twisted_bazaar.transports.relay.messages import FILES
from twisted_bazaar.wire.ids import shortId

__all__ = ["QuicTransport", "TrackerNamedQuic", "isQuic", "plugQuic", "serveQuic"]


def isQuic(link):
    """Whether link runs over QUIC on UDP, dialled, accepted or punched
    (for a relayed link: whether its connection to the relay does), as
    its node's operator is told (docs/protocol.md §12a) and its metrics
    count."""
    return IQuicTransport(link.transport, None) is not None


@implementer(ITransport)
class QuicTransport:
    """
    Dials a peer at the first UDP path the node's book holds for it of
    the words it takes (L{words}: not a claim): a link over the peer's
    links service, a transfer (purpose L{FILES}) over its files service;
    other connections of a protocol of their own are not carried yet.
    """

    kind = UDP
    #: Tried first, the TCP ways waiting for it to fail (it holds them,
    #: as a punch holds the relay): a UDP path is one the operator
    #: configured (``--quic-peer``), so the operator's choice is honoured
    #: while it answers, or one a UDP punch met
    #: (L{twisted_bazaar.reach.punch.udpservice}), where the TCP ways left are
    #: the relay.  A UDP path the tracker names, to a peer TCP reaches
    #: directly, is raced after TCP instead (L{TrackerNamedQuic}): TCP
    #: carries bulk bytes about 1.8 times as fast here
    #: (docs/architecture.md, "QUIC").
    delay = 0.0
    holds = True
    #: The words of the paths it dials: all but a claim, and but the
    #: tracker's (L{TrackerNamedQuic}'s).
    words = frozenset(WORDS) - {CLAIMED, NAMED}
    log = Logger()

    def __init__(self, links, files):
        """
        @param links: the L{QuicConnector} of the peers' links service.
        @param files: the L{QuicConnector} of their files service.
        """
        self.links = links
        self.files = files
        #: (peer id, host, port) -> the (links, files) connectors of the
        #: socket a path punched to that peer leaves from
        #: (L{twisted_bazaar.reach.punch.udpservice}): only its 5-tuple passes
        #: the routers; and who is told when a dial there meets silence.
        self.routes = {}

    def route(self, peer_id, path, connectors, lost=None):
        """Dial peer_id's ``path`` through ``connectors`` (links, files),
        a punched socket's, first among its UDP paths; ``lost(peer_id,
        path, why)`` is told when nothing answers a dial there (the
        routers forgot the 5-tuple, or the peer is gone)."""
        self.routes[(peer_id, path.host, path.port)] = (connectors, lost)

    def unroute(self, peer_id, path):
        self.routes.pop((peer_id, path.host, path.port), None)

    def _paths(self, dialer, peer, purpose, protocol):
        if peer.id is None or (protocol is not None and purpose != FILES):
            return []
        paths = [path for path in dialer.book.pathsOf(peer.id, UDP) if path.word in self.words]
        return sorted(paths, key=lambda path: (peer.id, path.host, path.port)
                      not in self.routes)

    def connectorsOf(self, peer_id, path):
        """The (links, files) connectors that dial peer_id's path."""
        route = self.routes.get((peer_id, path.host, path.port))
        return (self.links, self.files) if route is None else route[0]

    def applies(self, dialer, peer, purpose, protocol):
        return bool(self._paths(dialer, peer, purpose, protocol))

    def attempt(self, dialer, peer, purpose, protocol):
        paths = self._paths(dialer, peer, purpose, protocol)
        if not paths:
            return None
        host, port = paths[0].host, paths[0].port
        links, files = self.connectorsOf(peer.id, paths[0])
        expected = None if peer.key is None else decode(peer.key)

        def silent(reason):
            route = self.routes.get((peer.id, host, port))
            if reason.check(QuicSilent) and route is not None and route[1] is not None:
                route[1](peer.id, paths[0], reason.getErrorMessage())
            return reason

        if protocol is None:
            d = dialer.node.overlay.connectTo(
                host, port, peer.id, purpose,
                lambda link: links.connect(host, port, link,
                                           expected=expected).addErrback(silent))
        else:
            d = files.connect(host, port, protocol(), expected=expected).addErrback(silent)

        def reached(result):
            self.log.info("reached node {id} over QUIC at {host}:{port} ({purpose})",
                          id=shortId(peer.id), host=host, port=port, purpose=purpose)
            return result

        return d.addCallback(reached)


class TrackerNamedQuic(QuicTransport):
    """
    Dials the UDP path the tracker named for a peer it names at a checked
    address (the QUIC port its UDP reach check saw the peer send from:
    docs/protocol.md, "Over UDP"), raced L{delay} seconds after the TCP
    ways, which it does not hold back: a TCP dial that connects first
    wins, one that does not (a firewall that drops TCP) leaves QUIC the
    way.
    """

    delay = 1.0
    holds = False
    words = frozenset({NAMED})


class _Transfers(Factory):
    """The node's transfer port's protocols, once it serves one (a
    seller's: L{twisted_bazaar.files.server}); none before."""

    noisy = False

    def __init__(self, node):
        self.node = node

    def buildProtocol(self, addr):
        factory = self.node.transferFactory
        return None if factory is None else factory.buildProtocol(addr)


def serveQuic(node, endpoint, channel, peerLog=None):
    """
    Serve node's links and transfers on endpoint (a L{QuicEndpoint
    <twisted_bazaar.transports.quic.endpoint.QuicEndpoint>}) under channel.

    @param peerLog: the peer log its connections share (a new one if
        None).
    @return: the (links, files) L{QuicConnector}s that dial from it.
    """
    links = QuicConnector(endpoint, channel, LINKS, peerLog=peerLog)
    files = QuicConnector(endpoint, channel, FILES_SERVICE, peerLog=links.peerLog)
    links.listen(OverlayFactory(node))
    files.listen(_Transfers(node))
    return links, files


def plugQuic(node, endpoint, channel):
    """
    Serve node's links and transfers on endpoint (a L{QuicEndpoint
    <twisted_bazaar.transports.quic.endpoint.QuicEndpoint>} on the node's UDP
    port) under channel (L{serveQuic}), and have its dialer try a peer's
    UDP paths first.

    @return: the L{QuicTransport}.
    """
    connectors = serveQuic(node, endpoint, channel)
    transport = QuicTransport(*connectors)
    node.dialer.addTransport(transport)
    node.dialer.addTransport(TrackerNamedQuic(*connectors))
    return transport
