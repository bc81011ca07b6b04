"""
Tests of L{twisted_bazaar.net.keepalive}: a link's L{Keepalive} (a base
of it) owns its timers (sets, moves and cancels them) and asks of the
rest of its link only what the link shows anyone.  The link here is a
stand-in with those names alone (slots), so the keepalive reaching for
anything else fails.  How a real link uses it: tests/net/test_link.py.
"""

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.net.keepalive import DEAD_AFTER_INTERVALS, Keepalive
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.timers import Deadlines


class _Link(Keepalive):
    """What a keepalive may ask of its link, and nothing else (and the
    keepalive's one slot)."""

    __slots__ = ("clock", "settings", "timers", "lastHeard", "lastTraffic", "closing",
                 "peer_id", "idle_timeout", "said", "_nonce", "_due")

    def __init__(self, clock, **settings):
        self.resetKeepalive()
        self.idle_timeout = None
        self.clock = clock
        self.settings = LinkSettings(**settings)
        self.timers = Deadlines(clock)
        self.lastHeard = self.lastTraffic = clock.seconds()
        self.closing = False
        self.peer_id = None
        self.said = []
        self._nonce = 0

    def send(self, message):
        self.said.append(message)

    def awaited(self):
        return "thisisme"

    def nextNonce(self):
        self._nonce += 1
        return self._nonce

    def drop(self, reason):
        self.closing = True
        self.said.append(("drop", reason))

    def disconnect(self, reason=None):
        self.closing = True
        self.said.append(("dc", reason))

    def refuse(self, code, info):
        self.closing = True
        self.said.append(("refuse", code, info))


class KeepaliveTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()

    def started(self, **settings):
        link = _Link(self.clock, **settings)
        link.watchHandshake()
        return link, link

    def test_handshakeDeadline(self):
        """A link that never says who it is is refused ``notim`` once the
        handshake's time is up."""
        link, _ = self.started(handshake_timeout=5, ping_interval=0)
        self.clock.advance(4.9)
        self.assertEqual(link.said, [])
        self.clock.advance(0.1)
        self.assertEqual(link.said, [("refuse", "notim", "no thisisme within 5 s")])
        self.assertEqual(link.timers.live, 0)

    def test_stoppedLeavesNoTimer(self):
        """Stopped in its handshake, or once watching for silence, the
        keepalive leaves no deadline and no call on the clock."""
        link, keepalive = self.started(handshake_timeout=5, ping_interval=10)
        keepalive.unwatch()
        self.assertEqual((link.timers.live, self.clock.getDelayedCalls()), (0, []))
        link, keepalive = self.started(handshake_timeout=5, ping_interval=10)
        link.peer_id = 2
        keepalive.watchSilence()
        self.assertEqual(link.timers.live, 1)
        keepalive.unwatch()
        self.assertEqual((link.timers.live, self.clock.getDelayedCalls()), (0, []))
        self.clock.advance(100)
        self.assertEqual(link.said, [])

    def test_pingsThenDropsASilentPeer(self):
        """Identified, the link is pinged after each quiet interval and
        dropped (closed at once, nothing flushed) once silent for
        DEAD_AFTER_INTERVALS of them."""
        link, keepalive = self.started(handshake_timeout=5, ping_interval=10)
        link.peer_id = 2
        keepalive.watchSilence()
        for _ in range(DEAD_AFTER_INTERVALS):
            self.clock.advance(10)
        self.assertEqual(link.said, [wire.Ping(1), wire.Ping(2),
                                     ("drop", "silent for 30 s")])

    def test_theSilenceInWholeSeconds(self):
        """A peer found silent as its check ran late (this node busy, or
        just resumed) was cut 'silent for 39.4375 s' (issue 96 LOW): the
        seconds as a person reads them."""
        link, keepalive = self.started(handshake_timeout=5, ping_interval=10)
        link.peer_id = 2
        keepalive.watchSilence()
        self.clock.advance(10)
        self.clock.advance(29.4375)
        self.assertEqual(link.said[-1], ("drop", "silent for 39 s"))

    def test_idleLinkSaysDc(self):
        """With an idle timeout, a link without trade says dc when it runs
        out, not at the next tick after."""
        link, keepalive = self.started(handshake_timeout=0, ping_interval=10)
        link.peer_id = 2
        keepalive.watchSilence()
        link.idle_timeout = 25
        keepalive.idleChanged()
        self.clock.advance(20)
        link.lastHeard = self.clock.seconds()
        self.clock.advance(4.9)
        self.assertEqual(link.said, [wire.Ping(1)])
        self.clock.advance(0.1)
        self.assertEqual(link.said[-1], ("dc", "no trade for 25 s"))
