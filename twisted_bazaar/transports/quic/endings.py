"""
The streams a QUIC connection's side ended, each waiting for its last
bytes to be acknowledged before it is gone (L{Endings}), and how long
they may make no progress (L{FINISH_WAIT}).
"""

__all__ = ["Endings", "FINISH_WAIT"]

#: Seconds the streams this side ended may wait with none of their bytes
#: acknowledged before the connection is dropped, as long as an idle one
#: lives: a peer that pings but never acknowledges is not idle, and would
#: hold them, their bytes and its connection's share for as long as it
#: liked (a slow peer, or a reader paused a while, makes progress).
FINISH_WAIT = 60.0


class Endings:
    """
    The ended streams of one connection, and the timer that watches them
    make progress.

    @ivar streams: the streams waiting.
    """

    def __init__(self, clock, quic, stalled):
        """
        @param quic: the connection's L{twisted_bazaar.transports.quic.stack.Quic}.
        @param stalled: called with the reason when they made no progress
            in L{FINISH_WAIT} seconds.
        """
        self.clock = clock
        self.quic = quic
        self.stalled = stalled
        self.streams = set()
        self._watch = None
        #: Their bytes unacknowledged when the watch was set.
        self._waiting = 0

    def add(self, stream):
        self.streams.add(stream)
        if self._watch is None:
            self._watchOn()

    def discard(self, stream):
        """stream waits for no acknowledgement any more."""
        self.streams.discard(stream)
        if not self.streams:
            self.stop()

    def clear(self):
        self.streams.clear()
        self.stop()

    def stop(self):
        watch, self._watch = self._watch, None
        if watch is not None and watch.active():
            watch.cancel()

    def settled(self):
        """The streams whose bytes are all acknowledged now, no longer
        waiting."""
        done = [stream for stream in self.streams if self.quic.finished(stream.stream_id)]
        for stream in done:
            self.discard(stream)
        return done

    def _unacknowledged(self):
        return sum(self.quic.unacknowledged(stream.stream_id) for stream in self.streams)

    def _watchOn(self):
        self._waiting = self._unacknowledged()
        self._watch = self.clock.callLater(FINISH_WAIT, self._checked)

    def _checked(self):
        self._watch = None
        if not self.streams:
            return
        if self._unacknowledged() >= self._waiting:
            self.stalled(f"nothing acknowledged in {FINISH_WAIT:g} s")
            return
        self._watchOn()
