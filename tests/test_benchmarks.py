"""
Tests of the benchmark suite's own parts: the codec benchmark runs and
yields a ratio, the purchase benchmark reads CPU per thread (checked
against threads kept busy for a known CPU time, not a known wall time),
its driver signs nothing inside a window that it did not count, and the
aria2 comparison is skipped, saying how to install what it needs, when
aria2c or nginx is missing, and configures both as documented.  The
figures themselves are for ``make bench``, not for tests, so nothing here
depends on how fast this machine is.
"""

import collections
import itertools
import os
import threading
import time

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from benchmarks import aria2, codec, idle, purchase
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


def burn(seconds):
    """Keep the calling thread on the CPU until it has used seconds of CPU
    time (its own, so however busy the machine, the amount is the same)."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


class ThreadSecondsTests(SynchronousTestCase):
    """The purchase benchmark's per-thread CPU reading."""

    #: CPU seconds each thread burns, and how far /proc's clock-tick
    #: figures may fall short of it (they are truncated to ticks) or what
    #: an idle thread may gain meanwhile.
    BURN = 0.2
    SLACK = 0.05

    def read(self):
        return purchase.threadSeconds(os.getpid())

    def test_otherThreadsCounted(self):
        """CPU a second thread uses counts as the other threads', not the
        main thread's, while that thread lives (the reading is taken
        before it ends: a thread that ended is no longer in /proc)."""
        burnt, finish = threading.Event(), threading.Event()

        def work():
            burn(self.BURN)
            burnt.set()
            finish.wait(30)

        before = self.read()
        worker = threading.Thread(target=work, name="burner")
        worker.start()
        try:
            self.assertTrue(burnt.wait(30), "the burner thread never finished")
            after = self.read()
        finally:
            finish.set()
            worker.join(30)
        main, other = (end - start for start, end in zip(before, after))
        self.assertGreaterEqual(other, self.BURN - self.SLACK)
        self.assertLess(main, self.SLACK)

    def test_mainThreadCounted(self):
        """CPU the main thread (the reactor's, in a daemon) uses counts as
        the main thread's; the whole process used at least both parts."""
        before, total_before = self.read(), idle.cpuSeconds(os.getpid())
        burn(self.BURN)
        after, total_after = self.read(), idle.cpuSeconds(os.getpid())
        main, other = (end - start for start, end in zip(before, after))
        self.assertGreaterEqual(main, self.BURN - self.SLACK)
        self.assertLess(other, self.SLACK)
        tick = 1 / os.sysconf("SC_CLK_TCK")
        # Each figure is a sum of whole ticks, in floating point: compared
        # within a millionth of a second, not to the last bit (0.18999...97
        # against 0.19000...08 failed once).
        exact = 1e-6
        self.assertLessEqual(sum(after), total_after + 2 * tick + exact)
        self.assertGreaterEqual(total_after - total_before + exact,
                                main + other - 2 * tick)


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


class Aria2BenchmarkTests(SynchronousTestCase):
    """transfer_vs_aria2's parts that do not need aria2c or nginx to run."""

    def test_skippedWithHowToGetWhatIsMissing(self):
        """Without a tool the figure is skipped, and the note names the
        Debian package of each missing one."""
        self.assertIsNone(aria2.missingTools(lambda name: f"/usr/bin/{name}"))
        self.assertEqual(aria2.missingTools(lambda name: None),
                         "skipped: aria2c and nginx not found (Debian: apt-get install "
                         "aria2 nginx)")
        self.assertEqual(
            aria2.missingTools(lambda name: None if name == "nginx" else "/x"),
            "skipped: nginx not found (Debian: apt-get install nginx)")

    def test_runSkipsTheFigureWhenAToolIsMissing(self):
        self.patch(aria2, "findTool", lambda name: None)
        [figure] = aria2.run(quick=True)
        self.assertEqual((figure.name, figure.value, figure.met),
                         ("transfer_vs_aria2", None, None))
        self.assertIn("apt-get install aria2 nginx", figure.note)

    def test_nginxServesTheFolderWithSendfileOnLoopback(self):
        conf = aria2.nginxConfig("/scratch", "/shared", 4321, root_user=False)
        self.assertIn("listen 127.0.0.1:4321;", conf)
        self.assertIn("root /shared;", conf)
        self.assertIn("sendfile on;", conf)
        self.assertIn("daemon off;", conf)
        self.assertNotIn("user ", conf)
        for line in conf.splitlines():
            if line.strip().startswith(("pid", "error_log")) or "_temp_path" in line:
                self.assertIn("/scratch/", line)

    def test_nginxWorkerStaysRootWhenRunAsRoot(self):
        conf = aria2.nginxConfig("/scratch", "/shared", 4321, root_user=True)
        self.assertEqual(conf.splitlines()[0], "user root;")

    def test_aria2ChecksTheWholeFileSha256(self):
        self.patch(aria2, "findTool", lambda name: f"/usr/bin/{name}")
        command = aria2.aria2Command("http://127.0.0.1:1/f", "/d", "f.bin", "ab" * 32)
        self.assertEqual(command[0], "/usr/bin/aria2c")
        self.assertEqual(command[-1], "http://127.0.0.1:1/f")
        self.assertIn("--checksum=sha-256=" + "ab" * 32, command)
        self.assertIn("--dir=/d", command)
        self.assertIn("--out=f.bin", command)
