"""
``make demo``: a live market of real daemons on loopback.

A tracker, three sellers and three buyers run as separate ``twistd -n``
processes in a scratch folder.  Each purchase is printed as the buyer logs
it; once every buyer has what it wanted, everything is stopped and a summary
is printed.  Exit status 0 means the whole market traded and shut down
cleanly; anything that does not happen in time ends the demo with a reason
and a non-zero status.  Ctrl-C stops every daemon too.

Run it as ``python -m twisted_bazaar.cli.demo``.
"""

import os
import re
import signal
import sys
import tempfile
import threading
import time

from twisted_bazaar.testing.daemons import NODE_REGISTERED, DaemonError, LiveMarket, nodeId
from twisted_bazaar.wire.ids import parseWireId, shortId
from twisted_bazaar.base.words import counted

#: Seconds the market gets from start until every buyer is satisfied.
TRADE_DEADLINE = 25.0
#: Seconds any one daemon gets to come up.
START_TIMEOUT = 10.0

#: name -> stock.  Every item is on offer at two sellers.
SELLERS = {
    "seller-1": {"apple": 3, "pear": 1},
    "seller-2": {"pear": 3, "fig": 1},
    "seller-3": {"fig": 3, "apple": 1},
}
#: name -> (wanted items, quantity of each).
BUYERS = {
    "buyer-1": (["apple"], 2),
    "buyer-2": (["pear", "fig"], 1),
    "buyer-3": (["fig", "apple"], 1),
}

BOUGHT = re.compile(r"bought (?P<item>\S+)(?: x(?P<units>\d+))? from (?P<seller>\w+) "
                    r"\((?P<n>\d+) of (?P<q>\d+)\)")
SOLD = re.compile(r"sold (?P<item>\S+)(?: x(?P<units>\d+))? to (?P<buyer>\w+) "
                  r"\((?P<left>\d+) left\)")
ALL_MET = r"all wants met"


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: stop the daemons and leave."""


class Reporter:
    """
    Watches every daemon's log (called from the reader threads) and prints
    each registration and purchase the moment it is logged.  Both come from
    the same node's log, in order, so a buyer's id is always known before
    its first purchase.

    @ivar ids: daemon name -> node id, in its short form, as logs show it.
    """

    def __init__(self, out=sys.stdout):
        self.out = out
        self.ids = {}
        self._lock = threading.Lock()

    def say(self, text):
        with self._lock:
            print(text, file=self.out, flush=True)

    def name(self, node):
        """A node id as 'seller-2 (node 123)' when it is one of ours."""
        for name, known in list(self.ids.items()):
            if known == node:
                return f"{name} (node {node})"
        return f"node {node}"

    def onLine(self, daemon, line):
        registered = NODE_REGISTERED.search(line)
        if registered:
            self.ids[daemon.name] = shortId(parseWireId(registered["id"]))
            self.say(f"{daemon.name} is node {self.ids[daemon.name]}: "
                     f"{_describe(daemon.name)}")
            return
        bought = BOUGHT.search(line)
        if bought:
            self.say(f"  {self.name(self.ids.get(daemon.name))} bought "
                     f"{_units(bought)} from {self.name(bought['seller'])} "
                     f"({bought['n']} of {bought['q']})")


def _units(match):
    """The item of a trade, with its units when more than one
    (L{counted})."""
    return counted(match["item"], int(match["units"] or 1))


def _describe(name):
    if name in SELLERS:
        return "sells " + ", ".join(counted(item, units)
                                    for item, units in SELLERS[name].items())
    items, quantity = BUYERS[name]
    return "wants " + ", ".join(counted(item, quantity) for item in items)


def _sellerFlags(name):
    flags = ["--role", "seller"]
    for item, units in SELLERS[name].items():
        flags += ["--sell", f"{item}={units}"]
    return flags


def _buyerFlags(name):
    items, quantity = BUYERS[name]
    flags = ["--role", "buyer", "--quantity", str(quantity)]
    for item in items:
        flags += ["--want", item]
    return flags


def _left(deadline, cap=TRADE_DEADLINE):
    return min(max(deadline - time.monotonic(), 0.1), cap)


def trade(market, reporter, deadline):
    """
    Start the tracker, then the sellers, then the buyers (each group once
    the previous one has registered, so that the buyers' first searches
    reach stock), and wait until every buyer is satisfied.
    """
    market.startTracker(timeout=_left(deadline, START_TIMEOUT))
    reporter.say(f"tracker listening on 127.0.0.1:{market.tracker_port}")
    _startGroup(market, SELLERS, _sellerFlags, deadline)
    for buyer in _startGroup(market, BUYERS, _buyerFlags, deadline):
        buyer.waitFor(ALL_MET, _left(deadline), what=f"'{ALL_MET}'")


def _startGroup(market, names, flags, deadline):
    """Start these nodes together; return them once all have registered."""
    started = [market.startNode(name, *flags(name)) for name in names]
    for daemon in started:
        nodeId(daemon, _left(deadline, START_TIMEOUT))
    return started


def summary(market, reporter):
    """One row per buyer (its bag), then per seller (sales, stock left)."""
    names = {known: name for name, known in reporter.ids.items()}

    def called(node):
        return names.get(node, f"node {node}")

    rows = []
    for daemon in sorted(market.daemons, key=lambda d: d.name):
        if daemon.name in BUYERS:
            bag = [f"{_units(m)} from {called(m['seller'])}"
                   for m in daemon.matches(BOUGHT)]
            rows.append((daemon.name, "bag: " + (", ".join(bag) or "empty")))
        elif daemon.name in SELLERS:
            left = dict(SELLERS[daemon.name])
            sold = []
            for m in daemon.matches(SOLD):
                sold.append(f"{_units(m)} to {called(m['buyer'])}")
                left[m["item"]] = int(m["left"])
            stock = ", ".join(f"{item} {units}" for item, units in left.items())
            rows.append((daemon.name, "sold: " + (", ".join(sold) or "nothing")
                         + f" (left: {stock})"))
    return "\n".join(["summary:"] + [
        f"  {name:<9} node {reporter.ids.get(name, '?'):>10}  {what}"
        for name, what in rows])


def checkShutdown(market, folder):
    """Every daemon shut down in good order, logged no traceback and left
    no pid file; returns what went wrong."""
    trouble = []
    for daemon in market.daemons:
        if not daemon.exitedCleanly():
            trouble.append(f"{daemon.name} did not shut down cleanly (exit "
                           f"code {daemon.process.returncode}); its last lines:\n"
                           + daemon.tail())
        trouble += [f"{daemon.name} logged: {line}" for line in daemon.problems()]
    if os.path.exists(os.path.join(folder, "twistd.pid")):
        trouble.append("a twistd.pid file was left behind")
    return trouble


def _interrupt(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main():
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.monotonic()
    reporter = Reporter()
    reporter.say(f"twisted-bazaar demo: a tracker, {len(SELLERS)} sellers and "
                 f"{len(BUYERS)} buyers as twistd daemons on 127.0.0.1")
    failure = None
    status = 1
    with tempfile.TemporaryDirectory(prefix="bazaar-demo-") as folder:
        market = LiveMarket(folder, onLine=reporter.onLine)
        try:
            trade(market, reporter, began + TRADE_DEADLINE)
            reporter.say(f"every buyer has what it wanted after "
                         f"{time.monotonic() - began:.1f} s; stopping the market")
        except DaemonError as e:
            failure = str(e)
        except Interrupted as e:
            failure = f"interrupted ({e}); stopped every daemon"
            status = 128 + signal.SIGINT
        finally:
            # A second Ctrl-C must not leave daemons behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            market.stop()
        trouble = checkShutdown(market, folder) if failure is None else []
    if failure is None and not trouble:
        reporter.say(summary(market, reporter))
        reporter.say(f"all {len(market.daemons)} daemons stopped cleanly after "
                     f"{time.monotonic() - began:.1f} s; no process or pid file left")
        return 0
    for reason in ([failure] if failure else []) + trouble:
        print(f"demo: error: {reason}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
