"""
One QUIC connection (L{Connection}): the qh3 state of it fed the
datagrams that arrive and the node's clock, its events turned into the
streams' (L{twisted_bazaar.transports.quic.stream.StreamTransport}),
and what it has to send handed to the endpoint's socket.  Every timer is
its own and cancelled when it ends.

Its streams are its own too: the peer's opened as their first bytes come
(or refused), the bytes that arrive handed to each stream once a turn, a
stream reset or ended by either side, and what the streams ask of the
connection (send, hold their credit, finish, be forgotten).  One class,
not a part: every byte a stream writes or receives goes through it, and
a call more a write would cost the transfer (benchmarks/quic.py).
"""

from qh3.quic import events
from qh3.quic.connection import QuicConnectionError
from qh3.quic.packet import QuicErrorCode
from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure

from twisted_bazaar.transports.quic.endings import FINISH_WAIT, Endings
from twisted_bazaar.transports.quic.errors import QuicSilent, QuicUnanswered
from twisted_bazaar.transports.quic.stream import StreamTransport

__all__ = ["Connection", "QuicUnanswered", "QuicSilent", "QuicClosed",
           "APPLICATION_ERROR", "FINISH_WAIT"]

#: The error code of a connection this side dropped (an aborted stream).
APPLICATION_ERROR = 0x1


class QuicClosed(ConnectionLost):
    """The QUIC connection ended with an error: its code and words."""

    def __str__(self):
        return self.args[0]


def _address(addr):
    host, port = addr[0], addr[1]
    return (IPv6Address if ":" in host else IPv4Address)("UDP", host, port)


class Connection:
    """
    One QUIC connection, either end's: the socket's side, qh3's timer
    and events, its life and end, and its streams.

    @ivar quic: its L{twisted_bazaar.transports.quic.stack.Quic}.
    @ivar addr: the peer's (host, port).
    @ivar group: the peer's address group, what its state is charged to.
    @ivar handshake: a dialler's, a Deferred firing with this once QUIC's
        handshake is done, or failing with L{QuicUnanswered}; None for an
        acceptor's.
    @ivar accept: an acceptor's, called ``accept(connection, service,
        stream_id)`` for each stream the peer opens: the protocol to
        connect to it, or None to refuse it; None for a dialler's.
    @ivar streams: stream id -> its L{StreamTransport}.
    """

    def __init__(self, endpoint, quic, addr, group, accept=None):
        """
        @param accept: an acceptor's, called ``accept(connection, service,
            stream_id)`` for each stream the peer opens: the protocol to
            connect to it, or None to refuse it.
        """
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
        self.endpoint = endpoint
        self.quic = quic
        self.addr = addr
        self.group = group
        self.service = None
        self.handshake = None if accept is not None else defer.Deferred()
        self.ended = False
        #: Whether its streams were told it ended (L{_terminated}).
        self._closing = False
        self._timer = None
        self._flushing = None
        #: An acceptor's wait for the peer's first stream (L{expectStream}).
        self._unused = None
        #: Streams ended by this side, waiting for the peer to acknowledge
        #: their last byte before they are gone.
        self._endings = Endings(self.clock, quic,
                                lambda why: self.close(APPLICATION_ERROR, why))
        #: The datagrams that came this turn, (bytes, the peer's address),
        #: given qh3 at its end (L{datagramReceived}).
        self._inbox = []

    @property
    def clock(self):
        return self.endpoint.clock

    def peerAddress(self):
        return _address(self.addr)

    def hostAddress(self):
        return self.endpoint.hostAddress()

    # -- the socket's side -----------------------------------------------------------

    def datagramReceived(self, data, addr):
        """A datagram is kept for the end of the reactor's turn, when qh3
        is given every one that came in it at once (L{flush}): a call
        into qh3's connection costs its Python for each, and what they
        make it send goes once, one acknowledgement for many."""
        if self.ended:
            return
        self._inbox.append((data, addr))
        self.flushSoon()

    def _receive(self):
        inbox, self._inbox = self._inbox, []
        try:
            self.quic.receiveTurn(inbox, self.clock.seconds())
        except QuicConnectionError as e:
            self._broken(e)

    def _process(self, soon=False):
        """Take qh3's events, then send what it has to send (now, or
        at the end of this turn if ``soon``)."""
        self._takeEvents()
        if self.ended:
            return
        if soon:
            self.flushSoon()
        else:
            self.flush()

    def _takeEvents(self):
        quic = self.quic
        event = quic.next_event()
        while event is not None:
            self._event(event)
            event = quic.next_event()
        if self.ended:
            return
        self._drained()

    def _drained(self):
        """Bytes the streams wrote were acknowledged: a paused writer may
        go on, and a stream this side ended may be gone."""
        for stream in list(self.streams.values()):
            stream.drained()
        for stream in self._endings.settled():
            if stream.stream_id in self.streams:
                stream.lost(Failure(ConnectionDone("the QUIC stream ended")))

    def flush(self):
        """Give qh3 what arrived this turn and take its events, then send
        what it has to send now, and set its timer."""
        if self._flushing is not None and self._flushing.active():
            self._flushing.cancel()
        self._flushing = None
        if self._inbox and not self.ended:
            self._receive()
            if not self.ended:
                self._takeEvents()
        self._handOver()
        if self.ended:
            return
        now = self.clock.seconds()
        try:
            datagrams = self.quic.datagrams_to_send(now)
        except QuicConnectionError as e:
            self._broken(e)
            return
        self.endpoint.sendDatagrams(datagrams)
        self._setTimer(now)
        if self.quic.settle():
            # The streams' bytes past a loss are known freed.
            self._drained()

    def _broken(self, error):
        """qh3 failed inside (its error, raised out of a call): nothing
        more is asked of it; the connection is gone, its streams lost,
        its peer told nothing (the idle timeout tells it)."""
        if self.ended:
            return
        self.ended = True
        self.stopTimers()
        self.endpoint.forget(self)
        self._loseAll(Failure(QuicClosed(
            f"the QUIC connection broke: {error.reason_phrase}")))

    def _loseAll(self, reason):
        """Every stream is lost for reason, and a dial's handshake fails."""
        handshake, self.handshake = self.handshake, None
        if handshake is not None:
            handshake.errback(Failure(QuicUnanswered(string=reason.getErrorMessage())))
        self._endings.clear()
        for stream in list(self.streams.values()):
            stream.lost(reason)

    def flushSoon(self):
        """Send at the end of this turn what writes in it queued."""
        if self._flushing is None and not self.ended:
            self._flushing = self.clock.callLater(0, self.flush)

    def _setTimer(self, now):
        at = self.quic.get_timer()
        timer = self._timer
        if timer is not None and timer.active():
            if at is not None and abs(timer.getTime() - at) < 1e-6:
                return
            timer.cancel()
        self._timer = None
        if at is not None:
            self._timer = self.clock.callLater(max(0.0, at - now), self._onTimer)

    def _onTimer(self):
        self._timer = None
        try:
            self.quic.handle_timer(self.clock.seconds())
        except QuicConnectionError as e:
            self._broken(e)
            return
        self._process()

    # -- qh3's events ------------------------------------------------------------

    def _event(self, event):
        taken = self.takes.get(type(event))
        if taken is not None:
            taken(self, event)

    def _handshakeDone(self, event):
        self.service = event.alpn_protocol
        if self.handshake is not None:
            d, self.handshake = self.handshake, None
            d.callback(self)

    def _idIssued(self, event):
        self.endpoint.routeTo(event.connection_id, self)

    def _idRetired(self, event):
        self.endpoint.unroute(event.connection_id)

    def giveUp(self, why, error=QuicUnanswered):
        """A dial's handshake will not be done (it took too long, the
        socket closed): its Deferred fails with ``error`` saying why, the
        connection is dropped."""
        handshake, self.handshake = self.handshake, None
        if handshake is None:
            return
        self.close(APPLICATION_ERROR, "handshake timed out")
        self.stopTimers()
        self.ended = True
        self.endpoint.forget(self)
        handshake.errback(Failure(error(string=why)))

    def stopTimers(self):
        for timer in (self._timer, self._flushing, self._unused):
            if timer is not None and timer.active():
                timer.cancel()
        self._timer = self._flushing = self._unused = None
        self._endings.stop()

    def expectStream(self, timeout):
        """An acceptor's: close the connection if the peer opens no stream
        within timeout seconds (a peer holding a connection it does not
        use)."""
        self._unused = self.clock.callLater(timeout, self._noStream, timeout)

    def _noStream(self, timeout):
        self._unused = None
        self.close(APPLICATION_ERROR, f"no stream within {timeout:g} s")

    def _terminated(self, event):
        """The connection ended (told twice: when it began to close, and
        when qh3 forgot it): its streams are lost at the first, and it is
        forgotten at the last, once its closing packets are sent."""
        if self.ended:
            return
        # What arrived before the end, read while the connection still is.
        self._handOver()
        if not self.quic.ending():
            self.ended = True
            self.stopTimers()
            self.endpoint.forget(self)
        if self._closing:
            return
        self._closing = True
        if event.error_code == QuicErrorCode.NO_ERROR:
            reason = Failure(ConnectionDone("the QUIC connection closed"))
        else:
            words = event.reason_phrase or "no reason given"
            reason = Failure(QuicClosed(
                f"the QUIC connection ended: {words} (error {event.error_code:#x})"))
        self._loseAll(reason)

    # -- its streams ------------------------------------------------------------------

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

    #: qh3's event class -> what it does here (others are not used).
    takes = {events.StreamDataReceived: _streamData,
             events.HandshakeCompleted: _handshakeDone,
             events.StreamReset: _streamReset,
             events.StopSendingReceived:
                 lambda self, event: self._streamReset(event, "stopped reading"),
             events.ConnectionIdIssued: _idIssued,
             events.ConnectionIdRetired: _idRetired,
             events.ConnectionTerminated: _terminated}

    def close(self, code=QuicErrorCode.NO_ERROR, why=""):
        """Close the connection (its peer is told), its streams lost."""
        if self.ended:
            return
        self.quic.close(error_code=code, reason_phrase=why)
        self._loseAll(Failure(
            ConnectionDone("the QUIC connection was closed") if code == QuicErrorCode.NO_ERROR
            else ConnectionLost(f"the QUIC connection was dropped: {why}")))
        self._process()
