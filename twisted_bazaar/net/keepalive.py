"""
A link's clocks: the time a new connection has to say thisisme, the pings
that keep a quiet link alive (and the silence after which it is dead), and
the idle time after which a link of some purposes is closed politely.

Every deadline goes through the L{twisted_bazaar.net.timers.Deadlines} of
the link's clock, so a process holds one DelayedCall for all its links'
timers rather than one or two per link.
"""

from twisted_bazaar import wire
from twisted_bazaar.net.timers import Deadline

#: Default seconds a new connection may take to say thisisme.
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
#: Default seconds of silence after which a link is pinged.
DEFAULT_PING_INTERVAL = 10.0
#: A link silent for this many ping intervals is dead.
DEAD_AFTER_INTERVALS = 3


class Keepalive:
    """
    The timers of a L{twisted_bazaar.net.link.Link} (a part of it, kept
    apart for what it does): it uses the link's context (its clock,
    settings and deadlines, L{twisted_bazaar.net.link.LinkContext}), the times
    it last heard and traded, and one slot, C{_due}, for its deadlines,
    which never wait together: the handshake's (a
    L{twisted_bazaar.net.timers.Deadline}) until the peer is identified,
    then the time its next keepalive check is due (the link itself waits
    among its clock's deadlines, as a resident, rather than a deadline
    object of its own: a simulation holds a million link ends).
    """

    __slots__ = ()

    def startHandshakeClock(self):
        """The connection is up: it has ``handshake_timeout`` seconds to
        say thisisme."""
        timeout = self._context.settings.handshake_timeout
        if timeout:
            self._due = self._context.timers.callLater(
                timeout, Keepalive._handshakeExpired, self)

    def stopTimers(self):
        """The connection is gone: no deadline of its runs."""
        due = self._due
        if type(due) is Deadline:
            self._due = None
            due.cancel()
        else:
            self._context.timers.unwake(self)

    def identified(self, peer_id):
        """The owner accepted the peer's introduction: stop the handshake
        clock and start watching for silence."""
        self.peer_id = peer_id
        due = self._due
        if type(due) is Deadline:
            self._due = None
            due.cancel()
        self._scheduleKeepalive()

    def setIdleTimeout(self, idle):
        """Close the link politely after ``idle`` seconds without trade
        (None: never); an established link is checked again in time."""
        self.idle_timeout = idle
        if self.peer_id is not None:
            self._scheduleKeepalive()

    def _scheduleKeepalive(self, within=None):
        """Check the link again in a tick, or within that many seconds if
        sooner (when its idle time runs out)."""
        interval = self._tick()
        if interval and self._due is None and not self.closing:
            if within is not None:
                interval = min(interval, within)
            self._context.timers.wake(self, interval)

    def _tick(self):
        """Seconds between keepalive checks: the ping interval, or the idle
        timeout when that is shorter."""
        interval = self._context.settings.ping_interval
        if self.idle_timeout:
            interval = min(interval or self.idle_timeout, self.idle_timeout)
        return interval

    def _handshakeExpired(self):
        self._due = None
        timeout = self._context.settings.handshake_timeout
        self.refuse("notim", f"no thisisme within {timeout:g} s")

    def _expire(self):
        """The keepalive check (run by the clock's deadlines, see
        L{_scheduleKeepalive}): ping a quiet peer; drop one silent for too
        long."""
        if self.closing:
            return
        context = self._context
        interval = context.settings.ping_interval
        now = context.clock.seconds()
        if self.idle_timeout and now - self._last_traffic >= self.idle_timeout:
            self.disconnect(f"no trade for {self.idle_timeout:g} s")
            return
        silent = now - self._last_heard
        if interval and silent >= interval * DEAD_AFTER_INTERVALS:
            self.close(f"silent for {silent:g} s")
            return
        if interval and silent >= interval:
            self._nonce += 1
            self.send(wire.Ping(self._nonce))
        # An idle link is closed when its idle time runs out, not at the
        # next tick after that.
        # (At least a millisecond on: rounding must not make it spin.)
        within = None
        if self.idle_timeout:
            within = max(self.idle_timeout - (now - self._last_traffic), 0.001)
        self._scheduleKeepalive(within)
