"""
One QUIC connection (L{Connection}): the qh3 state of it fed the
datagrams that arrive and the node's clock, its events turned into the
streams' (L{twisted_bazaar.transports.quic.stream.StreamTransport}, kept
by its L{StreamTable}), and what it has to send handed to the
endpoint's socket.  Every timer is its own and cancelled when it ends.
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
from twisted_bazaar.transports.quic.streamtable import APPLICATION_ERROR, StreamTable

__all__ = ["Connection", "QuicUnanswered", "QuicSilent", "QuicClosed",
           "APPLICATION_ERROR", "FINISH_WAIT"]


class QuicClosed(ConnectionLost):
    """The QUIC connection ended with an error: its code and words."""

    def __str__(self):
        return self.args[0]


def _address(addr):
    host, port = addr[0], addr[1]
    return (IPv6Address if ":" in host else IPv4Address)("UDP", host, port)


class Connection(StreamTable):
    """
    One QUIC connection, either end's: the socket's side, qh3's timer
    and events, its life and end; its streams are L{StreamTable}'s.

    @ivar quic: its L{twisted_bazaar.transports.quic.stack.Quic}.
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
        super().__init__(accept)
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

    #: qh3's event class -> what it does here (others are not used).
    takes = {events.StreamDataReceived: StreamTable._streamData,
             events.HandshakeCompleted: _handshakeDone,
             events.StreamReset: StreamTable._streamReset,
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
