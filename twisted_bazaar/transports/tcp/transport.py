"""
TCP as a transport (L{TcpTransport}): the paths a peer is dialled at over
TCP (direct, LAN, router-mapped), under the connector's channel (TCP in a
daemon, the memory network in a test or a simulation), and, with the
option C{fromPort}, from a local port bound for reuse, as a punch's
simultaneous open dials (L{twisted_bazaar.transports.tcp.fromport}).
"""

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.transports.interface import NO_OPTIONS, ITransport
from twisted_bazaar.transports.path import DIRECT, KINDS

__all__ = ["TcpTransport"]


@implementer(ITransport)
class TcpTransport:
    """
    Dials over a connector (an L{IConnector
    <twisted_bazaar.transports.connector.IConnector>}), and from a port by
    its punch dialler.

    @ivar connector: the connector it dials and listens through.
    @ivar fromPort: what dials from a port (a
        L{twisted_bazaar.transports.tcp.fromport.PunchDialer}, or the
        memory network's), or None: a node that punches none.
    """

    kind = DIRECT
    __slots__ = ("connector", "fromPort")

    def __init__(self, connector, fromPort=None):
        self.connector = connector
        self.fromPort = fromPort

    def canDial(self, path):
        return KINDS.carrierOf(path.kind) == DIRECT and path.relay is None

    def dial(self, path, expectedKey, protocolFactory, options=None):
        options = NO_OPTIONS if options is None else options
        if options.pin is not None:
            return defer.fail(ValueError(f"{hostPort(path.host, path.port)}: a direct dial checks "
                                         "a key it expects, never a pin"))
        if options.fromPort is not None:
            if self.fromPort is None:
                return defer.fail(ValueError(f"{hostPort(path.host, path.port)}: this node dials "
                                             "from no chosen port (it punches none)"))
            return self.fromPort.dial(options.fromPort, path.host, path.port,
                                      protocolFactory(), options.opener, expectedKey)
        if expectedKey is None:
            return self.connector.connect(path.host, path.port, protocolFactory())
        return self.connector.connect(path.host, path.port, protocolFactory(),
                                      expected=expectedKey)

    def listen(self, factory):
        return self.connector.listen(factory)
