"""
The buyer's side of the transfer protocol: L{TransferClient} asks a
seller's transfer port for a file's description (L{TransferClient.head})
and for byte ranges (L{TransferClient.get}), and hands each range's bytes
to a sink as they arrive, never holding more than the transport gives it.

On a connection over the encrypted channel, the client first asks the
seller to switch the channel to AES-256-GCM (docs/protocol.md §19.1),
which costs about a fifth of ChaCha20-Poly1305's CPU on a CPU with AES
instructions (docs/benchmarks.md), and holds its other requests until
the answer.

Backpressure: a sink that cannot keep up calls L{pauseProducing} (the
client is its C{IPushProducer}), which stops reading the socket until it
calls L{resumeProducing}.  A connection that brings nothing for
C{stall} seconds while an answer is due is dropped: every request on it
fails with L{Stalled}.

Its frames are split by L{twisted_bazaar.net.framed.FrameLoop}, the one
frame loop of every connection: a ``data`` answer's body is a raw stretch
between frames (counted bytes on the bulk path, handed to the sink as a
memoryview of each 1 MiB read, uncopied), and the cipher switch stops the
reading at the exact end of its answer frame.
"""

import collections

from twisted.internet import defer
from twisted.internet.error import ConnectionAborted
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.asleep import slept
from twisted_bazaar.files.messages import About, Cipher, Data, Get, Head
from twisted_bazaar.net.capabilities import IBulkTransport, ISecureTransport
from twisted_bazaar.net.encrypted import ChannelFailed
from twisted_bazaar.net.framed import FrameLoop
from twisted_bazaar.net.link import ClosedHere
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.channel.noise import AESGCM_NAME
from twisted_bazaar.wire.framing import frame

#: Largest answer frame (an ``about`` of 4096 pieces is about 280 kB).
MAX_ANSWER = 1024 * 1024
#: Default seconds without a byte, while an answer is due, before giving up.
DEFAULT_STALL = 10.0
#: Most bytes a socket transport reads at a time (Twisted's C{bufferSize},
#: 64 KiB by default): up to a piece (1 MiB at least) a read, for fewer
#: system calls and calls into this protocol (on loopback, about half the
#: reads of 256 KiB reads, and a tenth less of the buyer's reactor time:
#: see docs/benchmarks.md).
READ_SIZE = 1024 * 1024


class TransferError(Exception):
    """A request could not be answered."""


class Refused(TransferError):
    """The seller answered ``error``.

    @ivar code: its error code.
    """

    def __init__(self, code, info):
        super().__init__(f"{code}: {info}")
        self.code = code


def refusedAs(reason, code):
    """Whether a failure is the seller's ``error`` of this code."""
    return reason.check(Refused) is not None and reason.value.code == code


class PeerGone(TransferError):
    """The connection closed before the answer was complete."""


class Stalled(PeerGone):
    """Nothing came for too long: the connection was dropped."""


class Broken(TransferError):
    """The seller broke the protocol (a bad frame, a wrong answer)."""


@implementer(IPushProducer)
class TransferClient(FrameLoop, Protocol):
    """
    One transfer connection to a seller, on the buyer.

    @ivar cipherRefused: the seller answered the switch of cipher with an
        error (a seller that does not know the switch): ask it no more.
    """

    MAX_LENGTH = MAX_ANSWER

    def __init__(self, clock, stall=DEFAULT_STALL, cipher=AESGCM_NAME):
        """
        @param cipher: the cipher function to switch the channel to, or
            None to keep the channel's.
        """
        self.clock = clock
        self.stall = stall
        self.cipher = cipher
        self.cipherRefused = False
        #: Request frames held until the switch's answer, or None.
        self._held = None
        self._switched = False
        self.resetFrames()
        self._body = 0
        #: (request, Deferred, sink) in the order the answers are due.
        self._waiting = collections.deque()
        self._timer = None
        self._why = None
        #: Paused by a sink: no stall is counted meanwhile.
        self.paused = False
        self.closed = False
        #: Bytes of ``data`` answers handed to sinks.
        self.received = 0
        #: Whether the seller's end closed the connection (not this side,
        #: for a stall, a broken answer or its caller's close), once lost:
        #: a relay's circuit that carried all it may, say.
        self.hungUp = False
        self._closing = False

    def connectionMade(self):
        # A reactor's socket transport (under the channel) reads
        # bufferSize bytes at a time; other transports (in-memory links,
        # tests) have no such setting.
        bulk = IBulkTransport(self.transport, None)
        if bulk is not None:
            bulk.bufferSize = READ_SIZE
        # Only the channel's transport can switch; others (in-memory
        # links, tests) carry the requests as they are.
        if self.cipher is not None and ISecureTransport.providedBy(self.transport):
            self._held = []
            # Its failure is the held requests' (L{connectionLost}).
            self._ask(Cipher(self.cipher), None, held=False).addErrback(lambda _: None)

    # -- asking ------------------------------------------------------------------

    def head(self, sha256):
        """@return: a Deferred firing with the L{About} of the file."""
        return self._ask(Head(sha256), None)

    def get(self, sha256, offset, length, sink):
        """
        Ask for a range; each piece of it is given to ``sink.write(data)``
        as it comes, in order, as a read-only buffer (bytes or a memoryview
        of bytes) that the sink may keep.

        @return: a Deferred firing once ``length`` bytes were written to
            the sink; it fails with a L{TransferError}, or with what the
            sink raised (the connection is then dropped).
        """
        return self._ask(Get(sha256, offset, length), sink)

    def _ask(self, request, sink, held=True):
        """Send request (held until the cipher switch's answer, if one is
        due and ``held``), its answer's bytes for sink."""
        if self.closed:
            return defer.fail(PeerGone("the connection is closed"))
        d = defer.Deferred(lambda _: self.close())
        self._waiting.append((request, d, sink))
        if self._held is not None and held:
            self._held.append(frame(wire.encode(request)))
        else:
            self.transport.write(frame(wire.encode(request)))
        self._armStall()
        return d

    def close(self):
        """Hang up; whatever is still due fails with L{PeerGone}."""
        if not self.closed and self.transport is not None:
            self._closing = True
            self.transport.abortConnection()

    # -- IPushProducer, for the sink --------------------------------------------------

    def pauseProducing(self):
        self.paused = True
        self.transport.pauseProducing()
        self._disarmStall()

    def resumeProducing(self):
        self.paused = False
        self.transport.resumeProducing()
        self._armStall()

    def stopProducing(self):
        self.close()

    # -- receiving -----------------------------------------------------------------------

    def dataReceived(self, data):
        if self.closed or self._closing:
            # Hung up by this side: what was on its way is not taken (a
            # download that moved this connection's pieces elsewhere asks
            # their rest there, so no byte is taken twice).
            return
        self._armStall()
        self.readFrames(data)
        if not self._waiting:
            self._disarmStall()

    @property
    def deaf(self):
        """No frame is read now: the connection is failing, closed or
        hung up by this side, a body is due, or the switch's answer just
        came (L{FrameLoop})."""
        return (self.closed or self._closing or self._why is not None or self._switched
                or self._body > 0)

    def unframed(self, data, start):
        """What is read while no frame is: the body due, handed to its
        sink; or, after the switch's answer, nothing (L{_switch})."""
        if self.closed or self._closing or self._why is not None:
            return None
        if self._switched:
            self._switched = False
            return start if self._switch(len(data) - start) else None
        end = min(start + self._body, len(data))
        if end == start:
            return None
        self._body -= end - start
        self.received += end - start
        sink = self._waiting[0][2]
        try:
            # A view, not a copy, of bytes nothing changes: the sink may
            # keep it (to hash it on a worker thread).
            sink.write(memoryview(data)[start:end])
        except Exception as e:
            self._fail(e)
            return None
        if self._body:
            return None  # the read is all the body's
        self._answered(None)
        return end

    def framingBroken(self, reason):
        self._fail(Broken(f"a broken frame from the seller: {reason}"))

    def stringReceived(self, payload):
        try:
            answer = wire.decode(payload)
        except wire.ProtocolError as e:
            self._fail(Broken(f"the seller sent an undecodable answer: {e.info}"))
            return
        if not self._waiting:
            self._fail(Broken(f"the seller sent {answer.TYPE} unasked"))
            return
        request = self._waiting[0][0]
        taken = _ANSWERS.get((type(request), type(answer)))
        if taken is None or not taken(self, request, answer):
            self._fail(Broken(f"the seller answered {request.TYPE} with a wrong "
                              f"{answer.TYPE}"))

    def _refusedAnswer(self, request, error):
        """An error answers a description's or a range's request."""
        self._answered(Refused(error.code, error.info))
        return True

    def _cipherRefused(self, request, error):
        """An error to a cipher switch ends the connection (the seller
        closes after it), failing the held requests with why."""
        self.cipherRefused = True
        refused = Refused(error.code, f"the seller refused to switch to "
                                      f"{request.name}: {error.info}")
        self._answered(refused)
        self._fail(refused)
        return True

    def _cipherAnswer(self, request, answer):
        if answer.name != request.name:
            return False
        self._answered(None)
        self._switched = True
        return True

    def _aboutAnswer(self, request, answer):
        if answer.sha256 != request.sha256:
            return False
        self._answered(None, answer)
        return True

    def _dataAnswer(self, request, answer):
        if ((answer.sha256, answer.offset, answer.length)
                != (request.sha256, request.offset, request.length)):
            return False
        self._body = answer.length
        if not self._body:
            self._answered(None)
        return True

    def _switch(self, after):
        """
        The seller agreed to the switch: the channel's next messages, both
        ways, use the new cipher, and the held requests go.  The answer
        must end the seller's transport message, and nothing may come
        before this side's next request (C{after}: the bytes that did).
        @return: whether the connection is still up.
        """
        if after:
            self._fail(Broken("the seller sent more after its cipher answer"))
            return False
        if not self.transport.switchCipher(self.cipher):
            return False
        held, self._held = self._held, None
        if held:
            self.transport.write(b"".join(held))
        return True

    def _answered(self, error, result=None):
        _, d, _ = self._waiting.popleft()
        if d.called:
            return
        if error is None:
            d.callback(result)
        else:
            d.errback(error)

    def _fail(self, error):
        """Drop the connection; the first request fails with ``error``,
        the others with L{PeerGone}."""
        self._why = error
        self.close()

    def connectionLost(self, reason):
        self.closed = True
        self._disarmStall()
        first = self._why
        # Aborted here: by this client's close (a drop, a move to another
        # connection, a cancelled request), or under it (its transport cut
        # below); not the seller's doing.
        here = self._closing or reason.check(ConnectionAborted) is not None
        self.hungUp = first is None and not here and not reason.check(ChannelFailed)
        if first is None and reason.check(ChannelFailed):
            # Its key is not the seller's, say: nothing was sent to it.
            first = PeerGone(f"the channel failed: {reason.getErrorMessage()}")
        elif first is None:
            short = "in the middle of an answer, " if self._body else ""
            said = Failure(ClosedHere()) if self._closing else reason
            first = PeerGone(f"{short}{inWords(said)}")
        waiting, self._waiting = self._waiting, collections.deque()
        for _, d, _ in waiting:
            if not d.called:
                d.errback(first)
            if not isinstance(first, PeerGone):
                first = PeerGone("the connection was dropped")

    # -- stalls ---------------------------------------------------------------------

    def _armStall(self):
        if self.closed or self.paused or not self._waiting:
            return
        if self._timer is not None and self._timer.active():
            self._timer.reset(self.stall)
        else:
            self._timer = self.clock.callLater(self.stall, self._stalled)

    def _disarmStall(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _stalled(self):
        call, self._timer = self._timer, None
        if slept(call, self.clock):
            # This node did not run, not the seller: the bytes may be
            # waiting in the socket, read once the reactor looks.
            self._armStall()
            return
        self._fail(Stalled(f"nothing came from the seller for {self.stall:g} s"))


#: The seller's answers: (class of the request, class of the answer) ->
#: function(client, request, answer), true if it answers that request;
#: a pair not here, or a false answer, is a broken connection.
_ANSWERS = {(Cipher, Cipher): TransferClient._cipherAnswer,
            (Cipher, wire.Error): TransferClient._cipherRefused,
            (Head, About): TransferClient._aboutAnswer,
            (Head, wire.Error): TransferClient._refusedAnswer,
            (Get, Data): TransferClient._dataAnswer,
            (Get, wire.Error): TransferClient._refusedAnswer}
