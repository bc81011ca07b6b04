"""
The node's UDP socket for port mapping, and one question to a router over
it and its answer (NAT-PMP and PCP, RFC 6886 §3.1, RFC 6887 §8.1.1): sent
to the gateway's port, sent again after 250 ms, then 500 ms, doubling, up
to a few tries, and the first datagram from there that answers it ends
the wait.  Every timer belongs to its exchange, and goes when it ends or
is cancelled.

One socket serves every question and search of a node's port mapping at
once (L{Datagrams}), opened when the first begins and closed when the
last ends: Twisted logs each UDP socket's opening and closing, and a
socket a question would be two lines each.
"""

from twisted.internet import defer
from twisted.internet.protocol import DatagramProtocol

from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed

#: The port NAT-PMP and PCP servers listen on (RFC 6886 §3, RFC 6887 §19.1).
SERVER_PORT = 5351
#: Seconds before the first resend, doubled each time, and the tries in all:
#: 0.25 + 0.5 + 1 + 2 = 3.75 s before a silent router is given up.
FIRST_WAIT = 0.25
TRIES = 4
#: The largest datagram taken: PCP's largest (RFC 6887 §7: 1100 bytes) and
#: an SSDP answer (a few hundred bytes) fit; anything larger is refused
#: unread.
LARGEST_DATAGRAM = 2048


class Datagrams:
    """
    One UDP socket (``listenUDP(protocol)``, the reactor's listenUDP on
    port 0), open while some L{consumers} use it: each datagram goes to
    every consumer, which takes what answers it.
    """

    def __init__(self, clock, listenUDP):
        self.clock = clock
        self.listenUDP = listenUDP
        self.consumers = set()
        #: The socket while open (a new protocol each: a socket closed
        #: ends a tick later, when the next may be open already).
        self.port = None
        #: The close of the socket, due once nothing uses it.
        self._closing = None

    def add(self, consumer):
        """consumer (with ``datagramReceived(data, address)``) hears every
        datagram from now on; the socket opens if it is not open (OSError
        or CannotListenError if it cannot)."""
        if self._closing is not None:
            self._closing.cancel()
            self._closing = None
        if self.port is None:
            self.port = self.listenUDP(_Socket(self))
        self.consumers.add(consumer)

    def remove(self, consumer):
        """consumer hears nothing more; once none is left, the socket
        closes, at the end of this turn of the reactor (the next protocol
        tried, which starts as one fails, keeps it)."""
        self.consumers.discard(consumer)
        if not self.consumers and self.port is not None and self._closing is None:
            self._closing = self.clock.callLater(0, self._close)

    def _close(self):
        self._closing = None
        port, self.port = self.port, None
        port.stopListening()

    def write(self, data, address):
        self.port.write(data, address)

    def datagramReceived(self, data, address):
        if len(data) > LARGEST_DATAGRAM:
            return
        for consumer in list(self.consumers):
            consumer.datagramReceived(data, address)


class _Socket(DatagramProtocol):
    """The protocol of one socket of L{Datagrams}: hands it what comes."""

    noisy = False

    def __init__(self, datagrams):
        self.datagrams = datagrams

    def logPrefix(self):
        """What Twisted's lines of the socket opening name it by."""
        return "port mapping"

    def datagramReceived(self, data, address):
        if self.datagrams.port is self.transport:
            self.datagrams.datagramReceived(data, address)


class Exchange:
    """
    Sends ``request`` to ``server`` through ``datagrams`` until ``parse``
    takes an answer from there.

    ``parse(data)`` returns the answer, None for a datagram that answers
    another question (ignored), or raises L{MappingFailed} (the exchange
    fails with it: a hostile or broken router is not waited out).
    """

    def __init__(self, clock, datagrams, server, request, parse, what, tries=TRIES,
                 first_wait=FIRST_WAIT):
        self.clock = clock
        self.datagrams = datagrams
        self.server = server
        self.request = request
        self.parse = parse
        self.what = what
        self.tries = tries
        self.wait = first_wait
        self.sent = 0
        self.deferred = defer.Deferred(canceller=lambda _: self._end())
        self._timer = None

    def start(self):
        try:
            self.datagrams.add(self)
        except Exception as e:  # no socket to be had
            self._fail(f"{self.what}: no UDP socket: {e}")
            return self.deferred
        self._send()
        return self.deferred

    def _send(self):
        self._timer = None
        if self.sent == self.tries:
            self._fail(f"{self.what}: no answer from {self.server[0]}:{self.server[1]} "
                       f"after {self.sent} tries")
            return
        self.sent += 1
        try:
            self.datagrams.write(self.request, self.server)
        except OSError as e:
            self._fail(f"{self.what}: cannot send to {self.server[0]}: {e}")
            return
        self._timer = self.clock.callLater(self.wait, self._send)
        self.wait *= 2

    def datagramReceived(self, data, address):
        if self.deferred.called or tuple(address[:2]) != self.server:
            return
        try:
            answer = self.parse(data)
        except MappingFailed as e:
            self._end()
            self.deferred.errback(e)
            return
        if answer is not None:
            self._end()
            self.deferred.callback(answer)

    def _fail(self, why):
        if self.deferred.called:
            return
        self._end()
        self.deferred.errback(MappingFailed(why))

    def _end(self):
        """The timer goes, and the exchange stops hearing datagrams (on an
        answer, a failure, or a cancel)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self.datagrams.remove(self)


def ask(clock, datagrams, server, request, parse, what, **kw):
    """Run an L{Exchange}: a Deferred of the answer, which cancelling
    ends."""
    return Exchange(clock, datagrams, server, request, parse, what, **kw).start()
