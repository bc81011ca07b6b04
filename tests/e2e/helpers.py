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
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.schemes.chord.ring import solves
# runCommand and startCommand run the tests' commands; imported from here too.
from twisted_bazaar.testing.daemons import (  # noqa: F401
    JSON,
    LISTENING_EVENT,
    LiveMarket,
    nodeId,
    runCommand,
    startCommand,
)
from twisted_bazaar.testing.netns import NetBed, missing, tagOf
from twisted_bazaar.wire.ids import parseWireId, shortId, wireId

def short(ident):
    """A node id (as a daemon's id or as the wire writes it) as log lines
    write it: its short form."""
    return shortId(parseWireId(ident) if isinstance(ident, str) else ident)


#: Where L{freePort} picks: below Linux's ephemeral range (32768-60999
#: by default), where the kernel never puts a port of its own choosing (a
#: daemon's ``tcp:0``, an outgoing connection's), so that a port picked
#: for a tracker stays free while it is down and restarted, whatever the
#: tests beside it (other workers of a parallel run) do meanwhile.
PICKED_PORTS = range(20000, 32000)
#: Each process scans from its own place in L{PICKED_PORTS} (its pid's),
#: so that two workers picking at once rarely try the same port.
_nextPick = [None]


def _bindable(port):
    """True if nothing holds port, on any address, over TCP or UDP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("", port))
            except OSError:
                return False
    return True


def freePort():
    """A port free now, and out of the kernel's way (L{PICKED_PORTS}), for
    a daemon that must listen on a fixed one (a tracker restarted where its
    nodes look for it); never the same twice in a process."""
    if _nextPick[0] is None:
        _nextPick[0] = (os.getpid() * 7919) % len(PICKED_PORTS)
    for _ in range(len(PICKED_PORTS)):
        port = PICKED_PORTS[_nextPick[0] % len(PICKED_PORTS)]
        _nextPick[0] += 1
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {PICKED_PORTS}")


def kill(daemon):
    """kill -9, and wait for the process and its log to end."""
    daemon.process.kill()
    daemon.finish()


#: The log line that gives a node's listening port (a daemon that logs
#: text; those of L{startMarket} log events: L{LISTENING_EVENT}).
NODE_LISTENING = r"node listening on 127\.0\.0\.1:(\d+)"


#: Events the end-to-end tests wait on, by their format as the code logs
#: them (L{twisted_bazaar.testing.daemons.eventMatches}): a buyer's
#: purchase (fields ``item``, ``units``, ``seller``, ``n`` of ``q``), a
#: seller's sale (``item``, ``units``, ``buyer``, ``left``), a buyer whose
#: wants are met (``bag``), a file shared (``name``, ``size``, ``sha``)
#: and one downloaded (``name``, ``path``).  An id in a field is whole,
#: as the wire writes it.
BOUGHT = "bought {what} from {seller} ({n} of {q})"
SOLD = "sold {what} to {buyer} ({left} left)"
WANTS_MET = "all wants met: {bag} in the bag"
SHARING = "sharing {name} ({size} bytes, content id {sha})"
DOWNLOADED = "downloaded {name} into {path}, content id verified"
#: A chord node on the ring: it joined it (``how``: "joined"), started
#: it, or is alone on it.
ON_CHORD_RING = ("{how} the chord ring as node", "started the chord ring as node",
                 "alone on the chord ring as node")
#: A chord node stored its advert of ``item`` at node ``holder``.
STORED = "stored {item} at node {holder} ({distance})"
#: A seller's file server listens (``port``).
SERVING = "serving shared files on port {port}"


def withoutUdp(reply, case):
    """A ``nodereply`` as the tests compare it: the QUIC port the tracker
    names once its UDP check saw the node's (protocol.md §5, "A node's
    QUIC port": on loopback, a check passes, sooner or later) checked to
    be a port at the host the node is named at, the tracker's word, if
    named, and left out, and the list of paths with it if that was all)."""
    reply = dict(reply)
    named = reply.pop("paths", ())
    paths = [path for path in named if path["kind"] != "udp"]
    for udp in named:
        if udp["kind"] == "udp":
            case.assertTrue(isinstance(udp["port"], int) and 0 < udp["port"] < 65536, udp)
            case.assertEqual((udp["host"], udp["word"]), (reply["host"], "seen"))
    if paths:
        reply["paths"] = paths
    return reply


def listeningPort(daemon, what, timeout, **fields):
    """Wait until daemon says its ``what`` ("node", "tracker", "relay",
    "metrics", "web view") listens (where fields say, if given: ``port``,
    ``host``); the port (a number)."""
    return daemon.waitForEvent(LISTENING_EVENT, timeout, what=what, **fields)["port"]


def servingPort(seller, timeout):
    """Wait until seller serves its shared files; the port (a number)."""
    return seller.waitForEvent(SERVING, timeout)["port"]


def waitOnRing(daemon, timeout, **fields):
    """Wait until a chord node is on the ring (L{ON_CHORD_RING})."""
    return daemon.waitForEvent(ON_CHORD_RING, timeout, **fields)


def waitStored(seller, item, timeout, holder=None):
    """Wait until a chord seller has stored its advert of item (at
    holder, an id, if given); the event."""
    fields = {} if holder is None else {"holder": _wire(holder)}
    return seller.waitForEvent(STORED, timeout, item=item, **fields)


def _wire(ident):
    """A node id as an event's field carries it: as the wire writes it."""
    return ident if isinstance(ident, str) else wireId(ident)


def waitBought(buyer, item, timeout, seller=None, **fields):
    """Wait until buyer has logged a purchase of item (from seller, an id,
    if given; each of fields, e.g. ``n=1, q=1``, as it says); the event."""
    if seller is not None:
        fields["seller"] = _wire(seller)
    return buyer.waitForEvent(BOUGHT, timeout, item=item, **fields)


def waitSold(seller, item, timeout, buyer=None, **fields):
    """Wait until seller has logged a sale of item (to buyer, an id, if
    given; each of fields, e.g. ``left=0``, as it says); the event."""
    if buyer is not None:
        fields["buyer"] = _wire(buyer)
    return seller.waitForEvent(SOLD, timeout, item=item, **fields)


def waitWantsMet(buyer, timeout, **fields):
    """Wait until buyer says its wants are met (``bag=N``: N units in
    its bag); the event."""
    return buyer.waitForEvent(WANTS_MET, timeout, **fields)


def waitSharing(daemon, name, timeout):
    """Wait until daemon shares the file of that name; the event."""
    return daemon.waitForEvent(SHARING, timeout, name=name)


def waitDownloaded(buyer, name, timeout):
    """Wait until buyer has downloaded the file of that name, its content
    checked; the event (``path``: where it is)."""
    return buyer.waitForEvent(DOWNLOADED, timeout, name=name)


def startMarket(case, timeout, logFormat=JSON):
    """
    Start a tracker in a fresh scratch folder; return (market, tracker).
    Every daemon of the market logs events (``--log-format json``: a
    test waits on them by their format and fields, and on its text lines
    as ever) unless told TEXT, and is stopped, and the folder removed, when the test case
    ends.
    """
    folder = tempfile.mkdtemp(prefix="bazaar-e2e-")
    case.addCleanup(shutil.rmtree, folder, True)
    market = LiveMarket(folder, logFormat=logFormat)
    case.addCleanup(market.stop)
    return market, market.startTracker(timeout=timeout)


def nodeAddress(daemon, timeout):
    """Wait until a node has registered and listens; return (id, port),
    the id as the wire writes it (text)."""
    ident = wireId(nodeId(daemon, timeout))
    if daemon.logFormat == JSON:
        return ident, daemon.waitForEvent(LISTENING_EVENT, timeout, what="node")["port"]
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
    bed = NetBed(tagOf(os.getpid()), rate=os.environ.get("BAZAAR_BED_RATE") or None)
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
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def startTracker(self, timeout, *extra):
        """The tracker, on its host, once it listens (with ``extra``
        options, if given)."""
        tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", f"tcp:{BED_TRACKER_PORT}", *extra],
            wrapper=self.tracker_host.wrapper)
        tracker.waitForEvent(LISTENING_EVENT, timeout, what="tracker", host="0.0.0.0",
                             port=BED_TRACKER_PORT)
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

    def circuitsClosed(self, relay_port, timeout):
        """Wait until the relay holds no circuit (a circuit one end closed
        is closed at the other end as the relay notices): the seconds it
        took; fails at ``timeout``."""
        started = time.monotonic()
        while self.circuits(relay_port):
            if time.monotonic() - started > timeout:
                self.assertEqual(self.circuits(relay_port), [])
            time.sleep(0.2)
        return time.monotonic() - started

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
    (``host.wrapper``), each killed and reaped at its end (forked in the
    suite: L{startCommand})."""

    def __init__(self, case, script):
        self.script = script
        self.processes = []
        case.addCleanup(self.stopAll)

    def start(self, host, *args):
        """Run the script on host with args, its output a text pipe."""
        process = startCommand(
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
