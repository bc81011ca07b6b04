"""
One QUIC stream as the protocol above sees a TCP connection
(L{StreamTransport}): C{write}, C{loseConnection}, C{getPeer}, and both
sides of flow control.  A reader that pauses it (a relay whose other end
is slow, a buyer's full disk) stops the stream's credit, so the peer
stops sending; a writer whose bytes the peer has not acknowledged yet
pile up is paused as a TCP transport pauses a producer whose socket is
full: a link (a streaming producer) past L{PUSH_HIGH_WATER}, so that
what qh3 holds for a peer that does not read is that small constant
and the rest counts against the link's ``--write-limit``; a file (a
pull producer) is asked for more only under L{PULL_WATER}.
"""

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IConsumer, IPushProducer, ITransport
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_bazaar.net.capabilities import IQuicTransport

__all__ = ["StreamTransport", "PULL_WATER", "PUSH_HIGH_WATER", "PUSH_LOW_WATER"]

#: Unacknowledged bytes under which a pull producer (a seller's file) is
#: asked for more: the peer's window of a stream
#: (L{twisted_bazaar.transports.quic.stack.STREAM_WINDOW}), so what is written
#: fills it.  At 256 KiB, a loopback transfer waited on acknowledgements
#: (132 against 294 MB/s, benchmarks/quic.py).
PULL_WATER = 2 * 1024 * 1024
#: Unacknowledged bytes past which a streaming producer (a link) is
#: paused: the size of Twisted's own buffer on TCP, give or take.  The
#: link counts what it writes while paused against ``--write-limit``, so
#: what qh3 holds for a link whose peer never acknowledges is this plus
#: the write limit; at 4 MiB (the pull producer's mark, doubled) qh3 held
#: 4 MiB before the link counted a byte (docs/reliability.md, "The
#: eleventh round").
PUSH_HIGH_WATER = 256 * 1024
#: ... and under which it is resumed (its count starts afresh).
PUSH_LOW_WATER = PUSH_HIGH_WATER // 2


@implementer(ITransport, IPushProducer, IConsumer, IQuicTransport)
class StreamTransport:
    """
    A stream of a L{twisted_bazaar.transports.quic.connection.Connection}, the
    transport of the protocol connected to it.

    @ivar disconnecting: whether L{loseConnection} was called.
    """

    def __init__(self, connection, stream_id, protocol):
        self.connection = connection
        self.stream_id = stream_id
        self.protocol = protocol
        self.disconnecting = False
        self.connected = False
        self.producer = None
        self.streaming = False
        self._producerPaused = False
        self._paused = False
        #: What arrived while the reader was paused, and whether the
        #: peer's end came after it.
        self._held = []
        self._ended = False
        self._lost = False

    def start(self):
        """Connect the protocol: the stream is open."""
        self.connected = True
        self.protocol.makeConnection(self)

    # -- what the peer sent -------------------------------------------------------

    def received(self, data, ended):
        """Bytes of the stream arrived (``ended``: the peer's last)."""
        if self._lost:
            return
        if self._paused:
            if data:
                self._held.append(data)
            self._ended = self._ended or ended
            return
        self._deliver(data)
        if ended:
            self._peerEnded()

    def _deliver(self, data):
        if data:
            self.protocol.dataReceived(data)

    def _peerEnded(self):
        self.connection.peerEnded(self)
        self.lost(Failure(ConnectionDone("the peer ended the QUIC stream")))

    def lost(self, reason):
        """The stream is gone (the connection closed, the peer reset it):
        tell the protocol, once."""
        if self._lost:
            return
        self._lost = True
        self.connected = False
        self._held = []
        self.connection.forgetStream(self.stream_id)
        producer, self.producer = self.producer, None
        if producer is not None:
            producer.stopProducing()
        self.protocol.connectionLost(reason)

    # -- what the protocol above writes ----------------------------------------

    def write(self, data):
        if self.disconnecting or self._lost or not data:
            return
        self.connection.send(self.stream_id, bytes(data))
        self.wrote()

    def writeSequence(self, data):
        self.write(b"".join(data))

    def wrote(self):
        """Pause a streaming producer whose bytes pile up unacknowledged."""
        if (self.producer is not None and self.streaming and not self._producerPaused
                and self._unacked() > PUSH_HIGH_WATER):
            self._producerPaused = True
            self.producer.pauseProducing()

    def drained(self):
        """Acknowledgements came: resume a paused producer, or ask a pull
        producer for more, while what waits is under its mark."""
        producer = self.producer
        if producer is None or self._lost:
            return
        if self.streaming:
            if self._producerPaused and self._unacked() < PUSH_LOW_WATER:
                self._producerPaused = False
                producer.resumeProducing()
            return
        self._pull()

    def _unacked(self):
        return self.connection.quic.unacknowledged(self.stream_id)

    def _pull(self):
        while self.producer is not None and not self.streaming and \
                self._unacked() < PULL_WATER:
            before = self._unacked()
            self.producer.resumeProducing()
            if self._unacked() == before:
                break

    def loseConnection(self):
        """End the stream once what was written is sent (the peer sees
        the end after every byte)."""
        if self.disconnecting or self._lost:
            return
        self.disconnecting = True
        self.connection.finish(self)

    def abortConnection(self):
        """Drop the stream and its connection now."""
        if self._lost:
            return
        self.disconnecting = True
        self.connection.abort(self, "aborted")

    def getPeer(self):
        return self.connection.peerAddress()

    def getHost(self):
        return self.connection.hostAddress()

    # -- flow control: the reader's side (IPushProducer) -----------------------

    def pauseProducing(self):
        """Read nothing more: the stream's credit is not raised (nor its
        connection's), so the peer stops once it has sent its window."""
        if not self._paused:
            self._paused = True
            self.connection.hold(self.stream_id, True)

    def resumeProducing(self):
        if not self._paused or self._lost:
            return
        self._paused = False
        held, self._held = self._held, []
        for data in held:
            if self._paused or self._lost:
                self._held.append(data)
                continue
            self._deliver(data)
        if self._paused or self._lost:
            return
        self.connection.hold(self.stream_id, False)
        if self._ended:
            self._peerEnded()

    def stopProducing(self):
        self.loseConnection()

    # -- the writer's producer (IConsumer) ---------------------------------------

    def registerProducer(self, producer, streaming):
        if self.producer is not None:
            raise RuntimeError("a producer is already registered on this stream")
        if self._lost:
            producer.stopProducing()
            return
        self.producer = producer
        self.streaming = streaming
        self._producerPaused = False
        if not streaming:
            self._pull()

    def unregisterProducer(self):
        self.producer = None
        self._producerPaused = False
