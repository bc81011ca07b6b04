"""
Tests of L{twisted_bazaar.cli.restock} (``bazaar restock``): the request
it sends, and each reason it cannot restock, on a memory reactor.
"""

import errno
import json
import os
import shutil
import tempfile

from twisted.internet import error
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli.arguments import parse
from twisted_bazaar.cli.restock import nodeRuns, renderRestock, request, restockObject
from twisted_bazaar.daemon.control import socketPath
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.store.lock import DataDirLock


def netstring(obj):
    data = json.dumps(obj).encode("utf-8")
    return b"%d:%s," % (len(data), data)


class RequestTests(SynchronousTestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="bazaar-control-")
        self.addCleanup(shutil.rmtree, self.data, True)
        open(socketPath(self.data), "w").close()
        self.reactor = MemoryReactorClock()

    def connected(self):
        """The protocol of the connection request made, on a transport."""
        [(path, factory, timeout, _)] = self.reactor.unixClients
        self.assertEqual(path, socketPath(self.data))
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def test_restocks(self):
        d = request(self.reactor, self.data, {"apple": 5}, add=True)
        protocol, transport = self.connected()
        data = transport.value()
        self.assertEqual(json.loads(data[data.index(b":") + 1:-1]),
                         {"restock": {"apple": 5}, "add": True})
        protocol.dataReceived(netstring({"was": {"apple": 1}}))
        self.assertEqual(self.successResultOf(d), {"apple": 1})
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def assertFails(self, d, why):
        failure = self.failureResultOf(d, ClientError)
        self.assertEqual(failure.getErrorMessage(), why)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_refused(self):
        d = request(self.reactor, self.data, {"apple": 5})
        protocol, _ = self.connected()
        protocol.dataReceived(netstring({"error": "this node is not a seller (no "
                                         "--role seller)"}))
        self.assertFails(d, "refused: this node is not a seller (no --role seller)")

    def test_brokenAnswer(self):
        """An answer that is no netstring (here a length with a leading
        zero, which Twisted's NetstringReceiver would take) fails with the
        reason, and the connection is closed."""
        d = request(self.reactor, self.data, {"apple": 5})
        protocol, transport = self.connected()
        protocol.dataReceived(b"0" + netstring({"was": {"apple": 1}}))
        self.assertFails(d, "the node's answer is no netstring: length has a leading "
                         "zero")
        self.assertTrue(transport.disconnecting)

    def test_noDataDir(self):
        self.assertFails(request(self.reactor, self.data + "x", {"a": 1}),
                         f"no data dir {self.data}x")

    def test_notRunning(self):
        os.remove(socketPath(self.data))
        self.assertFails(request(self.reactor, self.data, {"a": 1}),
                         f"no node is running with data dir {self.data} (no "
                         f"{socketPath(self.data)}; a node listens there while it "
                         "runs with --data-dir)")

    def test_aTrackersStateDirectory(self):
        """A tracker's state directory is said to be one (new user, issue
        96: "no node is running with data dir ...")."""
        os.remove(socketPath(self.data))
        with open(os.path.join(self.data, "tracker.key"), "w"):
            pass
        self.assertFails(request(self.reactor, self.data, {"a": 1}),
                         f"{self.data} is a tracker's state directory (tracker.key), "
                         "not a node's data dir: restock speaks to a seller run with "
                         "--data-dir")

    def test_runningWithoutSocket(self):
        """A node holds the data dir's lock, but its socket could not
        listen: said so, not "no node is running"."""
        os.remove(socketPath(self.data))
        lock = DataDirLock(self.data)
        lock.acquire()
        self.addCleanup(lock.release)
        self.assertTrue(nodeRuns(self.data))
        self.assertFails(request(self.reactor, self.data, {"a": 1}),
                         f"the node running with data dir {self.data} has no control "
                         f"socket ({socketPath(self.data)}): its log says why")
        lock.release()
        self.assertFalse(nodeRuns(self.data))

    def failConnecting(self, reason):
        [(_, factory, _, _)] = self.reactor.unixClients
        factory.clientConnectionFailed(None, Failure(reason))

    def test_staleSocket(self):
        d = request(self.reactor, self.data, {"a": 1})
        self.failConnecting(error.ConnectionRefusedError(errno.ECONNREFUSED))
        self.assertFails(d, f"no node is running with data dir {self.data} (its "
                         f"control socket {socketPath(self.data)} is left from a run "
                         "that ended)")

    def test_notTheOwner(self):
        d = request(self.reactor, self.data, {"a": 1})
        self.failConnecting(error.ConnectError(osError=errno.EACCES))
        self.assertFails(d, f"{socketPath(self.data)}: permission denied: only the "
                         "user who runs the node may restock it")

    def test_noAnswer(self):
        d = request(self.reactor, self.data, {"a": 1}, timeout=5)
        self.connected()
        self.reactor.advance(5)
        self.assertFails(d, f"the node with data dir {self.data} did not answer "
                         "within 5 s")

    def test_closedUnanswered(self):
        d = request(self.reactor, self.data, {"a": 1})
        protocol, _ = self.connected()
        protocol.connectionLost(Failure(error.ConnectionDone()))
        self.assertFails(d, "the node closed the connection before it answered "
                         "(was it stopping?)")


class CommandTests(SynchronousTestCase):
    def test_parse(self):
        args = parse(["restock", "--data-dir", "d", "apple=5", "pear=0", "--json"])
        self.assertEqual((args.data_dir, args.stock, args.add, args.json, args.timeout),
                         ("d", [("apple", 5), ("pear", 0)], False, True, 10.0))

    def test_badArguments(self):
        for argv in (["restock", "apple=5"], ["restock", "--data-dir", "d"],
                     ["restock", "--data-dir", "d", "apple"],
                     ["restock", "--data-dir", "d", "apple=-1"],
                     ["restock", "--data-dir", "d", "a=1", "a=2"]):
            self.assertRaises(SystemExit, parse, argv)

    def test_render(self):
        obj = restockObject({"apple": 1, "pear": 0}, {"apple": 3, "pear": 2}, add=True)
        self.assertEqual(obj, {"stock": {"apple": 4, "pear": 2},
                               "was": {"apple": 1, "pear": 0}})
        self.assertEqual(renderRestock(obj), "restocked apple=4 (was 1), pear=2 "
                         "(was 0); the ledger is kept")
