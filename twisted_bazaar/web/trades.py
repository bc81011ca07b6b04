"""
L{TradeRows}: the market's recent trades as the web view shows them, one
row per trade, put together from what it sees at each side and from
what nodes tell their operator.

A trade is seen twice at most, by stranger's means: units sold (a
seller's stock going down, or its file's copies sold going up) and
units bought (a buyer's bag, which only its operator is told).  Seen
within L{PAIRING} seconds of each other, they are one trade.  A node's
operator is also told the node's trades with the path each buy took
(``nodestate.trades``, docs/protocol.md §12a): that gives its row the
path, and names the other side before the view sees it there (a side so
named is still taken for the trade's when it is seen, not as another).
"""

from collections import deque

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.wire.ids import wireId

#: Seconds within which a sale and a purchase of the same item, seen at
#: two nodes, are taken for one trade.
PAIRING = 10.0
#: The rows kept, and the told trades remembered as already placed.
RECENT = 50
TOLD_KEPT = 4 * RECENT
SIDES = ("seller", "buyer")


class TradeRows:
    """
    The recent trades, oldest first, each a dict: ``at`` (the clock's
    seconds), ``item``, ``units``, ``seller`` and ``buyer`` (wire ids,
    None for a side not known) and, once told, ``path`` (wire ids,
    buyer first).  Rows also hold, until shown, ``claim`` (a bag first
    seen, which may be old: shown only once a sale completes it) and
    ``told`` (the sides named by a path and not yet seen).
    """

    def __init__(self, clock):
        self.clock = clock
        self.rows = deque(maxlen=RECENT)
        #: (buyer id, buy id) of the told trades placed, oldest first.
        self._told = deque(maxlen=TOLD_KEPT)

    def seen(self, side, node_id, item, units, claim=False):
        """
        Units of item sold (``side`` seller) or bought (buyer) at a node:
        they complete recent rows of that item that a path names this
        node in (on this side, not yet seen) first, then those whose
        ``side`` was not seen yet, oldest first (a row with more units
        than are left is split: its other units wait for their own side),
        and what is left starts a row.  A ``claim`` starts a row that is
        shown only once a sale completes it.
        """
        now, me = wallSeconds(self.clock), wireId(node_id)
        other = "buyer" if side == "seller" else "seller"

        def namesMe(trade):
            return side in trade.get("told", ()) and trade[side] == me

        for trade in sorted(self.rows, key=lambda trade: not namesMe(trade)):
            if not units:
                break
            named = namesMe(trade)
            if (trade["item"] != item or (trade[side] is not None and not named)
                    or trade[other] == me or now - trade["at"] > PAIRING):
                continue
            if trade["units"] > units and not named:
                rest = dict(trade, units=trade["units"] - units)
                trade["units"] = units
                self._insertAfter(trade, rest)
            trade[side] = me
            trade.pop("claim", None)
            if named:
                trade["told"] = trade["told"] - {side}
                units -= min(units, trade["units"])
            else:
                units -= trade["units"]
        if units:
            self.rows.append({"at": now, "item": item, "units": units, side: me,
                              other: None, **({"claim": True} if claim else {})})

    def told(self, node_id, entries, seenAt, place=True):
        """
        A node's trades as it told its operator (``nodestate.trades``),
        its answer having come at seenAt: each not placed before gives the
        recent row it is (same item, sides that agree with its path's
        ends) its path, and names a side not yet seen; a trade of which no
        row is recent starts one, if it is itself recent.  With ``place``
        false (a node's first answer, telling trades from before the view
        looked, whose sides the view saw before it looked) each is a row
        of its own, at its time (L{_past}).
        """
        for ago, buy_id, item, units, path in entries:
            key = (path[0], buy_id)
            if key in self._told:
                continue
            self._told.append(key)
            when = seenAt - ago / 1000
            path = [wireId(each) for each in path]
            if not place:
                self._past(item, units, path, when)
            elif wallSeconds(self.clock) - when <= PAIRING:
                self._place(node_id, item, units, path, when)

    def _past(self, item, units, path, when):
        """A trade made before the view looked, as its node told it: a row
        at its time, in time order, both sides named and seen, which no
        sale or purchase seen later completes (the operator's market page
        shows its node's trades, whenever made: issue 96)."""
        row = {"at": when, "item": item, "units": units, "buyer": path[0],
               "seller": path[-1], "path": path}
        rows = sorted([*self.rows, row], key=lambda trade: trade["at"])
        self.rows = deque(rows[-RECENT:], maxlen=RECENT)

    def _place(self, node_id, item, units, path, when):
        ends = {"buyer": path[0], "seller": path[-1]}
        fits = [trade for trade in self.rows
                if trade["item"] == item and "path" not in trade
                and abs(trade["at"] - when) <= PAIRING
                and all(trade[side] in (None, ends[side]) for side in SIDES)]
        if not fits:
            # Both sides named, neither seen yet: the teller's own units
            # sold or bought, in the answer that told it, are this row's.
            self.rows.append({"at": wallSeconds(self.clock), "item": item, "units": units,
                              **ends, "path": path, "told": frozenset(SIDES)})
            return
        # The row that agrees on most sides, the oldest of those.
        trade = max(fits, key=lambda row: sum(row[side] is not None for side in SIDES))
        named = {side for side in SIDES if trade[side] is None}
        trade.update(ends, path=path, told=trade.get("told", frozenset()) | named)
        trade.pop("claim", None)

    def _insertAfter(self, trade, rest):
        if len(self.rows) < RECENT:
            self.rows.insert(self.rows.index(trade) + 1, rest)
        else:
            self.rows.append(rest)

    def shown(self):
        """The rows as the view hands them out: claims left out."""
        return [{key: value for key, value in trade.items() if key != "told"}
                for trade in self.rows if not trade.get("claim")]
