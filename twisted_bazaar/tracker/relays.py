"""
The public nodes that relay (docs/protocol.md §5a): each node whose
address check passed may offer its relay (``relayOffer``); the tracker
names one to each node it cannot dial that asks for a reservation
(``relayAt``), one holding the fewest of the nodes it named there, so
that the nodes at home spread over the relays, and none twice to the
same node while it stays registered.  With no relay left, the tracker's
own relay is the relay of last resort.

The relays with room are kept by how many nodes each holds, so that a
pick looks at the least loaded first, in a time that does not grow with
the relays a large market offers.
"""

import attr

#: Relays of the least loaded level drawn at random before the level is
#: searched whole for one this node may be named.
_DRAWS = 8


@attr.s(slots=True, auto_attribs=True)
class _Offer:
    """A relaying node: its relay's ``HOST:PORT`` (the host the tracker
    dialled), the reservations it offers, the nodes that hold one or were
    named it last."""

    relay: str
    slots: int
    holders: set = attr.Factory(set)


class _Level:
    """Relaying ids with O(1) add, remove and random pick."""

    def __init__(self):
        self.order = []
        self.index = {}

    def add(self, relaying):
        self.index[relaying] = len(self.order)
        self.order.append(relaying)

    def remove(self, relaying):
        slot = self.index.pop(relaying)
        last = self.order.pop()
        if last != relaying:
            self.order[slot] = last
            self.index[last] = slot


class RelayPool:
    """
    The relays public nodes offer, and which node holds a reservation at
    which (as each told the tracker, of a relay the tracker named it).
    """

    def __init__(self, rng):
        self.rng = rng
        #: relaying node id -> its L{_Offer}.
        self._offers = {}
        #: nodes held (or named) -> the relays with room holding that many.
        self._levels = {}
        #: node id -> the relaying node it was named last, until it holds
        #: a reservation there.
        self._named = {}
        #: node id -> the relaying node it holds a reservation at.
        self._held = {}
        #: node id -> the relaying nodes it was named while registered.
        self._tried = {}

    def __len__(self):
        return len(self._offers)

    def offer(self, node_id, relay, slots):
        """node_id relays at relay for up to slots nodes (an offer again
        replaces the last)."""
        offer = self._offers.get(node_id)
        if offer is None:
            offer = self._offers[node_id] = _Offer(relay, slots)
        else:
            self._unlevel(node_id, offer)
            offer.relay, offer.slots = relay, slots
        self._level(node_id, offer)

    def _level(self, relaying, offer):
        """Keep relaying at its level, if it has room."""
        held = len(offer.holders)
        if held < offer.slots:
            self._levels.setdefault(held, _Level()).add(relaying)

    def _unlevel(self, relaying, offer):
        """Take relaying out of its level (before its count changes)."""
        held = len(offer.holders)
        level = self._levels.get(held)
        if level is not None and relaying in level.index:
            level.remove(relaying)
            if not level.order:
                del self._levels[held]

    def pick(self, node_id, usable):
        """
        A relay to name to node_id, which holds none: of the offers
        ``usable(relaying id)`` says still stand, not named to it before,
        with room, one holding the fewest (drawn among them); (relaying
        id, relay), remembered as named to it, or None.
        """
        tried = self._tried.get(node_id, ())

        def fits(relaying):
            return relaying != node_id and relaying not in tried and usable(relaying)

        for held in sorted(self._levels):
            order = self._levels[held].order
            for _ in range(min(_DRAWS, len(order))):
                relaying = order[self.rng.randrange(len(order))]
                if fits(relaying):
                    return self._name(node_id, relaying)
            fitting = [relaying for relaying in order if fits(relaying)]
            if fitting:
                return self._name(node_id, fitting[self.rng.randrange(len(fitting))])
        return None

    def _name(self, node_id, relaying):
        self._named[node_id] = relaying
        self._tried.setdefault(node_id, set()).add(relaying)
        offer = self._offers[relaying]
        self._unlevel(relaying, offer)
        offer.holders.add(node_id)
        self._level(relaying, offer)
        return relaying, offer.relay

    def named(self, node_id):
        """The relay (``HOST:PORT``) last named to node_id, or None."""
        relaying = self._named.get(node_id)
        offer = self._offers.get(relaying)
        return None if offer is None else offer.relay

    def hold(self, node_id):
        """node_id holds a reservation at the relay last named to it:
        the relaying node's id."""
        relaying = self._held[node_id] = self._named.pop(node_id)
        return relaying

    def release(self, node_id):
        """node_id holds no reservation at a public node's relay any
        more (it asks for another)."""
        for table in (self._named, self._held):
            relaying = table.pop(node_id, None)
            offer = self._offers.get(relaying)
            if offer is not None and node_id in offer.holders:
                self._unlevel(relaying, offer)
                offer.holders.discard(node_id)
                self._level(relaying, offer)

    def leave(self, node_id):
        """node_id left: its offer goes (the nodes holding a reservation
        there lose it, and ask again), as does its own reservation."""
        self.release(node_id)
        self._tried.pop(node_id, None)
        offer = self._offers.pop(node_id, None)
        if offer is not None:
            self._unlevel(node_id, offer)
            for holder in offer.holders:
                self._held.pop(holder, None)
                self._named.pop(holder, None)
