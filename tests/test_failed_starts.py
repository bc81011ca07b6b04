"""
A daemon whose start fails on any port it listens on, or any plugin's
(issue 96, H1): one line, exit status 1, the reactor stopped as soon as it
runs, and at exit only what the start made removed.

Each daemon is built by its own C{makeService} on a reactor that has not
run yet (as twistd starts the services) and on which one port is taken;
the listening options of every plugin (L{PluginOption.listens}) are
walked from the registries, so a new transport's or role's port is
covered without an edit here.
"""

import io
import os
import shutil
import tempfile

from twisted.internet.address import IPv4Address
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from tests.test_tap import _parse
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.daemon.registry import rolePlugins, transportPlugins
from twisted_bazaar.tap import common
from twisted_bazaar.tap.exitstatus import ExitStatus
from twisted_bazaar.tap.node import makeService as makeNodeService
from twisted_bazaar.tap.tracker import Options as TrackerOptions
from twisted_bazaar.tap.tracker import makeService as makeTrackerService

#: The port taken in each test: no daemon's default.
TAKEN = 7791


class _UdpPort:
    def __init__(self, port, interface):
        self.address = IPv4Address("UDP", interface or "0.0.0.0", port or 40001)

    def getHost(self):
        return self.address

    def stopListening(self):
        return None


class _TakenPorts(MemoryReactorClock):
    """A reactor that does not run yet, on which ``taken`` (kind, port)
    cannot be listened on: ``("tcp", 7791)`` or ``("udp", 7791)``, or
    a set of such."""

    def __init__(self, taken):
        super().__init__()
        self.taken = taken if isinstance(taken, set) else {taken}
        self.stops = 0

    def _refuse(self, kind, port, interface):
        if (kind, port) in self.taken:
            raise CannotListenError(interface or "any", port,
                                    OSError(98, "Address already in use"))

    def listenTCP(self, port, factory, backlog=50, interface=""):
        self._refuse("tcp", port, interface)
        return super().listenTCP(port, factory, backlog, interface)

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        self._refuse("udp", port, interface)
        return _UdpPort(port, interface)

    def stop(self):
        self.stops += 1

    def spawnProcess(self, *args, **kwargs):
        raise OSError("no process is started in a test")

    def runUp(self):
        """The reactor runs: what waited for it, but signal handlers
        (those would be this process's)."""
        self.running = True
        for call, args, kwargs in self.whenRunningHooks:
            if getattr(call, "__self__", None).__class__.__name__ != "StopOnce":
                call(*args, **kwargs)


class FailedStartTests(SynchronousTestCase):
    """Each listening option of both daemons, its port taken."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="bazaar-failedstart-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.patch(os, "environ", dict(os.environ, XDG_STATE_HOME=self.folder))
        self.exits, self.atExit, self.statuses = [], [], []

        def exitStatus(reactor, prog, nodaemon=True, **kwargs):
            status = ExitStatus(reactor, prog, nodaemon, exit=self.exits.append,
                                atExit=self.atExit.append, stderr=io.StringIO(),
                                twistdConfig=kwargs.get("twistdConfig"))
            self.statuses.append(status)
            return status

        self.patch(common, "ExitStatus", exitStatus)

    def start(self, make, args, taken, options=None):
        """Build and start the daemon on a reactor where ``taken`` is; its
        ExitStatus and reactor.  Starting raises nothing."""
        reactor = _TakenPorts(taken)
        parsed = _parse(args, options) if options else _parse(args)
        service = make(parsed, reactor)
        service.startService()
        [status] = self.statuses
        return service, status, reactor

    def assertFailedStart(self, make, args, taken, said, options=None, made=None):
        """The start fails: the one line (with ``said``), status 1, the
        reactor stopped once it runs; at exit, once the services have
        stopped, ``made`` (a folder the start made) is gone."""
        service, status, reactor = self.start(make, args, taken, options)
        lines = status.stderr.getvalue().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith(status.prog + ": error: "), lines)
        self.assertIn(said, lines[0])
        self.assertEqual((status.code, status.startFailed, reactor.stops), (1, True, 0))
        if made is not None:
            self.assertTrue(os.path.isdir(made), "removed while the daemon runs")
        reactor.runUp()
        self.assertEqual(reactor.stops, 1)
        # Nothing more said once it runs: a failed start says only why.
        self.assertEqual(status.stderr.getvalue().splitlines(), lines)
        stopped = service.stopService()
        reactor.advance(10)
        self.successResultOf(stopped)
        [end] = self.atExit
        end()
        self.assertEqual(self.exits, [1])
        if made is not None:
            self.assertFalse(os.path.exists(made), "left behind")
        return lines[0]

    # -- bazaar-tracker ----------------------------------------------------

    def tracker(self, args, taken, said):
        data = os.path.join(self.folder, "tracker-state")
        return self.assertFailedStart(makeTrackerService, ["--data-dir", data] + args,
                                      taken, said, TrackerOptions, made=data)

    def test_trackerListen(self):
        self.tracker(["--listen", f"tcp:{TAKEN}"], ("tcp", TAKEN),
                     f"tracker cannot listen on tcp:{TAKEN}: ")

    def test_trackerListenOfAnotherTracker(self):
        """The --listen port taken by another tracker, which holds the
        default UDP port too: only the error, not also the warning that
        the UDP reach check is off (issue 96 LOW)."""
        self.tracker(["--listen", f"tcp:{TAKEN}"], {("tcp", TAKEN), ("udp", TAKEN)},
                     f"tracker cannot listen on tcp:{TAKEN}: ")

    def test_trackerDefaultUdpPortTakenWarnsOnceStarted(self):
        """Only the default UDP port taken: the tracker runs, and says so
        once its start is done."""
        service, status, reactor = self.start(
            makeTrackerService, ["--data-dir", os.path.join(self.folder, "t"),
                                 "--listen", f"tcp:{TAKEN - 1}"], ("udp", TAKEN),
            TrackerOptions)
        self.assertEqual(status.stderr.getvalue(), "")
        reactor.runUp()
        [warning] = status.stderr.getvalue().splitlines()
        self.assertTrue(warning.startswith("twistd bazaar-tracker: warning: no UDP reach "
                                           f"check: cannot listen over UDP: port {TAKEN} is "),
                        warning)
        self.assertEqual(status.code, 0)
        self.successResultOf(service.stopService())

    def test_trackerKeyLineOnlyOnceStarted(self):
        """A failed start says nothing of a key kept in the directory it
        then removes; a start that succeeds says it once it has started
        (every port listening), after twistd's own lines."""
        data = os.path.join(self.folder, "tracker-state")
        with capturedLogs() as events:
            self.tracker(["--listen", f"tcp:{TAKEN}"], ("tcp", TAKEN),
                         "tracker cannot listen")
        self.assertEqual([formatEvent(e) for e in events
                          if "the tracker's key is" in (formatEvent(e) or "")], [])
        self.statuses.clear()
        with capturedLogs() as events:
            service, status, reactor = self.start(
                makeTrackerService, ["--data-dir", data, "--no-udp"], ("tcp", -1),
                TrackerOptions)
            self.assertEqual([e for e in events
                              if "the tracker's key is" in (formatEvent(e) or "")], [])
            reactor.runUp()
        [line] = [formatEvent(e) for e in events
                  if "the tracker's key is" in (formatEvent(e) or "")]
        self.assertIn(f"kept in {data}/tracker.key", line)
        self.successResultOf(service.stopService())

    def test_trackerThatNeverListenedSaysNoStop(self):
        """A tracker whose --listen failed never ran: its log says why,
        not also 'tracker stopping: no node is live' as if it had run and
        stopped (s55-user, a new user's walk of the Exit status rows); one
        that listened says it as it stops."""
        with capturedLogs() as events:
            self.tracker(["--listen", f"tcp:{TAKEN}"], ("tcp", TAKEN),
                         "tracker cannot listen")
        self.assertEqual([formatEvent(e) for e in events
                          if "tracker stopping" in (formatEvent(e) or "")], [])
        self.statuses.clear()
        with capturedLogs() as events:
            service, status, reactor = self.start(
                makeTrackerService, ["--data-dir", os.path.join(self.folder, "t"),
                                     "--no-udp"], ("tcp", -1), TrackerOptions)
            reactor.runUp()
            self.successResultOf(service.stopService())
        self.assertEqual([formatEvent(e) for e in events
                          if "tracker stopping" in (formatEvent(e) or "")],
                         ["tracker stopping: no node is live"])

    # -- one state directory, one tracker (issue 96) ------------------------

    def runningTracker(self, args):
        """A tracker started and running (its reactor up): its status."""
        reactor = _TakenPorts(("tcp", -1))
        service = makeTrackerService(_parse(args + ["--no-udp"], TrackerOptions), reactor)
        service.startService()
        status = self.statuses[-1]
        reactor.runUp()
        self.addCleanup(self.ended, reactor)
        self.addCleanup(service.stopService)
        self.assertEqual(status.code, 0, status.stderr.getvalue())
        return status

    def ended(self, reactor):
        """A daemon's process ends: what waits for its reactor's shutdown
        runs (the tracker lets go of its state directory)."""
        for call, args, kwargs in reactor.triggers.get("after", {}).get("shutdown", ()):
            call(*args, **kwargs)

    def contents(self, folder):
        """What a folder holds: each file's name and bytes."""
        found = {}
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "rb") as f:
                found[name] = f.read()
        return found

    def test_trackerDataDirInUse(self):
        """Two trackers given one --data-dir both ran, one key between
        them (each passed for the other to its nodes).  The second is
        refused in one line, exit 1, before it listens, and the first's
        state is left as it was."""
        data = os.path.join(self.folder, "tracker-state")
        self.runningTracker(["--data-dir", data, "--listen", f"tcp:{TAKEN - 2}"])
        before = self.contents(data)
        error = self.assertRaises(SystemExit, makeTrackerService, _parse(
            ["--data-dir", data, "--listen", f"tcp:{TAKEN - 3}", "--no-udp"],
            TrackerOptions), _TakenPorts(("tcp", -1)))
        self.assertEqual(error.code, f"twistd bazaar-tracker: error: --data-dir {data} "
                         "is in use by another tracker; give each tracker its own "
                         "--data-dir")
        self.assertEqual(self.contents(data), before)

    def test_trackerDefaultStateDirInUse(self):
        """The same of its default state directory: a second tracker on
        the same --listen port is told so before it tries the port."""
        listen = f"tcp:{TAKEN - 2}:interface=127.0.0.1"
        self.runningTracker(["--listen", listen])
        state = os.path.join(self.folder, "twisted-bazaar", f"tracker-127.0.0.1-{TAKEN - 2}")
        before = self.contents(state)
        error = self.assertRaises(SystemExit, makeTrackerService, _parse(
            ["--listen", listen, "--no-udp"], TrackerOptions), _TakenPorts(("tcp", -1)))
        self.assertEqual(error.code, "twistd bazaar-tracker: error: its default state "
                         f"directory {state} is in use by another tracker (one started "
                         "with the same --listen port): stop it, or give this one "
                         "another port, or a --data-dir of its own")
        self.assertEqual(self.contents(state), before)

    def test_twoTrackersStartedAtOnceOnOneDataDir(self):
        """Two started at the same moment, each finding none running: the
        one whose reactor runs second ends (exit 1, one line), leaving the
        other's state as it is; it does not say the key."""
        data = os.path.join(self.folder, "tracker-state")
        reactors, services = [], []
        for port in (TAKEN - 2, TAKEN - 3):
            reactor = _TakenPorts(("tcp", -1))
            services.append(makeTrackerService(_parse(
                ["--data-dir", data, "--listen", f"tcp:{port}", "--no-udp"],
                TrackerOptions), reactor))
            services[-1].startService()
            reactors.append(reactor)
            self.addCleanup(self.ended, reactor)
        first, second = self.statuses
        with capturedLogs() as events:
            reactors[0].runUp()
            before = self.contents(data)
            reactors[1].runUp()
        self.assertEqual(first.code, 0)
        self.assertEqual((second.code, second.startFailed), (1, False))
        self.assertEqual(second.stderr.getvalue(), "twistd bazaar-tracker: error: "
                         f"--data-dir {data} is in use by another tracker; give each "
                         "tracker its own --data-dir\n")
        self.assertEqual(len([e for e in events
                              if "the tracker's key is" in (formatEvent(e) or "")]), 1)
        self.successResultOf(services[1].stopService())
        for end in self.atExit:
            end()
        self.assertEqual(self.contents(data), before)
        self.successResultOf(services[0].stopService())

    def test_trackerRelayPort(self):
        """Named as the user gave it, as a node's is (it said tcp:PORT)."""
        self.tracker(["--relay-port", str(TAKEN)], ("tcp", TAKEN),
                     f"relay cannot listen on --relay-port {TAKEN}: ")

    def test_trackerUdpPort(self):
        self.tracker(["--udp-port", str(TAKEN)], ("udp", TAKEN),
                     f"--udp-port: cannot listen over UDP: port {TAKEN} is in use")

    def test_trackerUdpPortsSecond(self):
        self.tracker(["--udp-port", str(TAKEN - 1)], ("udp", TAKEN),
                     f"--udp-port: cannot listen over UDP: port {TAKEN} is in use")

    def test_trackerMetrics(self):
        self.tracker(["--metrics", f"tcp:{TAKEN}"], ("tcp", TAKEN),
                     "metrics cannot listen on tcp:")

    def test_trackerWeb(self):
        self.tracker(["--web", f"tcp:{TAKEN}"], ("tcp", TAKEN),
                     "web view cannot listen on tcp:")

    def test_trackerDefaultStateDirectory(self):
        """Without --data-dir, the default state directory it made (and
        its parent folders) goes too."""
        made = os.path.join(self.folder, "twisted-bazaar")
        self.assertFailedStart(makeTrackerService, ["--listen", f"tcp:{TAKEN}"],
                               ("tcp", TAKEN), "tracker cannot listen", TrackerOptions,
                               made=made)

    def test_trackerKeepsWhatWasThere(self):
        """A state directory there before keeps its key, byte for byte."""
        data = os.path.join(self.folder, "kept")
        os.mkdir(data)
        self.start(makeTrackerService, ["--data-dir", data, "--no-udp"], ("tcp", -1),
                   TrackerOptions)
        with open(os.path.join(data, "tracker.key"), "rb") as f:
            key = f.read()
        self.statuses.clear()
        self.assertFailedStart(makeTrackerService, ["--data-dir", data, "--listen",
                                                    f"tcp:{TAKEN}"], ("tcp", TAKEN),
                               "tracker cannot listen", TrackerOptions)
        with open(os.path.join(data, "tracker.key"), "rb") as f:
            self.assertEqual(f.read(), key)

    def test_trackerPluginPorts(self):
        """Every listening option of every transport plugin's tracker
        options."""
        walked = 0
        for plugin in transportPlugins().values():
            for option in plugin.trackerOptions:
                if option.listens:
                    self.statuses.clear()
                    self.atExit.clear()
                    self.exits.clear()
                    self.tracker([f"--{option.name}", str(TAKEN)], ("tcp", TAKEN),
                                 f"--{option.name} {TAKEN}: ")
                    walked += 1
        self.assertGreater(walked, 0)

    # -- bazaar-node -------------------------------------------------------

    def node(self, args, taken, said):
        data = os.path.join(self.folder, "node-state")
        return self.assertFailedStart(makeNodeService, ["--data-dir", data] + args,
                                      taken, said, made=data)

    def test_nodeListen(self):
        self.node(["--listen", f"tcp:{TAKEN}"], ("tcp", TAKEN),
                  f"node cannot listen on tcp:{TAKEN}: ")

    def test_noDataDirLineOnlyOnceStarted(self):
        """A node without --data-dir says its state lives in memory once
        its start has succeeded, after twistd's "starting up" (it came
        first, before twistd's own lines), and not at all when it fails."""
        self.saidOnlyOnceStarted("no --data-dir: this node's state lives in memory")

    def test_noRoleLineOnlyOnceStarted(self):
        """The same of a node with no role."""
        self.saidOnlyOnceStarted("no --role: this node buys and sells nothing")

    def saidOnlyOnceStarted(self, said):
        with capturedLogs() as events:
            self.assertFailedStart(makeNodeService, ["--listen", f"tcp:{TAKEN}"],
                                   ("tcp", TAKEN), "node cannot listen")
        self.assertEqual([e for e in events if said in (formatEvent(e) or "")], [])
        self.statuses.clear()
        self.atExit.clear()
        with capturedLogs() as events:
            service, status, reactor = self.start(makeNodeService, [], ("tcp", -1))
            self.assertEqual([e for e in events if said in (formatEvent(e) or "")], [])
            reactor.runUp()
        self.assertEqual(len([e for e in events if said in (formatEvent(e) or "")]), 1)
        stopped = service.stopService()
        reactor.advance(10)
        self.successResultOf(stopped)

    def test_nodeLockSaysStartingUntilStarted(self):
        """The data dir's lock says ``PID starting`` until the start has
        succeeded, then ``PID``: a second node waits for the first only
        while its start may still fail (store/lock.py)."""
        data = os.path.join(self.folder, "node-state")
        service, status, reactor = self.start(makeNodeService, ["--data-dir", data],
                                              ("tcp", -1))
        lock = os.path.join(data, "lock")
        with open(lock) as f:
            self.assertEqual(f.read(), f"{os.getpid()} starting\n")
        reactor.runUp()
        with open(lock) as f:
            self.assertEqual(f.read(), f"{os.getpid()}\n")
        stopped = service.stopService()
        reactor.advance(10)
        self.successResultOf(stopped)

    def test_nodeDataDirLinesOnlyOnceStarted(self):
        """A failed start says nothing of a data dir it then removes (new,
        restocked, restored); a start that succeeds says what it held
        once it has started."""
        data = os.path.join(self.folder, "node-state")
        args = ["--restock", "--role", "seller", "--sell", "apple=3"]
        with capturedLogs() as events:
            self.node(["--listen", f"tcp:{TAKEN}"] + args, ("tcp", TAKEN),
                      "node cannot listen")
        self.assertEqual([formatEvent(e) for e in events
                          if f"data dir {data}" in (formatEvent(e) or "")], [])
        self.statuses.clear()
        self.atExit.clear()
        with capturedLogs() as events:
            service, status, reactor = self.start(
                makeNodeService, ["--data-dir", data] + args, ("tcp", -1))
            self.assertEqual([e for e in events
                              if f"data dir {data}" in (formatEvent(e) or "")], [])
            reactor.runUp()
        said = [formatEvent(e) for e in events if f"data dir {data}" in (formatEvent(e) or "")]
        self.assertEqual(said, [f"data dir {data}: restocked apple=3 (was 0); its ledger "
                                "is kept", f"data dir {data}: restored node (no id yet); "
                                "stock: apple=3; bag: 0; pending buys: 0"])
        stopped = service.stopService()
        reactor.advance(10)
        self.successResultOf(stopped)

    def test_nodeQuicPort(self):
        """Issue 96, M1: one line, not a traceback."""
        self.node(["--quic-port", str(TAKEN)], ("udp", TAKEN),
                  f"QUIC cannot listen on --quic-port {TAKEN}: ")

    def test_nodeMetrics(self):
        self.node(["--metrics", f"tcp:{TAKEN}"], ("tcp", TAKEN),
                  "metrics cannot listen on tcp:")

    def test_nodeKeepsWhatWasThere(self):
        """In a data dir there before, only what the start made (its lock
        and store) goes: the key and a file of the user's stay, unchanged."""
        data = os.path.join(self.folder, "kept")
        os.mkdir(data)
        key = Identity.inDirectory(data).key
        with open(os.path.join(data, "notes.txt"), "w") as f:
            f.write("mine")
        self.assertFailedStart(makeNodeService, ["--data-dir", data, "--listen",
                                                 f"tcp:{TAKEN}"], ("tcp", TAKEN),
                               "node cannot listen")
        self.assertEqual(sorted(os.listdir(data)), ["node.key", "notes.txt"])
        self.assertEqual(Identity.inDirectory(data).key, key)

    def test_nodePluginPorts(self):
        """Every listening option of every transport plugin's and role
        plugin's node options (a seller's --transfer-port, with the
        options its role needs)."""
        share = os.path.join(self.folder, "share")
        os.mkdir(share)
        needs = {"transfer-port": ["--role", "seller", "--share", share]}
        plugins = [(plugin, plugin.nodeOptions) for plugin in transportPlugins().values()]
        plugins += [(plugin, plugin.options) for plugin in rolePlugins().values()]
        walked = []
        for plugin, options in plugins:
            for option in options:
                if option.listens:
                    self.statuses.clear()
                    self.atExit.clear()
                    self.exits.clear()
                    self.node(needs.get(option.name, []) + [f"--{option.name}",
                                                            str(TAKEN)],
                              ("tcp", TAKEN), f"--{option.name} {TAKEN}: ")
                    walked.append(option.name)
        self.assertIn("transfer-port", walked)

    def test_aFailedStartAnnouncesNoLaterPort(self):
        """A seller's --transfer-port taken ends the daemon; its relay and
        QUIC ports, started after it, logged "listening" after the error
        line, to close at once (issue 96 LOW): they are not started."""
        share = os.path.join(self.folder, "share")
        os.mkdir(share)
        with capturedLogs() as events:
            self.node(["--role", "seller", "--share", share, "--transfer-port",
                       str(TAKEN)], ("tcp", TAKEN), f"--transfer-port {TAKEN}: ")
        self.assertEqual([line for line in map(formatEvent, events)
                          if "listening on" in (line or "")
                          and not line.startswith("node listening on")], [])

    def test_nodeRelayPort(self):
        self.node(["--relay-port", str(TAKEN)], ("tcp", TAKEN),
                  f"relay cannot listen on --relay-port {TAKEN}: ")

    def test_nodeQuicPortOfItsTracker(self):
        """Issue 96 M2: a --quic-port that is its tracker's second UDP port
        (running.md's example did it): the warning says so at start, then
        the port taken fails the start with its one error line."""
        service, status, reactor = self.start(
            makeNodeService, ["--tracker", f"127.0.0.1:{TAKEN - 1}", "--quic-port",
                              str(TAKEN)], ("udp", TAKEN))
        warning, error = status.stderr.getvalue().splitlines()
        self.assertTrue(warning.startswith(
            f"twistd bazaar-node: warning: --quic-port {TAKEN} is one of the UDP ports "
            f"the tracker at 127.0.0.1:{TAKEN - 1} takes by default"), warning)
        self.assertTrue(error.startswith(f"twistd bazaar-node: error: QUIC cannot listen "
                                         f"on --quic-port {TAKEN}: "), error)

    def test_aPluginServiceThatRaises(self):
        """A plugin's service whose start raises (here the flood scheme's):
        one line naming the error, exit 1, the new data dir removed; not
        twistd's traceback with the data dir left behind."""
        from twisted_bazaar.schemes.flood.discovery import FloodDiscovery

        def broken(service):
            raise RuntimeError("the plugin broke")

        self.patch(FloodDiscovery, "startService", broken)
        line = self.node([], ("tcp", -1), "RuntimeError: the plugin broke")
        self.assertEqual(line, "twistd bazaar-node: error: FloodDiscovery could not "
                         "start: RuntimeError: the plugin broke (-v logs its traceback)")
        # Its traceback, a debug line of the log.
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_aTrackerServiceThatRaises(self):
        from twisted_bazaar.daemon.tracker import UdpReachService

        def broken(service):
            raise OSError("no datagrams here")

        self.patch(UdpReachService, "startService", broken)
        self.tracker([], ("tcp", -1), "UdpReachService could not start: OSError: no "
                     "datagrams here (-v logs its traceback)")
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_everyPortOptionIsWalked(self):
        """A plugin option named for a port (``*-port``) is marked as one
        the daemon listens on, so the walks above give it a taken port."""
        from twisted_bazaar.daemon.registry import discoveryPlugins

        options = [option for plugin in transportPlugins().values()
                   for option in plugin.nodeOptions + plugin.trackerOptions]
        options += [option for plugin in list(rolePlugins().values())
                    + list(discoveryPlugins().values())
                    for option in plugin.options]
        ports = [option for option in options if option.name.endswith("-port")]
        self.assertIn("ws-port", [option.name for option in ports])
        self.assertEqual([option.name for option in ports if not option.listens], [])
