"""Measuring a simulation: what each buyer saw, and summary statistics."""

import resource

from twisted_bazaar.core.events import NodeObserver

#: Where Linux tells a process its own peak resident memory.
STATUS = "/proc/self/status"


def peakRssMB(status=STATUS):
    """
    This process's peak resident memory, in MB: Linux's VmHWM, the peak
    of this program's own memory, where there is one; else getrusage's
    peak, which on Linux also counts what the parent held when it forked
    the process (a simulation started by a large benchmark runner would
    show the runner's size).
    """
    try:
        with open(status, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def percentiles(values, points=(50, 95, 99)):
    """Nearest-rank percentiles and the mean of values (None if empty)."""
    if not values:
        return {"mean": None, **{f"p{p}": None for p in points}}
    ordered = sorted(values)
    out = {"mean": round(sum(ordered) / len(ordered), 6)}
    for p in points:
        rank = max(1, -(-p * len(ordered) // 100))
        out[f"p{p}"] = round(ordered[rank - 1], 6)
    return out


#: Answers to a buyer's routed lookup, whose C{hops} say how many links
#: the lookup crossed to reach the node that answered it.
LOOKUP_ANSWERS = ("chordRecords",)


class BuyerProbe(NodeObserver):
    """
    Watches one buyer node through the events its discovery scheme
    announces: the hops of the first offer to arrive for each find, and the
    virtual time from the first find for a unit to its buyOK.  For a
    scheme whose finds are routed lookups (Chord), it also records the
    hops each lookup took to the node that answered it (see
    L{LOOKUP_ANSWERS}): an offer itself is direct, one hop.  (A lookup
    the buyer's node answers itself, about one in N, is not delivered and
    not counted.)
    """

    def __init__(self, node, record):
        self.node = node
        self.record = record
        self._first_find = {}
        self._awaiting = set()
        self._confirmed = set()
        node.addObserver(self)

    def findStarted(self, item):
        self.record.floods += 1
        self._awaiting.add(item)
        self._first_find.setdefault(item, self.node.clock.seconds())

    def offerArrived(self, item, offer):
        if item in self._awaiting:
            self._awaiting.discard(item)
            self.record.hops.append(len(offer.route) - 1)

    def delivered(self, message):
        if message.TYPE in LOOKUP_ANSWERS:
            self.record.lookup_hops.append(message.hops)
        elif message.TYPE == "buyOK" and message.id not in self._confirmed:
            # A duplicated buyOK must not end the timing of the next unit.
            self._confirmed.add(message.id)
            started = self._first_find.pop(message.item, None)
            if started is not None:
                # One latency per unit: a buy of several brings them all.
                self.record.latency_ms.extend(
                    [(self.node.clock.seconds() - started) * 1000.0] * (message.count or 1))


class Record:
    """Everything the probes collect during one run."""

    def __init__(self):
        self.floods = 0
        self.hops = []
        self.lookup_hops = []
        self.latency_ms = []
