"""
QUIC over UDP as a transport (L{QuicTransport}): the paths of kind UDP,
each stream under the encrypted channel, a link over the peer's links
service and a transfer over its files service, from the node's own
socket or, with the option C{via}, from the socket a UDP punch met the
peer from (docs/architecture.md, "QUIC").  Which UDP paths are dialled,
and when, is the dialer's policy (L{twisted_bazaar.reach.ways.Quic}).
"""

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar.net.capabilities import IQuicTransport
from twisted_bazaar.transports.interface import NO_OPTIONS, ITransport
from twisted_bazaar.transports.path import UDP
from twisted_bazaar.transports.quic.connector import FILES as FILES_SERVICE, LINKS, QuicConnector
from twisted_bazaar.transports.relay.messages import FILES, NODE

__all__ = ["QuicTransport", "isQuic"]


def isQuic(link):
    """Whether link runs over QUIC on UDP, dialled, accepted or punched
    (for a relayed link: whether its connection to the relay does), as
    its node's operator is told (docs/protocol.md §12a) and its metrics
    count."""
    return IQuicTransport(link.transport, None) is not None


@implementer(ITransport)
class QuicTransport:
    """
    Dials and serves over a node's L{QuicEndpoint
    <twisted_bazaar.transports.quic.endpoint.QuicEndpoint>} (made before it
    listens: the service of the node's socket binds it,
    L{twisted_bazaar.daemon.quic.QuicService}).

    @ivar endpoint: the node's own QUIC endpoint.
    @ivar links: the L{QuicConnector} of its links service.
    @ivar files: the L{QuicConnector} of its files service.
    """

    kind = UDP

    def __init__(self, endpoint, channel, peerLog=None):
        self.endpoint = endpoint
        self.links = QuicConnector(endpoint, channel, LINKS, peerLog=peerLog)
        self.files = QuicConnector(endpoint, channel, FILES_SERVICE,
                                   peerLog=self.links.peerLog)

    def canDial(self, path):
        return path.kind == UDP

    def dial(self, path, expectedKey, protocolFactory, options=None):
        """Over the service of the options' purpose (links: L{NODE},
        transfers: L{FILES}), from the node's own socket or the options'
        C{via} (a punched one: a connector of that service over it, made
        for the dial; the socket's owner closes it; the dial fires once
        the channel is up, L{QuicConnector.connect}'s C{proven})."""
        options = NO_OPTIONS if options is None else options
        if options.purpose == NODE:
            connector = self.links
        elif options.purpose == FILES:
            connector = self.files
        else:
            return defer.fail(ValueError(f"QUIC carries no service for {options.purpose!r}"))
        if options.via is not None:
            connector = QuicConnector(options.via, connector.channel, connector.service,
                                      peerLog=connector.peerLog)
        # Over a punched socket, the dial waits for the channel: a path
        # that carried QUIC's handshake and then nothing is silent, which
        # its punch is told (L{twisted_bazaar.reach.ways.Quic}); before,
        # a transfer's channel timed out on it, its seller dropped
        # (tests/e2e/test_udppunched_live.py test_pathDies, at load).
        return connector.connect(path.host, path.port, protocolFactory(),
                                 expected=expectedKey, proven=options.via is not None)

    def listen(self, factory, service=LINKS):
        """Serve factory's protocols as the endpoint's ``service`` (its
        links, by default; L{FILES_SERVICE}: its transfers)."""
        connector = self.links if service == LINKS else self.files
        return connector.listen(factory)
