"""
L{BoundedChannel}: twisted.web's HTTP channel, which answers a request
whose head is over its bounds with a status that says so, and one line of
why, before it closes the connection.

twisted.web takes a line of at most C{MAX_LENGTH} bytes and a head (the
request line and its headers) of at most C{totalHeadersSize}, both set
here to L{HEAD_BYTES}.  Past the first it drops the connection without a word (a browser or ``curl`` given
a long URL shows no answer at all), past the second it says a bare
``400``.  Here a request line too long is answered ``414 URI Too Long``
and a head too long ``431 Request Header Fields Too Large`` (RFC 9110
§15.5.15, RFC 6585 §5), each with a plain-text line of the bound; the
daemon logs it at debug only, as it does each request (a client sends it
as often as it likes).
"""

from twisted.logger import Logger
from twisted.web.http import HTTPChannel, _GenericHTTPChannelProtocol

from twisted_bazaar.base.limitregistry import declare

HEAD_BYTES = declare(
    "web.head-bytes", 16384, "bytes",
    "request line and headers of one request to a daemon's web view or metrics port: "
    "a longer request line is refused 414, longer headers 431, and the connection closed",
    owner=__name__)


def _refusal(status, why):
    body = why + b"\n"
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))


#: What a request line over L{HEAD_BYTES} is answered.
URI_TOO_LONG = _refusal(b"414 URI Too Long", b"this port takes a request line of at most "
                        b"%d bytes" % HEAD_BYTES.default)
#: What a head over L{HEAD_BYTES} is answered.
HEAD_TOO_LARGE = _refusal(b"431 Request Header Fields Too Large",
                          b"this port takes a request line and headers of at most "
                          b"%d bytes in all" % HEAD_BYTES.default)


class BoundedChannel(HTTPChannel):
    """An HTTP channel that says why it refuses a head too long
    (L{URI_TOO_LONG}, L{HEAD_TOO_LARGE}) rather than drop the connection."""

    log = Logger()
    MAX_LENGTH = totalHeadersSize = HEAD_BYTES.default

    def _inRequestLine(self):
        # twisted.web counts a head's bytes from its request line on, and
        # sets the count to 0 when the head is whole.
        return self._receivedHeaderSize == 0

    def lineLengthExceeded(self, line):
        self._refuse(URI_TOO_LONG if self._inRequestLine() else HEAD_TOO_LARGE)

    def lineReceived(self, line):
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._refuse(URI_TOO_LONG if self._inRequestLine() else HEAD_TOO_LARGE)
            return
        super().lineReceived(line)

    def _refuse(self, answer):
        peer = self.transport.getPeer()
        self.log.debug("{client} refused: {status}", client=getattr(peer, "host", "-"),
                       status=answer.split(b"\r\n", 1)[0][9:].decode("ascii"))
        self.transport.write(answer)
        self.loseConnection()


def boundedProtocol(factory):
    """What an HTTP factory's C{protocol} builds: twisted.web's wrapper
    (which would switch to HTTP/2 if one were negotiated) around a
    L{BoundedChannel}."""
    return _GenericHTTPChannelProtocol(BoundedChannel())
