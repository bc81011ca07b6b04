"""
Issue 92's first goal, measured from outside: a home whose firewall lets
out only TCP to ports 80 and 443 (twisted_bazaar.testing.httponly),
in network namespaces, its nodes started with the defaults and nothing
but ``--tracker ws:TRACKER:80``.

    python -m benchmarks.httponlyhome [--tries 10] [--size 16]
                                      [--cases buyer,seller,relayed,homes]
                                      [--logs DIR] [--json FILE]

Each try is a fresh market on one bed (the tracker on the public net
with ``--ws-port 80``), timed from the start of the buyer's daemon:

- ``buyer``: a buyer at the home (``--want apple --want film.bin``) and
  a public seller with ``--ws-port 443`` it never named; the goal: the
  item within 10 s, the file (``--size`` MiB) whole within 30 s.
- ``seller``: a seller at the home, its reservation held at the
  tracker's relay over WebSocket, and a public buyer with plain TCP
  defaults; the goal: the item within 10 s, the file within 60 s.
- ``relayed``: a buyer at the home and a seller at a home behind a NAT
  router, whose reservation a public node's relay holds (that node has
  ``--ws-port 443``): the buyer reaches that relay over WebSocket.
  Timed against the seller's goal (10 s, 60 s): a public node's relay
  copies at its ``--relay-rate``, here 0 (no limit).
- ``homes``: a buyer at one HTTP-only home and a seller at another,
  through the tracker's relay over WebSocket; the seller's goal.

For each try it prints the seconds to the item and to the whole file
(its content checked), the packets each HTTP-only home's firewall
dropped (tries, which the goal allows) and the connections it held to a
port other than 80 and 443 at the end (leaks, which it does not); then,
for each case, the median and the worst of each figure and how many
tries met the goal.  A try that failed says which step, and its logs go
to ``--logs``.

It needs root, ``ip`` and ``iptables``; without them it says why and
exits 1, as it does when a try failed.
"""

import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from benchmarks import harness
from twisted_bazaar.testing.daemons import (
    JSON, LISTENING_EVENT, DaemonError, LiveMarket, nodeId)
from twisted_bazaar.testing.httponly import dropped, leaks, wall, zeroDropped
from twisted_bazaar.testing.netns import NetBed, NetBedError, missing, tagOf
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.base.options import boundedInt
from twisted_bazaar.base.usage import OneLineParser, argumentType

#: Seconds any one step of a try (a daemon's start, its reservation) may take.
STEP = 60.0
#: Seconds a file is waited for, at most.
FILE_WAIT = 180.0
#: The goals (seconds to the item, to the whole file) of each case.
GOALS = {"buyer": (10.0, 30.0), "seller": (10.0, 60.0), "relayed": (10.0, 60.0),
         "homes": (10.0, 60.0)}
CASES = tuple(GOALS)
TRACKER_PORT = 7700
SOLD = "sold {what} to {buyer} ({left} left)"
BOUGHT = "bought {what} from {seller} ({n} of {q})"
SHARING = "sharing {name} ({size} bytes, content id {sha})"
DOWNLOADED = "downloaded {name} into {path}, content id verified"
HELD = r"holds a reservation at the relay at (?P<relay>\S+):"


class Bed:
    """The namespaces of a run: the tracker, a public node, a public
    seller or buyer, two HTTP-only homes (L{wall}) and a home behind a
    NAT router."""

    def __init__(self):
        self.net = NetBed(tagOf(os.getpid()))
        try:
            self.tracker = self.net.public("tracker")
            self.public = self.net.public("pub")
            self.other = self.net.public("other")
            self.walled = (self.net.public("walled"), self.net.public("walledb"))
            for host in self.walled:
                wall(host)
            self.nat = self.net.home("nat").host
        except BaseException:
            self.net.remove()
            raise

    def remove(self):
        self.net.remove()


class Try:
    """One try's market, in a folder of its own."""

    def __init__(self, bed, size):
        self.bed = bed
        self.size = size
        self.folder = tempfile.mkdtemp(prefix="bazaar-httponly-")
        self.market = LiveMarket(self.folder, logFormat=JSON)

    def start(self):
        """The tracker, once it listens for WebSocket on port 80; the
        homes' drops counted from 0."""
        self.tracker = self.market.start("tracker", [
            "bazaar-tracker", "--listen", f"tcp:{TRACKER_PORT}", "--ws-port", "80"],
            wrapper=self.bed.tracker.wrapper)
        self.tracker.waitForEvent(LISTENING_EVENT, STEP, what="websocket", port=80)
        for host in self.bed.walled:
            zeroDropped(host)

    def node(self, name, host, *args):
        """A node as a user starts it: at an HTTP-only home, with only the
        tracker's ``ws:`` address; elsewhere, with its TCP address."""
        tracker = (f"ws:{self.bed.tracker.address}:80" if host in self.bed.walled
                   else f"tcp:{self.bed.tracker.address}:{TRACKER_PORT}")
        return self.market.start(name, ["bazaar-node", "--tracker", tracker, *args],
                                 wrapper=host.wrapper)

    def share(self, name):
        """A folder sharing one file of L{size} random bytes: (the folder,
        its content's digest)."""
        shared = os.path.join(self.folder, f"share-{name}")
        os.makedirs(shared)
        content = os.urandom(self.size)
        with open(os.path.join(shared, name), "wb") as f:
            f.write(content)
        return shared, hashlib.sha256(content).digest()

    def seller(self, host, *more):
        """A seller of 2 apple sharing film.bin at host, once it shares it
        (and, away from the public net, holds a reservation): (the
        daemon, its id, the file's digest)."""
        shared, digest = self.share("film.bin")
        seller = self.node("seller", host, "--role", "seller", "--sell", "apple=2",
                           "--share", shared, *more)
        seller_id = nodeId(seller, STEP)
        seller.waitForEvent(SHARING, STEP, name="film.bin")
        if host is not self.bed.other:
            seller.waitFor(HELD, 2 * STEP)
        return seller, seller_id, digest

    def buy(self, host, seller, seller_id, digest):
        """Start a buyer of an apple and film.bin at host: the seconds from
        its start to the item bought and to the file whole."""
        downloads = os.path.join(self.folder, "downloads")
        os.makedirs(downloads)
        started = time.monotonic()
        buyer = self.node("buyer", host, "--role", "buyer", "--want", "apple", "--want",
                          "film.bin", "--downloads", downloads)
        buyer.waitForEvent(BOUGHT, STEP, what="apple", seller=wireId(seller_id))
        item = time.monotonic() - started
        got = buyer.waitForEvent(DOWNLOADED, FILE_WAIT, name="film.bin")
        whole = time.monotonic() - started
        with open(got["path"], "rb") as f:
            if hashlib.sha256(f.read()).digest() != digest:
                raise DaemonError("film.bin came with other bytes")
        seller.waitForEvent(SOLD, STEP, what="apple", buyer=wireId(nodeId(buyer, STEP)))
        return item, whole

    def end(self, logs, stem, keep):
        self.market.stop()
        if keep and logs:
            for daemon in self.market.daemons:
                with open(os.path.join(logs, f"{stem}-{daemon.name}.log"), "w") as f:
                    f.writelines(f"{each}\n" for each in list(daemon.lines))
        shutil.rmtree(self.folder, True)


def attempt(bed, case, size):
    """One try of case: its figures (``item``, ``whole``, ``dropped``,
    ``leaks``), or ``failed``: why."""
    market = Try(bed, size)
    result = {"case": case}
    try:
        market.start()
        walled, walledb = bed.walled
        if case == "buyer":
            seller, seller_id, digest = market.seller(bed.other, "--ws-port", "443")
            seller.waitForEvent(LISTENING_EVENT, STEP, what="websocket", port=443)
            times = market.buy(walled, seller, seller_id, digest)
        elif case == "seller":
            seller, seller_id, digest = market.seller(walled)
            times = market.buy(bed.other, seller, seller_id, digest)
        elif case == "relayed":
            public = market.node("relay", bed.public, "--ws-port", "443",
                                 "--relay-rate", "0")
            nodeId(public, STEP)
            public.waitFor(r"this node is reachable from outside at", STEP)
            seller, seller_id, digest = market.seller(bed.nat)
            times = market.buy(walled, seller, seller_id, digest)
        else:
            seller, seller_id, digest = market.seller(walledb)
            times = market.buy(walled, seller, seller_id, digest)
        result["item"], result["whole"] = times
    except (DaemonError, NetBedError, OSError) as e:
        result["failed"] = str(e).splitlines()[0][:300]
    result["dropped"] = sum(dropped(host) for host in bed.walled)
    result["leaks"] = [pair for host in bed.walled for pair in leaks(host)]
    market.result = result
    return market


def met(result):
    """Whether a try met its case's goal."""
    item, whole = GOALS[result["case"]]
    return ("failed" not in result and not result["leaks"] and result["item"] <= item
            and result["whole"] <= whole)


def line(index, result):
    """A try's row."""
    if "failed" in result:
        figures = f"FAILED: {result['failed']}"
    else:
        figures = f"item {result['item']:5.1f} s  whole {result['whole']:5.1f} s"
    return (f"{result['case']:8} {index:2}  {figures}  dropped {result['dropped']}  "
            f"leaks {len(result['leaks'])}  {'met' if met(result) else 'MISSED'}")


def summary(results):
    """Each case's median and worst, and how many tries met its goal."""
    out = []
    for case in CASES:
        tries = [r for r in results if r["case"] == case]
        if not tries:
            continue
        done = [r for r in tries if "failed" not in r]
        item, whole = GOALS[case]
        figures = ""
        if done:
            items = [r["item"] for r in done]
            wholes = [r["whole"] for r in done]
            figures = (f"item median {statistics.median(items):.1f} s worst "
                       f"{max(items):.1f} s (goal {item:g}), whole median "
                       f"{statistics.median(wholes):.1f} s worst {max(wholes):.1f} s "
                       f"(goal {whole:g}), ")
        drops = [r["dropped"] for r in tries]
        out.append(f"{case}: {figures}dropped median {statistics.median(drops):g} max "
                   f"{max(drops)}, leaks {sum(len(r['leaks']) for r in tries)}, met "
                   f"{sum(met(r) for r in tries)}/{len(tries)}")
    return "\n".join(out)


def _arguments(argv):
    parser = OneLineParser(prog="python -m benchmarks.httponlyhome",
                           description=harness.summary(__doc__))
    parser.add_argument("--tries", type=argumentType(boundedInt(1)), default=10,
                        help="tries of each case")
    parser.add_argument("--size", type=argumentType(boundedInt(1)), default=16,
                        help="the file's MiB")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"the cases, comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--logs", help="keep the logs of every failed or missed try here")
    parser.add_argument("--json", help="write every try's figures here")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    unknown = [case for case in cases if case not in GOALS]
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)} (the cases: {', '.join(CASES)})")
    return args, cases


def main(argv=None):
    args, cases = _arguments(argv)
    reason = missing(nat=True)
    if reason is not None:
        print(f"httponlyhome: {reason}", file=sys.stderr)
        return 1
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
    bed, results = Bed(), []
    try:
        for case in cases:
            for index in range(1, args.tries + 1):
                market = attempt(bed, case, args.size * 2**20)
                results.append(market.result)
                market.end(args.logs, f"{case}{index}", not met(market.result))
                print(line(index, market.result), flush=True)
    finally:
        bed.remove()
    print(summary(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if all(met(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
