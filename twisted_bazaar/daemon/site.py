"""
L{QuietSite}: a twisted.web Site whose access lines are debug lines, and
which answers a client that does not speak HTTP at once.

A daemon's web view and metrics are asked every few seconds (a browser's
pages and assets, every Prometheus scrape): an access line at info for
each would drown what the market does.  With ``--verbose`` they show.

A request starts with its method (printable ASCII), after at most some
empty lines.  A client whose first byte is anything else (a binary
protocol: ``bazaar --tracker`` given the web view's port, whose channel
opens with a length) is answered ``400`` and the connection closed at
once, rather than left waiting for a line end that never comes: it can
tell the user that a web server answered (L{twisted_bazaar.channel.session}).
"""

import functools

from twisted.internet.interfaces import IProtocol
from twisted.logger import Logger
from twisted.python.components import proxyForInterface
from zope.interface import implementedBy
from twisted.web.server import Site

from twisted_bazaar.base.forwarding import declaredBy, forward

#: What a client that does not speak HTTP is answered, before the close.
NOT_HTTP = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 31\r\nConnection: close\r\n\r\n"
            b"this is a web server: use HTTP\n")


def speaksHTTP(first):
    """Can a request start with this byte: printable ASCII, or an empty
    line's CR or LF?"""
    return 0x21 <= first < 0x7F or first in b"\r\n"


class _HTTPOnly(proxyForInterface(IProtocol, "_channel")):
    """An HTTP channel whose connection is answered L{NOT_HTTP} and closed
    if its first byte cannot start a request (L{speaksHTTP})."""

    def __init__(self, channel):
        self._channel = channel
        self._first = True
        self._refused = False
        self.transport = None

    def makeConnection(self, transport):
        self.transport = transport
        self._channel.makeConnection(transport)

    def dataReceived(self, data):
        if self._first:
            self._first = False
            if not speaksHTTP(data[0]):
                self._refused = True
                self.transport.write(NOT_HTTP)
                self.transport.loseConnection()
        if not self._refused:
            self._channel.dataReceived(data)

    def __getattr__(self, name):
        # What the channel's interfaces declare beyond IProtocol (a
        # logging context's logPrefix, the negotiated protocol), and
        # nothing else.
        channel = self.__dict__["_channel"]
        return forward(self, channel, name, _declared(type(channel)))


@functools.cache
def _declared(cls):
    """The names the interfaces a channel's class implements declare."""
    return declaredBy(*implementedBy(cls).flattened())


class QuietSite(Site):
    """A Site that logs each request at debug, and shows no traceback to
    a client."""

    noisy = False
    displayTracebacks = False
    #: Where the access lines go (C{Site.log} is the access-log method).
    accessLog = Logger()

    def buildProtocol(self, addr):
        return _HTTPOnly(super().buildProtocol(addr))

    def startFactory(self):
        """No access log file to write dates into: none of the clock that
        twisted.web keeps for them (a timer every second)."""

    def stopFactory(self):
        pass

    def log(self, request):
        client = request.getClientAddress()
        self.accessLog.debug("{client} {method} {uri} {code}",
                             client=getattr(client, "host", "-"),
                             method=request.method.decode("ascii", "replace"),
                             uri=request.uri.decode("ascii", "replace"),
                             code=request.code)
