"""
Tests for twisted_bazaar.daemon.tracker: a tracker daemon's key, kept in
its data dir, and the tracker served with it.
"""

import os
import random
import shutil
import tempfile

from twisted.internet.address import IPv4Address
from twisted.internet.error import CannotListenError
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.services import StartupError
from twisted_bazaar.daemon.tracker import (
    TRACKER_KEY_FILE,
    UdpReachService,
    keepKey,
    serveRelay,
    serveTracker,
    trackerIdentity,
)
from twisted_bazaar.testing.memory import MemoryNetwork, MemoryServerEndpoint
from twisted_bazaar.transports.relay.limits import RelayLimits
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.tracker import CHECK_LIMIT, Tracker


class TrackerIdentityTests(SynchronousTestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-daemon-")
        self.addCleanup(shutil.rmtree, self.folder)

    def test_keptInTheDataDir(self):
        data = os.path.join(self.folder, "tracker")
        first = trackerIdentity(data)
        self.assertTrue(os.path.exists(os.path.join(data, TRACKER_KEY_FILE)))
        self.assertEqual(trackerIdentity(data).key, first.key)

    def test_newWithoutADataDir(self):
        self.assertNotEqual(trackerIdentity(None).key, trackerIdentity(None).key)

    def test_keptInTheDefaultStateDir(self):
        """Without a data dir, the key is kept in the default state
        directory, made with its parents; a data dir wins over it."""
        default = os.path.join(self.folder, "state", "twisted-bazaar", "tracker-7700")
        first = trackerIdentity(None, default)
        self.assertEqual(os.stat(default).st_mode & 0o777, 0o700)
        self.assertEqual(trackerIdentity(None, default).key, first.key)
        data = os.path.join(self.folder, "data")
        self.assertNotEqual(trackerIdentity(data, default).key, first.key)

    def test_unusableDefaultStateDir(self):
        """A default state directory that cannot be made: the reason, and
        the flag to give instead."""
        blocker = os.path.join(self.folder, "a-file")
        with open(blocker, "w"):
            pass
        default = os.path.join(blocker, "twisted-bazaar", "tracker-7700")
        error = self.assertRaises(StartupError, trackerIdentity, None, default)
        self.assertTrue(str(error).startswith(
            f"cannot keep the tracker's key in its default state directory "
            f"{default} ("), str(error))
        self.assertIn("(Not a directory)", str(error))
        self.assertNotIn("Errno", str(error))
        self.assertTrue(str(error).endswith("give --data-dir DIR, a directory it "
                                            "can write"), str(error))

    def test_madeCanBeUnmade(self):
        """What a first start made (the folders missing, then the key) is
        listed in the folder it holds, and removed by its undo; what was
        there stays."""
        default = os.path.join(self.folder, "state", "twisted-bazaar", "tracker-7700")
        held = []
        trackerIdentity(None, default, held)
        [folder] = held
        self.assertEqual(folder.made, [os.path.join(self.folder, "state"),
                                       os.path.dirname(default), default,
                                       os.path.join(default, TRACKER_KEY_FILE)])
        folder.undo()
        self.assertEqual(os.listdir(self.folder), [])
        kept = []
        trackerIdentity(None, default, kept)
        again = []
        trackerIdentity(None, default, again)
        self.assertEqual(again[0].made, [])
        for folder in kept + again:
            self.addCleanup(folder.undo)

    def test_aStartThatFailsBesideARunningTrackerRemovesNothing(self):
        """Issue 96 M6: two trackers on one state directory (started at
        once); the one that made it fails its start while the other
        holds it: nothing is removed, and the other's key stays."""
        default = os.path.join(self.folder, "twisted-bazaar", "tracker-7700")
        failing, running = [], []
        made = trackerIdentity(None, default, failing)
        self.assertEqual(trackerIdentity(None, default, running).key, made.key)
        self.assertEqual(running[0].made, [])
        running[0].running()  # its reactor runs: it has started
        failing[0].undo()
        self.assertEqual(os.listdir(default), [TRACKER_KEY_FILE])
        running[0].undo()
        self.assertEqual(os.listdir(default), [TRACKER_KEY_FILE])

    def test_unusableDataDir(self):
        path = os.path.join(self.folder, "a-file")
        with open(path, "w"):
            pass
        error = self.assertRaises(StartupError, trackerIdentity, path)
        self.assertEqual(str(error), f"--data-dir {path}: cannot keep the tracker's "
                         "key there: File exists")

    def test_unusableDataDirUnder(self):
        """A data dir that cannot be made says so in words, without Python's
        "[Errno N]" and the path twice."""
        blocker = os.path.join(self.folder, "a-file")
        with open(blocker, "w"):
            pass
        path = os.path.join(blocker, "tracker")
        error = self.assertRaises(StartupError, trackerIdentity, path)
        self.assertEqual(str(error), f"--data-dir {path}: cannot keep the tracker's "
                         "key there: Not a directory")


class KeepKeyTests(SynchronousTestCase):
    """
    A tracker's state directory removed while it ran (``rm -r``, a cleaner
    of old files) went unnoticed: its next start made a new key, and every
    node, which keeps the old one, refused it.  At its stop, the key it
    holds is written back, and that is said.
    """

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-daemon-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.data = os.path.join(self.folder, "state", "tracker")
        self.held = []
        self.identity = trackerIdentity(self.data, held=self.held)

    def test_writtenBackAsItStops(self):
        shutil.rmtree(os.path.join(self.folder, "state"))
        with capturedLogs() as logged:
            keepKey(self.identity, self.held)
        path = os.path.join(self.data, TRACKER_KEY_FILE)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.data).st_mode & 0o777, 0o700)
        for folder in self.held:
            folder.stopped()
        self.assertEqual(trackerIdentity(self.data).key, self.identity.key)
        [event] = logged
        self.assertEqual(event["log_level"].name, "warn")
        self.assertIn("was removed while the tracker ran: written back as it stops",
                      event["log_format"])

    def test_aKeptKeyIsLeftAlone(self):
        path = os.path.join(self.data, TRACKER_KEY_FILE)
        before = os.stat(path)
        with capturedLogs() as logged:
            keepKey(self.identity, self.held)
        self.assertEqual((os.stat(path).st_ino, list(logged)), (before.st_ino, []))

    def test_notWrittenSaysSo(self):
        shutil.rmtree(os.path.join(self.folder, "state"))
        with open(os.path.join(self.folder, "state"), "w"):
            pass
        with capturedLogs() as logged:
            keepKey(self.identity, self.held)
        [event] = logged
        self.assertIn("cannot be written back", event["log_format"])


class ServeTrackerTests(SynchronousTestCase):
    def test_trackerTakesItsLimitsAndKey(self):
        identity = trackerIdentity(None)
        reactor = MemoryReactorClock()
        service, tracker = serveTracker(reactor, identity, object(), LinkSettings(),
                                        lambda *a, **k: None, "tcp:0",
                                        pending_limit=7, pending_group_limit=3,
                                        registered_limit=11, connection_rate=2.0)
        self.assertIs(tracker.identity, identity)
        self.assertEqual((tracker.pending.capacity, tracker.pending.group_limit,
                          tracker.registered.capacity, tracker.checking.capacity),
                         (7, 3, 11, CHECK_LIMIT))
        self.assertIs(service.tracker, tracker)


class ServeRelayTests(SynchronousTestCase):
    def test_relayListensAndGrants(self):
        """The tracker's relay takes its limits, is the tracker's, and
        grants reservations once it listens, on the port it got."""
        identity = trackerIdentity(None)
        reactor = MemoryReactorClock()
        service, tracker = serveTracker(reactor, identity, object(), LinkSettings(),
                                        lambda *a, **k: None, "tcp:0")
        network = MemoryNetwork()
        limits = RelayLimits(reservations=5, circuits=7)
        relayService = serveRelay(reactor, tracker,
                                  MemoryServerEndpoint(network, "tracker", 7701), limits,
                                  lambda *a, **k: None, "tcp:7701")
        self.assertIs(tracker.relay.limits, limits)
        self.assertEqual(tracker.relay.port, 0)
        relayService.startService()
        self.assertEqual(tracker.relay.port, 7701)
        self.assertEqual(tracker.relay.reserve(1, "10.1", print, "k", "198.51.100.1"),
                         "198.51.100.1:7701")
        relayService.stopService()


class _UdpPort:
    def __init__(self, port, protocol):
        self.number = port or 40000 + id(protocol) % 1000
        self.protocol = protocol
        self.stopped = False

    def getHost(self):
        return IPv4Address("UDP", "0.0.0.0", self.number)

    def stopListening(self):
        self.stopped = True


class _UdpReactor:
    """listenUDP only: a port taken raises as the reactor's does."""

    def __init__(self, taken=()):
        self.taken = taken
        self.ports = []

    def listenUDP(self, port, protocol, interface=""):
        if port in self.taken:
            raise CannotListenError(interface, port, OSError("Address already in use"))
        self.ports.append(_UdpPort(port, protocol))
        return self.ports[-1]


class UdpReachServiceTests(SynchronousTestCase):
    def tracker(self):
        return Tracker(Clock(), random.Random(1), LinkSettings())

    def test_listens(self):
        """--udp-port P: the tracker's UDP reach takes datagrams on P and
        P+1, knows those ports while they listen, and none once stopped."""
        reactor, tracker = _UdpReactor(), self.tracker()
        service = UdpReachService(reactor, tracker, 3479, "", self.fail)
        service.startService()
        self.assertEqual(tracker.udp.ports, (3479, 3480))
        self.assertEqual([port.protocol.index for port in reactor.ports], [0, 1])
        service.stopService()
        self.assertIsNone(tracker.udp.ports)
        self.assertTrue(all(port.stopped for port in reactor.ports))

    def test_taken(self):
        """A port taken: one line saying which, and no UDP reach."""
        reactor, tracker = _UdpReactor(taken=(3480,)), self.tracker()
        failures = []
        UdpReachService(reactor, tracker, 3479, "", failures.append).startService()
        self.assertEqual(failures, ["--udp-port: cannot listen over UDP: port 3480: "
                                    "Address already in use"])
        self.assertIsNone(tracker.udp.ports)

    def test_defaultTaken(self):
        """The default's ports (no --udp-port given, no onFailure), one of
        them taken: logged, the other closed, and the tracker runs on
        without UDP."""
        reactor, tracker = _UdpReactor(taken=(7701,)), self.tracker()
        with capturedLogs() as logged:
            UdpReachService(reactor, tracker, 7700, "", None).startService()
        [line] = [event for event in logged if "UDP" in event.get("line", "")]
        self.assertIn("cannot listen over UDP: port 7701: Address", line["line"])
        self.assertIn("--no-udp", line["line"])
        self.assertIsNone(tracker.udp.ports)
        self.assertTrue(all(port.stopped for port in reactor.ports))

    def test_defaultTakenIsTold(self):
        """Issue 96 M2: a second tracker on tcp:7701 beside one on 7700
        lost its UDP reach check in a log line only.  The line goes to
        onWarning (the terminal that started it), naming what likely
        holds the port and what to do."""
        reactor, tracker = _UdpReactor(taken=(7701,)), self.tracker()
        told = []
        UdpReachService(reactor, tracker, 7701, "", None, told.append).startService()
        self.assertEqual(told, [
            "no UDP reach check: cannot listen over UDP: port 7701: Address already "
            "in use; a tracker takes its --listen port and the next over UDP by default "
            "(7701 and 7702 here), so another tracker on this machine at port 7700 or "
            "7701, or a node's --quic-port 7701, may hold it; without it nodes at home "
            "punch no UDP path through their routers: choose two free ports with "
            "--udp-port, or say --no-udp"])
        self.assertIsNone(tracker.udp.ports)
