"""
Whom a seller charges for the closes and copies it remembers
(docs/protocol.md §11, "Closing a buy"): whoever asked for each, as far
as the seller can tell who that is.

A buy or ask that comes straight from its buyer (its path holds only the
buyer and the seller), or from a buyer linked to the seller with its key
proven, is charged to the address group of the buyer's own link (a
stranger gains nothing by linking a key: it is charged to its own
group).  One that was relayed otherwise says nothing the seller can check
about its buyer's address (keys are free), and the relay in front of the
seller hands on whatever its own peers give it.  So it is charged to the
relays' share: one holder beside the address groups, and within it, the
address group of the link it came on.  A stranger that routes buys
through an honest relay so spends the relays' share (that relay's part
of it first), never what the relay's own buys may hold; and however many
keys or relays it uses, all it has relayed takes at most that one share.

A buy straight from its buyer over a link through a relay's circuit (a
seller at home: every link to it comes so) is charged to the relay's
address group, the one address the seller saw; within that group's
charge, each address group the relay names for its diallers (a label,
the relay's word) holds a part, as the relays' share is divided: else a
stranger buying copies through the tracker's relay filled that relay's
group's whole half, and every honest buyer linked through it was
answered ``notyet``.  A relay that lies about its diallers divides only
what its own group holds.

All levels follow one rule (L{Account.admits}): nothing remembered gives
way, and a holder is admitted while what it would hold is no more than
the room left.  The relays' share has a room of its own: half of what
the address groups' own closes and copies leave (what the share could
reach, alone), less what it holds, shared among the relays' groups the
same way.  So one relay's group alone has about a quarter of the
account, each more relay's group a part of what is left, and a relay's
group holding less than that room always gets its close or copy.
"""

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.account import Account

#: The holder, among the address groups, of every close and copy of a
#: relayed buy or ask (no address group is written with parentheses).
RELAYED = "(relayed)"

#: The seller's closes and copies (its --closed-limit sets their number),
#: by address group, and the relays' share of them, by relay's group.
REMEMBERED_LIMIT = declare(
    "seller.remembered", None, "closes",
    "closed buys and copies a seller remembers, charged to their buyers' groups",
    flag="--closed-limit", owner=__name__)
NAMED_LIMIT = declare(
    "seller.named", None, "closes",
    "the closes and copies of buys from links through one relay's circuits, "
    "charged to the dialler groups that relay names",
    flag="--closed-limit", owner=__name__)
RELAYED_LIMIT = declare(
    "seller.relayed", None, "closes",
    "the closes and copies of relayed buys, charged to the relays' groups",
    flag="--closed-limit", owner=__name__)


class RememberedShares:
    """
    The closes and copies a seller remembers, each charged to an address
    group: its buyer's own, or (``relayed``) that of the relay it came
    from, in the relays' share.

    @ivar capacity: the most remembered at once (--closed-limit).
    """

    def __init__(self, capacity):
        self.capacity = capacity
        #: Every holder: a direct one charged to its group, a relayed one
        #: to RELAYED.
        self._groups = Account.of(REMEMBERED_LIMIT, capacity)
        #: The relayed holders, each charged to its relay's group.
        self._relays = Account.of(RELAYED_LIMIT, capacity)
        #: The holders of links through a relay's circuits, each charged
        #: to (the relay's group, the dialler's group the relay names).
        self._named = Account.of(NAMED_LIMIT, capacity)

    @property
    def used(self):
        """Closes and copies remembered now."""
        return self._groups.used

    def held(self, group, relayed=False):
        """What ``group`` holds: of its own buyers' buys and asks, or
        (``relayed``) of those it relayed."""
        return (self._relays if relayed else self._groups).held(group)

    def room(self, relayed=False):
        """How many more fit: in the whole account, or (``relayed``) in
        the relays' share."""
        if not relayed:
            return self.capacity - self.used
        share = self._groups.held(RELAYED)
        own = self.used - share
        return (self.capacity - own) // 2 - share

    def namedRoom(self, group):
        """How many more the diallers' groups that the relay of ``group``
        names may hold: half of what ``group`` could reach, alone beside
        the others' own, less what it holds."""
        held = self._groups.held(group)
        return (self.capacity - (self.used - held)) // 2 - held

    def admits(self, group, relayed=False, named=None):
        """Whether ``group`` may have one more close or copy remembered:
        while what it would hold is no more than the room left (of the
        whole, or of the relays' share); with ``named``, the dialler's
        group the relay of a circuit names, that group too, within
        L{namedRoom}."""
        if self.held(group, relayed) + 1 > self.room(relayed):
            return False
        return named is None or self._named.held((group, named)) + 1 <= self.namedRoom(
            group)

    def hold(self, holder, group, relayed=False, named=None):
        """``holder`` (a buy's key and id) is remembered, charged so."""
        if named is not None:
            self._named.hold(holder, (group, named))
        if relayed:
            self._relays.hold(holder, group)
            group = RELAYED
        self._groups.hold(holder, group)

    def release(self, holder):
        """``holder`` is forgotten (idempotent)."""
        self._groups.release(holder)
        self._relays.release(holder)
        self._named.release(holder)
