"""
Tests for twisted_bazaar.daemon.node: the steps of putting a node daemon
together, each failing with the option at fault before anything starts.
"""

import os
import random
import shutil
import sqlite3
import tempfile

from twisted.application.service import MultiService
from twisted.internet import defer, task
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar.daemon.node import (
    LockStamp,
    NodeState,
    holdDataDir,
    keyRefusal,
    nodeEndpoints,
    openState,
    relayService,
)
from twisted_bazaar.core.node import Node
from twisted_bazaar.daemon.build import plugRelayOffer
from twisted_bazaar.daemon.services import StartupError
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.transports.relay.limits import NODE_LIMITS
from tests.helpers import FakeConnector
from tests.net.test_byname import NamingReactor
from twisted_bazaar.schemes.interfaces import IKeyTest
from twisted_bazaar.store import WriterGone
from twisted_bazaar.store.lock import DataDirLock
from tests.base.test_childprocess import FakeReactor


class EndpointTests(SynchronousTestCase):
    def test_badListen(self):
        error = self.assertRaises(StartupError, nodeEndpoints, task.Clock(),
                                  "nonsense:1", "tcp:127.0.0.1:7700")
        self.assertTrue(str(error).startswith("--listen: bad endpoint: "), str(error))

    def test_badTracker(self):
        error = self.assertRaises(StartupError, nodeEndpoints, task.Clock(),
                                  "tcp:0", "nonsense:1")
        self.assertTrue(str(error).startswith("--tracker: bad endpoint: "), str(error))

    def test_trustRootsItCannotUse(self):
        """A tls: tracker whose trustRoots= is no folder, or holds a file
        that is no PEM certificate, is said in one line, not a traceback
        (Twisted raises UnlistableError, or OpenSSL's own error)."""
        bad = tempfile.mkdtemp(prefix="bazaar-daemon-")
        self.addCleanup(shutil.rmtree, bad, True)
        missing = os.path.join(bad, "nowhere", "ca")
        with open(os.path.join(bad, "ca.pem"), "w") as f:
            f.write("not a certificate\n")
        for roots, why in [(missing, f"{missing}: No such file or directory"),
                           (bad, f"{os.path.join(bad, 'ca.pem')} is no PEM certificate "
                            "(no start line)")]:
            endpoint = f"tls:127.0.0.1:7700:trustRoots={roots}"
            error = self.assertRaises(StartupError, nodeEndpoints, task.Clock(),
                                      "tcp:0", [endpoint])
            self.assertEqual(str(error),
                             f"--tracker: cannot use {endpoint}: {why} (a tls: endpoint's "
                             "trustRoots= names a folder holding PEM certificates only)")

    def test_trackerByNameOfIPv6Only(self):
        """--tracker NAME:PORT, NAME having an IPv6 address only, is
        dialled at that address (Twisted's tcp: looked it up for IPv4
        alone, and the node retried "DNS lookup failed" for ever)."""
        reactor = NamingReactor({"tracker.example": [(IPv6Address, "fd50::2")]})
        _, [tracker] = nodeEndpoints(reactor, "tcp:0", ["tcp:tracker.example:7700"])
        tracker.connect(Factory.forProtocol(Protocol))
        reactor.advance(1)
        self.assertEqual([client[:2] for client in reactor.tcpClients], [("fd50::2", 7700)])


class KeyRefusalTests(SynchronousTestCase):
    def test_schemeWithoutKeyTest(self):
        self.assertIsNone(keyRefusal((object(), {})))

    def test_schemeKeyTestGetsItsSettings(self):
        @implementer(IKeyTest)
        class Plugin:
            def keyTest(self, settings):
                return ("refuse", settings)

        self.assertEqual(keyRefusal((Plugin(), {"bits": 3})), ("refuse", {"bits": 3}))

    def test_undeclaredKeyTestIsNotAsked(self):
        """A keyTest the plugin does not declare (L{IKeyTest}) is no
        feature of it: never called."""
        class Plugin:
            def keyTest(self, settings):
                raise AssertionError("asked")

        self.assertIsNone(keyRefusal((Plugin(), {})))


class OpenStateTests(SynchronousTestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="bazaar-daemon-")
        self.addCleanup(shutil.rmtree, self.data)

    def test_inMemory(self):
        state = openState(task.Clock(), None, None, lambda where: ("pin", where))
        self.assertEqual((state.lock, state.store.durable, state.pins),
                         (None, False, ("pin", None)))

    def test_badPinReleasesTheLock(self):
        """A data dir whose tracker pin cannot be read is refused, and left
        unlocked for the next try."""
        def badPin(where):
            raise ValueError("no pin here")

        error = self.assertRaises(StartupError, openState, task.Clock(), self.data,
                                  None, badPin)
        self.assertEqual(str(error), "--data-dir: no pin here")
        lock = DataDirLock(self.data)
        lock.acquire()
        lock.release()

    def test_aDiskErrorNamesTheDataDir(self):
        """A disk error as the node opens its data dir (its disk full as
        the key is written) is said with the folder and the reason:
        '--data-dir: [Errno 28] No space left on device' named neither."""
        def full(where):
            raise OSError(28, "No space left on device")

        error = self.assertRaises(StartupError, openState, task.Clock(), self.data,
                                  None, full)
        self.assertEqual(str(error), f"--data-dir: cannot use data dir {self.data}: "
                                     "No space left on device")

    def test_theLedgerIsMadeItsOwnersAtStart(self):
        """Before the key is read (here a pin that cannot be read ends the
        start after it): the ledger an earlier version left 0644 is 0600."""
        path = os.path.join(self.data, "bazaar.sqlite")
        with open(path, "w"):
            pass
        os.chmod(path, 0o644)

        def badPin(where):
            raise ValueError("no pin here")
        self.assertRaises(StartupError, openState, task.Clock(), self.data, None, badPin)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    def test_aKeyOthersCanReadIsRefused(self):
        """A node.key of mode 0644 (copied in by hand) was taken: now the
        node does not start, saying why and what to do, and leaves the
        data dir unlocked."""
        Identity.inDirectory(self.data)
        path = os.path.join(self.data, "node.key")
        os.chmod(path, 0o644)
        error = self.assertRaises(StartupError, openState, task.Clock(), self.data,
                                  None, lambda where: [])
        self.assertTrue(str(error).startswith(
            f"--data-dir: {path} can be read or written by others than its owner "
            "(mode 0644)"), str(error))
        self.assertIn(f"chmod 600 {path}", str(error))
        lock = DataDirLock(self.data)
        lock.acquire()
        lock.release()

    def test_aStoreOfAnotherProgramLeavesNothingMade(self):
        """A data dir holding a database another program made is refused,
        and the key and lock this start made there are removed: the
        folder is as it was (the fifth new user found both left)."""
        path = os.path.join(self.data, "bazaar.sqlite")
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE foo (x)")
        db.commit()
        db.close()
        error = self.assertRaises(StartupError, openState, task.Clock(), self.data,
                                  None, lambda where: [])
        self.assertIn("is not a twisted-bazaar database", str(error))
        self.assertEqual(os.listdir(self.data), ["bazaar.sqlite"])

    def test_aKeyInterruptedLeavesNoNewFolder(self):
        """Ctrl-C while a new data dir's key is made (a chord puzzle takes
        seconds): the interruption goes on up, and the folder this start
        made is gone rather than left holding a lock alone."""
        new = os.path.join(self.data, "new")

        def interrupted(identity):
            raise KeyboardInterrupt()

        self.assertRaises(KeyboardInterrupt, openState, task.Clock(), new,
                          interrupted, lambda where: [])
        self.assertEqual(os.listdir(self.data), [])

    def test_writerGoneEndsTheDaemonOnce(self):
        """A store's writer gone for good while the daemon runs (here, it
        cannot start once the reactor runs): the daemon is told once, with
        the data dir, why, and that it stops; every write fails."""
        reactor = FakeReactor()
        told = []
        state = openState(reactor, self.data, None, lambda where: [],
                          onFailure=told.append)
        self.addCleanup(state.lock.release)
        reactor.refusal = OSError(11, "Resource temporarily unavailable")
        reactor.run()
        self.assertEqual(told, [
            f"--data-dir {self.data}: cannot start the store's writer process: [Errno 11] "
            "Resource temporarily unavailable; this node can record nothing more, so it "
            "stops (what it confirmed is on disk; what was not written is undone, "
            "unconfirmed)"])
        self.failureResultOf(state.store.setNodeId(5), WriterGone)
        self.assertEqual(len(told), 1)


class HoldDataDirTests(SynchronousTestCase):
    def test_noDataDirAddsNothing(self):
        service = MultiService()
        holdDataDir(task.Clock(), service, NodeState(None, None, None, None), None)
        self.assertEqual(list(service), [])

    def test_aDataDirGoneEndsTheNode(self):
        """A data dir moved or deleted while the node runs: the node went
        on with a ledger it could not keep (its next sale failed, a buy
        hung in doubt); its folder's watch tells it, within a second, the
        line it ends with, naming the folder; stopped, it looks no more."""
        from twisted.internet.testing import MemoryReactorClock

        from twisted_bazaar.store.memory import MemoryStore

        parent = tempfile.mkdtemp(prefix="bazaar-daemon-")
        self.addCleanup(shutil.rmtree, parent, True)
        data = os.path.join(parent, "data")
        lock = DataDirLock(data)
        lock.acquire()
        self.addCleanup(lock.release)
        reactor = MemoryReactorClock()
        service, told = MultiService(), []
        holdDataDir(reactor, service, NodeState(lock, None, MemoryStore(), None), None,
                    onFailure=told.append)
        service.startService()
        reactor.advance(0.5)
        self.assertEqual(told, [])
        os.rename(data, data + ".moved")
        reactor.advance(0.5)
        self.assertEqual(told, [
            f"--data-dir {data}: the folder was moved or deleted while the daemon ran; "
            "this node can record nothing more, so it stops (what it confirmed is on "
            "disk; what was not written is undone, unconfirmed)"])
        self.successResultOf(defer.maybeDeferred(service.stopService))
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_aLockRemovedEndsTheNode(self):
        """DIR/lock removed while the node ran: a second node started on
        the folder took a new lock and ran on the same ledger and key
        (the tracker then stopped the first, 'a copy of this node's
        --data-dir?'); the first now stops within a second, saying why."""
        from twisted.internet.testing import MemoryReactorClock

        from twisted_bazaar.store.memory import MemoryStore

        data = tempfile.mkdtemp(prefix="bazaar-daemon-")
        self.addCleanup(shutil.rmtree, data, True)
        lock = DataDirLock(data)
        lock.acquire()
        self.addCleanup(lock.release)
        reactor, service, told = MemoryReactorClock(), MultiService(), []
        holdDataDir(reactor, service, NodeState(lock, None, MemoryStore(), None), None,
                    onFailure=told.append)
        service.startService()
        self.addCleanup(service.stopService)
        os.remove(lock.path)
        reactor.advance(0.5)
        self.assertEqual(told, [
            f"--data-dir {data}: its lock file {lock.path} was moved or deleted while the "
            "daemon ran, so another node could start on this data dir and share its "
            "ledger and key; this one stops rather than share them (what it confirmed is "
            "on disk; started again, it takes a new lock)"])

    def _heldWithKey(self):
        """A data dir held, its node's key in it, watched as a daemon's:
        (reactor, the key's path, its identity, what the node was told)."""
        from twisted.internet.testing import MemoryReactorClock

        from twisted_bazaar.identity.keys import Identity
        from twisted_bazaar.store.memory import MemoryStore

        data = tempfile.mkdtemp(prefix="bazaar-daemon-")
        self.addCleanup(shutil.rmtree, data, True)
        lock = DataDirLock(data)
        lock.acquire()
        self.addCleanup(lock.release)
        identity = Identity.inDirectory(data)
        reactor, service, told = MemoryReactorClock(), MultiService(), []
        holdDataDir(reactor, service, NodeState(lock, identity, MemoryStore(), None),
                    None, onFailure=told.append)
        service.startService()
        self.addCleanup(service.stopService)
        return reactor, os.path.join(data, "node.key"), identity, told

    def test_aKeyRemovedIsWrittenBack(self):
        """node.key removed while the node ran: its next start made a new
        key, another node over this one's ledger.  It is written back from
        memory, the node runs on, and a second removal is mended too."""
        from twisted_bazaar.identity.keys import Identity

        reactor, key, identity, told = self._heldWithKey()
        for _ in range(2):
            os.remove(key)
            reactor.advance(0.5)
            self.assertEqual(told, [])
            self.assertEqual(Identity.read(os.path.dirname(key)).key, identity.key)
        self.assertTrue(reactor.getDelayedCalls())

    def test_anotherKeyInItsPlaceEndsTheNode(self):
        """A key file replaced by another key: the node stops, saying so,
        rather than start again as another node."""
        from twisted_bazaar.identity.keys import Identity

        reactor, key, identity, told = self._heldWithKey()
        Identity.generate().writeNew(key + ".other")
        os.replace(key + ".other", key)
        reactor.advance(0.5)
        self.assertEqual(told, [
            f"--data-dir: its key file {key} was replaced by another while the daemon "
            "ran (moved or deleted, and made again), another key in its place; this node "
            "stops rather than start again as another"])

    def test_lockStampedWhenRunning(self):
        data = tempfile.mkdtemp(prefix="bazaar-daemon-")
        self.addCleanup(shutil.rmtree, data)
        lock = DataDirLock(data)
        lock.acquire()
        self.addCleanup(lock.release)
        LockStamp(lock).startService()
        with open(lock.path) as f:
            self.assertIn(str(os.getpid()), f.read())


class _Port:
    def __init__(self, port):
        self.address = IPv4Address("TCP", "0.0.0.0", port)
        self.listening = True

    def getHost(self):
        return self.address

    def stopListening(self):
        self.listening = False
        return defer.succeed(None)


class _Endpoint:
    """A server endpoint that listens at once on a given port."""

    def __init__(self, port):
        self.port = _Port(port)
        self.factory = None

    def listen(self, factory):
        self.factory = factory
        return defer.succeed(self.port)


class RelayServiceTests(SynchronousTestCase):
    def test_servesTheNodesRelay(self):
        """The node's relay takes reservations on its own port (sealed by
        the node's channel) once it listens; stopping closes the port and
        leaves nothing scheduled."""
        clock = task.Clock()
        node = Node(clock, random.Random(0), FakeConnector())
        offering = plugRelayOffer(node, NODE_LIMITS)
        relay = offering.relay
        endpoint = _Endpoint(7702)
        relayService(clock, offering, ChannelKey.generate(Identity.generate()),
                     endpoint, "--relay-port 0", self.fail).setServiceParent(offering)
        self.assertEqual((relay.port, relay.here), (0, True))
        offering.startService()
        self.assertEqual(relay.port, 7702)
        self.assertIsNotNone(endpoint.factory)
        relay.throttle.spend("10.1.0.0/16", 10 * NODE_LIMITS.rate)
        offering.stopService()
        self.assertEqual(relay.port, 0)
        self.assertFalse(endpoint.port.listening)
        self.assertEqual(clock.getDelayedCalls(), [])

