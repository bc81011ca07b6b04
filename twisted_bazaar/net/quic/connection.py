"""
One QUIC connection (L{Connection}): the aioquic state of it fed the
datagrams that arrive and the node's clock, its events turned into the
streams' (L{twisted_bazaar.net.quic.stream.StreamTransport}), and what it
has to send handed to the endpoint's socket.  Every timer is its own and
cancelled when it ends.
"""

from aioquic.quic import events
from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE
from aioquic.quic.connection import stream_is_unidirectional
from aioquic.quic.packet import QuicErrorCode
from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure

from twisted_bazaar.net.quic.errors import QuicSilent, QuicUnanswered
from twisted_bazaar.net.quic.stream import StreamTransport

__all__ = ["Connection", "QuicUnanswered", "QuicSilent", "QuicClosed",
           "APPLICATION_ERROR", "FINISH_WAIT"]

#: The error code of a connection this side dropped (an aborted stream).
APPLICATION_ERROR = 0x1
#: Seconds the streams this side ended may wait with none of their bytes
#: acknowledged before the connection is dropped, as long as an idle one
#: lives: a peer that pings but never acknowledges is not idle, and would
#: hold them, their bytes and its connection's share for as long as it
#: liked (a slow peer, or a reader paused a while, makes progress).
FINISH_WAIT = 60.0


class QuicClosed(ConnectionLost):
    """The QUIC connection ended with an error: its code and words."""

    def __str__(self):
        return self.args[0]


def _address(addr):
    host, port = addr[0], addr[1]
    return (IPv6Address if ":" in host else IPv4Address)("UDP", host, port)


class Connection:
    """
    One QUIC connection, either end's.

    @ivar quic: its L{twisted_bazaar.net.quic.stack.Quic}.
    @ivar addr: the peer's (host, port).
    @ivar group: the peer's address group, what its state is charged to.
    @ivar handshake: a dialler's, a Deferred firing with this once QUIC's
        handshake is done, or failing with L{QuicUnanswered}; None for an
        acceptor's.
    """

    def __init__(self, endpoint, quic, addr, group, accept=None):
        """
        @param accept: an acceptor's, called ``accept(connection, service,
            stream_id)`` for each stream the peer opens: the protocol to
            connect to it, or None to refuse it.
        """
        self.endpoint = endpoint
        self.quic = quic
        self.addr = addr
        self.group = group
        self.accept = accept
        self.service = None
        self.streams = {}
        self.handshake = None if accept is not None else defer.Deferred()
        self.ended = False
        self._timer = None
        self._flushing = None
        #: An acceptor's wait for the peer's first stream (L{expectStream}).
        self._unused = None
        #: Streams ended by this side, waiting for the peer to acknowledge
        #: their last byte before the connection closes.
        self._finishing = set()
        #: The timer that checks they make progress (L{FINISH_WAIT}), and
        #: their bytes unacknowledged when it was set.
        self._finishWatch = None
        self._waiting = 0
        #: Whether a stream was opened: the connection closes when its
        #: last stream is gone (one stream a dial, for now).
        self._used = False
        #: The newest stream id the peer opened of each type (its two low
        #: bits: bidirectional or not, whose): none yet if absent.
        self._newest = {}
        #: stream -> the bytes of it that arrived this turn, handed to it
        #: at the turn's end (L{_handOver}).
        self._arrived = {}

    @property
    def clock(self):
        return self.endpoint.clock

    def peerAddress(self):
        return _address(self.addr)

    def hostAddress(self):
        return self.endpoint.hostAddress()

    # -- the socket's side -----------------------------------------------------------

    def datagramReceived(self, data, addr):
        self.quic.receive_datagram(data, addr, self.clock.seconds())
        # What it makes aioquic send goes at the end of the reactor's turn,
        # with that of every datagram read in it: one acknowledgement for
        # many, and a third of aioquic's work a datagram saved.
        self._process(soon=True)

    def _process(self, soon=False):
        """Take aioquic's events, then send what it has to send (now, or
        at the end of this turn if ``soon``)."""
        quic = self.quic
        event = quic.next_event()
        while event is not None:
            self._event(event)
            event = quic.next_event()
        if self.ended:
            return
        for stream in list(self.streams.values()):
            stream.drained()
        for stream in list(self._finishing):
            if not quic.unacknowledged(stream.stream_id) and stream.stream_id in self.streams:
                self._finished(stream)
                stream.lost(Failure(ConnectionDone("the QUIC stream ended")))
        if soon:
            self.flushSoon()
        else:
            self.flush()

    def flush(self):
        """Send what aioquic has to send now, and set its timer."""
        self._handOver()
        if self._flushing is not None and self._flushing.active():
            self._flushing.cancel()
        self._flushing = None
        if self.ended:
            return
        now = self.clock.seconds()
        if not self.endpoint.sendDatagrams(self.quic.datagrams_to_send(now)):
            self._tooLarge()
        self._setTimer(now)

    def _tooLarge(self):
        """A datagram was too large for the path (the kernel learnt a
        smaller MTU on the way): the route is read again, and the lost
        datagram's frames go again in smaller ones."""
        size = self.endpoint.datagramSize(self.addr[0], self.quic.peerReads)
        if size >= self.quic.datagramSize:
            # QUIC's floor, which every path carries (RFC 9000 §14).
            size = SMALLEST_MAX_DATAGRAM_SIZE
        self.quic.resize(size)

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
        self.quic.handle_timer(self.clock.seconds())
        self._process()

    # -- aioquic's events ------------------------------------------------------------

    def _event(self, event):
        taken = self.takes.get(type(event))
        if taken is not None:
            taken(self, event)

    def _streamData(self, event):
        stream = self.streams.get(event.stream_id)
        if stream is None:
            kind = event.stream_id & 3
            if event.stream_id <= self._newest.get(kind, -1):
                # A stream gone (ended, refused, reset): what still comes
                # of it is dropped, never taken for a new one.
                self.discard(len(event.data))
                return
            self._newest[kind] = event.stream_id
            stream = self._opened(event.stream_id)
            if stream is None:
                self.discard(len(event.data))
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

    def _handshakeDone(self, event):
        self.service = event.alpn_protocol
        # Initials are padded to their datagrams' size, and a long header
        # packet carries at most 16,383 bytes: only now is the size the
        # path's and the peer's.
        self.quic.resize(self.endpoint.datagramSize(self.addr[0], self.quic.peerReads))
        if self.handshake is not None:
            d, self.handshake = self.handshake, None
            d.callback(self)

    def _streamReset(self, event):
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            self._handOver(stream)
            stream.lost(Failure(ConnectionLost(
                f"the peer reset the QUIC stream (error {event.error_code})")))

    def _idIssued(self, event):
        self.endpoint.routeTo(event.connection_id, self)

    def _idRetired(self, event):
        self.endpoint.unroute(event.connection_id)

    def _opened(self, stream_id):
        """A stream the peer opened: connected to what the endpoint gives
        for it, or refused (reset) if nothing is."""
        protocol = None
        if self.accept is not None and stream_id % 4 == 0:
            protocol = self.accept(self, self.service, stream_id)
        if protocol is None:
            if not stream_is_unidirectional(stream_id):
                # A peer's unidirectional stream has no side to reset
                # (aioquic raises if asked to).
                self.quic.reset_stream(stream_id, APPLICATION_ERROR)
            self.quic.stop_stream(stream_id, APPLICATION_ERROR)
            return None
        unused, self._unused = self._unused, None
        if unused is not None and unused.active():
            unused.cancel()
        stream = self.addStream(stream_id, protocol)
        stream.start()
        return stream

    def addStream(self, stream_id, protocol):
        stream = self.streams[stream_id] = StreamTransport(self, stream_id, protocol)
        self.quic.consumed[stream_id] = 0
        self._used = True
        return stream

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
        for timer in (self._timer, self._flushing, self._unused, self._finishWatch):
            if timer is not None and timer.active():
                timer.cancel()
        self._timer = self._flushing = self._unused = self._finishWatch = None

    def expectStream(self, timeout):
        """An acceptor's: close the connection if the peer opens no stream
        within timeout seconds (a peer holding a connection it does not
        use)."""
        self._unused = self.clock.callLater(timeout, self._noStream, timeout)

    def _noStream(self, timeout):
        self._unused = None
        self.close(APPLICATION_ERROR, f"no stream within {timeout:g} s")

    def _terminated(self, event):
        if self.ended:
            return
        # What arrived before the end, read while the connection still is.
        self._handOver()
        self.ended = True
        self.stopTimers()
        if event.error_code == QuicErrorCode.NO_ERROR:
            reason = Failure(ConnectionDone("the QUIC connection closed"))
        else:
            words = event.reason_phrase or "no reason given"
            reason = Failure(QuicClosed(
                f"the QUIC connection ended: {words} (error {event.error_code:#x})"))
        handshake, self.handshake = self.handshake, None
        self.endpoint.forget(self)
        if handshake is not None:
            handshake.errback(Failure(QuicUnanswered(string=reason.getErrorMessage())))
        self._finishing.clear()
        for stream in list(self.streams.values()):
            stream.lost(reason)

    #: aioquic's event class -> what it does here (others are not used).
    takes = {events.StreamDataReceived: _streamData,
             events.HandshakeCompleted: _handshakeDone,
             events.StreamReset: _streamReset,
             events.ConnectionIdIssued: _idIssued,
             events.ConnectionIdRetired: _idRetired,
             events.ConnectionTerminated: _terminated}

    # -- what the streams ask ----------------------------------------------------------

    def openStream(self, protocol):
        """A stream of this (dialler's) connection for protocol, connected."""
        stream = self.addStream(self.quic.get_next_available_stream_id(), protocol)
        stream.start()
        return stream

    def send(self, stream_id, data):
        self.quic.send_stream_data(stream_id, data)
        self.flushSoon()

    def unacknowledged(self, stream_id):
        return self.quic.unacknowledged(stream_id)

    def read(self, stream_id, size):
        consumed = self.quic.consumed
        if stream_id in consumed:
            consumed[stream_id] += size
        self.quic.delivered += size

    def discard(self, size):
        """size bytes the peer sent were dropped unread (a stream refused
        or gone): out of memory, so they count as read for the
        connection's credit."""
        self.quic.delivered += size

    def hold(self, stream_id, held):
        if held:
            self.quic.held.add(stream_id)
        else:
            self.quic.held.discard(stream_id)
            self.flushSoon()

    def finish(self, stream):
        """This side ends stream: its last byte follows what was written;
        it is gone once the peer acknowledged all (or ended it too)."""
        self.quic.send_stream_data(stream.stream_id, b"", end_stream=True)
        self._finishing.add(stream)
        if self._finishWatch is None:
            self._watchFinishing()
        self.flushSoon()

    def _finished(self, stream):
        """stream waits for no acknowledgement any more."""
        self._finishing.discard(stream)
        watch = self._finishWatch
        if not self._finishing and watch is not None:
            self._finishWatch = None
            if watch.active():
                watch.cancel()

    def _unacknowledgedEnds(self):
        return sum(self.quic.unacknowledged(stream.stream_id) for stream in self._finishing)

    def _watchFinishing(self):
        self._waiting = self._unacknowledgedEnds()
        self._finishWatch = self.clock.callLater(FINISH_WAIT, self._finishChecked)

    def _finishChecked(self):
        """Drop the connection if the streams this side ended made no
        progress in L{FINISH_WAIT} seconds; else watch on."""
        self._finishWatch = None
        if self.ended or not self._finishing:
            return
        if self._unacknowledgedEnds() >= self._waiting:
            self.close(APPLICATION_ERROR,
                       f"nothing acknowledged in {FINISH_WAIT:g} s")
            return
        self._watchFinishing()

    def peerEnded(self, stream):
        """The peer ended stream: this side ends it too."""
        self._finished(stream)
        if not stream.disconnecting:
            stream.disconnecting = True
            self.quic.send_stream_data(stream.stream_id, b"", end_stream=True)
        self.flushSoon()

    def forgetStream(self, stream_id):
        self.endpoint.streamGone(self, stream_id)
        self.streams.pop(stream_id, None)
        self.quic.consumed.pop(stream_id, None)
        self.quic.held.discard(stream_id)
        if not self.streams and self._used and not self.ended:
            self.quic.close(reason_phrase="done")
            self.flushSoon()

    def abort(self, stream, why):
        """Drop the connection now, its streams lost."""
        self.close(APPLICATION_ERROR, why)

    def close(self, code=QuicErrorCode.NO_ERROR, why=""):
        """Close the connection (its peer is told), its streams lost."""
        if self.ended:
            return
        self.quic.close(error_code=code, reason_phrase=why)
        self._finishing.clear()
        if code == QuicErrorCode.NO_ERROR:
            reason = Failure(ConnectionDone("the QUIC connection was closed"))
        else:
            reason = Failure(ConnectionLost(f"the QUIC connection was dropped: {why}"))
        for stream in list(self.streams.values()):
            stream.lost(reason)
        self._process()
