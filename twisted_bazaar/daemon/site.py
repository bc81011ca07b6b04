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

Every request names the port by a name it serves, or is refused before
any resource is asked for it (L{twisted_bazaar.base.httphosts}: DNS
rebinding), whatever the port serves.

A daemon's web ports are under the rules its other ports are
(L{ConnectionGuard}): new connections per second per address group (the
node's L{RateLimit}), the connections held in an L{Account} shared
max-min fairly among groups with a bound in all (so a port holds a
bounded number of descriptors, which a tracker keeps apart from its
nodes'), and an absolute deadline for each request: a connection that
has not sent a whole request within L{REQUEST_TIMEOUT} seconds of
opening, or of its last answer, is closed, however many bytes it trickles
(Twisted's own timeout starts again with each byte).

No resource of theirs reads a request's body (they answer GET and HEAD),
so a body is kept in memory up to L{BODY_BYTES} and a longer one refused
413, the connection closed: twisted.web would write it to a temporary
file, as fast as a peer sends it, within the deadline gigabytes of disk.
A request line or head over twisted.web's bounds is answered 414 or 431
(L{twisted_bazaar.daemon.requesthead}), not dropped without a word.
"""

import functools
from io import BytesIO

from twisted.internet.interfaces import IProtocol
from twisted.logger import Logger, LogLevel
from twisted.python.components import proxyForInterface
from zope.interface import implementedBy
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.forwarding import declaredBy, forward
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.base.httphosts import whyRefused
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.daemon.requesthead import boundedProtocol
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.connections import CONNECTIONS_LIMIT, RateLimit, admitted
from twisted_bazaar.net.sendnow import unsent

#: Seconds a connection has to send a whole request, from its opening or
#: from the end of its last answer; an answer that goes on (an event
#: stream) is not timed.
REQUEST_TIMEOUT = 10.0

BODY_BYTES = declare(
    "web.body-bytes", 8192, "bytes",
    "body of one request to a daemon's web view or metrics port, kept in memory: "
    "a longer one is refused 413 and its connection closed", owner=__name__)

#: Why a request whose body is over L{BODY_BYTES} is refused.
_BODY_REFUSAL = b"this port takes no request body over %d bytes\n" % BODY_BYTES.default
#: What it is answered, before the close.
TOO_LARGE = (b"HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\n"
             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
             % (len(_BODY_REFUSAL), _BODY_REFUSAL))

#: What a client that does not speak HTTP is answered, before the close.
NOT_HTTP = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 31\r\nConnection: close\r\n\r\n"
            b"this is a web server: use HTTP\n")


def speaksHTTP(first):
    """Can a request start with this byte: printable ASCII, or an empty
    line's CR or LF?"""
    return 0x21 <= first < 0x7F or first in b"\r\n"


class ConnectionGuard:
    """
    The rules of one web port (the web view's, the metrics'): its
    connections' rate and account by address group, and each request's
    deadline.

    @ivar rates: new connections one address group may open a second.
    @ivar held: the open connections, by address group.
    """

    log = Logger()

    def __init__(self, clock, limit, rate=None, capacity=None, group_limit=None,
                 timeout=REQUEST_TIMEOUT, what="web connection"):
        """
        @param limit: the declared limit of the port's connections.
        @param rate: new connections one group may open a second (None:
            the declared L{CONNECTIONS_LIMIT}'s; 0: no bound).
        """
        self.clock = clock
        self.rates = RateLimit(clock, CONNECTIONS_LIMIT, rate)
        self.held = Account.of(limit, capacity, group_limit)
        self.timeout = timeout
        self.what = what
        self.peerLog = PeerLog(clock)

    def admit(self, addr, connection):
        """Whether a new connection from addr may be served: within its
        group's rate and share of the account (a group holding more gives
        way, its newest connection closed).  Charged if so."""
        if not admitted(self.rates, addr, self.peerLog, self.log, self.what):
            return False
        group = addressGroup(getattr(addr, "host", "") or "")
        victims = self.held.take(connection, group)
        if victims is None:
            self.peerLog.emit(self.log, LogLevel.info, group, "closed a {what} from "
                              "{source}: {why}", what=self.what, source=group,
                              why=self.held.refusal(group, "connections"))
            return False
        for victim in victims:
            victim.abort()
        return True


class _HTTPOnly(proxyForInterface(IProtocol, "_channel")):
    """An HTTP channel whose connection is answered L{NOT_HTTP} and closed
    if its first byte cannot start a request (L{speaksHTTP}), and, under
    a L{ConnectionGuard}, closed when a request is not whole by its
    deadline."""

    def __init__(self, channel, guard=None):
        self._channel = channel
        self._guard = guard
        self._first = True
        self._refused = False
        self._deadline = None
        self._answering = 0
        #: The bytes of an answer unsent at the last deadline (None: none).
        self._unsent = None
        self.transport = None

    def makeConnection(self, transport):
        self.transport = transport
        self._timeRequest()
        self._channel.makeConnection(transport)

    def _timeRequest(self):
        if self._guard is not None and self.transport is not None:
            self._deadline = self._guard.clock.callLater(self._guard.timeout,
                                                         self._expired)

    def _untime(self):
        if self._deadline is not None:
            if self._deadline.active():
                self._deadline.cancel()
            self._deadline = None

    def requestReceived(self):
        """A whole request came: its answer is not timed."""
        self._untime()
        self._answering += 1

    def answered(self, _=None):
        """An answer ended: the next request is timed."""
        self._answering -= 1
        if not self._answering and self.transport is not None:
            self._untime()
            self._unsent = None
            self._timeRequest()

    def _expired(self):
        """The deadline passed: close, unless an answer is still going out
        and went further since the last deadline (a slow reader, given a
        large asset, not a client that stopped reading)."""
        self._deadline = None
        left = unsent(self.transport)
        if left and (self._unsent is None or left < self._unsent):
            self._unsent = left
            self._timeRequest()
            return
        self.abort()

    def abort(self):
        """Close the connection at once (deadline passed, or given way)."""
        self._untime()
        if self.transport is not None:
            self.transport.abortConnection()

    def connectionLost(self, reason):
        self._untime()
        transport, self.transport = self.transport, None
        if self._guard is not None and transport is not None:
            self._guard.held.release(self)
        self._channel.connectionLost(reason)

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


#: Reason phrases twisted.web lacks: without one it says "421 Unknown
#: Status" (RFC 9110 §15.5.20 names it).
PHRASES = {421: b"Misdirected Request"}


class _TimedRequest(Request):
    """A request that tells its connection's L{_HTTPOnly} when it came
    whole, and when its answer ended; its status line says the phrases
    twisted.web lacks (L{PHRASES})."""

    #: The connection's L{_HTTPOnly}, if it is under a guard.
    guarded = None
    #: Bytes of body still taken (L{BODY_BYTES}); None once refused.
    _bodyLeft = BODY_BYTES.default

    def gotLength(self, length):
        """Keep the body in memory, never in a file; refuse it at once if
        it says it is longer than L{BODY_BYTES}."""
        self.content = BytesIO()
        if length is not None and length > self._bodyLeft:
            self._refuseBody()

    def handleContentChunk(self, data):
        """Keep what is within L{BODY_BYTES} (a chunked body says no length
        first); refuse the request past it, and drop what comes after."""
        if self._bodyLeft is None:
            return
        self._bodyLeft -= len(data)
        if self._bodyLeft < 0:
            self._refuseBody()
        else:
            self.content.write(data)

    def _refuseBody(self):
        self._bodyLeft = None
        self.content = BytesIO()
        self.channel.transport.write(TOO_LARGE)
        self.channel.loseConnection()

    def setResponseCode(self, code, message=None):
        super().setResponseCode(code, PHRASES.get(code) if message is None else message)

    def process(self):
        guarded = self.guarded
        if guarded is not None:
            guarded.requestReceived()
            self.notifyFinish().addBoth(guarded.answered)
        return super().process()


class Refusal(Resource):
    """A request refused before its resource is asked for (its Host, and
    why): plain text, saying why."""

    isLeaf = True

    def __init__(self, code, why):
        super().__init__()
        self.code = code
        self.why = why

    def render(self, request):
        request.setResponseCode(self.code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return self.why.encode("utf-8") + b"\n"


def plainRefusal(request, code, why):
    """A L{Refusal}, whatever the request."""
    return Refusal(code, why)


class QuietSite(Site):
    """A Site that answers only the names it serves, logs each request at
    debug, and shows no traceback to a client; under a L{ConnectionGuard}
    if given one."""

    requestFactory = _TimedRequest
    protocol = boundedProtocol

    def __init__(self, resource, names, guard=None, refusal=plainRefusal, **kwargs):
        """
        @param names: the L{ServedNames
            <twisted_bazaar.base.httphosts.ServedNames>} its requests must
            name (L{whyRefused}).
        @param refusal: ``refusal(request, code, why)``, the resource that
            answers a request refused so (L{plainRefusal} by default).
        """
        super().__init__(resource, **kwargs)
        self.names = names
        self.guard = guard
        self.refusal = refusal

    def getResourceFor(self, request):
        """The request's resource, or its refusal if its Host is not one
        this site answers (L{whyRefused}): no resource is asked then."""
        refused = whyRefused(self.names, request)
        if refused is not None:
            request.site = self
            return self.refusal(request, *refused)
        return super().getResourceFor(request)

    noisy = False
    displayTracebacks = False
    #: Where the access lines go (C{Site.log} is the access-log method).
    accessLog = Logger()

    def buildProtocol(self, addr):
        channel = super().buildProtocol(addr)
        guarded = _HTTPOnly(channel, self.guard)
        if self.guard is None:
            return guarded
        if not self.guard.admit(addr, guarded):
            return None

        def timedRequest(*args, **kwargs):
            request = self.requestFactory(*args, **kwargs)
            request.guarded = guarded
            return request

        channel.requestFactory = timedRequest
        return guarded

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
                             uri=withoutSecrets(request.uri).decode("ascii", "replace"),
                             code=request.code)


def withoutSecrets(uri):
    """A request's path as a log line shows it: a query's ``token`` (the
    web view's operator token, in the link to its page) shown as ``…``,
    never written to a log."""
    path, mark, query = uri.partition(b"?")
    if not mark:
        return uri
    shown = [b"token=..." if part.split(b"=", 1)[0] == b"token" else part
             for part in query.split(b"&")]
    return path + b"?" + b"&".join(shown)
