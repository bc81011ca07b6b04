"""
The ``ws:`` endpoint strings, for Twisted's C{clientFromString} and
C{serverFromString} (found through the plugin
``twisted/plugins/bazaar_websocket.py``): ``ws:HOST:PORT`` (or
``ws:host=HOST:port=PORT``, with ``path=/RESOURCE`` and ``timeout=``
seconds) connects to a WebSocket port, as ``--tracker ws:HOST:PORT``
does; ``ws:PORT`` (``interface=`` as for ``tcp:``) listens for one.
Connections run plain: the daemon seals them with its channel, as it
does a ``tcp:`` endpoint's.
"""

from twisted.internet.endpoints import HostnameEndpoint, TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.internet.abstract import isIPv6Address
from twisted.internet.interfaces import (
    IStreamClientEndpointStringParserWithReactor, IStreamServerEndpointStringParser)
from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.transports.websocket.endpoints import (
    ROOT, WebSocketClientEndpoint, WebSocketServerEndpoint)
from twisted_bazaar.transports.websocket.transport import CONNECT_SECONDS

__all__ = ["WebSocketClientParser", "WebSocketServerParser"]

PREFIX = "ws"


def _port(text):
    try:
        port = int(text)
    except (TypeError, ValueError):
        raise ValueError(f"ws: port {text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"ws: port {port} is not in 0 ... 65535")
    return port


def _resource(text):
    if not text.startswith("/"):
        raise ValueError(f"ws: path {text!r} does not start with /")
    return text


@implementer(IPlugin, IStreamClientEndpointStringParserWithReactor)
class WebSocketClientParser:
    prefix = PREFIX

    def parseStreamClient(self, reactor, host=None, port=None, path=ROOT,
                          timeout=CONNECT_SECONDS, **unknown):
        if unknown:
            raise ValueError(f"ws: unknown argument {sorted(unknown)[0]!r}")
        if not host or port is None:
            raise ValueError("ws: wants a host and a port, as in ws:HOST:PORT")
        port = _port(port)
        return WebSocketClientEndpoint(
            reactor, HostnameEndpoint(reactor, host, port, timeout=float(timeout)),
            host, port, _resource(path))


@implementer(IPlugin, IStreamServerEndpointStringParser)
class WebSocketServerParser:
    prefix = PREFIX

    def parseStreamServer(self, reactor, port=None, interface="", path=ROOT, **unknown):
        if unknown:
            raise ValueError(f"ws: unknown argument {sorted(unknown)[0]!r}")
        if port is None:
            raise ValueError("ws: wants a port, as in ws:443")
        kind = TCP6ServerEndpoint if isIPv6Address(interface) else TCP4ServerEndpoint
        return WebSocketServerEndpoint(
            reactor, kind(reactor, _port(port), interface=interface), _resource(path))
