"""
Tests for L{twisted_bazaar.sim.shardclock}: a shard's clock runs its
entries in an order of (time, key) that does not depend on which other
contexts share it, nor on the order in which contexts made them.
"""

from twisted.internet.interfaces import IReactorTime
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.sim.shardclock import SEQ_BITS, ContextClock, ShardClock


class ShardClockTests(SynchronousTestCase):
    def test_keysByContext(self):
        """A key is its context and how many entries that context made
        before: each context counts its own."""
        clock = ShardClock(3)
        clock.context = 2
        self.assertEqual([clock.key(), clock.key()], [2 << SEQ_BITS, (2 << SEQ_BITS) | 1])
        clock.context = 1
        self.assertEqual(clock.key(), 1 << SEQ_BITS)

    def test_orderIndependentOfInterleaving(self):
        """Two clocks given the same contexts' calls, made in another
        interleaving, run them in the same order: by time, then by the
        context that made them, then in the order it made them."""
        runs = []
        for order in ([1, 2, 1, 2], [2, 2, 1, 1]):
            clock = ShardClock(3)
            ran = []
            made = {1: 0, 2: 0}
            for context in order:
                clock.context = context
                name = f"{context}.{made[context]}"
                made[context] += 1
                clock.callLater(1.0, ran.append, name)
            clock.runUntil(2.0)
            runs.append(ran)
        self.assertEqual(runs[0], runs[1])
        self.assertEqual(runs[0], ["1.0", "1.1", "2.0", "2.1"])

    def test_runsInItsContext(self):
        """An entry runs in the context it belongs to: a call in its
        maker's, a delivery in its receiver's; what it schedules is that
        context's."""
        clock = ShardClock(3)
        seen = []

        def note():
            seen.append((clock.context, clock.key() >> SEQ_BITS))

        clock.context = 1
        clock.callLater(0.5, note)
        clock.deliver(0.7, clock.key(), 2, note, ())
        clock.context = 0
        clock.runUntil(1.0)
        self.assertEqual(seen, [(1, 1), (2, 2)])

    def test_windowEndsBeforeItsEnd(self):
        """runUntil runs what is due before its end, not at it, and leaves
        the clock at the end."""
        clock = ShardClock(1)
        ran = []
        clock.callLater(1.0, ran.append, "at 1")
        clock.callLater(0.5, ran.append, "at 0.5")
        clock.runUntil(1.0)
        self.assertEqual((ran, clock.seconds(), clock.nextTime()), (["at 0.5"], 1.0, 1.0))
        clock.runUntil(1.5)
        self.assertEqual(ran, ["at 0.5", "at 1"])
        self.assertIsNone(clock.nextTime())
        self.assertEqual(clock.events, 2)

    def test_windowToASecond(self):
        """A window to a whole second runs what is due at its end too, as
        a single process's clock does before the run is checked."""
        clock = ShardClock(1)
        ran = []
        clock.callLater(1.0, ran.append, "at 1")
        clock.runUntil(1.0, inclusive=True)
        self.assertEqual((ran, clock.nextTime()), (["at 1"], None))

    def test_resetKeepsItsContext(self):
        """A call moved later runs at its new time, in its context."""
        clock = ShardClock(3)
        clock.context = 2
        seen = []
        call = clock.callLater(1.0, lambda: seen.append((clock.seconds(), clock.context)))
        call.reset(3.0)
        clock.context = 0
        clock.runUntil(2.0)
        self.assertEqual(seen, [])
        clock.runUntil(4.0)
        self.assertEqual(seen, [(3.0, 2)])


class ContextClockTests(SynchronousTestCase):
    def test_providesIReactorTime(self):
        """A node takes its own clock as any IReactorTime."""
        self.assertTrue(verifyObject(IReactorTime, ContextClock(ShardClock(2), 1)))

    def test_schedulesInItsContext(self):
        """A node's clock schedules in its node's context, keyed by its
        count, whatever context runs; its delayed calls are its own."""
        clock = ShardClock(3)
        mine, other = ContextClock(clock, 1), ContextClock(clock, 2)
        clock.context = 2
        seen = []
        call = mine.callLater(1.0, lambda: seen.append(clock.context))
        other.callLater(1.0, lambda: None)
        self.assertEqual(mine.getDelayedCalls(), [call])
        self.assertEqual(clock.key(), (2 << SEQ_BITS) | 1)
        clock.runUntil(2.0)
        self.assertEqual((seen, mine.seconds()), ([1], 2.0))
