"""
bulk_10k_one_seller_s and bulk_10k_five_sellers_s: wall seconds for a
daemon buyer to get 10,000 units, from one seller with 10,000 or from
five with 2,000 each (issue 22, "Quantity in the trade").

Live daemons on loopback: a tracker, the sellers (memory ledgers, as
``--sell apple=N`` alone gives), then ``bazaar-node --role buyer --want
apple --quantity 10000 --exit-when-done``.  The figure is the wall time
from the buyer's ``node N ready`` line to its ``all wants met`` line, as
this process reads them; the time from starting its process (Python and
Twisted loading, registering) is kept in the detail as ``from_launch_s``.
The buyer searches for ``--search-window`` (default 1 s) before it buys,
so the window alone is most of the figure: the detail keeps it too.

There is no baseline to take a ratio against: before quantities, a buy
took one unit, one search window each (``bazaar buy apple --quantity
2000`` had 119 units after 120 s).  The goals are absolute: 2 s and 3 s.
"""

import threading
import time

from benchmarks.harness import START_TIMEOUT, Figure, market, median
from twisted_bazaar.roles.buyer.role import DEFAULT_SEARCH_WINDOW
from twisted_bazaar.testing.daemons import NODE_READY, nodeId

UNITS = 10_000
#: Seconds the buyer may take before the run counts as failed.
BUY_TIMEOUT = 120.0
#: (figure, sellers, goal in seconds).
CASES = (("bulk_10k_one_seller_s", 1, 2), ("bulk_10k_five_sellers_s", 5, 3))
WANTS_MET = "all wants met"


class _Clock:
    """When this process read each daemon's first line matching a text."""

    def __init__(self):
        self.seen = {}
        self._lock = threading.Lock()

    def onLine(self, daemon, line):
        for key in (WANTS_MET,):
            if key in line:
                self._note((daemon.name, key))
        if NODE_READY.search(line):
            self._note((daemon.name, "ready"))

    def _note(self, key):
        with self._lock:
            self.seen.setdefault(key, time.monotonic())


def once(sellers):
    """One run: (seconds from the buyer's ready line, seconds from its
    launch) until all UNITS are in its bag."""
    clock = _Clock()
    with market(onLine=clock.onLine) as daemons:
        for n in range(sellers):
            seller = daemons.startNode(f"seller{n}", "--role", "seller", "--sell",
                                       f"apple={UNITS // sellers}")
            daemons.waitIntroduced(nodeId(seller, START_TIMEOUT), START_TIMEOUT)
        launched = time.monotonic()
        buyer = daemons.startNode("buyer", "--role", "buyer", "--want", "apple",
                                  "--quantity", str(UNITS), "--exit-when-done")
        buyer.waitFor(rf"{WANTS_MET}: {UNITS} in the bag", BUY_TIMEOUT,
                      what=f"'{WANTS_MET}: {UNITS} in the bag'")
        done = clock.seen[("buyer", WANTS_MET)]
        return done - clock.seen[("buyer", "ready")], done - launched


def run(quick):
    repeats = 1 if quick else 3
    figures = []
    for name, sellers, goal in CASES:
        runs = [once(sellers) for _ in range(repeats)]
        from_ready = [round(ready, 3) for ready, _ in runs]
        from_launch = [round(launch, 3) for _, launch in runs]
        figures.append(Figure(
            name, median(from_ready), "s", ("<=", goal),
            detail={"from_ready_s": from_ready, "from_launch_s": from_launch,
                    "sellers": sellers, "units": UNITS,
                    "search_window_s": DEFAULT_SEARCH_WINDOW},
            note=f"{UNITS:,} units from {sellers} seller{'s' if sellers > 1 else ''}, "
                 f"median of {repeats} (from launch: {median(from_launch):.2f} s)"))
    return figures
