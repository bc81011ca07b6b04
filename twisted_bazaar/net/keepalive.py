"""
A link's clocks: the time a new connection has to say thisisme, the pings
that keep a quiet link alive (and the silence after which it is dead), and
the idle time after which a link of some purposes is closed politely.

L{Keepalive} is a part of the link (one of its bases), not an object of
its own: a simulation holds a million link ends, and a keepalive object
each, with its slot on the link, was 64 bytes of every one.  It owns one
slot of the link, C{_due}, and sets, moves and cancels the link's
deadlines through it; of the rest of the link it reads only what the link
shows anyone (its clock, settings and deadlines, when it last heard and
traded, its idle timeout, whether it is closing, its peer) and tells it
only to ping, close, or say dc.  Every deadline goes through the
L{twisted_bazaar.net.timers.Deadlines} of the link's clock, so a process
holds one DelayedCall for all its links' timers, and a quiet link's
keepalive check is the link itself waiting there (a resident), not a
deadline object.
"""

from twisted_bazaar import wire
from twisted_bazaar.base.words import roundSeconds
from twisted_bazaar.net.timers import Deadline

#: Default seconds a new connection may take to say thisisme.
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
#: Default seconds of silence after which a link is pinged.
DEFAULT_PING_INTERVAL = 10.0
#: A link silent for this many ping intervals is dead.
DEAD_AFTER_INTERVALS = 3


class Keepalive:
    """
    The timers of a L{twisted_bazaar.net.link.Link}, a base of it: the
    handshake's deadline until the peer is identified, then the keepalive
    check, and the idle timeout of the link's purpose.

    What it asks of the class it is a base of: C{settings}, C{timers},
    C{clock}, C{lastHeard}, C{lastTraffic}, C{idle_timeout} (seconds
    without trade after which the link is closed politely, or None),
    C{closing}, C{peer_id}, C{awaited()} (what its handshake waits for,
    which the refusal at its deadline names), C{nextNonce()}, C{send(message)},
    C{refuse(code, info)}, C{disconnect(reason)} and C{drop(reason)}; and
    a slot C{_due} (declared there: two bases with slots of their own
    cannot be combined), set by L{resetKeepalive} when the link is made.

    @ivar _due: its deadlines, which never wait together: the handshake's
        (a L{twisted_bazaar.net.timers.Deadline}) until the peer is
        identified, then the time its next keepalive check is due (the
        link waits among its clock's deadlines itself, as a resident),
        None while neither waits.
    """

    __slots__ = ()

    def resetKeepalive(self):
        """No deadline waits: the link is new."""
        self._due = None

    @property
    def nextCheck(self):
        """When the link's next keepalive check is due, on its clock, or
        None (its handshake's deadline waits, or no check does)."""
        due = self._due
        return None if type(due) is Deadline else due

    def watchHandshake(self):
        """The connection is up: its handshake has ``handshake_timeout``
        seconds (the peer's thisisme, or the answer to ours)."""
        timeout = self.settings.handshake_timeout
        if timeout:
            self._due = self.timers.callLater(timeout, Keepalive._handshakeExpired, self)

    def unwatch(self):
        """The connection is gone: no deadline of its runs."""
        due = self._due
        if type(due) is Deadline:
            self._due = None
            due.cancel()
        else:
            self.timers.unwake(self)

    def watchSilence(self):
        """The link's peer is identified: stop the handshake clock and
        start watching for silence."""
        due = self._due
        if type(due) is Deadline:
            self._due = None
            due.cancel()
        self._schedule()

    def idleChanged(self):
        """The link's idle timeout changed: an established link is checked
        again in time."""
        if self.peer_id is not None:
            self._schedule()

    def _schedule(self, within=None):
        """Check the link again in a tick, or within that many seconds if
        sooner (when its idle time runs out)."""
        interval = self._tick()
        if interval and self._due is None and not self.closing:
            if within is not None:
                interval = min(interval, within)
            self.timers.wake(self, interval)

    def _tick(self):
        """Seconds between keepalive checks: the ping interval, or the idle
        timeout when that is shorter."""
        interval = self.settings.ping_interval
        idle = self.idle_timeout
        if idle:
            interval = min(interval or idle, idle)
        return interval

    def _handshakeExpired(self):
        self._due = None
        timeout = self.settings.handshake_timeout
        self.refuse("notim", f"no {self.awaited()} within {timeout:g} s")

    def _expire(self):
        """The keepalive check (run by the clock's deadlines, see
        L{_schedule}): ping a quiet peer; drop one silent for too long."""
        if self.closing:
            return
        interval = self.settings.ping_interval
        now = self.clock.seconds()
        idle = self.idle_timeout
        if idle and now - self.lastTraffic >= idle:
            self.disconnect(f"no trade for {idle:g} s")
            return
        silent = now - self.lastHeard
        if interval and silent >= interval * DEAD_AFTER_INTERVALS:
            self.drop(f"silent for {roundSeconds(silent)} s")
            return
        if interval and silent >= interval:
            self.send(wire.Ping(self.nextNonce()))
        # An idle link is closed when its idle time runs out, not at the
        # next tick after that.
        # (At least a millisecond on: rounding must not make it spin.)
        within = None
        if idle:
            within = max(idle - (now - self.lastTraffic), 0.001)
        self._schedule(within)
