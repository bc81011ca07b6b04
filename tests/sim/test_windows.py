"""
Tests for L{twisted_bazaar.sim.windows}: the windows a sharded run is run
in, and what the shards hand each other, on shards that only say what
they were asked (no nodes, no cluster, no sleeping).
"""

import socket
from concurrent.futures import Future, ThreadPoolExecutor

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.exchange import Exchange
from twisted_bazaar.sim.metrics import combine
from twisted_bazaar.sim.runner import SimConfig
from twisted_bazaar.sim.shardstream import Streams
from twisted_bazaar.sim.windows import Windows, lookahead, merged


class FakeShard:
    """A shard with planned entries: (time, message for a shard or None)
    each; done once every planned entry ran and it is past done_at.  Its
    windows are worked out by an L{Exchange} of its own, as a shard's."""

    def __init__(self, number, count, plan=(), done_at=0.0, places=None):
        self.number = number
        self.exchange = Exchange(number, count, lookahead(CONFIG), wait=0.0)
        #: What its build places on other shards (shard -> [placed]).
        self.places = places or {}
        self.placed = None
        self.plan = sorted(plan, key=lambda entry: entry[0])
        self.done_at = done_at
        self.windows = []
        self.received = []
        self.closed = False
        self.aborted = None
        self.last_end = 0.0
        #: For each window that ran an entry: from its first entry to its end.
        self.spans = []

    def _next(self):
        return self.plan[0][0] if self.plan else None

    def drawKeys(self):
        return b"keys of %d" % self.number

    def open(self, stripes, quiet):
        self.stripes = stripes
        return self.places

    def meet(self, peers):
        self.exchange.meet(peers)

    def listen(self, host):
        return host, self.number

    def dial(self, addresses):
        """Streams on the socket pairs L{paired} gave this shard, as a
        shard's on its peers' addresses."""
        self.dialled = addresses
        self.exchange.join(Streams(self.number, self.sockets))

    def settle(self, placed):
        self.placed = placed
        self.exchange.hand({}, self._next())

    def step(self):
        at_second = self.exchange.step(self._window)
        done = self.last_end >= self.done_at and not self.plan
        return at_second, done, 0, self.exchange.window

    def runSecond(self):
        while True:
            answer = self.step()
            if answer[0]:
                return answer

    def _window(self, end, messages, second):
        self.received.extend(messages)
        for message in messages:
            if message[0] < self.last_end:
                raise AssertionError("a message in the past")
        self.last_end = end
        self.windows.append((end, second))
        if self.plan and self.plan[0][0] < end:
            self.spans.append(end - self.plan[0][0])
        outbox = {}
        while self.plan and self.plan[0][0] < end:
            when, target = self.plan.pop(0)
            if target is not None:
                outbox.setdefault(target, []).append((when + 0.010, 0, 0, 0, 0, None))
        for message in messages:
            self.plan.append((message[0], None))
        self.plan.sort(key=lambda entry: entry[0])
        return outbox, self._next()

    def tally(self):
        return {"shard": {"shard": self.number, "peak_rss_mb": 10.0 + self.number}}

    def abort(self, why):
        self.aborted = why
        self.exchange.abort(why)

    def close(self):
        self.closed = True
        self.exchange.close()


def fakeShards(*plans, **each):
    """Fake shards, one for each (plan, done_at[, places])."""
    return [FakeShard(number, len(plans), *plan, **each)
            for number, plan in enumerate(plans)]


def paired(shards):
    """Each two fake shards joined by a socket pair (a stream, in memory)."""
    for shard in shards:
        shard.sockets = {}
    for one in shards:
        for two in shards[one.number + 1:]:
            left, right = socket.socketpair()
            left.setblocking(False)
            right.setblocking(False)
            one.sockets[two.number], two.sockets[one.number] = left, right
    return shards


CONFIG = SimConfig(latency_ms=(10.0, 50.0), warmup=1.0, spread=1.0, max_time=5.0)


class Threaded:
    """A fake shard called as a Dask actor is: each call on its own thread,
    one at a time, answered by a future; but for L{AT_ONCE}'s, which the
    actor's worker runs on its event loop (coroutines in sim/shard.py),
    not behind a call its thread is in."""

    #: Called at once, beside a call that waits (an abort reaches a
    #: window waiting for a peer's post: before, the fake queued it behind
    #: that window, and test_aloneAbortedOnError took the window's 30 s).
    AT_ONCE = ("abort",)

    def __init__(self, shard, pool):
        self.shard = shard
        self._pool = pool

    def __getattr__(self, name):
        method = getattr(self.shard, name)
        if name in self.AT_ONCE:
            return lambda *args: _done(method(*args))
        return lambda *args: self._pool.submit(method, *args)


def _done(value):
    future = Future()
    future.set_result(value)
    return future


class WindowsTests(SynchronousTestCase):
    def test_windowsNoLongerThanTheLookahead(self):
        """Busy shards run in windows of the lookahead at most from the
        first entry they run, cut at each whole second, where the run is
        checked; no message reaches a shard in its past."""
        busy = [(i * 0.004, None) for i in range(600)]
        shards = fakeShards((busy, 2.5), ())
        progress = []
        Windows(CONFIG, shards, lambda purchases, now: progress.append(now)).run()
        self.assertTrue(all(span <= lookahead(CONFIG) + 1e-12 for span in shards[0].spans))
        self.assertGreater(len(shards[0].spans), 2.4 / lookahead(CONFIG) / 2)
        self.assertEqual([end for end, second in shards[0].windows if second],
                         [1.0, 2.0, 3.0])
        self.assertEqual(shards[1].windows, shards[0].windows)
        self.assertEqual(progress, [1.0, 2.0, 3.0])
        self.assertTrue(all(shard.closed for shard in shards))

    def test_quietStretchesSkipped(self):
        """With nothing due, a window starts where the next entry is: an
        idle second costs one window."""
        shards = fakeShards(([(0.5, None), (1.25, None)], 2.0), ())
        Windows(CONFIG, shards).run()
        self.assertEqual([end for end, _ in shards[1].windows],
                         [0.5 + lookahead(CONFIG), 1.0, 1.25 + lookahead(CONFIG), 2.0])

    def test_messagesHandedOver(self):
        """What a shard sends another is in that shard's next window, at
        its time, and its time counts as due on every shard."""
        shards = fakeShards(([(0.3, 1)], 2.0), (), ())
        driver = Windows(CONFIG, shards)
        driver.run()
        self.assertEqual([message[0] for message in shards[1].received], [0.31])
        self.assertEqual(shards[2].received, [])
        for shard in shards:
            self.assertIn(0.31 + lookahead(CONFIG), [end for end, _ in shard.windows])
        self.assertEqual(driver.windows, len(shards[2].windows))

    def test_placementsHandedOver(self):
        """What each shard's build places on a shard is given to that
        shard's settle, in shard order, before any window runs."""
        shards = fakeShards(((), 0.0, {1: ["a"], 0: ["b"]}), ((), 0.0, {1: ["c"]}), ())
        Windows(CONFIG, shards).run()
        self.assertEqual([shard.placed for shard in shards], [["b"], ["a", "c"], []])

    def test_keysHandedOver(self):
        """Every shard's stripe of the run's keys is given to every
        shard's open, in shard order."""
        shards = fakeShards((), (), ())
        Windows(CONFIG, shards).run()
        stripes = [b"keys of 0", b"keys of 1", b"keys of 2"]
        self.assertEqual([shard.stripes for shard in shards], [stripes] * 3)

    def test_stopsAtMaxTime(self):
        """A run whose buyers are never done stops at --max-time."""
        shards = fakeShards(((), 99.0))
        Windows(CONFIG, shards).run()
        self.assertEqual(shards[0].windows[-1], (5.0, True))

    def test_closedOnError(self):
        """A shard that fails closes every shard."""
        shards = fakeShards((), ())
        shards[1]._window = None
        self.assertRaises(TypeError, Windows(CONFIG, shards).run)
        self.assertTrue(all(shard.closed for shard in shards))

    def test_interruptedNotHiddenByAClose(self):
        """A Ctrl-C in the driver reaches the workers too and ends them:
        a shard that then cannot be closed does not hide the interrupt
        (a RuntimeError "Worker holding Actor was lost" did), and every
        other shard is still closed."""
        shards = fakeShards((), (), ())

        def interrupted():
            raise KeyboardInterrupt()

        def lost():
            raise RuntimeError("Worker holding Actor was lost")

        shards[0].settle = lambda placed: interrupted()
        shards[1].close = lost
        self.assertRaises(KeyboardInterrupt, Windows(CONFIG, shards).run)
        self.assertEqual([shard.closed for shard in shards], [True, False, True])

    def test_aCloseThatFailsAfterARunIsSaid(self):
        """After a run that ended well, a shard's close that fails is
        raised (the command says it and keeps the run: cli/simshards)."""
        shards = fakeShards((), ())
        shards[1].close = lambda: (_ for _ in ()).throw(RuntimeError("lost"))
        self.assertRaises(RuntimeError, Windows(CONFIG, shards).run)
        self.assertTrue(shards[0].closed)

    def test_alone(self):
        """Shards on threads of their own, each running a second's windows
        alone and posting its peers on streams it dialled at their
        addresses, run the windows the shards stepped in turn run, and say
        the same."""
        plans = ([(0.3, 1), (1.2, 1)], 2.0), ([(0.5, 0)], 1.0)
        stepped = fakeShards(*plans)
        Windows(CONFIG, stepped).run()
        shards = paired(fakeShards(*plans))
        for shard in shards:
            shard.exchange.wait = 30.0
        with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(1) as two:
            handles = [Threaded(shards[0], one), Threaded(shards[1], two)]
            driver = Windows(CONFIG, handles, hosts=["a", "b"])
            driver.run()
        self.assertEqual([shard.dialled for shard in shards], [[("a", 0), ("b", 1)]] * 2)
        self.assertEqual([shard.windows for shard in shards],
                         [shard.windows for shard in stepped])
        self.assertEqual([shard.received for shard in shards],
                         [shard.received for shard in stepped])
        self.assertEqual(driver.windows, len(stepped[0].windows))
        self.assertEqual([shard.aborted for shard in shards], [None, None])

    def test_aloneAbortedOnError(self):
        """A shard that fails while running alone has every shard told to
        give up, so that none waits on for a post that will not come, and
        every shard closed; the failure is what the run raises."""
        shards = paired(fakeShards(([(0.3, 1)], 2.0), ()))
        shards[1].exchange.wait = 30.0

        def failing(end, messages, second):
            raise ValueError("shard 0 broke")

        shards[0]._window = failing
        with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(1) as two:
            handles = [Threaded(shards[0], one), Threaded(shards[1], two)]
            driver = Windows(CONFIG, handles, hosts=["a", "b"])
            error = self.assertRaises(ValueError, driver.run)
        self.assertEqual(str(error), "shard 0 broke")
        self.assertEqual([shard.aborted for shard in shards],
                         ["the run was given up: ValueError: shard 0 broke"] * 2)
        self.assertTrue(all(shard.closed for shard in shards))

    def test_aloneAnyFailureAtOnce(self):
        """A shard other than the first that fails while running alone
        fails the run at once: the driver waited on the first shard,
        which waited for the failed one's posts (here 30 s; on a cluster
        PEER_WAIT_S, half an hour), and the run then said the first
        shard's wait, not the failure."""
        shards = paired(fakeShards(([(0.3, 1)], 2.0), ()))
        shards[0].exchange.wait = 30.0

        def failing(end, messages, second):
            raise ValueError("shard 1 broke")

        shards[1]._window = failing
        with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(1) as two:
            handles = [Threaded(shards[0], one), Threaded(shards[1], two)]
            driver = Windows(CONFIG, handles, hosts=["a", "b"])
            error = self.assertRaises(ValueError, driver.run)
        self.assertEqual(str(error), "shard 1 broke")
        self.assertEqual([shard.aborted for shard in shards],
                         ["the run was given up: ValueError: shard 1 broke"] * 2)
        self.assertTrue(all(shard.closed for shard in shards))


class MergedTests(SynchronousTestCase):
    def test_combine(self):
        """Tallies add up: counts summed, tables merged, lists joined, the
        busiest node and the time the largest."""
        one = {"floods": 2, "stats": {"a": 1}, "hops": [1], "busiest": 5, "virtual_s": 3.0}
        two = {"floods": 3, "stats": {"a": 2, "b": 1}, "hops": [2], "busiest": 4,
               "virtual_s": 3.0}
        self.assertEqual(combine([one, two]), {"floods": 5, "stats": {"a": 3, "b": 1},
                                               "hops": [1, 2], "busiest": 5,
                                               "virtual_s": 3.0})
        self.assertEqual(one["stats"], {"a": 1})

    def test_merged(self):
        """A sharded run's metrics are a single run's, with the largest
        shard's peak and each shard's own figures under shards."""
        config = attr.evolve(CONFIG, nodes=4, searches=2)
        tallies = []
        for shard, (links, purchase) in enumerate([(3, 1), (5, 1)]):
            tallies.append({
                "link_ends": links, "floods": 1, "stats": {"buy": 1}, "trade": 1,
                "busiest": 1, "purchases": purchase, "superpeers": 0, "oversold": 0,
                "buy_ids": {"b1": 1}, "hops": [1], "lookup_hops": [],
                "latency_ms": [100.0 * (shard + 1)], "virtual_s": 3.0, "killed": 0,
                "failed_links": 0, "faults": {}, "bytes": 10,
                "shard": {"shard": shard, "peak_rss_mb": 50.0 + shard}})
        metrics = merged(config, tallies, 1.5, "test")
        self.assertEqual((metrics["edges"], metrics["purchases"], metrics["double_sells"],
                          metrics["peak_rss_mb"], metrics["bytes_per_node"]),
                         (4, 2, 1, 51.0, 5.0))
        self.assertEqual(metrics["latency_ms"]["mean"], 150.0)
        self.assertEqual([each["shard"] for each in metrics["shards"]["each"]], [0, 1])
        self.assertIn("shard", tallies[0])
