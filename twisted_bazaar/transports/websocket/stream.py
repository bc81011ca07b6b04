"""
A byte stream over WebSocket binary messages, both ends
(L{StreamServerFactory}, L{StreamClientFactory}): the protocol above
(a link under the encrypted channel, the tracker's) reads and writes
bytes, as over TCP, and never sees a message's bounds.

autobahn speaks WebSocket (RFC 6455).  Its own byte-stream wrapper
(``WrappingWebSocket*``) is not used: it also takes base64 in text
messages, offers compression (of sealed bytes, which do not compress,
and a bomb's way in), tells the protocol above it lost its connection
with no reason, and passes no producer on.  Here a connection speaks the
subprotocol L{SUBPROTOCOL} and binary messages only, each of at most
L{MESSAGE_BYTES}; autobahn's own timers are off, and the two handshakes'
timeouts run on the clock given (docs/protocol.md §2.4).  A server's
opening handshake passes the check of every HTTP port of the daemons
(L{twisted_bazaar.base.httphosts}: its ``Host``, no ``Origin``), and
each pong this end writes is charged to the account of the protocol it
carries, as that protocol's own bytes are (L{_Stream.onPing}).
"""

from http import HTTPStatus

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.protocol import WebSocketProtocol
from autobahn.websocket.types import ConnectingRequest, ConnectionDeny
from twisted.internet import defer
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IPushProducer, ITCPTransport, ITransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.forwarding import declaredBy, forward
from twisted_bazaar.base.httphosts import refusal
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.channel.session import MESSAGE_1_PREFIX, UPGRADE_REQUIRED
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.capabilities import IQueuedBeside, conformThrough
from twisted_bazaar.net.sendnow import unsent
from twisted_bazaar.transports.websocket.limits import (
    CLOSE_SECONDS, HANDSHAKE_BYTES, HANDSHAKE_SECONDS, MESSAGE_BYTES, OPENING)

__all__ = ["SUBPROTOCOL", "StreamClientFactory", "StreamServerFactory", "WebSocketFailed"]

#: The WebSocket subprotocol (``Sec-WebSocket-Protocol``) both ends
#: name: a byte stream of twisted-bazaar in binary messages.
SUBPROTOCOL = "bazaar"
#: What each end names itself in the HTTP handshake (no version).
SOFTWARE = "twisted-bazaar"
#: A normal closure (RFC 6455 §7.4.1).
_NORMAL = 1000
#: The most a control frame's head takes: 2 bytes, and a client's mask.
_CONTROL_HEAD = 6
#: What a server answers the encrypted channel's message 1 (a client
#: that dialled the port as a plain TCP one) before it closes: an HTTP
#: 426 whose reason phrase that client's opener says, HOST:PORT in it
#: standing for the address it dialled
#: (L{twisted_bazaar.channel.session.UpgradeRequired}).
UPGRADE_REQUIRED_ANSWER = (
    b"HTTP/1.1 " + UPGRADE_REQUIRED + b" this port speaks WebSocket, reached at "
    b"ws:HOST:PORT\r\nUpgrade: websocket\r\nConnection: close\r\n"
    b"Content-Length: 0\r\n\r\n")
#: Where a connection's normal close is said (at debug: a refusal or a
#: failure is said once, through the port's peer log).
_log = Logger()


class WebSocketFailed(ConnectionLost):
    """A WebSocket connection failed, or was refused, before or after it
    opened: why."""

    #: Whether the reason names the way out (L{_notWebSocket}): nothing
    #: need be said after it.
    saysWayOut = False

    def __str__(self):
        return self.args[0]


#: What the stream's transport passes on to the TCP transport under it.
_FORWARDED = declaredBy(ITCPTransport)


@implementer(ITransport, IPushProducer)
class StreamTransport:
    """
    The transport of the protocol carried: what it writes goes out in
    binary messages of at most L{MESSAGE_BYTES}; its close is
    WebSocket's; its producer, peer and host are the TCP connection's.
    """

    def __init__(self, websocket):
        self.websocket = websocket

    def __getattr__(self, name):
        # Only what a TCP transport declares, and not this class's own.
        if name == "websocket":
            raise AttributeError(name)
        return forward(self, self.websocket.transport, name, _FORWARDED)

    def __conform__(self, interface):
        return conformThrough(self, self.websocket.transport, interface)

    @property
    def disconnecting(self):
        return self.websocket.state != WebSocketProtocol.STATE_OPEN

    def write(self, data):
        websocket = self.websocket
        if websocket.state != WebSocketProtocol.STATE_OPEN:
            return
        size = MESSAGE_BYTES.default
        for start in range(0, len(data), size):
            websocket.sendMessage(bytes(data[start:start + size]), isBinary=True)

    def writeSequence(self, data):
        self.write(b"".join(data))

    def loseConnection(self):
        self.websocket.closeStream()

    def abortConnection(self):
        self.websocket.abortStream()

    def getPeer(self):
        return self.websocket.transport.getPeer()

    def getHost(self):
        return self.websocket.transport.getHost()

    def registerProducer(self, producer, streaming):
        self.websocket.producing(producer)
        self.websocket.transport.registerProducer(producer, streaming)

    def unregisterProducer(self):
        self.websocket.producing(None)
        self.websocket.transport.unregisterProducer()

    def pauseProducing(self):
        self.websocket.transport.pauseProducing()

    def resumeProducing(self):
        self.websocket.transport.resumeProducing()

    def stopProducing(self):
        self.loseConnection()


class _Unsaid:
    """A logger that says nothing (autobahn's lines: L{_Stream.log})."""

    def __getattr__(self, level):
        return _nothing


def _nothing(*args, **kwargs):
    pass


class _Stream:
    """
    What both ends do: connect the protocol carried once WebSocket is
    open, hand it each binary message's bytes, refuse a text message, and
    tell it why the connection ended.  The handshake and closing timers
    are owned here, and cancelled when the connection ends.

    @ivar carried: the protocol carried, once built, else None.
    """

    #: autobahn's own lines, which a peer's bytes would cause, unbounded:
    #: this end says why a connection ended once, through a peer log.
    log = _Unsaid()
    carried = None
    #: Whether the protocol carried dropped the connection (no failure).
    aborted = False
    #: Whether WebSocket opened.
    opened = False
    #: The producer the protocol carried registered (a link), or None.
    producer = None
    #: Whether the WebSocket closing handshake was done, with a normal
    #: code, whichever end began it.
    _clean = False
    _timer = None
    #: The opening handshake's bytes so far, until its end is found.
    _head = b""
    _why = None
    #: Whether the peer dropped the connection (no closing handshake, no
    #: doing of this end's): a dial that lost its race (``--ws-peer``
    #: beside TCP), a peer gone; no refusal.
    _peerDropped = False

    def connectionMade(self):
        super().connectionMade()
        self._timer = self.factory.clock.callLater(
            self.factory.handshakeSeconds, self._late,
            "the WebSocket opening handshake took more than "
            f"{self.factory.handshakeSeconds:g} s")

    def dataReceived(self, data):
        if self._head is not None and self.state == WebSocketProtocol.STATE_CONNECTING:
            why = self._headWrong(data)
            if why is not None:
                self._refuseHead(why)
                return
        super().dataReceived(data)

    def _refuseHead(self, why):
        """Refuse what the opening handshake began with, for ``why``."""
        self._drop(why)

    def _headWrong(self, data):
        """Why the opening handshake's bytes so far are refused, or None;
        once its end is seen within L{HANDSHAKE_BYTES}, nothing more is
        looked at (what follows it is WebSocket's).  How it starts is
        looked at first, so that a head that comes whole in one read is
        judged as one that comes in pieces."""
        limit = HANDSHAKE_BYTES.default
        self._head += data[:limit + 4]
        why = self._startWrong(self._head)
        if why is not None:
            return why
        if b"\r\n\r\n" in self._head[:limit + 4]:
            self._head = None
            return None
        if len(self._head) > limit:
            return f"the WebSocket opening handshake exceeds {limit} bytes"
        return None

    def _startWrong(self, head):
        """Why what the handshake starts with cannot be one, or None."""
        return None

    def abortStream(self):
        """The protocol carried drops the connection: its doing, no
        failure of WebSocket's (unless one came first)."""
        if self._why is None:
            self.aborted = True
        self.transport.abortConnection()

    def evict(self, why):
        """End the connection at once, for ``why``: its port needs its
        place (L{StreamServerFactory.buildProtocol})."""
        if self.transport is not None:
            self._drop(why)

    def _late(self, why):
        self._timer = None
        self._drop(why)

    def _drop(self, why):
        """End the connection at once, for ``why``."""
        if self._why is None:
            self._why = why
        self.transport.abortConnection()

    def _cancelTimer(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def onOpen(self):
        self._cancelTimer()
        self.opened = True
        self.carried.makeConnection(StreamTransport(self))

    def onMessage(self, payload, isBinary):
        if not isBinary:
            self._why = "the peer sent a text message: only binary ones carry the stream"
            self._fail_connection(WebSocketProtocol.CLOSE_STATUS_CODE_UNSUPPORTED_DATA,
                                  "binary messages only")
            return
        self.carried.dataReceived(payload)

    def producing(self, producer):
        """The protocol carried registered ``producer`` with the TCP
        transport (None: unregistered): what a pong is charged to."""
        self.producer = producer

    def onPing(self, payload):
        """
        Answer a ping with its pong, a frame of this end's own that the
        protocol carried never wrote: its bytes are charged to that
        protocol's account of what waits for the peer (a link's,
        L{IQueuedBeside}), which drops the connection once a peer that
        pings and does not read has filled it.  A protocol that keeps no
        such account (a file's transfer) has a pong sent only while the
        TCP connection holds less than a message unsent; past it the ping
        goes unanswered (RFC 6455 §5.5.3 lets a pong answer only the
        latest ping): a peer that does not read makes it queue no more.
        """
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        size = len(payload) + _CONTROL_HEAD
        producer = self.producer
        if IQueuedBeside.providedBy(producer):
            if not producer.queuedBeside(size):
                return
        elif unsent(self.transport) >= MESSAGE_BYTES.default:
            return
        self.sendPong(payload)

    def _fail_connection(self, code=WebSocketProtocol.CLOSE_STATUS_CODE_GOING_AWAY,
                         reason="going away"):
        # autobahn's way out of every breach of the protocol (a frame too
        # big, a bad opcode, an unmasked client frame...): its reason is
        # this end's why.
        if self._why is None:
            self._why = reason
        if self.state == WebSocketProtocol.STATE_OPEN:
            # Its closing handshake, bounded: autobahn's own timer is off.
            self._cancelTimer()
            self._timer = self.factory.clock.callLater(
                CLOSE_SECONDS.default, self._late, reason)
        super()._fail_connection(code, reason)

    def onClose(self, wasClean, code, reason):
        if wasClean and code in (_NORMAL, None):
            self._clean = True
        elif self._why is None and not self.aborted:
            self._peerDropped = not wasClean and not self.droppedByMe
            self._why = (reason or self.wasNotCleanReason
                         or f"WebSocket closed with code {code}")

    def closeStream(self):
        """Close as the protocol carried asked: WebSocket's closing
        handshake, the connection dropped if it is not over in time."""
        if self.state != WebSocketProtocol.STATE_OPEN:
            if self.state != WebSocketProtocol.STATE_CLOSED:
                self.transport.loseConnection()
            return
        self.sendClose(_NORMAL)
        self._cancelTimer()
        self._timer = self.factory.clock.callLater(
            CLOSE_SECONDS.default, self._late,
            f"the WebSocket closing handshake took more than {CLOSE_SECONDS.default:g} s")

    def connectionLost(self, reason):
        self._cancelTimer()
        super().connectionLost(reason)
        why = self._why
        if why is None and not self.aborted and not self._clean \
                and not reason.check(ConnectionDone):
            why = inWords(reason)
        if why is None and self._clean:
            # A server drops TCP at once after the closing handshake
            # (aborting it): the close was a normal one all the same.
            peer = self.transport.getPeer()
            _log.debug("websocket: the connection with {where} closed normally, "
                       "closed by {by}", where=hostPort(getattr(peer, "host", "?"),
                                                       getattr(peer, "port", "?")),
                       by="this end" if self.closedByMe else "the peer")
        carried, self.carried = self.carried, None
        if carried is not None and carried.transport is not None:
            carried.connectionLost(Failure(ConnectionDone() if why is None
                                           else WebSocketFailed(why)))
        self.ended(why if why is not None or self.opened
                   else "the connection closed before WebSocket opened")

    def ended(self, why):
        """The connection ended (``why``: None when it closed normally)."""


def _quiet(factory, server):
    """No timers of autobahn's own (they run on txaio's global loop, not
    the clock given), no compression, binary messages and frames of at
    most L{MESSAGE_BYTES}; a server speaks RFC 6455's version alone."""
    factory.setProtocolOptions(
        openHandshakeTimeout=0, closeHandshakeTimeout=0, autoPingInterval=0,
        maxFramePayloadSize=MESSAGE_BYTES.default,
        maxMessagePayloadSize=MESSAGE_BYTES.default, failByDrop=False)
    if server:
        # RFC 6455's version only: its Origin is the one header a page's
        # request always carries, which the check of every HTTP port
        # refuses (the drafts named it Sec-WebSocket-Origin).
        factory.setProtocolOptions(webStatus=False, versions=[13])
    else:
        factory.setProtocolOptions(serverConnectionDropTimeout=0)


class _ServerProtocol(_Stream, WebSocketServerProtocol):

    def _startWrong(self, head):
        if head.startswith(MESSAGE_1_PREFIX):
            return ("no WebSocket request: the encrypted channel's first message, "
                    "from a client that took this port for a plain TCP one "
                    "(answered 426)")
        if not b"GET ".startswith(head[:4]):
            return "no WebSocket request: it does not begin with GET"
        return None

    def _refuseHead(self, why):
        if self._head.startswith(MESSAGE_1_PREFIX):
            # Its opener reads the 426 as a WebSocket port's answer and
            # says to reach the port with ws: (issue 96: it was dropped,
            # and told at best to try tls:).
            self._why = why
            self.transport.write(UPGRADE_REQUIRED_ANSWER)
            self.transport.loseConnection()
            return
        super()._refuseHead(why)

    def onConnect(self, request):
        refused = refusal(self.factory.names, _headersOf(request))
        if refused is not None:
            code, self._why = refused
            raise ConnectionDeny(code, self._why)
        factory = self.factory.resources.get(request.path)
        if factory is None:
            self._why = f"no WebSocket resource {request.path!r} here"
            raise ConnectionDeny(ConnectionDeny.NOT_FOUND, self._why)
        if SUBPROTOCOL not in request.protocols:
            self._why = f"the client does not speak the subprotocol {SUBPROTOCOL!r}"
            raise ConnectionDeny(ConnectionDeny.BAD_REQUEST, self._why)
        self.carried = factory.buildProtocol(self.transport.getPeer())
        if self.carried is None:
            self._why = "refused by the service"
            raise ConnectionDeny(ConnectionDeny.SERVICE_UNAVAILABLE, self._why)
        return SUBPROTOCOL

    def onOpen(self):
        self.factory.opening.release(self)
        super().onOpen()

    def ended(self, why):
        self.factory.opening.release(self)
        if why is not None and self._peerDropped:
            # Not refused: the peer went (a dial of its that lost its race).
            _log.debug("websocket: {host} dropped its connection: {why}",
                       host=peerHost(self.transport) or "?", why=why)
        elif why is not None and self.factory.refused is not None and not self.aborted:
            self.factory.refused(self.transport.getPeer(), why)


def _headersOf(request):
    """``headers(name)`` of an autobahn request (its headers by lower-case
    name, a repeated one's values joined, a repeated ``Host`` or
    ``Origin`` already refused), as L{refusal} asks them."""
    given = request.headers

    def headers(name):
        value = given.get(name.decode("ascii"))
        return [] if value is None else [value]

    return headers


class StreamServerFactory(WebSocketServerFactory):
    """
    Serves each resource (the path of the WebSocket URL) with its own
    factory's protocols, to a request that passes the check every HTTP
    port of the daemons makes (L{refusal}: a ``Host`` it serves, no
    ``Origin``); a request for another path is refused (404).

    @ivar names: the L{ServedNames
        <twisted_bazaar.base.httphosts.ServedNames>} a request's ``Host``
        must name.
    @ivar resources: path -> the factory of its protocols.
    @ivar refused: told ``refused(address, why)`` of each connection that
        failed or was refused, or None.
    """

    protocol = _ServerProtocol
    noisy = False
    log = _Unsaid()

    def __init__(self, clock, resources, names, refused=None,
                 handshakeSeconds=HANDSHAKE_SECONDS.default):
        super().__init__(reactor=clock, protocols=[SUBPROTOCOL], server=SOFTWARE)
        self.clock = clock
        self.resources = resources
        self.names = names
        self.refused = refused
        self.handshakeSeconds = handshakeSeconds
        #: The connections still in their opening handshake (L{OPENING}).
        self.opening = Account.of(OPENING, oldest_first=True)
        _quiet(self, server=True)

    def buildProtocol(self, addr):
        """
        A protocol for the connection, or None (closed at once) when its
        address group holds its share of the port's connections still in
        their opening handshake (L{OPENING}).

        Once the port holds them all, a newcomer takes the place of the
        oldest handshake of the group holding the most, as long as that
        group keeps at least as many as the newcomer's will hold (the
        account's rule, L{Account}): a flood of silent handshakes from a
        few groups, which would otherwise fill the port and shut every
        other group out until its 10 s ran out, only ever fills its own
        share, and the handshakes it loses are its oldest, the nearest to
        their timeout and the likeliest to be silent on purpose.  A group
        at its own share is refused: its handshakes already under way
        are not cut for its newest.
        """
        group = addressGroup(getattr(addr, "host", "?"))
        victims = self.opening.makeRoom(group)
        if victims is None:
            if self.refused is not None:
                self.refused(addr, self._openingRefusal(group))
            return None
        for victim in victims:
            self.opening.release(victim)
            victim.evict("its WebSocket opening handshake was closed to make room for "
                         "a connection from another address group")
        protocol = super().buildProtocol(addr)
        self.opening.hold(protocol, group)
        return protocol

    def _openingRefusal(self, group):
        """Why a connection of group is refused a place in its opening
        handshake, for the peer log."""
        held, limit = self.opening.held(group), self.opening.group_limit
        if limit is not None and held >= limit:
            return (f"too many WebSocket connections in their opening handshake from "
                    f"its address group ({held})")
        return (f"too many WebSocket connections in their opening handshake "
                f"({self.opening.used}, the most), none of a group holding more")

    def startFactory(self):
        for factory in self.resources.values():
            factory.doStart()

    def stopFactory(self):
        for factory in self.resources.values():
            factory.doStop()


class _ClientProtocol(_Stream, WebSocketClientProtocol):

    #: The first bytes the server answered the opening handshake with
    #: (what came back, when it was not WebSocket: L{_notWebSocket}).
    _answer = b""
    #: Whether this end dropped the connection (a timer, a refusal).
    _droppedHere = False

    def connectionMade(self):
        self.carried = self.factory.carried.buildProtocol(self.transport.getPeer())
        super().connectionMade()
        if self.carried is None:
            self._drop("the protocol to carry was refused before WebSocket opened")

    def dataReceived(self, data):
        if self.state == WebSocketProtocol.STATE_CONNECTING and len(self._answer) < 200:
            self._answer += data[:200]
        super().dataReceived(data)

    def _drop(self, why):
        self._droppedHere = True
        super()._drop(why)

    def onConnecting(self, transport_details):
        # autobahn writes ``Host: HOST:PORT`` as is: an IPv6 host goes in
        # brackets (RFC 7230 5.4), or every server refuses it, 400.
        factory = self.factory
        return ConnectingRequest(
            host=f"[{factory.host}]" if ":" in factory.host else factory.host,
            port=factory.port, resource=factory.resource, headers=factory.headers,
            useragent=factory.useragent, origin=factory.origin,
            protocols=factory.protocols)

    def onConnect(self, response):
        if response.protocol != SUBPROTOCOL:
            self._why = (f"the server does not speak the subprotocol {SUBPROTOCOL!r}")
            self._fail_connection(WebSocketProtocol.CLOSE_STATUS_CODE_PROTOCOL_ERROR,
                                  self._why)

    def onOpen(self):
        super().onOpen()
        if self.carried is not None:
            self.factory.succeeded(self.carried)

    def ended(self, why):
        wrongPort = None
        if not self.opened and why is not None and not self._droppedHere:
            wrongPort = _notWebSocket(self._answer, self.factory)
        self.factory.failed(wrongPort or why, saysWayOut=wrongPort is not None)


def _notWebSocket(answer, factory):
    """
    Why a server that ended the connection before WebSocket opened, after
    answering ``answer`` (its first bytes), is no WebSocket port, with
    the way out; None if it is one that refused (a L{StreamServerFactory}
    names why in its status line, never in a standard phrase).  A port of
    another program (the tracker's ``--listen`` port drops the request
    unanswered; a web server answers a page or a standard error) is told
    apart so a ``ws:`` address at the wrong port says so, not only
    autobahn's words.
    """
    line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    version, _, status = line.partition(" ")
    code, _, phrase = status.partition(" ")
    if not answer:
        what = "it closed the connection without an answer"
    elif not version.startswith("HTTP/") or not code.isdigit():
        what = "its answer is no HTTP"
    elif code == "101":
        return None
    else:
        try:
            standard = HTTPStatus(int(code)).phrase
        except ValueError:
            standard = None
        if int(code) >= 400 and phrase != standard:
            return None
        what = f"it answered HTTP {status.strip()}"
    return (f"{hostPort(factory.host, factory.port)} answered, but not as a WebSocket port "
            f"({what}): is {factory.port} its --ws-port?")


class StreamClientFactory(WebSocketClientFactory):
    """
    One connection to a WebSocket URL, carrying a protocol of
    ``carried``'s: L{opened} fires with it once WebSocket opens, or fails
    with L{WebSocketFailed} (the server refused, is no WebSocket server,
    or did not answer in time).
    """

    protocol = _ClientProtocol
    noisy = False
    log = _Unsaid()

    def __init__(self, clock, url, carried, handshakeSeconds=HANDSHAKE_SECONDS.default):
        super().__init__(url, reactor=clock, protocols=[SUBPROTOCOL], useragent=SOFTWARE)
        self.clock = clock
        self.carried = carried
        self.handshakeSeconds = handshakeSeconds
        self.opened = defer.Deferred()
        _quiet(self, server=False)

    def succeeded(self, carried):
        """WebSocket opened, carrying ``carried``: L{opened} fires with it
        (once: a later word is too late)."""
        opened, self.opened = self.opened, None
        if opened is not None:
            opened.callback(carried)

    def failed(self, why, saysWayOut=False):
        """The connection ended before WebSocket opened, for ``why`` (or
        None: it closed): L{opened} fails with L{WebSocketFailed}."""
        opened, self.opened = self.opened, None
        if opened is not None:
            failure = WebSocketFailed(
                f"WebSocket to {self.url}: {why or 'closed before it opened'}")
            failure.saysWayOut = saysWayOut
            opened.errback(failure)
