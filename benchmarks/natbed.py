"""
The NAT mix of issue 85, measured from outside: a market in network
namespaces with real Linux routers, every daemon started with only the
flags a user types, and the figures a user would see.

    python -m benchmarks.natbed [--tries 10] [--size 8] [--pairs hard-easy,...]
                                [--buy-after-meet | --buy-alone | --daemon-then-buy]
                                [--plain] [--reject] [--logs DIR] [--json FILE]

The bed (L{twisted_bazaar.testing.netns}): on the public net a tracker
(``bazaar-tracker``, its default flags: TCP 7700, its UDP check on 7700
and 7701) and a public seller (``bazaar-node --tracker ... --role seller
--share DIR``, sharing a file of its own); homes behind their own
routers, a "hard" one that draws a port for each flow (``MASQUERADE
--random-fully``, as carrier NATs and corporate firewalls do) and an
"easy" one that keeps ports.  Each try is a fresh market: a seller at
one home sharing ``home.bin`` (``--size`` MiB of random bytes), then a
buyer daemon at the other (``--role buyer --want home.bin --downloads
DIR``).  Each node has a ``--data-dir`` of its own, as each user's
machine has its own state home, and the tracker ``--metrics`` on its
loopback, to count what its relay copied: neither changes what a node
does.

For each try it reports whether the buyer met the seller over UDP (its
log's ``punched a UDP path to node ..., met at``), the seconds from the
buyer's start to that line, the bytes the relays copied (the tracker's,
from its metrics, and the public seller's, from ``bazaar --json node``
asked by its operator), and the file's rate from the buyer's
``fetching`` to its ``downloaded``; the UDP datagrams each home's
router sent out in the try (probes, checks, keepalives and QUIC: a punch
storm shows there, from outside); and every line of the homes' logs
about UDP punches and the probe budget, so that a try that failed says
why.  A pair is written SELLER-BUYER: ``hard-easy`` is a seller at the
hard home and a buyer at the easy one.  ``hard-hard`` (two homes behind
random-port routers) is expected to stay on the relay, at its rate;
``easy-easy`` is two homes behind port-keeping routers.

With ``--plain``, every home's router has no firewall of its own (only
its ``MASQUERADE`` rule, as issue 94's routers): what comes unasked to
it reaches its own stack, and Linux conntrack keeps its pair, so a
peer's datagram that comes before the host's own of that pair went out
moves the host's to another port.  The routers are on one segment (the
public net), with no router between them: the layout of issue 94, whose
order of arrival the bed does not choose.

With ``--reject``, every home's router answers a UDP datagram that comes
unasked to it with ICMP port unreachable (``iptables -I INPUT -i wan -p
udp -j REJECT``, the rejecting firewall, first in its INPUT chain): the
datagram is dropped there, before conntrack confirms an entry for it, so
the router keeps nothing of it (no race is lost), but a punch's sounding
from a router on its segment is answered from its host, as a plain
router's own stack answers it.

With ``--buy-after-meet``, each try is the goal's own order instead
(L{attemptAfterMeet}): the homes' daemons meet first (the buyer's daemon
wants ``hello.bin``, 1 KiB the home seller shares, and ``home.bin``,
which is not shared yet: the first is bought over the relay and the
punch runs), then ``home.bin`` comes into the seller's share and the
buyer's daemon buys it over whatever path stands, then ``bazaar buy
home.bin`` runs at the buyer's home: a fresh node, with a punch of its
own.  For each buy it reports the bytes the relays copied during it
and its seconds.

With ``--buy-alone``, each try is the second goal's order
(L{attemptBuyAlone}): no daemon at the buyer's home, only ``bazaar buy
home.bin`` there, a fresh node; it reports the seconds to the file's
first byte (the first block the part file holds, looked at every
L{LOOK} s from outside), to its end, the bytes the relays copied, and
the whole file's rate as a multiple of the public node's relay rate
(its default ``--relay-rate``, L{RELAY_RATE}).

With ``--daemon-then-buy``, each try is issue 94's layout
(L{attemptDaemonThenBuy}): the buyer's daemon wants ``hello.bin`` (1
KiB the home seller shares beside ``home.bin``) with
``--exit-when-done``, buys it over the relay, punches and exits; then
``bazaar buy home.bin`` runs at once at the same home, a fresh node
whose punch finds what the daemon's left at the seller (its budget for
the home's one public address, the routers' entries).  It reports
whether that buy's node met the seller over UDP and the seconds from
its start to that line (its node's log), the seconds to the file's
first byte and to its end, and the bytes the relays copied during it.

It needs root, ``ip`` and ``iptables``; without them it says why and
exits 1, as it does when a try could not run to its end (a daemon that
did not start, a file that did not come: its row says which).
"""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twisted_bazaar.testing.daemons import (
    JSON,
    LISTENING_EVENT,
    DaemonError,
    LiveMarket,
    nodeId,
)
from twisted_bazaar.testing.netns import NetBed, NetBedError, missing, run, tagOf
from twisted_bazaar.files.downloads import PRIVATE
from twisted_bazaar.transports.relay.limits import NODE_RATE
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.options import boundedInt
from twisted_bazaar.base.usage import OneLineParser, argumentType

#: The tracker's TCP port (its default, ``--listen tcp:7700``).
TRACKER_PORT = 7700
#: Where the tracker's metrics are served, on its host's loopback.
METRICS_PORT = 9100
#: Seconds any one step of a try (a daemon's start, its reservation) may take.
STEP = 60.0
#: Seconds the buyer is watched for a punch that meets.
PUNCH_WATCH = 40.0
#: The issue's goal: met over UDP within this many seconds of the buyer's start.
MET_WITHIN = 15.0
#: The goal's bytes through any relay, for a file bought after the meeting.
GOAL_RELAYED = 64 * 1024
#: The goal's seconds from a ``bazaar buy``'s start to its end.
GOAL_BUY = 20.0
#: The second goal: a ``bazaar buy`` alone has its file's first byte
#: within this many seconds, and the whole file at this multiple of the
#: public relay's rate at least.
GOAL_FIRST_BYTE = 3.0
#: Issue 94's goal for a `bazaar buy` after a daemon at its home: the file
#: ends within GOAL_BUY s with at most this many bytes through any relay.
GOAL_RELAYED_94 = 16 * 1024 * 1024
GOAL_TIMES_RELAY = 5.0
#: The public node's relay rate, bytes a second (its default).
RELAY_RATE = NODE_RATE
#: Seconds between two looks at a ``bazaar buy``'s part file.
LOOK = 0.02
#: The slowest a relayed file is waited for: a public node's relay copies
#: 256 KiB/s (its ``--relay-rate``), a tracker's 8 MiB/s.
SLOWEST_RATE = 128 * 1024
PAIRS = ("hard-easy", "easy-hard", "hard-hard", "easy-easy")
#: The home of a pair's buyer where both ends are of one kind.
SECOND = {"hard-hard": "hard2", "easy-easy": "easy2"}
MET = (r"punched a UDP path to node {peer} .*, met at (?P<host>[\d.]+):(?P<port>\d+) "
       r"\((?P<strategy>[\w-]+), (?P<seconds>[\d.]+) s\)")
#: Lines of a home's log about UDP punches and the probe budget.
PUNCH_LINES = re.compile(r"UDP path|UDP punch|UDP mapping|hole|punch")
SCRAPE = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
          f"'http://127.0.0.1:{METRICS_PORT}/metrics', timeout=30).read().decode())")


def _bazaar():
    return str(Path(sys.executable).with_name("bazaar"))


#: ``bazaar buy`` as the bed runs it: the command itself, its node's
#: Twisted log written into the file named first (``bazaar buy`` begins
#: no log of its own, so a punch of its node that never came would say
#: nothing of why).
LOGGED_BAZAAR = (
    "import sys\n"
    "from twisted.logger import globalLogBeginner, textFileLogObserver\n"
    "globalLogBeginner.beginLoggingTo([textFileLogObserver(open(sys.argv[1], 'a'),"
    " timeFormat='%H:%M:%S.%f')], redirectStandardIO=False)\n"
    "from twisted_bazaar.cli.arguments import main\n"
    "sys.exit(main(sys.argv[2:]))\n")


class Bed:
    """
    The namespaces of a run: the public hosts and the three homes, each
    home's router counting the UDP datagrams it sends out (a rule with no
    target in its ``mangle`` table: a punch's probes, its checks and
    keepalives, and QUIC), so that a punch storm shows from outside.
    """

    def __init__(self, plain=False, reject=False):
        """``plain``: the routers have no firewall; ``reject``: they answer
        what comes unasked over UDP with port unreachable (the module's
        docstring)."""
        self.net = NetBed(tagOf(os.getpid()), rate=os.environ.get("BAZAAR_BED_RATE") or None)
        try:
            self.tracker = self.net.public("tracker")
            self.public = self.net.public("pub")
            home = self.net.home
            self.homes = {"hard": home("hard", symmetric=True, plain=plain),
                          "easy": home("easy", plain=plain),
                          "hard2": home("hardb", symmetric=True, plain=plain),
                          "easy2": home("easyb", plain=plain)}
            for home in self.homes.values():
                run(*home.router.wrapper, "iptables", "-t", "mangle", "-A", "POSTROUTING",
                    "-o", "wan", "-p", "udp")
                if reject:
                    run(*home.router.wrapper, "iptables", "-I", "INPUT", "-i", "wan", "-p",
                        "udp", "-j", "REJECT")
        except BaseException:
            self.net.remove()
            raise

    def zeroDatagrams(self):
        """Every home's count of UDP datagrams out starts again at 0."""
        for home in self.homes.values():
            run(*home.router.wrapper, "iptables", "-t", "mangle", "-Z", "POSTROUTING")

    def datagramsOut(self, name):
        """The UDP datagrams home ``name``'s router sent out since the last
        L{zeroDatagrams}."""
        return udpCounted(run(*self.homes[name].router.wrapper, "iptables", "-t", "mangle",
                              "-L", "POSTROUTING", "-v", "-x", "-n").stdout)

    def remove(self):
        self.net.remove()


def udpCounted(listing):
    """The packets of the UDP rules of ``iptables -L -v -x -n``'s listing
    (a rule with no target: its protocol third, by name or, as
    iptables-nft shows it, by number)."""
    return sum(int(fields[0]) for fields in map(str.split, listing.splitlines())
               if len(fields) > 2 and fields[0].isdigit() and fields[2] in ("udp", "17"))


def _share(folder, name, size):
    shared = os.path.join(folder, f"share-{name}")
    os.makedirs(shared)
    with open(os.path.join(shared, name), "wb") as f:
        f.write(os.urandom(size))
    return shared


def _node(market, bed, name, host, folder, *roles):
    return market.start(name, [
        "bazaar-node", "--tracker", f"tcp:{bed.tracker.address}:{TRACKER_PORT}",
        *roles, "--data-dir", os.path.join(folder, f"data-{name}")], wrapper=host.wrapper)


def _asked(command, run=subprocess.run):
    """command's standard output, or None if it failed or did not answer
    within L{STEP} s (a loaded machine: the try's row says unknown rather
    than the run ending in a traceback, as it did at a load of 27)."""
    try:
        done = run(command, capture_output=True, text=True, timeout=STEP)
    except subprocess.TimeoutExpired:
        return None
    return None if done.returncode else done.stdout


def _trackerRelayed(bed):
    out = _asked([*bed.tracker.wrapper, sys.executable, "-c", SCRAPE])
    found = re.findall(r"^bazaar_tracker_relayed_bytes_total (\S+)$", out or "",
                       re.MULTILINE)
    return int(float(found[0])) if found else None


def _nodeRelayed(bed, port, folder, name):
    out = _asked([*bed.public.wrapper, _bazaar(), "--json", "node",
                  f"{bed.public.address}:{port}", "--data-dir",
                  os.path.join(folder, f"data-{name}")])
    if out is None:
        return None
    return json.loads(out).get("relaying", {}).get("bytes", 0)


def _when(daemon, pattern):
    """The time (the daemon's own log time) of its first event whose text
    matches pattern, or None."""
    regex = re.compile(pattern)
    for event in list(daemon.events):
        if regex.search(event.get("log_text", "")):
            return event["log_time"]
    return None


def _homes(pair):
    """The homes of pair (SELLER-BUYER): the seller's, the buyer's."""
    seller_at, buyer_at = pair.split("-")
    return seller_at, SECOND.get(pair, buyer_at)


def _market(market, bed, folder, seller_at, shared):
    """The tracker, the public seller, and the seller at home seller_at
    sharing the folder shared: (the public node's port, the seller's id)."""
    tracker = market.start("tracker", ["bazaar-tracker", "--metrics",
                                       f"tcp:{METRICS_PORT}:interface=127.0.0.1"],
                           wrapper=bed.tracker.wrapper)
    tracker.waitFor(r"UDP reach listening on ports", STEP)
    public = _node(market, bed, "public", bed.public, folder, "--role", "seller",
                   "--share", _share(folder, "public.bin", 1024 * 1024))
    nodeId(public, STEP)
    public_port = public.waitForEvent(LISTENING_EVENT, STEP, what="node")["port"]
    public.waitFor(r"this node is reachable from outside", STEP)
    seller = _node(market, bed, "seller", bed.homes[seller_at].host, folder,
                   "--role", "seller", "--share", shared)
    seller_id = nodeId(seller, STEP)
    seller.waitFor(r"holds a reservation at the relay at", STEP)
    return public_port, seller_id


def _relayed(bed, public_port, folder):
    """The bytes the relays copied so far: {"tracker": ..., "public": ...}
    (None for one that could not be asked)."""
    return {"tracker": _trackerRelayed(bed),
            "public": _nodeRelayed(bed, public_port, folder, "public")}


def _since(now, before):
    """The bytes the relays copied between two L{_relayed}, in all (None
    if one could not be asked)."""
    counts = [now[key] - before[key] for key in now
              if now[key] is not None and before[key] is not None]
    return sum(counts) if len(counts) == len(now) else None


def _keepLogs(market, result, logs, stem):
    """Stop the market; keep its punch lines in result, and with logs,
    every daemon's log."""
    market.stop()
    for daemon in market.daemons:
        result.setdefault("punch_lines", {})[daemon.name] = [
            line for line in daemon.lines if PUNCH_LINES.search(line)
            and not line.lstrip().startswith("{")]
        if logs:
            with open(os.path.join(logs, f"{stem}-{daemon.name}.log"), "w") as f:
                f.write("\n".join(daemon.lines) + "\n")


@contextlib.contextmanager
def _trying(bed, pair, result, logs, stem):
    """
    A try of pair in a fresh market and folder of its own, yielded as
    (market, folder, seller's home, buyer's home), the homes' datagram
    counts zeroed first.  Whatever its kind, it ends the same way: once
    it ran through, result gets the UDP datagrams out of each home; a
    daemon that failed it is its ``error``, the first line of why; the
    market is stopped, its logs kept (L{_keepLogs}) and the folder
    removed.
    """
    seller_at, buyer_at = _homes(pair)
    folder = tempfile.mkdtemp(prefix="bazaar-natbed-")
    market = LiveMarket(folder, logFormat=JSON)
    try:
        bed.zeroDatagrams()
        yield market, folder, seller_at, buyer_at
        result["datagrams"] = {"seller": bed.datagramsOut(seller_at),
                               "buyer": bed.datagramsOut(buyer_at)}
    except DaemonError as e:
        result["error"] = str(e).splitlines()[0]
    finally:
        _keepLogs(market, result, logs, stem)
        shutil.rmtree(folder, True)


def attempt(bed, pair, index, size, logs):
    """One try of pair (SELLER-BUYER) in a fresh market: a dict of what
    was seen."""
    result = {"pair": pair, "try": index + 1, "size": size, "met": False,
              "seconds": None, "strategy": None, "relayed": None, "rate": None,
              "datagrams": None, "error": None}
    with _trying(bed, pair, result, logs, f"{pair}-{index + 1}") as (
            market, folder, seller_at, buyer_at):
        public_port, seller_id = _market(market, bed, folder, seller_at,
                                         _share(folder, "home.bin", size))
        downloads = os.path.join(folder, "downloads")
        os.makedirs(downloads)
        started = time.time()
        buyer = _node(market, bed, "buyer", bed.homes[buyer_at].host, folder,
                      "--role", "buyer", "--want", "home.bin", "--downloads", downloads)
        try:
            met = buyer.waitFor(MET.format(peer=shortId(seller_id)), PUNCH_WATCH)
            result.update(met=True, strategy=met["strategy"], seconds=round(
                _when(buyer, MET.format(peer=shortId(seller_id))) - started, 2))
        except DaemonError:
            pass
        buyer.waitFor(r"downloaded home\.bin into", STEP + size / SLOWEST_RATE)
        began = _when(buyer, r"fetching home\.bin")
        ended = _when(buyer, r"downloaded home\.bin into")
        result["rate"] = round(size / max(ended - began, 0.001) / 1024 / 1024, 2)
        result["download_s"] = round(ended - began, 2)
        result["whole_s"] = round(ended - started, 2)
        relayed = [_trackerRelayed(bed), _nodeRelayed(bed, public_port, folder, "public")]
        result["relayed"] = None if None in relayed else sum(relayed)
        result["relayed_by"] = {"tracker": relayed[0], "public": relayed[1]}
    return result


def _bazaarBuy(bed, buyer_at, folder, size, logs, stem):
    """``bazaar buy home.bin`` at home buyer_at, as README has it plus the
    tracker's address: (its seconds from start to exit, its exit status,
    its output's last lines, the seconds to the file's first byte or
    None).  Its node's log and its output are kept in logs, if named, as
    STEM-bazaar-buy.log (L{LOGGED_BAZAAR}) and STEM-bazaar-buy.out."""
    downloads = os.path.join(folder, "downloads-buy")
    os.makedirs(downloads)
    log = os.path.join(logs or folder, f"{stem}-bazaar-buy")
    began = time.time()
    with open(f"{log}.out", "w+") as output:
        buying = subprocess.Popen([*bed.homes[buyer_at].host.wrapper, sys.executable, "-c",
                                   LOGGED_BAZAAR, f"{log}.log", "buy",
                                   "home.bin", "--tracker",
                                   f"tcp:{bed.tracker.address}:{TRACKER_PORT}",
                                   "--downloads", downloads],
                                  stdout=output, stderr=subprocess.STDOUT, text=True)
        first = None
        deadline = began + STEP + size / SLOWEST_RATE
        while buying.poll() is None and time.time() < deadline:
            if first is None and _written(downloads):
                first = round(time.time() - began, 2)
            time.sleep(LOOK)
        if buying.poll() is None:
            buying.kill()
            buying.wait()
            return round(time.time() - began, 2), None, ["(still running: stopped)"], first
        took = round(time.time() - began, 2)
        output.seek(0)
        said = output.read().strip().splitlines()[-3:]
    return took, buying.returncode, said, first


def _written(downloads):
    """Whether a part file in downloads holds a block of data (made at the
    file's size, it holds none until its first bytes are written)."""
    private = os.path.join(downloads, PRIVATE)
    try:
        names = os.listdir(private)
    except OSError:
        return False
    for name in names:
        try:
            if os.stat(os.path.join(private, name)).st_blocks:
                return True
        except OSError:
            pass
    return False


def attemptAfterMeet(bed, pair, index, size, logs):
    """One try of pair (SELLER-BUYER) in the goal's own order: the homes'
    daemons meet first (the buyer's daemon buys ``hello.bin``, 1 KiB, from
    the home seller, over the relay, and punches), then ``home.bin`` comes
    into the seller's share and the buyer's daemon buys it (over the met
    path, if it stayed), then ``bazaar buy home.bin`` at the buyer's home:
    a dict of what was seen."""
    result = {"pair": pair, "try": index + 1, "size": size, "after_meet": True,
              "met": False, "seconds": None, "strategy": None, "daemon": None,
              "buy": None, "datagrams": None, "error": None}
    with _trying(bed, pair, result, logs, f"{pair}-{index + 1}-after-meet") as (
            market, folder, seller_at, buyer_at):
        shared = _share(folder, "hello.bin", 1024)
        waiting = os.path.join(_share(folder, "home.bin", size), "home.bin")
        public_port, seller_id = _market(market, bed, folder, seller_at, shared)
        downloads = os.path.join(folder, "downloads")
        os.makedirs(downloads)
        started = time.time()
        buyer = _node(market, bed, "buyer", bed.homes[buyer_at].host, folder,
                      "--role", "buyer", "--want", "hello.bin", "--want", "home.bin",
                      "--downloads", downloads)
        met = MET.format(peer=shortId(seller_id))
        try:
            found = buyer.waitFor(met, PUNCH_WATCH)
            result.update(met=True, strategy=found["strategy"],
                          seconds=round(_when(buyer, met) - started, 2))
        except DaemonError:
            pass
        buyer.waitFor(r"downloaded hello\.bin into", STEP)
        before = _relayed(bed, public_port, folder)
        placed = time.time()
        os.rename(waiting, os.path.join(shared, "home.bin"))
        buyer.waitFor(r"downloaded home\.bin into", STEP + size / SLOWEST_RATE)
        began = _when(buyer, r"fetching home\.bin")
        ended = _when(buyer, r"downloaded home\.bin into")
        after = _relayed(bed, public_port, folder)
        result["daemon"] = {"found_s": round(began - placed, 2),
                            "fetch_s": round(ended - began, 2),
                            "relayed": _since(after, before),
                            "relayed_by": {key: None if after[key] is None
                                           or before[key] is None
                                           else after[key] - before[key] for key in after}}
        seconds, status, said, first = _bazaarBuy(bed, buyer_at, folder, size, logs,
                                                  f"{pair}-{index + 1}-after-meet")
        done = _relayed(bed, public_port, folder)
        result["buy"] = {"seconds": seconds, "status": status, "said": said,
                         "first_byte_s": first,
                         "relayed": _since(done, after),
                         "relayed_by": {key: None if done[key] is None
                                        or after[key] is None
                                        else done[key] - after[key] for key in done}}
        if status != 0:
            result["error"] = f"bazaar buy exited {status}: {' '.join(said)}"
    return result


def attemptBuyAlone(bed, pair, index, size, logs):
    """One try of pair (SELLER-BUYER) in the second goal's order: the
    market and the home seller, then ``bazaar buy home.bin`` at the
    buyer's home, with no daemon there: a dict of what was seen."""
    result = {"pair": pair, "try": index + 1, "size": size, "alone": True,
              "buy": None, "datagrams": None, "error": None}
    with _trying(bed, pair, result, logs, f"{pair}-{index + 1}-alone") as (
            market, folder, seller_at, buyer_at):
        public_port, _ = _market(market, bed, folder, seller_at,
                                 _share(folder, "home.bin", size))
        before = _relayed(bed, public_port, folder)
        seconds, status, said, first = _bazaarBuy(bed, buyer_at, folder, size, logs,
                                                  f"{pair}-{index + 1}-alone")
        done = _relayed(bed, public_port, folder)
        result["buy"] = {"seconds": seconds, "status": status, "said": said,
                         "first_byte_s": first, "relayed": _since(done, before),
                         "times_relay": round(size / max(seconds, 0.001) / RELAY_RATE, 1)}
        if status != 0:
            result["error"] = f"bazaar buy exited {status}: {' '.join(said)}"
    return result


def attemptDaemonThenBuy(bed, pair, index, size, logs):
    """One try of pair (SELLER-BUYER) in issue 94's layout (the module's
    docstring): a dict of what was seen, ``met``, ``seconds`` and
    ``strategy`` those of the `bazaar buy`'s node, ``daemon_met`` the
    seconds from the daemon's start to its meeting over UDP with the
    seller before it exited, or None."""
    result = {"pair": pair, "try": index + 1, "size": size, "then_buy": True,
              "met": False, "seconds": None, "strategy": None, "daemon_met": None,
              "buy": None, "datagrams": None, "error": None}
    stem = f"{pair}-{index + 1}-then-buy"
    with _trying(bed, pair, result, logs, stem) as (market, folder, seller_at, buyer_at):
        shared = _share(folder, "hello.bin", 1024)
        with open(os.path.join(shared, "home.bin"), "wb") as f:
            f.write(os.urandom(size))
        public_port, seller_id = _market(market, bed, folder, seller_at, shared)
        downloads = os.path.join(folder, "downloads")
        os.makedirs(downloads)
        started = time.time()
        buyer = _node(market, bed, "buyer", bed.homes[buyer_at].host, folder,
                      "--role", "buyer", "--want", "hello.bin", "--downloads", downloads,
                      "--exit-when-done")
        buyer.waitFor(r"downloaded hello\.bin into", STEP)
        buyer.finish(STEP)
        met = _when(buyer, MET.format(peer=shortId(seller_id)))
        result["daemon_met"] = None if met is None else round(met - started, 2)
        before = _relayed(bed, public_port, folder)
        began = time.time()
        seconds, status, said, first = _bazaarBuy(bed, buyer_at, folder, size, logs, stem)
        done = _relayed(bed, public_port, folder)
        met = metIn(os.path.join(logs or folder, f"{stem}-bazaar-buy.log"), seller_id, began)
        if met is not None:
            result.update(met=True, strategy=met[0], seconds=met[1])
        result["buy"] = {"seconds": seconds, "status": status, "said": said,
                         "first_byte_s": first, "relayed": _since(done, before)}
        if status != 0:
            result["error"] = f"bazaar buy exited {status}: {' '.join(said)}"
    return result


def metIn(path, seller_id, began):
    """(strategy, seconds from ``began``, a time.time()) of the first line
    of the node log at path (a `bazaar buy`'s, L{LOGGED_BAZAAR}: each line
    begins with its local time of day) saying it met seller_id over UDP,
    or None."""
    met = re.compile(r"^(\d\d):(\d\d):(\d\d(?:\.\d+)?) .*"
                     + MET.format(peer=shortId(seller_id)))
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    start = time.localtime(began)
    day = start.tm_hour * 3600 + start.tm_min * 60 + start.tm_sec + began % 1
    for line in lines:
        found = met.search(line)
        if found:
            at = int(found[1]) * 3600 + int(found[2]) * 60 + float(found[3])
            return found["strategy"], round((at - day) % 86400, 2)
    return None


def _met(each):
    """The cells every row starts with: the try, the pair, whether it met
    over UDP (late past the goal's seconds; the try stopped, and why),
    the seconds to the path and the strategy."""
    met = "yes" if each["met"] else "no"
    if each["met"] and each["seconds"] > MET_WITHIN:
        met = f"late ({each['seconds']:.1f} s)"
    if each["error"]:
        met += f" (the try stopped: {each['error']})"
    return (f"| {each['try']} | {each['pair']} | {met} | "
            f"{'' if each['seconds'] is None else each['seconds']} | "
            f"{each['strategy'] or ''} | ")


def _datagrams(each):
    """The last cell: the UDP datagrams out of each home's router."""
    datagrams = each.get("datagrams")
    return ("" if datagrams is None else
            f"{datagrams['seller']:,}, {datagrams['buyer']:,}") + " |"


def _bytes(count):
    return "" if count is None else format(count, ",")


def table(results):
    """The results as a Markdown table."""
    rows = ["| try | pair (seller-buyer) | met over UDP | seconds to the path | "
            "strategy | bytes through relays | file rate (MiB/s) | "
            "UDP datagrams out of the seller's home, the buyer's |",
            "|---|---|---|---|---|---|---|---|"]
    for each in results:
        rows.append(_met(each) + f"{_bytes(each['relayed'])} | "
                    f"{'' if each['rate'] is None else each['rate']} | "
                    + _datagrams(each))
    return "\n".join(rows)


def meetTable(results):
    """The results of L{attemptAfterMeet} as a Markdown table."""
    rows = ["| try | pair (seller-buyer) | met over UDP | seconds to the path | strategy | "
            "the daemon's buy: s from the file's arrival to its fetch, s to fetch it, "
            "bytes through relays | `bazaar buy`: s from start to end, exit, bytes "
            "through relays | UDP datagrams out of the seller's home, the buyer's |",
            "|---|---|---|---|---|---|---|---|"]
    for each in results:
        daemon, buy = each["daemon"], each["buy"]
        rows.append(
            _met(each)
            + ("" if daemon is None else f"{daemon['found_s']}, {daemon['fetch_s']}, "
               f"{_bytes(daemon['relayed'])}") + " | "
            + ("" if buy is None else f"{buy['seconds']}, {buy['status']}, "
               f"{_bytes(buy['relayed'])}") + " | "
            + _datagrams(each))
    return "\n".join(rows)


def meetSummary(results):
    """One line a pair for the goal's own order: tries met within the
    goal; buys (the daemon's, `bazaar buy`) with at most GOAL_RELAYED
    through relays; `bazaar buy`s ended within GOAL_BUY seconds."""
    lines = []
    for pair in dict.fromkeys(each["pair"] for each in results):
        mine = [each for each in results if each["pair"] == pair]
        within = sum(1 for each in mine if each["met"] and each["seconds"] <= MET_WITHIN)
        daemons = [each["daemon"] for each in mine if each["daemon"]]
        buys = [each["buy"] for each in mine if each["buy"]]
        light = sum(1 for daemon in daemons if daemon["relayed"] is not None
                    and daemon["relayed"] <= GOAL_RELAYED)
        lightBuys = sum(1 for buy in buys if buy["relayed"] is not None
                        and buy["relayed"] <= GOAL_RELAYED)
        quick = sum(1 for buy in buys if buy["status"] == 0 and buy["seconds"] <= GOAL_BUY)
        lines.append(f"{pair}: met over UDP within {MET_WITHIN:g} s in {within} of "
                     f"{len(mine)} tries; the daemon's buy with at most "
                     f"{GOAL_RELAYED // 1024} KiB through relays in {light} of {len(mine)}; "
                     f"`bazaar buy` with at most {GOAL_RELAYED // 1024} KiB through relays "
                     f"in {lightBuys} of {len(mine)}, ended within {GOAL_BUY:g} s "
                     f"in {quick} of {len(mine)}")
    return "\n".join(lines)


def aloneTable(results):
    """The results of L{attemptBuyAlone} as a Markdown table."""
    rows = ["| try | pair (seller-buyer) | `bazaar buy`: exit | s to the first byte | "
            "s to the end | the whole file's rate, times the relay's | bytes through "
            "relays | UDP datagrams out of the seller's home, the buyer's |",
            "|---|---|---|---|---|---|---|---|"]
    for each in results:
        buy = each["buy"] or {}
        first = buy.get("first_byte_s")
        stopped = f" (the try stopped: {each['error']})" if each["error"] else ""
        rows.append(f"| {each['try']} | {each['pair']} | {buy.get('status', '')}{stopped} | "
                    f"{'' if first is None else first} | {buy.get('seconds', '')} | "
                    f"{buy.get('times_relay', '')} | {_bytes(buy.get('relayed'))} | "
                    + _datagrams(each))
    return "\n".join(rows)


def aloneSummary(results):
    """One line a pair for the second goal: buys whose first byte came
    within GOAL_FIRST_BYTE s, and whose whole file came at GOAL_TIMES_RELAY
    times the relay's rate or more."""
    lines = []
    for pair in dict.fromkeys(each["pair"] for each in results):
        buys = [each["buy"] for each in results if each["pair"] == pair]
        done = [buy for buy in buys if buy and buy["status"] == 0]
        first = sum(1 for buy in done if buy["first_byte_s"] is not None
                    and buy["first_byte_s"] <= GOAL_FIRST_BYTE)
        fast = sum(1 for buy in done if buy["times_relay"] >= GOAL_TIMES_RELAY)
        lines.append(f"{pair}: `bazaar buy` alone had its first byte within "
                     f"{GOAL_FIRST_BYTE:g} s in {first} of {len(buys)}, the whole file at "
                     f"{GOAL_TIMES_RELAY:g} times the relay's rate or more in {fast} of "
                     f"{len(buys)}")
    return "\n".join(lines)


def thenBuyTable(results):
    """The results of L{attemptDaemonThenBuy} as a Markdown table."""
    rows = ["| try | pair (seller-buyer) | `bazaar buy` met over UDP | seconds to the path | "
            "strategy | the daemon met (s from its start) | `bazaar buy`: s to the first byte, s to the end, "
            "exit, bytes through relays | UDP datagrams out of the seller's home, the "
            "buyer's |",
            "|---|---|---|---|---|---|---|---|"]
    for each in results:
        buy = each["buy"]
        daemon = "no" if each["daemon_met"] is None else f"yes ({each['daemon_met']} s)"
        rows.append(_met(each) + f"{daemon} | "
                    + ("" if buy is None else
                       f"{'' if buy['first_byte_s'] is None else buy['first_byte_s']}, "
                       f"{buy['seconds']}, {buy['status']}, {_bytes(buy['relayed'])}")
                    + " | " + _datagrams(each))
    return "\n".join(rows)


def thenBuySummary(results):
    """One line a pair for issue 94's goal: `bazaar buy`s met over UDP
    within MET_WITHIN s of their start; ended within GOAL_BUY s with at
    most GOAL_RELAYED_94 through relays; first byte within
    GOAL_FIRST_BYTE s."""
    lines = []
    for pair in dict.fromkeys(each["pair"] for each in results):
        mine = [each for each in results if each["pair"] == pair]
        within = sum(1 for each in mine if each["met"] and each["seconds"] <= MET_WITHIN)
        buys = [each["buy"] for each in mine if each["buy"] and each["buy"]["status"] == 0]
        goal = sum(1 for buy in buys if buy["seconds"] <= GOAL_BUY
                   and buy["relayed"] is not None and buy["relayed"] <= GOAL_RELAYED_94)
        first = sum(1 for buy in buys if buy["first_byte_s"] is not None
                    and buy["first_byte_s"] <= GOAL_FIRST_BYTE)
        lines.append(f"{pair}: `bazaar buy` after the daemon met over UDP within "
                     f"{MET_WITHIN:g} s in {within} of {len(mine)}, ended within "
                     f"{GOAL_BUY:g} s with at most {GOAL_RELAYED_94 >> 20} MiB through "
                     f"relays in {goal} of {len(mine)}, had its first byte within "
                     f"{GOAL_FIRST_BYTE:g} s in {first} of {len(mine)}")
    return "\n".join(lines)


def summary(results):
    """One line a pair: tries met within the goal, of all."""
    lines = []
    for pair in dict.fromkeys(each["pair"] for each in results):
        mine = [each for each in results if each["pair"] == pair]
        within = sum(1 for each in mine if each["met"] and each["seconds"] <= MET_WITHIN)
        seconds = sorted(each["seconds"] for each in mine if each["met"])
        lines.append(f"{pair}: met over UDP within {MET_WITHIN:g} s in {within} of "
                     f"{len(mine)} tries"
                     + (f" (seconds {seconds[0]} to {seconds[-1]})" if seconds else ""))
    return "\n".join(lines)


def _arguments(argv):
    parser = OneLineParser(prog="python -m benchmarks.natbed",
                           description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--tries", type=argumentType(boundedInt(1)), default=10,
                        help="tries of each pair, each a fresh market (default 10)")
    parser.add_argument("--size", type=argumentType(boundedInt(1)), default=8,
                        help="MiB of the home seller's file (default 8)")
    parser.add_argument("--pairs", default="hard-easy,easy-hard",
                        help=f"pairs SELLER-BUYER, separated by commas, of {', '.join(PAIRS)}"
                             " (default hard-easy,easy-hard)")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--buy-after-meet", action="store_true",
                       help="the goal's own order: the homes' daemons meet first, then "
                            "the buyer's daemon buys home.bin, then `bazaar buy home.bin` "
                            "at the buyer's home")
    order.add_argument("--buy-alone", action="store_true",
                       help="the second goal's order: `bazaar buy home.bin` at the "
                            "buyer's home, no daemon there; the seconds to the file's "
                            "first byte and its rate against the public relay's")
    order.add_argument("--daemon-then-buy", action="store_true",
                       help="issue 94's layout: the buyer's daemon buys hello.bin with "
                            "--exit-when-done and exits, then `bazaar buy home.bin` at "
                            "the same home at once")
    parser.add_argument("--plain", action="store_true",
                        help="routers with no firewall, only their MASQUERADE rule (issue "
                             "94's): what comes unasked reaches their own stack")
    parser.add_argument("--reject", action="store_true",
                        help="routers that answer what comes unasked to them over UDP "
                             "with ICMP port unreachable (iptables -I INPUT -i wan -p udp "
                             "-j REJECT): they keep no entry of it, and answer a sounding")
    parser.add_argument("--logs", help="folder to keep every daemon's log in, and each "
                        "`bazaar buy`'s (its node's log and its output)")
    parser.add_argument("--json", help="file to write the results to, as JSON")
    options = parser.parse_args(argv)
    pairs = options.pairs.split(",")
    unknown = [pair for pair in pairs if pair not in PAIRS]
    if unknown:
        parser.error(f"--pairs: {', '.join(unknown)} is no pair of {', '.join(PAIRS)}")
    options.pairs = pairs
    return options


def main(argv=None):
    options = _arguments(sys.argv[1:] if argv is None else argv)
    why = missing(nat=True)
    if why is not None:
        print(f"natbed: cannot build the test bed: {why}", file=sys.stderr)
        return 1
    if options.logs:
        os.makedirs(options.logs, exist_ok=True)
    try:
        bed = Bed(plain=options.plain, reject=options.reject)
    except NetBedError as e:
        print(f"natbed: cannot build the test bed: {e}", file=sys.stderr)
        return 1
    results = []
    trying, tabled, summed = (
        (attemptAfterMeet, meetTable, meetSummary) if options.buy_after_meet
        else (attemptBuyAlone, aloneTable, aloneSummary) if options.buy_alone
        else (attemptDaemonThenBuy, thenBuyTable, thenBuySummary) if options.daemon_then_buy
        else (attempt, table, summary))
    try:
        for pair in options.pairs:
            for index in range(options.tries):
                result = trying(bed, pair, index, options.size * 1024 * 1024, options.logs)
                results.append(result)
                print(tabled([result]).splitlines()[-1], flush=True)
    finally:
        bed.remove()
    print(tabled(results))
    print(summed(results))
    if options.json:
        with open(options.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if any(each["error"] for each in results) else 0


if __name__ == "__main__":
    sys.exit(main())
