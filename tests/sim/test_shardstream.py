"""
Tests for L{twisted_bazaar.sim.shardstream}: a shard's streams to its
peers, on socket pairs (in memory, no network, no sleeping).
"""

import math
import socket
import threading

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.shardstream import HEADER, Streams, StreamFailed, connect, listen


def joined(count):
    """count shards' L{Streams}, each two joined by a socket pair."""
    sockets = [{} for _ in range(count)]
    for one in range(count):
        for two in range(one + 1, count):
            left, right = socket.socketpair()
            left.setblocking(False)
            right.setblocking(False)
            sockets[one][two], sockets[two][one] = left, right
    return [Streams(number, sockets[number]) for number in range(count)]


class StreamsTests(SynchronousTestCase):
    def setUp(self):
        self.shards = joined(3)
        for shard in self.shards:
            self.addCleanup(shard.close)

    def test_postsInPeerOrder(self):
        """A window's posts come out by the peers' numbers, whatever order
        they were written in; the next window's wait for the next take."""
        zero, one, two = self.shards
        two.post(0, 0, [(0.5, 7, 3, 0, 1, b"c")], 0.5)
        two.post(0, 1, [], 2.0)
        one.post(0, 0, [], math.inf)
        one.post(0, 1, [(1.5, 8, 4, 2, 3, ("h", 1, "g", 2, 5))], 1.5)
        self.assertEqual(zero.take(0, 0.0), [([], math.inf),
                                             ([(0.5, 7, 3, 0, 1, b"c")], 0.5)])
        self.assertEqual(zero.take(1, 0.0), [([(1.5, 8, 4, 2, 3, ("h", 1, "g", 2, 5))],
                                              1.5), ([], 2.0)])
        self.assertEqual(zero.sent, 0)
        self.assertGreater(two.sent, 2 * HEADER.size)

    def test_silentPeer(self):
        """A window whose posts are not all in says which shards were not
        heard from, in one line."""
        zero, one, _ = self.shards
        one.post(0, 4, [], 1.0)
        error = self.assertRaises(StreamFailed, zero.take, 4, 0.0)
        self.assertEqual(str(error), "window 4: shard(s) [2] sent nothing in 0 s "
                                     "(shard 0)")

    def test_otherWindow(self):
        """A post for another window than the one taken is refused: the
        shards are out of step."""
        zero, one, two = self.shards
        one.post(0, 3, [], 1.0)
        two.post(0, 3, [], 1.0)
        error = self.assertRaises(StreamFailed, zero.take, 2, 0.0)
        self.assertEqual(str(error), "shard 1 posted window 3 where shard 0 wanted "
                                     "window 2")

    def test_lostPeer(self):
        """A peer whose stream closed is named at once, not waited for."""
        zero, one, two = self.shards
        one.post(0, 0, [], 1.0)
        two.close()
        error = self.assertRaises(StreamFailed, zero.take, 0, 30.0)
        self.assertEqual(str(error), "shard 0 lost shard 2: it closed its stream (its "
                                     "worker stopped?)")

    def test_abort(self):
        """Once aborted, a take raises why, even of a window that is in."""
        zero, one, two = self.shards
        one.post(0, 0, [], 1.0)
        zero.abort("given up")
        zero.abort("twice")
        error = self.assertRaises(StreamFailed, zero.take, 0, 30.0)
        self.assertEqual(str(error), "given up")

    def test_abortFromAnotherThread(self):
        """An abort from another thread wakes a take waiting for a post
        that will not come."""
        zero = self.shards[0]
        aborter = threading.Thread(target=zero.abort, args=("stopped",))
        aborter.start()
        error = self.assertRaises(StreamFailed, zero.take, 0, 600.0)
        aborter.join()
        self.assertEqual(str(error), "stopped")

    def test_largePostsBothWays(self):
        """Two shards that post each other more than a socket holds, each
        on its own thread, both get the other's post: each writes the rest
        of its own while it reads."""
        one, two = joined(2)
        self.addCleanup(one.close)
        self.addCleanup(two.close)
        big = [(1.0, i, 0, 0, 0, bytes(100)) for i in range(40000)]
        got = {}

        def exchange(streams, peer):
            streams.post(peer, 0, big, 1.0)
            got[peer] = streams.take(0, 600.0)

        other = threading.Thread(target=exchange, args=(two, 0))
        other.start()
        exchange(one, 1)
        other.join()
        self.assertEqual(got, {0: [(big, 1.0)], 1: [(big, 1.0)]})
        self.assertGreater(one.sent, 4_000_000)


class ConnectTests(SynchronousTestCase):
    def test_nobodyCalls(self):
        """A shard whose peers above it do not call says so in one line."""
        listener = listen("127.0.0.1")
        self.addCleanup(listener.close)
        error = self.assertRaises(StreamFailed, connect, 0, listener,
                                  [listener.getsockname(), ("127.0.0.1", 1)], 0.0)
        self.assertTrue(str(error).startswith("shard 0: a shard above it did not call "
                                              "in 0 s ("), str(error))

    def test_nobodyAnswers(self):
        """A shard that cannot reach a shard below it names it and where."""
        closed = listen("127.0.0.1")
        host, port = closed.getsockname()
        closed.close()
        listener = listen("127.0.0.1")
        self.addCleanup(listener.close)
        error = self.assertRaises(StreamFailed, connect, 1, listener,
                                  [(host, port), listener.getsockname()], 5.0)
        self.assertTrue(str(error).startswith(f"shard 1 could not reach shard 0 at "
                                              f"{host}:{port}: "), str(error))
