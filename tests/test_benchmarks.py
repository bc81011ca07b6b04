"""
A smoke test of the benchmark suite: the codec benchmark runs and yields a
ratio.  The figures themselves are for ``make bench``, not for tests, so
nothing here depends on how fast this machine is.
"""

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
