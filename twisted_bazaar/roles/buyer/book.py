"""
The buyer's book of buys: one L{BuyRecord} per buy id, holding all that
buy's state, in one dict (L{BuyBook}).

A buy's life is one record: its want holds it, it is sent (and may have
been sold), it is given up on and in doubt, it is committed, bought, or
forgotten.  Forgetting a buy deletes its one entry, so no part of the
buyer can keep a piece of a buy that another part forgot.  Two kinds of
record outlive their buy: a bought one (so a repeated ``buyOK`` is not
counted twice) and a disowned one (its seller refused to answer; at most
DISOWNED_LIMIT kept, newest first).
"""

from collections.abc import MutableMapping

import attr

#: Buys dropped because their seller refused to answer, remembered so a
#: late buyOK for one is not put in the bag; the oldest go first.
DISOWNED_LIMIT = 1024


@attr.s
class BuyRecord:
    """
    Everything the buyer knows of one buy id.

    @ivar want: the L{Want} whose own buy it is, while it holds it.
    @ivar routed: it left this process (or was restored from the store):
        its seller may have sold it.
    @ivar unresolved: the L{PendingBuy} given up on and not yet answered.
    @ivar holding: the L{Hold} of its want, while it is in doubt and
        holds the want back.
    @ivar watching: the L{Probe} after its direct send.
    @ivar asking: the L{Probe} of an ``ask`` about it.
    @ivar committing: the L{Purchase} being written.
    @ivar bought: the purchase is on disk.
    @ivar disowned: the seller that refused to answer about it: a buyOK
        for it is not put in the bag.
    """

    buy_id = attr.ib()
    want = attr.ib(default=None)
    routed = attr.ib(default=False)
    unresolved = attr.ib(default=None)
    holding = attr.ib(default=None)
    watching = attr.ib(default=None)
    asking = attr.ib(default=None)
    committing = attr.ib(default=None)
    bought = attr.ib(default=False)
    disowned = attr.ib(default=None)

    def endHold(self):
        """It holds its want back no more (the unused seconds go back to
        the want's budget)."""
        if self.holding is not None:
            hold, self.holding = self.holding, None
            hold.cancel()

    def stopProbes(self):
        """An answer came (or the question no longer matters)."""
        for name in ("watching", "asking"):
            probe = getattr(self, name)
            if probe is not None:
                setattr(self, name, None)
                probe.answered()


class BuyBook:
    """buy id -> L{BuyRecord}, one dict."""

    def __init__(self, bought=()):
        self.records = {buy_id: BuyRecord(buy_id, bought=True) for buy_id in bought}
        self._disowned = 0

    def get(self, buy_id):
        """The record of buy_id, or None."""
        return self.records.get(buy_id)

    def record(self, buy_id):
        """The record of buy_id, made if there is none."""
        record = self.records.get(buy_id)
        if record is None:
            record = self.records[buy_id] = BuyRecord(buy_id)
        return record

    def forget(self, buy_id):
        """The buy is over and was not bought: its entry goes, probes and
        all."""
        record = self.records.pop(buy_id, None)
        if record is not None:
            record.stopProbes()
            record.endHold()
            if record.disowned is not None:
                self._disowned -= 1

    def disown(self, buy_id, seller):
        """Forget buy_id, but remember that seller refused to answer
        about it."""
        self.forget(buy_id)
        self.records[buy_id] = BuyRecord(buy_id, disowned=seller)
        self._disowned += 1
        if self._disowned > DISOWNED_LIMIT:
            oldest = next(r.buy_id for r in self.records.values() if r.disowned is not None)
            self.forget(oldest)

    def unresolved(self, seller=None, item=None):
        """The records given up on and not answered (of seller, of item)."""
        return [record for record in list(self.records.values())
                if record.unresolved is not None
                and (seller is None or record.unresolved.seller == seller)
                and (item is None or record.unresolved.item == item)]

    def outWith(self, seller):
        """Whether a want holds a buy from seller, or an ``ask`` about one
        is out to it: the buyer's link to it is in use."""
        return any((record.want is not None and record.want.offer is not None
                    and record.want.offer.seller == seller)
                   or (record.asking is not None and record.unresolved is not None
                       and record.unresolved.seller == seller)
                   for record in self.records.values())

    def stopAll(self):
        for record in self.records.values():
            record.stopProbes()
            record.endHold()


class FieldView(MutableMapping):
    """
    buy id -> one field of the records where it is set: a read and write
    view (``buyer.unresolved``), for the status and the tests.
    """

    def __init__(self, book, field):
        self._book = book
        self._field = field

    def __getitem__(self, buy_id):
        record = self._book.get(buy_id)
        value = None if record is None else getattr(record, self._field)
        if value is None:
            raise KeyError(buy_id)
        return value

    def __setitem__(self, buy_id, value):
        setattr(self._book.record(buy_id), self._field, value)

    def __delitem__(self, buy_id):
        self[buy_id]
        setattr(self._book.get(buy_id), self._field, None)

    def __iter__(self):
        return iter([buy_id for buy_id, record in self._book.records.items()
                     if getattr(record, self._field) is not None])

    def __len__(self):
        return len(list(iter(self)))

    def __repr__(self):
        return repr(dict(self))
