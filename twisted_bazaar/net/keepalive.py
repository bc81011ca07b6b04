"""
A link's clocks: the time a new connection has to say thisisme, the pings
that keep a quiet link alive (and the silence after which it is dead), and
the idle time after which a link of some purposes is closed politely.

Each link holds a L{Keepalive}, which owns its timers: it sets them, moves
them and cancels them, and nothing else touches them.  Every deadline goes
through the L{twisted_bazaar.net.timers.Deadlines} of the link's clock, so
a process holds one DelayedCall for all its links' timers rather than one
or two per link.
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
    The timers of one L{twisted_bazaar.net.link.Link}, which it owns: the
    handshake's deadline until the peer is identified, then the keepalive
    check, and the idle timeout of the link's purpose.  Of its link it
    reads what the link shows anyone (its clock, settings and deadlines,
    when it last heard and traded, whether it is closing, its peer) and
    tells it only to ping, close, or say dc.

    @ivar link: the link whose timers these are.
    @ivar idle: seconds without trade after which the link is closed
        politely (None: never).
    @ivar _due: its deadlines, which never wait together: the handshake's
        (a L{twisted_bazaar.net.timers.Deadline}) until the peer is
        identified, then the time its next keepalive check is due (the
        keepalive waits among its clock's deadlines itself, as a
        resident, rather than a deadline object of its own: a simulation
        holds a million link ends).
    """

    __slots__ = ("link", "idle", "_due")

    def __init__(self, link):
        self.link = link
        self.idle = None
        self._due = None

    def start(self):
        """The connection is up: it has ``handshake_timeout`` seconds to
        say thisisme."""
        link = self.link
        timeout = link.settings.handshake_timeout
        if timeout:
            self._due = link.timers.callLater(timeout, Keepalive._handshakeExpired, self)

    def stop(self):
        """The connection is gone: no deadline of its runs."""
        due = self._due
        if type(due) is Deadline:
            self._due = None
            due.cancel()
        else:
            self.link.timers.unwake(self)

    def identified(self):
        """The link's peer is identified: stop the handshake clock and
        start watching for silence."""
        due = self._due
        if type(due) is Deadline:
            self._due = None
            due.cancel()
        self._schedule()

    def setIdle(self, idle):
        """Close the link politely after ``idle`` seconds without trade
        (None: never); an established link is checked again in time."""
        self.idle = idle
        if self.link.peer_id is not None:
            self._schedule()

    def _schedule(self, within=None):
        """Check the link again in a tick, or within that many seconds if
        sooner (when its idle time runs out)."""
        interval = self._tick()
        if interval and self._due is None and not self.link.closing:
            if within is not None:
                interval = min(interval, within)
            self.link.timers.wake(self, interval)

    def _tick(self):
        """Seconds between keepalive checks: the ping interval, or the idle
        timeout when that is shorter."""
        interval = self.link.settings.ping_interval
        if self.idle:
            interval = min(interval or self.idle, self.idle)
        return interval

    def _handshakeExpired(self):
        self._due = None
        timeout = self.link.settings.handshake_timeout
        self.link.refuse("notim", f"no thisisme within {timeout:g} s")

    def _expire(self):
        """The keepalive check (run by the clock's deadlines, see
        L{_schedule}): ping a quiet peer; drop one silent for too long."""
        link = self.link
        if link.closing:
            return
        interval = link.settings.ping_interval
        now = link.clock.seconds()
        if self.idle and now - link.lastTraffic >= self.idle:
            link.disconnect(f"no trade for {self.idle:g} s")
            return
        silent = now - link.lastHeard
        if interval and silent >= interval * DEAD_AFTER_INTERVALS:
            link.drop(f"silent for {silent:g} s")
            return
        if interval and silent >= interval:
            link.send(wire.Ping(link.nextNonce()))
        # An idle link is closed when its idle time runs out, not at the
        # next tick after that.
        # (At least a millisecond on: rounding must not make it spin.)
        within = None
        if self.idle:
            within = max(self.idle - (now - link.lastTraffic), 0.001)
        self._schedule(within)
