"""Measuring a simulation: what each buyer saw, and summary statistics."""


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


class BuyerProbe:
    """
    Watches one buyer node: hops to the first reply of each search, and the
    virtual time from the first search for a unit to its buyOK.
    """

    def __init__(self, node, record):
        self.node = node
        self.record = record
        self._first_search = {}
        self._answered = set()
        self._confirmed = set()
        self._item_of = {}
        node.addObserver(self)

    def searchStarted(self, search):
        self.record.floods += 1
        self._item_of[search.id] = search.item
        self._first_search.setdefault(search.item, self.node.clock.seconds())

    def delivered(self, message):
        kind = message.TYPE
        if kind == "reply" and message.id in self._item_of:
            if message.id not in self._answered:
                self._answered.add(message.id)
                self.record.hops.append(len(message.path) - 1)
        elif kind == "buyOK" and message.id not in self._confirmed:
            # A duplicated buyOK must not end the timing of the next unit.
            self._confirmed.add(message.id)
            started = self._first_search.pop(message.item, None)
            if started is not None:
                self.record.latency_ms.append(
                    (self.node.clock.seconds() - started) * 1000.0)


class Record:
    """Everything the probes collect during one run."""

    def __init__(self):
        self.floods = 0
        self.hops = []
        self.latency_ms = []
