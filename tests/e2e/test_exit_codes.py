"""
End to end: a daemon that cannot start says why in one line and exits
non-zero; endpoints that cannot work are refused when parsed; one node per
data dir; a restarted node says what it restored.

Every wait is on a log line or a process exit, bounded by a timeout.
"""

import os
import re
import shutil
import socket
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import startMarket, startSeller
from twisted_bazaar.testing.daemons import LiveMarket, nodeId, runTwistd

TIMEOUT = 30.0
SELLER = ["--role", "seller", "--sell", "apple=1"]


def scratch(test):
    folder = tempfile.mkdtemp(prefix="bazaar-exit-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


def takenPort(test):
    """A loopback port something already listens on."""
    taken = socket.socket()
    test.addCleanup(taken.close)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken.getsockname()[1]


class CannotListenTests(SynchronousTestCase):
    def assertFailsWith(self, args, status, line):
        result = runTwistd(["-n", *args], scratch(self), timeout=TIMEOUT)
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, status, output)
        self.assertNotIn("Traceback", output)
        self.assertEqual(len(re.findall(re.escape(line), output)), 1, output)

    def test_trackerPortTaken(self):
        port = takenPort(self)
        self.assertFailsWith(
            ["bazaar-tracker", "--listen", f"tcp:{port}:interface=127.0.0.1"], 1,
            f"twistd bazaar-tracker: error: tracker cannot listen on "
            f"tcp:{port}:interface=127.0.0.1: Couldn't listen on 127.0.0.1:{port}: "
            "[Errno 98] Address already in use.")

    def test_nodePortTaken(self):
        port = takenPort(self)
        self.assertFailsWith(
            ["bazaar-node", *SELLER, "--listen", f"tcp:{port}:interface=127.0.0.1"],
            1, f"twistd bazaar-node: error: node cannot listen on "
            f"tcp:{port}:interface=127.0.0.1: Couldn't listen on 127.0.0.1:{port}")

    def test_privilegedPort(self):
        if os.geteuid() == 0:
            raise self.skipTest("runs as root, which may listen on port 80")
        self.assertFailsWith(["bazaar-tracker", "--listen", "tcp:80"], 1,
                             "twistd bazaar-tracker: error: tracker cannot listen "
                             "on tcp:80: Couldn't listen on any:80: [Errno 13] "
                             "Permission denied.")

    def test_portOutOfRange(self):
        self.assertFailsWith(["bazaar-tracker", "--listen", "tcp:99999"], 2,
                             "twistd bazaar-tracker: error: --listen: port 99999 "
                             "is not in 0 ... 65535")

    def test_unixEndpointForANode(self):
        self.assertFailsWith(["bazaar-node", *SELLER, "--listen", "unix:/tmp/n.sock"],
                             2, "twistd bazaar-node: error: --listen: a unix: "
                             "endpoint cannot work here: other nodes connect to a "
                             "node over plain TCP (use tcp: or tcp6:)")

    def test_badEndpoint(self):
        self.assertFailsWith(["bazaar-tracker", "--listen", "tcp:0:colour=red"], 1,
                             "twistd bazaar-tracker: error: --listen: ")

    def test_unusableDataDir(self):
        folder = scratch(self)
        path = os.path.join(folder, "file")
        with open(path, "w"):
            pass
        self.assertFailsWith(["bazaar-node", *SELLER, "--data-dir",
                              os.path.join(path, "d")], 1,
                             f"twistd bazaar-node: error: --data-dir: cannot use "
                             f"data dir {path}/d: Not a directory")


class DataDirTests(SynchronousTestCase):
    """One node per data dir; a restarted node says what it restored."""

    def test_lockAndRestore(self):
        folder = scratch(self)
        market = LiveMarket(folder)
        self.addCleanup(market.stop)
        market.startTracker(timeout=TIMEOUT)
        data = os.path.join(folder, "seller-data")
        args = [*SELLER, "--data-dir", data]
        first = market.startNode("seller", *args)
        first.waitFor(re.escape(f"data dir {data}: new, nothing to restore"),
                       TIMEOUT)
        seller = nodeId(first, TIMEOUT)

        second = runTwistd(["-n", *first.args], folder, timeout=TIMEOUT)
        output = second.stdout + second.stderr
        self.assertEqual(second.returncode, 1, output)
        self.assertIn(f"twistd bazaar-node: error: --data-dir: data dir {data} is in "
                      f"use by another node (pid {first.process.pid}); give each "
                      "node its own --data-dir", output)
        self.assertNotIn("Traceback", output)

        first.terminate()
        first.finish()
        again = market.start("seller again", first.args)
        again.waitFor(re.escape(f"data dir {data}: restored node {seller}; stock: "
                                 "apple=1; bag: 0; pending buys: 0"), TIMEOUT)
        self.assertEqual(nodeId(again, TIMEOUT), seller)
        self.assertEqual(again.problems(), [])


class GiveUpTests(SynchronousTestCase):
    def test_buyerGivesUp(self):
        """A daemon buyer with --give-up-after that cannot get its want in
        time stops in order and exits 3, saying what it lacks and why."""
        market, _ = startMarket(self, TIMEOUT)
        startSeller(market, "pear=1", TIMEOUT)
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "plum",
                                 "--exit-when-done", "--give-up-after", "3")
        self.assertEqual(buyer.finish(TIMEOUT), 3, buyer.tail())
        [line] = buyer.matches(r"twistd bazaar-node: error: gave up after 3 s: .*")
        self.assertRegex(line.string, r"twistd bazaar-node: error: gave up after 3 s: "
                                      r"bought 0 of 1 plum: no seller offered it "
                                      r"\(\d+ search(es)? found nothing\)$")
        self.assertTrue(buyer.matches(r"Server Shut Down\."))
        self.assertEqual(buyer.problems(), [])
