"""
What an operator types for WebSocket, read: the ``ws:`` endpoint
strings, for Twisted's C{clientFromString} and C{serverFromString}
(found through the plugin ``twisted/plugins/bazaar_websocket.py``), and
``--ws-peer`` (L{parsePeer}).  ``ws:HOST:PORT`` (or
``ws:host=HOST:port=PORT``, with ``path=/RESOURCE`` and ``timeout=``
seconds) connects to a WebSocket port, as ``--tracker ws:HOST:PORT``
does; ``ws:PORT`` (``interface=`` as for ``tcp:``) listens for one.
Connections run plain: the daemon seals them with its channel, as it
does a ``tcp:`` endpoint's.

Light on purpose: twistd imports every plugin module to find its
daemons, and the options read these words, so autobahn (0.4 s to
import) is loaded only when an endpoint is made.
"""

from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.interfaces import (
    IStreamClientEndpointStringParserWithReactor, IStreamServerEndpointStringParser)
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.wire.ids import isKeyed, parseWireId

__all__ = ["WebSocketClientParser", "WebSocketServerParser", "parsePeer", "PREFIX"]

#: The endpoint strings' kind.
PREFIX = "ws"


def _port(text):
    try:
        port = int(text)
    except (TypeError, ValueError):
        raise ValueError(f"ws: port {text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"ws: port {port} is not in 0 ... 65535")
    return port


def _seconds(text):
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"ws: timeout {text!r} is not a number of seconds") from None
    if not 0 < seconds <= 3600:
        raise ValueError(f"ws: timeout {seconds:g} is not in (0, 3600] seconds")
    return seconds


def _resource(text):
    if not text.startswith("/"):
        raise ValueError(f"ws: path {text!r} does not start with /")
    return text


@implementer(IPlugin, IStreamClientEndpointStringParserWithReactor)
class WebSocketClientParser:
    prefix = PREFIX

    def parseStreamClient(self, reactor, host=None, port=None, path=None, timeout=None,
                          **unknown):
        from twisted.internet.endpoints import HostnameEndpoint

        from twisted_bazaar.transports.websocket.endpoints import (
            ROOT, WebSocketClientEndpoint)
        from twisted_bazaar.transports.websocket.transport import CONNECT_SECONDS
        if unknown:
            raise ValueError(f"ws: unknown argument {sorted(unknown)[0]!r}")
        if not host or port is None:
            raise ValueError("ws: wants a host and a port, as in ws:HOST:PORT")
        port = _port(port)
        return WebSocketClientEndpoint(
            reactor, HostnameEndpoint(reactor, host, port,
                                      timeout=CONNECT_SECONDS if timeout is None
                                      else _seconds(timeout)),
            host, port, _resource(ROOT if path is None else path))


@implementer(IPlugin, IStreamServerEndpointStringParser)
class WebSocketServerParser:
    prefix = PREFIX

    def parseStreamServer(self, reactor, port=None, interface="", path=None, **unknown):
        from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint

        from twisted_bazaar.base.httphosts import ServedNames
        from twisted_bazaar.transports.websocket import WHAT
        from twisted_bazaar.transports.websocket.endpoints import (
            ROOT, WebSocketServerEndpoint)
        if unknown:
            raise ValueError(f"ws: unknown argument {sorted(unknown)[0]!r}")
        if port is None:
            raise ValueError("ws: wants a port, as in ws:443")
        kind = TCP6ServerEndpoint if isIPv6Address(interface) else TCP4ServerEndpoint
        return WebSocketServerEndpoint(
            reactor, kind(reactor, _port(port), interface=interface),
            ServedNames(interface, what=WHAT), _resource(ROOT if path is None else path))


def parsePeer(text):
    """
    ``ID=HOST:PORT`` of ``--ws-peer``: (node id, host, port).

    @raise ValueError: with what to give instead.
    """
    peer_id, _, where = text.partition("=")
    host, _, port = where.rpartition(":")
    node_id = parseWireId(peer_id.strip().lower())
    if node_id is None or not isKeyed(node_id):
        raise ValueError(f"{text}: ID is a node's id, its 32 hex digits "
                         "(as `bazaar status` shows it)")
    host = host.strip("[]")
    if not (isIPAddress(host) or isIPv6Address(host)) or not port.isdigit() \
            or not 0 < int(port) < 65536:
        raise ValueError(f"{text}: give ID=HOST:PORT, HOST an IP address, "
                         "PORT its WebSocket port")
    return node_id, host, int(port)
