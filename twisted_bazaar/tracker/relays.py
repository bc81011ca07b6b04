"""
The public nodes that relay (docs/protocol.md §5a), counted by the
address group of each relay, never by its key: keys are free, so twelve
keys offering relays from one address are one relay group, which holds no
more nodes at home than one key would.

Each node whose address check passed may offer its relay
(``relayOffer``); the tracker names one to each node it cannot dial that
asks for a reservation (``relayAt``): a relay group holding the fewest
nodes first, then the group's relay holding the fewest, so that the
nodes at home spread over the groups, and no group twice to the same
node while it stays registered; a relay of the asking node's address
family first (a node on IPv6 alone dials no relay named at an IPv4
address), another family's only when none of its own has room.  What a group holds (names not yet
confirmed, and reservations held) is its own, not its offers': a relay
that leaves and registers again, under its old key or a new one, finds
its group still holding what it held.  A name the node at home does not
confirm (``relayReserved``) within L{NAME_TIMEOUT} holds nothing more,
and names not yet confirmed are charged to the asking node's group
(L{NAMES_LIMIT}), so that one group's keys asking and never reserving
cannot hold the honest relays' places.  A name confirmed is taken on
the node's word (the tracker cannot see the relay's reservations), so
what one address group of nodes at home is named at one relay is bounded
as the relay itself bounds what it holds for a group
(L{PLACES_LIMIT}): a lie holds no more places than reservations would.
With no relay left, the tracker's own relay is the relay of last resort.

The groups with room are kept by how many nodes each holds, so that a
pick looks at the least loaded first, in a time that does not grow with
the relays a large market offers.
"""

import attr

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.account import Account
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.tracker.registry import familyOf
from twisted_bazaar.transports.relay.limits import NODE_GROUP_RESERVATIONS
from twisted_bazaar.wire.core import splitRelay

#: The most nodes the tracker names to the relays of one address group,
#: whatever they offer and however many keys offer them: a relay that
#: drops what it should carry keeps out of reach only the nodes reserved
#: with it, so no one group may ask for them all.
MOST_NAMED = 64
#: Seconds a name (``relayAt``) holds a place at a relay before the node
#: at home confirms it (``relayReserved``): past it, the place is free
#: again, and the node's late confirmation is refused.
NAME_TIMEOUT = 10.0
#: Names not yet confirmed, charged to the asking node's address group:
#: one group's keys that ask and never reserve hold at most this many
#: places at the honest relays at once (each for NAME_TIMEOUT at most).
NAMES_LIMIT = declare(
    "tracker.relay-names", None, "names",
    "relays named to nodes at home and not yet confirmed, charged to the "
    "asking node's address group", group=4, owner=__name__)
#: Places at one relay named to (or confirmed by) the nodes at home of one
#: address group: the share a public node's relay grants one group
#: (L{NODE_GROUP_RESERVATIONS}).  A confirmation (``relayReserved``) is
#: the node's word; without this, one group's keys that echoed it without
#: reserving held every place the tracker counted at the honest relays,
#: whose own rule would have given that group four each.
PLACES_LIMIT = declare(
    "tracker.relay-places", None, "places",
    "places at one public node's relay named to nodes at home (confirmed or "
    "not), charged to their address group", group=NODE_GROUP_RESERVATIONS,
    owner=__name__)

#: Groups of the least loaded level drawn at random before the level is
#: searched whole for one this node may be named.
_DRAWS = 8
#: Groups a pick looks at in turn, all levels together, past its draws: a
#: node named every group before (it asked again and again) had each ask
#: search the whole pool (5,000 relay groups: 0.6 ms an ask).  Past them
#: it is held at the tracker's relay, and asks again later.
_LOOKS = 256


@attr.s(slots=True, auto_attribs=True)
class _Offer:
    """A relaying node's offer: its relay's ``HOST:PORT`` (the host the
    tracker dialled), the reservations it offers, its address group."""

    relay: str
    slots: int
    group: object


class _Group:
    """
    One address group's relays: the offers standing now, and the nodes at
    home named to (or holding a reservation at) any relay of the group,
    which outlive the offers.
    """

    __slots__ = ("offers", "slots", "homes", "at")

    def __init__(self):
        #: relaying node id -> its L{_Offer}.
        self.offers = {}
        #: The slots its offers offer, in all.
        self.slots = 0
        #: node at home -> the relay (``HOST:PORT``) it was named or holds.
        self.homes = {}
        #: relay -> how many nodes at home were named it or hold it.
        self.at = {}

    def room(self, most):
        """Nodes at home it may be named to now."""
        return min(most, self.slots) - len(self.homes)

    def charge(self, home, relay):
        self.homes[home] = relay
        self.at[relay] = self.at.get(relay, 0) + 1

    def uncharge(self, home):
        relay = self.homes.pop(home, None)
        if relay is not None:
            self.at[relay] -= 1
            if not self.at[relay]:
                del self.at[relay]

    def empty(self):
        return not self.offers and not self.homes


class _Level:
    """Groups with O(1) add, remove and random pick."""

    def __init__(self):
        self.order = []
        self.index = {}

    def add(self, group):
        self.index[group] = len(self.order)
        self.order.append(group)

    def remove(self, group):
        slot = self.index.pop(group)
        last = self.order.pop()
        if last != group:
            self.order[slot] = last
            self.index[last] = slot


@attr.s(slots=True, auto_attribs=True)
class _Name:
    """A relay named to a node at home: which, and until when unconfirmed
    (its timer; None once the node holds a reservation there)."""

    relaying: object
    group: object
    relay: str
    timer: object = None


class RelayPool:
    """
    The relays public nodes offer, by address group, and which node at
    home was named or holds a reservation at which (as each told the
    tracker, of a relay the tracker named it).
    """

    def __init__(self, rng, clock, most_named=MOST_NAMED, name_timeout=NAME_TIMEOUT):
        """
        @param most_named: the most nodes at home named to one address
            group's relays at once (L{MOST_NAMED}).
        @param name_timeout: seconds a name holds its place unconfirmed
            (L{NAME_TIMEOUT}).
        """
        self.rng = rng
        self.clock = clock
        self.most_named = most_named
        self.name_timeout = name_timeout
        #: Names not yet confirmed, by the asking node's address group.
        self.names = Account.of(NAMES_LIMIT)
        #: Names, confirmed or not, by (relay, the asking node's group).
        self.places = Account.of(PLACES_LIMIT)
        #: relaying node id -> its L{_Offer}.
        self._offers = {}
        #: address group -> its L{_Group}.
        self._groups = {}
        #: nodes at home held (or named) -> the groups with room holding
        #: that many.
        self._levels = {}
        #: node id -> the L{_Name} of the relay it was named or holds.
        self._names = {}
        #: node id -> the relay groups it was named while registered.
        self._tried = {}

    def __len__(self):
        return len(self._offers)

    def offer(self, node_id, relay, slots):
        """node_id relays at relay for up to slots nodes (an offer again
        replaces the last)."""
        self._withdraw(node_id)
        group = addressGroup(splitRelay(relay)[0])
        offer = self._offers[node_id] = _Offer(relay, slots, group)
        self._change(group, lambda held: held.offers.__setitem__(node_id, offer),
                     slots)

    def _withdraw(self, node_id):
        """node_id's offer stands no more (what its group holds stays)."""
        offer = self._offers.pop(node_id, None)
        if offer is not None:
            self._change(offer.group, lambda held: held.offers.pop(node_id), -offer.slots)

    def _change(self, group, change, slots=0):
        """Apply change to group's L{_Group} (and add slots to its
        offers'), keeping it at the level it then holds, and forgetting it
        once it offers and holds nothing."""
        held = self._groups.get(group)
        if held is None:
            held = self._groups[group] = _Group()
        self._unlevel(group, held)
        change(held)
        held.slots += slots
        if held.empty():
            del self._groups[group]
        else:
            self._level(group, held)

    def _level(self, group, held):
        """Keep group at its level, if it has room."""
        if held.room(self.most_named) > 0:
            self._levels.setdefault(len(held.homes), _Level()).add(group)

    def _unlevel(self, group, held):
        """Take group out of its level (before what it holds changes)."""
        level = self._levels.get(len(held.homes))
        if level is not None and group in level.index:
            level.remove(group)
            if not level.order:
                del self._levels[len(held.homes)]

    def pick(self, node_id, asker_group, usable, family=None):
        """
        A relay to name to node_id, of address group asker_group, which
        holds none: of the groups with room not named to it before, one
        holding the fewest (drawn among them, then looked for from a place
        drawn, L{_LOOKS} groups at most), and of that group's offers
        that ``usable(relaying id)`` says still stand and that have room,
        one holding the fewest (drawn among them); (relaying id, relay),
        remembered as named to it, or None (none has room, or the asker's
        group holds its share of names not yet confirmed).  An offer at
        an address of ``family`` (4 or 6, L{familyOf}; None: any) first:
        the first of another family met is named only when none of it is
        (a market of one family picks as if there were no such rule).
        """
        if self.names.makeRoom(asker_group, holder=node_id) is None:
            return None
        tried = self._tried.get(node_id, ())
        looks = _LOOKS
        crossed = None
        for held in sorted(self._levels):
            order = self._levels[held].order
            for _ in range(min(_DRAWS, len(order))):
                group = order[self.rng.randrange(len(order))]
                if group not in tried:
                    found, other = self._within(group, node_id, asker_group, usable,
                                                family)
                    if found is not None:
                        return self._name(node_id, asker_group, group, found)
                    crossed = crossed or (other and (group, other))
            # Then the level in turn, from a place drawn, as far as the
            # looks left go.
            size = len(order)
            start = self.rng.randrange(size)
            for step in range(min(size, looks)):
                group = order[(start + step) % size]
                if group not in tried:
                    found, other = self._within(group, node_id, asker_group, usable,
                                                family)
                    if found is not None:
                        return self._name(node_id, asker_group, group, found)
                    crossed = crossed or (other and (group, other))
            looks -= min(size, looks)
            if not looks:
                break
        return None if crossed is None else self._name(node_id, asker_group, *crossed)

    def _within(self, group, node_id, asker_group, usable, family=None):
        """Of group's offers that stand, are not node_id's own and have
        room, for asker_group too (L{PLACES_LIMIT}), one at an address of
        family holding the fewest, drawn among them: (its relaying id, or
        None; when None, the relaying id of the first such offer of
        another family, or None)."""
        held = self._groups[group]
        fitting, fewest, other = [], None, None
        for relaying, offer in held.offers.items():
            count = held.at.get(offer.relay, 0)
            if (relaying == node_id or count >= offer.slots or not usable(relaying)
                    or self.places.makeRoom((offer.relay, asker_group)) is None):
                continue
            if family is not None and familyOf(splitRelay(offer.relay)[0]) != family:
                other = other or relaying
                continue
            if fewest is None or count < fewest:
                fitting, fewest = [relaying], count
            elif count == fewest:
                fitting.append(relaying)
        if len(fitting) < 2:
            # No draw for one: a group of one relay (the honest case)
            # costs the tracker's random stream nothing more than before.
            return (fitting[0], None) if fitting else (None, other)
        return fitting[self.rng.randrange(len(fitting))], None

    def _name(self, node_id, asker_group, group, relaying):
        for victim in self.names.take(node_id, asker_group):
            self._forget(victim)
        relay = self._offers[relaying].relay
        self._tried.setdefault(node_id, set()).add(group)
        self._change(group, lambda held: held.charge(node_id, relay))
        self.places.hold(node_id, (relay, asker_group))
        timer = self.clock.callLater(self.name_timeout, self._forget, node_id)
        self._names[node_id] = _Name(relaying, group, relay, timer)
        return relaying, relay

    def named(self, node_id):
        """The relay (``HOST:PORT``) last named to node_id, while the name
        holds unconfirmed and the relaying node's offer stands, or None."""
        name = self._names.get(node_id)
        if name is None or name.timer is None:
            return None
        offer = self._offers.get(name.relaying)
        return None if offer is None or offer.relay != name.relay else name.relay

    def hold(self, node_id):
        """node_id holds a reservation at the relay last named to it (which
        L{named} names): the relaying node's id.  Its group holds it until
        node_id asks again or leaves."""
        name = self._names[node_id]
        name.timer.cancel()
        name.timer = None
        self.names.release(node_id)
        return name.relaying

    def release(self, node_id):
        """node_id holds no reservation at a public node's relay any
        more, nor waits to (it asks for another, or left)."""
        self._forget(node_id)

    def _forget(self, node_id):
        """What node_id was named, or holds, holds nothing from now on."""
        self.names.release(node_id)
        self.places.release(node_id)
        name = self._names.pop(node_id, None)
        if name is None:
            return
        if name.timer is not None and name.timer.active():
            name.timer.cancel()
        self._change(name.group, lambda held: held.uncharge(node_id))

    def leave(self, node_id):
        """node_id left: its offer goes (the nodes at home named there or
        holding a reservation there stay charged to its group until they
        ask again, or leave), as does its own reservation."""
        self.release(node_id)
        self._tried.pop(node_id, None)
        self._withdraw(node_id)

    def stop(self):
        """Cancel every name's timer."""
        for name in self._names.values():
            if name.timer is not None and name.timer.active():
                name.timer.cancel()
