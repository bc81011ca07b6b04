"""
The public nodes that relay (docs/protocol.md §5a): each node whose
address check passed may offer its relay (``relayOffer``); the tracker
names one to each node it cannot dial that asks for a reservation
(``relayAt``), the one holding the fewest of the nodes it named there,
so that the nodes at home spread over the relays, and none twice to the
same node while it stays registered.  With no relay left, the tracker's
own relay is the relay of last resort.
"""

import attr


@attr.s(slots=True, auto_attribs=True)
class _Offer:
    """A relaying node: its relay's ``HOST:PORT`` (the host the tracker
    dialled), the reservations it offers, the nodes that hold one or were
    named it last."""

    relay: str
    slots: int
    holders: set = attr.Factory(set)


class RelayPool:
    """
    The relays public nodes offer, and which node holds a reservation at
    which (as each told the tracker, of a relay the tracker named it).
    """

    def __init__(self, rng):
        self.rng = rng
        #: relaying node id -> its L{_Offer}.
        self._offers = {}
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
            self._offers[node_id] = _Offer(relay, slots)
        else:
            offer.relay, offer.slots = relay, slots

    def offers(self, node_id):
        return node_id in self._offers

    def pick(self, node_id, usable):
        """
        A relay to name to node_id, which holds none: of the offers
        ``usable(relaying id)`` says still stand, not named to it before,
        with room, one holding the fewest (drawn among them); (relaying
        id, relay), remembered as named to it, or None.
        """
        tried = self._tried.get(node_id, ())
        best, fewest = [], None
        for relaying, offer in self._offers.items():
            held = len(offer.holders)
            if (relaying == node_id or relaying in tried or held >= offer.slots
                    or (fewest is not None and held > fewest) or not usable(relaying)):
                continue
            if fewest is None or held < fewest:
                best, fewest = [], held
            best.append(relaying)
        if not best:
            return None
        relaying = best[self.rng.randrange(len(best))]
        self._named[node_id] = relaying
        self._tried.setdefault(node_id, set()).add(relaying)
        offer = self._offers[relaying]
        offer.holders.add(node_id)
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
            offer = self._offers.get(table.pop(node_id, None))
            if offer is not None:
                offer.holders.discard(node_id)

    def leave(self, node_id):
        """node_id left: its offer goes (the nodes holding a reservation
        there lose it, and ask again), as does its own reservation."""
        self.release(node_id)
        self._tried.pop(node_id, None)
        offer = self._offers.pop(node_id, None)
        if offer is not None:
            for holder in offer.holders:
                self._held.pop(holder, None)
                self._named.pop(holder, None)
