"""
Tests for L{twisted_bazaar.sim.exchange}: the shards' board and a shard's place
in the run's windows, with peers that are other exchanges of this thread
(no cluster, no sleeping).
"""

import math

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.exchange import Board, Exchange


class BoardTests(SynchronousTestCase):
    def test_takenInSenderOrder(self):
        """A window's posts for a shard come out by the senders' numbers,
        whatever order they came in, with the earliest due of all; a later
        window's wait their turn."""
        board = Board(4)
        board.post(1, 3, {0: ["later"]}, 2.0)
        board.post(0, 2, {0: ["c"], 1: ["x"]}, 0.5)
        board.post(0, 3, {0: ["a"]}, math.inf)
        board.post(0, 1, {}, 0.25)
        board.post(0, 0, {1: ["y"]}, 0.75)
        self.assertEqual(board.take(0, 0, 0.0), [(["c"], 0.25), (["a"], 0.25), ([], 0.25)])
        self.assertEqual(board.take(0, 1, 0.0), [(["y"], 0.25), (["x"], 0.25), ([], 0.25)])
        self.assertRaises(RuntimeError, board.take, 1, 0, 0.0)

    def test_aWindowIsForgottenOnceAllTookIt(self):
        board = Board(2)
        board.post(0, 0, {}, 1.0)
        board.post(0, 1, {}, 1.0)
        board.take(0, 0, 0.0)
        board.take(0, 1, 0.0)
        error = self.assertRaises(RuntimeError, board.take, 0, 0, 0.0)
        self.assertEqual(str(error), "window 0: 2 shard(s) sent nothing in 0 s "
                                     "(heard from none)")

    def test_silentPeer(self):
        """A window whose posts are not all in says which shards were
        heard from, in one line."""
        board = Board(2)
        board.post(4, 1, {}, 1.0)
        error = self.assertRaises(RuntimeError, board.take, 4, 0, 0.0)
        self.assertEqual(str(error), "window 4: 1 shard(s) sent nothing in 0 s "
                                     "(heard from [1])")

    def test_abort(self):
        """Once aborted, taking raises why, even a window that is in."""
        board = Board(1)
        board.post(0, 0, {}, 1.0)
        board.abort("given up")
        error = self.assertRaises(RuntimeError, board.take, 0, 0, 0.0)
        self.assertEqual(str(error), "given up")

    def test_aShardAlone(self):
        """A shard alone takes its window once it posted it."""
        board = Board(1)
        board.post(0, 0, {}, 3.0)
        self.assertEqual(board.take(0, 0, 0.0), [([], 3.0)])


class ExchangeTests(SynchronousTestCase):
    def pair(self):
        one, two = Exchange(0, 2, 0.01, wait=0.0), Exchange(1, 2, 0.01, wait=0.0)
        peers = [one, two]
        one.meet(peers)
        two.meet(peers)
        return one, two

    def test_meetEveryShard(self):
        """A shard must meet every shard of the run."""
        error = self.assertRaises(ValueError, Exchange(0, 3, 0.01).meet, [None, None])
        self.assertEqual(str(error), "shard 0 of 3 met 2 shards")

    def test_sendsOnlyToPeers(self):
        """Messages for a shard it did not meet are refused, not lost."""
        one, _ = self.pair()
        error = self.assertRaises(ValueError, one.hand, {5: [(0.1,)]}, None)
        self.assertEqual(str(error), "shard 0 sent messages to shard 5, which it did "
                                     "not meet")

    def test_windowFromEveryReport(self):
        """Both shards work out the same window from the same reports: it
        starts at the earliest due of either (a message sent counts), and
        lasts the lookahead; each gets the other's messages."""
        one, two = self.pair()
        one.hand({1: [(0.5, "m")]}, 0.7)
        two.hand({}, None)
        runs = []

        def run(name, outbox, due):
            def window(end, messages, second):
                runs.append((name, end, messages, second))
                return outbox, due
            return window

        self.assertFalse(one.step(run("one", {}, 0.9)))
        self.assertFalse(two.step(run("two", {}, None)))
        self.assertEqual(runs, [("one", 0.51, [], False), ("two", 0.51, [(0.5, "m")], False)])
        # Next: shard 0's entry at 0.9 is the earliest.
        one.step(run("one", {}, None))
        two.step(run("two", {}, None))
        self.assertEqual([end for _, end, _, _ in runs[2:]], [0.91, 0.91])
        # Then nothing is due: the window ends at the whole second.
        self.assertTrue(one.step(run("one", {}, None)))
        self.assertTrue(two.step(run("two", {}, None)))
        self.assertEqual([end for _, end, _, second in runs[4:] if second], [1.0, 1.0])
        self.assertEqual((one.window, one.now), (3, 1.0))

    def test_waited(self):
        """The wall time spent waiting for the peers is counted."""
        times = iter([1.0, 3.5])
        shard = Exchange(0, 1, 0.01, now=lambda: next(times))
        shard.meet([shard])
        shard.hand({}, None)
        shard.step(lambda end, messages, second: ({}, None))
        self.assertEqual(shard.waited, 2.5)
