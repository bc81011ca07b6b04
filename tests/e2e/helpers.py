"""
Set-up shared by the end-to-end tests: real daemons started with twistd
in a scratch folder that goes away with the test.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.schemes.chord.ring import solves
from twisted_bazaar.testing.daemons import LiveMarket, nodeId
from twisted_bazaar.testing.netns import NetBed, missing
from twisted_bazaar.wire.ids import parseWireId, shortId, wireId

def short(ident):
    """A node id (as a daemon's id or as the wire writes it) as log lines
    write it: its short form."""
    return shortId(parseWireId(ident) if isinstance(ident, str) else ident)


def freePort():
    """A loopback port free now, for a daemon that must listen on a fixed
    one (a tracker restarted where its nodes look for it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kill(daemon):
    """kill -9, and wait for the process and its log to end."""
    daemon.process.kill()
    daemon.finish()


#: The log line that gives a node's listening port.
NODE_LISTENING = r"node listening on 127\.0\.0\.1:(\d+)"


def startMarket(case, timeout):
    """
    Start a tracker in a fresh scratch folder; return (market, tracker).
    Every daemon of the market is stopped, and the folder removed, when
    the test case ends.
    """
    folder = tempfile.mkdtemp(prefix="bazaar-e2e-")
    case.addCleanup(shutil.rmtree, folder, True)
    market = LiveMarket(folder)
    case.addCleanup(market.stop)
    return market, market.startTracker(timeout=timeout)


def nodeAddress(daemon, timeout):
    """Wait until a node has registered and listens; return (id, port),
    the id as the wire writes it (text)."""
    ident = wireId(nodeId(daemon, timeout))
    listening = daemon.waitFor(NODE_LISTENING, timeout)
    return ident, int(listening[1])


def startSeller(market, sell, timeout, *options):
    """Start a node named "seller" selling sell ("item=count"), with any
    further options, and wait until it is in the market; return (daemon,
    its id, its port)."""
    seller = market.startNode("seller", "--role", "seller", "--sell", sell, *options)
    ident, port = nodeAddress(seller, timeout)
    market.waitIntroduced(ident, timeout)
    return seller, ident, port


#: The chord puzzle the live tests run at: the least a daemon takes, so
#: that keys drawn for a test are found in a few hundred tries.
TEST_PUZZLE = 8


def solvingKey(rng, bits=TEST_PUZZLE):
    """The first key pair drawn from rng whose id solves a chord puzzle of
    ``bits`` (about 2^bits draws), for a daemon's data dir."""
    while True:
        identity = Identity.fromRandom(rng)
        if solves(identity.id, bits):
            return identity


#: The tracker's port in a network of namespaces (each host has its own).
BED_TRACKER_PORT = 7700
#: What a daemon started with ``--metrics`` logs of where they are served.
METRICS_AT = r"metrics listening on 127\.0\.0\.1:(?P<port>\d+)"
#: Fetches the tracker's metrics from inside its namespace, prints them.
SCRAPE = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
          "'http://127.0.0.1:%s/metrics', timeout=30).read().decode())")


def netBed(case, nat=True):
    """
    A L{NetBed} for case, removed when it ends, whether it passed or not.

    @raise SkipTest: with the reason, where namespaces (or, with ``nat``,
        NAT routers) cannot be made: not root, no ``ip`` or ``iptables``.
    """
    reason = missing(nat=nat)
    if reason is not None:
        raise SkipTest(reason)
    # BAZAAR_BED_RATE (tc's words, as 1gbit): each home's line shaped so,
    # to see a transfer move at a real line's speed.
    bed = NetBed(os.getpid() % 100000, rate=os.environ.get("BAZAAR_BED_RATE") or None)
    case.addCleanup(bed.remove)
    return bed


class HomeMarketCase(SynchronousTestCase):
    """
    A live market in network namespaces: a tracker's host on the public
    net (``tracker_host``), and daemons started there or at home with only
    the flags a user types.
    """

    #: The prefix of the market's folder.
    folder_prefix = "bazaar-nat-"

    def setUp(self):
        self.bed = netBed(self)
        self.tracker_host = self.bed.public("tracker")
        folder = tempfile.mkdtemp(prefix=self.folder_prefix)
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder)
        self.addCleanup(self.market.stop)

    def startTracker(self, timeout, *extra):
        """The tracker, on its host, once it listens (with ``extra``
        options, if given)."""
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", f"tcp:{BED_TRACKER_PORT}", *extra],
            wrapper=self.tracker_host.wrapper)
        tracker.waitFor(rf"tracker listening on 0\.0\.0\.0:{BED_TRACKER_PORT}", timeout)
        return tracker

    def shareFile(self, name, size):
        """A folder to share, in the market's, holding one file of
        ``size`` random bytes: (the folder, the file's content)."""
        shared = os.path.join(self.market.cwd, "shared")
        os.makedirs(shared)
        content = os.urandom(size)
        with open(os.path.join(shared, name), "wb") as f:
            f.write(content)
        return shared, content

    def folder(self, name):
        """A new folder of that name in the market's (its path)."""
        path = os.path.join(self.market.cwd, name)
        os.makedirs(path)
        return path

    def established(self, host):
        """The (local, peer) addresses (HOST:PORT) of host's established
        TCP connections."""
        done = subprocess.run([*host.wrapper, "ss", "-Htn", "state", "established"],
                              capture_output=True, text=True, timeout=60, check=True)
        return [line.split()[-2:] for line in done.stdout.splitlines() if line.strip()]

    def circuits(self, relay_port):
        """Connections to the relay's port at the tracker: two a circuit."""
        return [local for local, _ in self.established(self.tracker_host)
                if local.endswith(f":{relay_port}")]

    def relayed(self, port):
        """The bytes the tracker's relay copied, from its metrics served on
        ``port`` (of its host's loopback)."""
        done = subprocess.run([*self.tracker_host.wrapper, sys.executable, "-c",
                               SCRAPE % port], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        [value] = re.findall(r"^bazaar_tracker_relayed_bytes_total (\S+)$", done.stdout,
                             re.MULTILINE)
        return float(value)

    def node(self, name, host, *roles):
        """A node as a user starts it: the tracker's address and a role."""
        return self.market.start(name, [
            "bazaar-node", "--tracker",
            f"tcp:{self.tracker_host.address}:{BED_TRACKER_PORT}", *roles],
            wrapper=host.wrapper)


class ScriptProcesses:
    """The script processes a test starts on the hosts of its test bed
    (``host.wrapper``), each killed and reaped at its end."""

    def __init__(self, case, script):
        self.script = script
        self.processes = []
        case.addCleanup(self.stopAll)

    def start(self, host, *args):
        """Run the script on host with args, its output a text pipe."""
        process = subprocess.Popen(
            [*host.wrapper, sys.executable, self.script, *args], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.processes.append(process)
        return process

    def stopAll(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdout.close()
