"""
The streams of one QUIC connection (L{StreamTable}, a part of
L{twisted_bazaar.transports.quic.connection.Connection}): the peer's
streams opened as their first bytes come (or refused), the bytes that
arrive handed to each stream once a turn, a stream reset or ended by
either side, and what the streams ask of the connection (send, hold
their credit, finish, be forgotten).  The connection's socket, timer,
qh3 events and end are the connection's own.

A mixin, not an object of its own: every byte a stream writes or
receives goes through it, and a call more a write would cost the
transfer (benchmarks/quic.py).  It uses the connection's C{quic},
C{endpoint}, C{service}, C{ended}, C{_endings}, C{_broken},
C{_process}, C{flushSoon} and C{close}.
"""

from qh3.quic.connection import QuicConnectionError
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure

from twisted_bazaar.transports.quic.stream import StreamTransport

#: The error code of a connection this side dropped (an aborted stream).
APPLICATION_ERROR = 0x1


class StreamTable:
    """
    A QUIC connection's streams.

    @ivar accept: an acceptor's, called ``accept(connection, service,
        stream_id)`` for each stream the peer opens: the protocol to
        connect to it, or None to refuse it; None for a dialler's.
    @ivar streams: stream id -> its L{StreamTransport}.
    """

    def __init__(self, accept):
        self.accept = accept
        self.streams = {}
        #: Whether a stream was opened: the connection closes when its
        #: last stream is gone (one stream a dial, for now).
        self._used = False
        #: The newest stream id the peer opened of each type (its two low
        #: bits: bidirectional or not, whose): none yet if absent.
        self._newest = {}
        #: stream -> the bytes of it that arrived this turn, handed to it
        #: at the turn's end (L{_handOver}).
        self._arrived = {}

    def _streamData(self, event):
        stream = self.streams.get(event.stream_id)
        if stream is None:
            kind = event.stream_id & 3
            if event.stream_id <= self._newest.get(kind, -1):
                # A stream gone (ended, refused, reset): what still comes
                # of it is dropped (and so out of qh3's window), never
                # taken for a new one.
                return
            self._newest[kind] = event.stream_id
            stream = self._opened(event.stream_id)
            if stream is None:
                return
        if event.end_stream:
            self._handOver(stream)
            stream.received(event.data, True)
        elif event.data:
            arrived = self._arrived.get(stream)
            if arrived is None:
                self._arrived[stream] = [event.data]
            else:
                arrived.append(event.data)

    def _handOver(self, only=None):
        """
        Hand each stream (or only that one) the bytes of it that arrived
        since the last time, in one piece: at 1,472 bytes a datagram, a
        protocol's call for each (the channel's buffering, the stream's
        credit counted) was a tenth of what a datagram costs
        (docs/architecture.md, "QUIC").  Done before anything is sent, so
        the credit they free goes in the same flush; and before a
        stream's end or loss, so nothing that arrived is lost behind it.
        """
        if only is not None:
            chunks = self._arrived.pop(only, None)
            arrived = {} if chunks is None else {only: chunks}
        else:
            arrived, self._arrived = self._arrived, {}
        for stream, chunks in arrived.items():
            stream.received(chunks[0] if len(chunks) == 1 else b"".join(chunks), False)

    def _opened(self, stream_id):
        """A stream the peer opened: connected to what the endpoint gives
        for it, or refused (reset) if nothing is."""
        protocol = None
        if self.accept is not None and stream_id % 4 == 0:
            protocol = self.accept(self, self.service, stream_id)
        if protocol is None:
            try:
                self.quic.refuse(stream_id, APPLICATION_ERROR)
            except QuicConnectionError as e:
                self._broken(e)
            return None
        unused, self._unused = self._unused, None
        if unused is not None and unused.active():
            unused.cancel()
        stream = self.addStream(stream_id, protocol)
        stream.start()
        return stream

    def addStream(self, stream_id, protocol):
        stream = self.streams[stream_id] = StreamTransport(self, stream_id, protocol)
        self.quic.track(stream_id)
        self._used = True
        return stream

    def _streamReset(self, event, words="reset"):
        """The peer reset a stream, or will read no more of it (qh3 has
        reset this side of it then): the stream is lost, as a TCP
        connection whose peer reset it."""
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            self._handOver(stream)
            stream.lost(Failure(ConnectionLost(
                f"the peer {words} the QUIC stream (error {event.error_code})")))

    # -- what the streams ask ----------------------------------------------------------

    def openStream(self, protocol):
        """A stream of this (dialler's) connection for protocol, connected."""
        stream = self.addStream(self.quic.get_next_available_stream_id(), protocol)
        stream.start()
        return stream

    def send(self, stream_id, data, end=False):
        try:
            self.quic.send_stream_data(stream_id, data, end_stream=end)
        except QuicConnectionError as e:
            self._broken(e)
            return
        except ValueError:
            # The stream is reset (its loss is on its way to the protocol).
            return
        self.flushSoon()

    def hold(self, stream_id, held):
        """Hold the stream's credit (its reader paused), or let it go: what
        waited in qh3 meanwhile is taken now."""
        quic = self.quic
        if held:
            quic.held.add(stream_id)
            return
        quic.held.discard(stream_id)
        if not quic.held and not self.ended:
            quic.release()
            self._process(soon=True)

    def finish(self, stream):
        """This side ends stream: its last byte follows what was written;
        it is gone once the peer acknowledged all (or ended it too)."""
        self._endings.add(stream)
        self.send(stream.stream_id, b"", end=True)

    def peerEnded(self, stream):
        """The peer ended stream: this side ends it too."""
        self._endings.discard(stream)
        if not stream.disconnecting:
            stream.disconnecting = True
            self.send(stream.stream_id, b"", end=True)

    def forgetStream(self, stream_id):
        self.endpoint.streamGone(self, stream_id)
        self.streams.pop(stream_id, None)
        self.quic.track(stream_id, False)
        if not self.streams and self._used and not self.ended:
            self.quic.close(reason_phrase="done")
            self.flushSoon()

    def abort(self, stream, why):
        """Drop the connection now, its streams lost."""
        self.close(APPLICATION_ERROR, why)
