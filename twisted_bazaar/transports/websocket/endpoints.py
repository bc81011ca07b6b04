"""
Twisted endpoints of the stream over WebSocket: a client endpoint that
connects a protocol to a WebSocket URL over another endpoint (TCP), and
a server endpoint that serves a factory at a resource of a WebSocket
port; both compose with the encrypted channel's endpoints
(L{twisted_bazaar.net.encrypted}) as they do over TCP, and both are the
``ws:`` endpoint strings (L{parser}).
"""

from twisted.internet import defer
from twisted.internet.interfaces import IStreamClientEndpoint, IStreamServerEndpoint
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.transports.websocket.limits import HANDSHAKE_SECONDS
from twisted_bazaar.transports.websocket.stream import StreamClientFactory, StreamServerFactory

__all__ = ["WebSocketClientEndpoint", "WebSocketServerEndpoint", "url", "ROOT"]

#: The resource a tracker's WebSocket port serves it at, and a node's
#: its links.
ROOT = "/"


def url(host, port, resource=ROOT):
    """The WebSocket URL of a resource at host:port (an IPv6 address in
    brackets)."""
    return f"ws://{hostPort(host, port)}{resource}"


@implementer(IStreamClientEndpoint)
class WebSocketClientEndpoint:
    """
    Connects a protocol to ``resource`` at host:port over ``endpoint``:
    L{connect}'s Deferred fires with it once WebSocket is open, or fails
    with why not (L{WebSocketFailed
    <twisted_bazaar.transports.websocket.stream.WebSocketFailed>}, or
    the endpoint's own failure); cancelling it gives the connection up.
    """

    def __init__(self, clock, endpoint, host, port, resource=ROOT,
                 handshakeSeconds=HANDSHAKE_SECONDS.default):
        self.clock = clock
        self.endpoint = endpoint
        self.url = url(host, port, resource)
        self.handshakeSeconds = handshakeSeconds

    def connect(self, factory):
        websocket = StreamClientFactory(self.clock, self.url, factory,
                                        self.handshakeSeconds)
        connected = []

        def cancel(d):
            if connected:
                connected[0].transport.abortConnection()
            else:
                connecting.cancel()

        d = defer.Deferred(cancel)

        def fire(result, how):
            if not d.called:
                how(result)

        connecting = self.endpoint.connect(websocket)
        connecting.addCallbacks(connected.append, fire, errbackArgs=(d.errback,))
        websocket.opened.addCallbacks(fire, fire, callbackArgs=(d.callback,),
                                      errbackArgs=(d.errback,))
        return d


@implementer(IStreamServerEndpoint)
class WebSocketServerEndpoint:
    """
    Serves a factory's protocols at ``resource`` of a WebSocket port
    listening on ``endpoint`` (TCP) to a request whose ``Host`` names it
    by one of ``names`` (a L{ServedNames
    <twisted_bazaar.base.httphosts.ServedNames>}, told the address it is
    bound to once it listens) and that carries no ``Origin``; a request
    for another resource, or one that is no WebSocket request, is
    refused.

    @param refused: told ``refused(address, why)`` of each connection
        refused or failed, or None.
    """

    def __init__(self, clock, endpoint, names, resource=ROOT, refused=None):
        self.clock = clock
        self.endpoint = endpoint
        self.names = names
        self.resource = resource
        self.refused = refused

    def listen(self, factory):
        listening = self.endpoint.listen(
            StreamServerFactory(self.clock, {self.resource: factory}, self.names,
                                self.refused))
        return listening.addCallback(self._bound)

    def _bound(self, port):
        self.names.listening(port)
        return port
