"""
Tests of the benchmark suite's own parts: the codec benchmark runs and
yields a ratio, the purchase benchmark reads CPU per thread, and its
driver signs nothing inside a window that it did not count.  The figures
themselves are for ``make bench``, not for tests, so nothing here depends
on how fast this machine is.
"""

import collections
import itertools
import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.roles import trade
from benchmarks import codec, idle, purchase
from twisted_bazaar import wire


class CodecBenchmarkTests(SynchronousTestCase):

    def test_quickCodecBenchmarkGivesAPositiveRatio(self):
        [figure] = codec.run(quick=True, repeats=3, loops=500)
        self.assertEqual((figure.name, figure.goal), ("codec_ratio", ("<=", 1.5)))
        self.assertGreater(figure.value, 0)
        self.assertGreater(figure.detail["codec_us_per_message"], 0)
        self.assertGreater(figure.detail["json_us_per_message"], 0)
        self.assertIn(figure.met, (True, False))

    def test_typicalMessagesAreASearchAReplyAndABuy(self):
        messages = codec.typicalMessages()
        self.assertEqual([type(m) for m in messages], [floodmsg.Search, floodmsg.Reply, trade.Buy])
        for message in messages:
            self.assertEqual(wire.decode(wire.encode(message)), message)


class ThreadSecondsTests(SynchronousTestCase):
    """The purchase benchmark's per-thread CPU reading."""

    def test_splitsTheProcessByThread(self):
        """The main thread and the other threads, read from /proc, add up
        to no more than the whole process has used (its threads that
        ended count there only)."""
        pid = os.getpid()
        main, other = purchase.threadSeconds(pid)
        total = idle.cpuSeconds(pid)
        self.assertGreaterEqual(main, 0)
        self.assertGreaterEqual(other, 0)
        self.assertLessEqual(main + other, total + 2 / os.sysconf("SC_CLK_TCK"))


class _Sent:
    """A purchase-benchmark buyer that keeps what it sends and signs buys
    with a counter instead of a key."""

    def __init__(self, signed):
        self.signed = collections.deque(signed)
        self.sent = []

    def send(self, payload):
        self.sent.append(payload)

    def sign(self, buy_id):
        return b"signed %d" % buy_id


class PurchaseDriverTests(SynchronousTestCase):
    """What the purchase driver sends, and when it has to sign."""

    def driver(self, reuse):
        buyers = purchase.Buyers.__new__(purchase.Buyers)
        buyers.reuse = reuse
        buyers.signed_in_windows = 0
        buyers._buy_ids = itertools.count(1)
        return buyers

    def test_freshBuysUntilThePoolRunsDryThenCounted(self):
        """A seller's driver sends each signed buy once; past its pool it
        signs inside the window, and says how often."""
        driver, buyer = self.driver(reuse=False), _Sent([b"a", b"b"])
        for _ in range(4):
            driver._buy(buyer)
        self.assertEqual(buyer.sent, [b"a", b"b", b"signed 1", b"signed 2"])
        self.assertEqual(driver.signed_in_windows, 2)

    def test_baselineReusesItsPool(self):
        """The echo's driver sends its pool round and round: it never signs
        inside a window, however long the window."""
        driver, buyer = self.driver(reuse=True), _Sent([b"a", b"b"])
        for _ in range(5):
            driver._buy(buyer)
        self.assertEqual(buyer.sent, [b"a", b"b", b"a", b"b", b"a"])
        self.assertEqual(driver.signed_in_windows, 0)
