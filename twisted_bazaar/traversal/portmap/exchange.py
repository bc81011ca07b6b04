"""
One question to a router over UDP and its answer (NAT-PMP and PCP, RFC
6886 §3.1, RFC 6887 §8.1.1): sent to the gateway's port, sent again after
250 ms, then 500 ms, doubling, up to a few tries, and the first datagram
from there that answers it ends the wait.  The socket and every timer
belong to the exchange, and go when it ends or is cancelled.
"""

from twisted.internet import defer
from twisted.internet.protocol import DatagramProtocol

from twisted_bazaar.traversal.portmap.errors import MappingFailed

#: The port NAT-PMP and PCP servers listen on (RFC 6886 §3, RFC 6887 §19.1).
SERVER_PORT = 5351
#: Seconds before the first resend, doubled each time, and the tries in all:
#: 0.25 + 0.5 + 1 + 2 = 3.75 s before a silent router is given up.
FIRST_WAIT = 0.25
TRIES = 4
#: The largest datagram either protocol answers with (RFC 6887 §7: 1100).
LARGEST_ANSWER = 1100


class Exchange(DatagramProtocol):
    """
    Sends ``request`` to ``server`` until ``parse`` takes an answer.

    ``parse(data)`` returns the answer, None for a datagram that answers
    another question (ignored), or raises L{MappingFailed} (the exchange
    fails with it: a hostile or broken router is not waited out).
    """

    def __init__(self, clock, server, request, parse, what, tries=TRIES,
                 first_wait=FIRST_WAIT):
        self.clock = clock
        self.server = server
        self.request = request
        self.parse = parse
        self.what = what
        self.tries = tries
        self.wait = first_wait
        self.sent = 0
        self.deferred = defer.Deferred(canceller=lambda _: self._end())
        self._timer = None

    def startProtocol(self):
        try:
            self.transport.connect(*self.server)
        except Exception as e:  # a bad address: said, not raised
            self._fail(f"{self.what}: cannot send to {self.server[0]}: {e}")
            return
        self._send()

    def _send(self):
        self._timer = None
        if self.sent == self.tries:
            self._fail(f"{self.what}: no answer from {self.server[0]}:{self.server[1]} "
                       f"after {self.sent} tries")
            return
        self.sent += 1
        try:
            self.transport.write(self.request)
        except OSError as e:
            self._fail(f"{self.what}: cannot send to {self.server[0]}: {e}")
            return
        self._timer = self.clock.callLater(self.wait, self._send)
        self.wait *= 2

    def datagramReceived(self, data, address):
        if self.deferred.called:
            return
        try:
            if len(data) > LARGEST_ANSWER:
                raise MappingFailed(f"{self.what}: {self.server[0]} answered "
                                    f"{len(data)} bytes, more than any answer "
                                    f"({LARGEST_ANSWER})")
            answer = self.parse(data)
        except MappingFailed as e:
            self._end()
            self.deferred.errback(e)
            return
        if answer is not None:
            self._end()
            self.deferred.callback(answer)

    def connectionRefused(self):
        self._fail(f"{self.what}: nothing listens at {self.server[0]}:"
                   f"{self.server[1]} (port unreachable)")

    def _fail(self, why):
        if self.deferred.called:
            return
        self._end()
        self.deferred.errback(MappingFailed(why))

    def _end(self):
        """The timer and the socket go (on an answer, a failure, or a
        cancel)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.stopListening()


def ask(clock, listenUDP, server, request, parse, what, **kw):
    """Run an L{Exchange} on a socket of its own (``listenUDP(protocol)``,
    the reactor's listenUDP on port 0): a Deferred of the answer, which
    cancelling ends."""
    exchange = Exchange(clock, server, request, parse, what, **kw)
    try:
        listenUDP(exchange)
    except Exception as e:  # no socket to be had
        return defer.fail(MappingFailed(f"{what}: no UDP socket: {e}"))
    return exchange.deferred
