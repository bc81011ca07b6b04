"""
L{TradeLog}: a role's last few trades with the route each buy took, for
its operator's status (``nodestate.trades``, docs/protocol.md §12a) and
so for the web view, which moves a trade along its path.

The path is the buy's own: buyer first, seller last, the nodes between
it was routed through (two ids for a buy sent straight to its seller,
over a direct or relayed link).  Who bought from whom is the operator's
business, never a stranger's.
"""

#: Trades kept, newest last.
TRADES_KEPT = 16


class TradeLog:
    """The last L{TRADES_KEPT} trades of one role, each as (when, buy
    id, item, units, path)."""

    # One a role, two a node that buys and sells (a million in a
    # simulation), where nearly every role never trades: slotted, and its
    # trades a list made at its first trade (a deque is a 640-byte block
    # even empty, 370 bytes at its first trade; a list of one, 88).
    __slots__ = ("clock", "_size", "_entries")

    def __init__(self, clock, size=TRADES_KEPT):
        self.clock = clock
        self._size = size
        #: The trades noted, oldest first: () until the first.
        self._entries = ()

    def note(self, buy_id, item, units, path):
        """A trade made now: units of item under buy_id, along path
        (buyer first)."""
        entries = self._entries
        if type(entries) is not list:
            entries = self._entries = []
        entries.append((self.clock.seconds(), buy_id, item, units, tuple(path)))
        if len(entries) > self._size:
            del entries[0]

    def forget(self, buy_ids):
        """The trades of buy_ids did not happen after all (their record
        failed): never told."""
        kept = [entry for entry in self._entries if entry[1] not in buy_ids]
        if len(kept) != len(self._entries):
            self._entries = kept

    def entries(self, now):
        """The trades noted, oldest first, as (milliseconds before now,
        buy id, item, units, path)."""
        return tuple((max(0, round((now - when) * 1000)), buy_id, item, units, path)
                     for when, buy_id, item, units, path in self._entries)
