"""
The tracker's table of live nodes: plain state with no I/O, which
L{twisted_bazaar.tracker.service.Tracker} answers from.
"""

import bisect
from collections.abc import Mapping, MutableMapping, Set

import attr

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import lanSubnet, sameHost
from twisted_bazaar.transports.path import (
    CLAIMED, DIRECT, LAN, NAMED, RELAYED, SEEN, UDP, Path, firstOf, ofKind)
from twisted_bazaar.wire.ids import KEYED, isKeyed

#: The ids the tracker gives keyless nodes are non-negative and below
#: this (a keyed node's id is its key's: L{twisted_bazaar.wire.ids}).
ID_SPACE = 2**31
#: The kinds of path the registry names by rules of their own (L{said},
#: L{pathsOf}); a path of any other kind a node names of itself is its
#: claim, kept as said and named as such (L{claimsOf}).
_OWN_RULES = frozenset({DIRECT, LAN, RELAYED, UDP})
#: Random draws tried before a full scan when picking a node to introduce.
_PICK_TRIES = 16
#: Random draws tried for a node of an address group none of the asker's
#: peers is of, before one of such a group is named: with one group
#: holding 93% of the pool (256 of 276 nodes), 1% of picks name it again.
_DIVERSE_TRIES = 64
#: Nodes looked at in turn for one of the asker's address family when
#: the draws named only the other's (L{Registry.pick}): about 0.5 ms.
_FAMILY_LOOKS = 1024


def familyOf(host):
    """The address family of the host a node is named at, 4 or 6: hosts
    are held in one spelling (L{twisted_bazaar.base.lan.oneSpelling}), an
    IPv4-mapped IPv6 address as IPv4, so an IPv6 one alone has a colon."""
    return 6 if ":" in host else 4


def ringPlace(node_id):
    """A node's place on a ring of ids (a Chord ring's, docs/protocol.md
    §20): a keyed id's 128 bits, a keyless id itself."""
    return node_id & (KEYED - 1)



class _Pool:
    """
    Node ids with O(1) add, remove and random pick, and, once someone
    asked for the node that follows a ring place (L{Registry.following}),
    the same ids in ring order.  Where each id is in L{order} is kept on
    its L{_Entry} (in its field of the entry's places, L{_Entry.placeIn}),
    not in a table of the pool's own: a tracker's node is in two or three
    pools, and a dict's entry for each cost about 50 bytes more.
    """

    __slots__ = ("order", "ring", "_entries", "_place")

    def __init__(self, entries, place):
        """
        @param entries: the registry's id -> L{_Entry}.
        @param place: the shift of this pool's field in an entry's places
            (L{_ALL}, L{_SCHEME}, L{_SUPER}).
        """
        self.order = []
        self._entries = entries
        self._place = place
        #: (ring place, id) of every id, sorted, from the first question
        #: for a follower on (a pool nobody asks never pays for the order).
        self.ring = None

    def __len__(self):
        return len(self.order)

    def add(self, node_id, entry):
        entry.place(self._place, len(self.order))
        self.order.append(node_id)
        if self.ring is not None:
            bisect.insort(self.ring, (ringPlace(node_id), node_id))

    def remove(self, node_id, entry):
        """Take node_id out, if it is in (``entry``: its L{_Entry}, which may
        be the registry's no more)."""
        place = self._place
        slot = entry.placeIn(place)
        if slot is None:
            return
        entry.place(place, None)
        last = self.order.pop()
        if last != node_id:
            self.order[slot] = last
            self._entries[last].place(place, slot)
        if self.ring is not None:
            del self.ring[bisect.bisect_left(self.ring, (ringPlace(node_id), node_id))]

    def following(self, place, unwanted):
        """The first id whose ring place is at or after place, going up and
        then round from the lowest, that is not in unwanted; None if every
        id is."""
        if self.ring is None:
            self.ring = sorted((ringPlace(node_id), node_id) for node_id in self.order)
        ring = self.ring
        start = bisect.bisect_left(ring, (place,))
        for step in range(len(ring)):
            candidate = ring[(start + step) % len(ring)][1]
            if candidate not in unwanted:
                return candidate
        return None


@attr.s(frozen=True, auto_attribs=True)
class Abilities:
    """What a node told the tracker it can do: its discovery scheme (None
    if it did not say) and whether it offers to serve as a super-peer."""

    scheme: str = None
    superpeer: bool = False

    @classmethod
    def of(cls, scheme, superpeer):
        """The abilities (scheme, superpeer): one object for all the nodes
        that said the same (they cannot change; a tracker of a simulated
        million held a million alike, 152 bytes each), new ones once
        L{_SHARED_LIMIT} kinds are held, so peers naming ever new schemes
        grow nothing."""
        key = (scheme, superpeer)
        abilities = _shared.get(key)
        if abilities is None:
            abilities = cls(scheme, superpeer)
            if len(_shared) < _SHARED_LIMIT:
                _shared[key] = abilities
        return abilities


#: The most kinds of L{Abilities} shared (L{Abilities.of}); the schemes
#: there are, each with a super-peer's or not, are far fewer.
_SHARED_LIMIT = 64
_shared = {}


#: The bits of one pool's field in an entry's places (L{_Entry.places}),
#: and the shifts of the pools' fields: every node's, its scheme's, its
#: scheme's super-peers'.  A pool holds fewer than 2**30 ids (8 GiB of
#: ids in its order alone).
_PLACE_BITS = 30
_PLACE_MASK = (1 << _PLACE_BITS) - 1
_ALL, _SCHEME, _SUPER = 0, _PLACE_BITS, 2 * _PLACE_BITS

#: What the tracker knows of a node's address (L{_Entry.state}): not yet
#: checked; reached only over its LAN (its check failed and no relay holds
#: it: L{Registry.lanOnly}); reached through a relay, its check not passed;
#: checked (or taken as registered, with no checks or port 0).
_JOINED, _LAN_ONLY, _VERIFIED, _CHECKED = 0, 1, 2, 3


class _Entry:
    """
    One live node of the table: the (host, port) it is named at, what it
    can do (L{Abilities}) and how far its address is known (L{_JOINED},
    L{_LAN_ONLY}, L{_VERIFIED}, L{_CHECKED}).  One object a node, not an
    entry in each of four tables keyed by its id (a tuple, a dict's entry
    and two sets'): the tracker of a run holds one for every node of it.
    """

    __slots__ = ("host", "port", "abilities", "state", "places", "link", "charge")

    def __init__(self, host, port, abilities):
        self.host = host
        self.port = port
        self.abilities = abilities
        self.state = _JOINED
        #: The tracker's end of the node's session once it holds it
        #: (L{Registry.links}), else None.
        self.link = None
        #: What the account of registrations holds of the node (its
        #: address group, L{Registry.charges}), else None.
        self.charge = None
        #: Its places in the pool of every node, of its scheme's and of
        #: its scheme's super-peers (L{_Pool}), one field of
        #: L{_PLACE_BITS} each (the place plus one; 0: not in it), in one
        #: int: three slots and an int of 28 bytes for each place past 256
        #: were 72 bytes of every node of a run's tracker, and are 40.
        self.places = 0

    def hold(self, link):
        """The tracker's end of the node's session is link (None: it has
        none any more)."""
        self.link = link

    def charged(self, charge):
        """The account of registrations holds charge of the node (its
        address group; None: nothing)."""
        self.charge = charge

    def know(self, seen=None, state=_VERIFIED):
        """Its address is checked (``seen`` None) or, with ``seen``, it is
        reached through a relay (or, ``state`` L{_LAN_ONLY}, over its LAN
        alone) and named at host ``seen`` from now on."""
        if seen is None:
            self.state = _CHECKED
        else:
            self.host = seen
            self.state = state

    def placeIn(self, pool):
        """Its place in the pool whose field is at shift ``pool``, or None
        if it is not in it."""
        field = (self.places >> pool) & _PLACE_MASK
        return field - 1 if field else None

    def place(self, pool, at):
        """Its place in the pool whose field is at shift ``pool`` is
        ``at`` (None: not in it)."""
        self.places = ((self.places & ~(_PLACE_MASK << pool))
                       | (0 if at is None else at + 1) << pool)


class _Addresses(Mapping):
    """id -> (host, port) of every live node, read from its entry."""

    __slots__ = ("_entries",)

    def __init__(self, entries):
        self._entries = entries

    def __getitem__(self, node_id):
        entry = self._entries[node_id]
        return (entry.host, entry.port)

    def __contains__(self, node_id):
        return node_id in self._entries

    def __iter__(self):
        return iter(self._entries)

    def __len__(self):
        return len(self._entries)


class _AbilitiesOf(_Addresses):
    """id -> the L{Abilities} of every live node."""

    __slots__ = ()

    def __getitem__(self, node_id):
        return self._entries[node_id].abilities


class _ByGet(MutableMapping):
    """A view of the entries whose C{get} says None for what it does not
    hold (no value it holds is None): its C{[]} and C{in} read that."""

    __slots__ = ()

    def __getitem__(self, key):
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key):
        return self.get(key) is not None


class _Links(_ByGet):
    """id -> the tracker's end of each live node's session, kept in its
    entry: one table of the nodes, not a second dict by id beside it (an
    entry of it for each node of a run).  A link is set for a node that
    joined, and deleted before it leaves."""

    __slots__ = ("_entries",)

    def __init__(self, entries):
        self._entries = entries

    def get(self, node_id, default=None):
        entry = self._entries.get(node_id)
        link = None if entry is None else entry.link
        return default if link is None else link

    def __setitem__(self, node_id, link):
        self._entries[node_id].hold(link)

    def __delitem__(self, node_id):
        entry = self._entries.get(node_id)
        if entry is None or entry.link is None:
            raise KeyError(node_id)
        entry.hold(None)

    def __iter__(self):
        return (node_id for node_id, entry in self._entries.items()
                if entry.link is not None)

    def __len__(self):
        return sum(1 for _ in self)


class _Charges(_ByGet):
    """
    A live node's id -> what the account of registrations holds of it
    (its address group), kept in the node's entry: the account's table of
    holders (L{Account <twisted_bazaar.net.account.Account>}'s
    ``holders``), not a dict of its own beside the registry (an entry of
    it for each node of a run), and keyed by the id, not the tracker's end
    of the node's session, so that the account needs no link.  Only a node
    whose session the registry holds (L{_Links}) is charged here, and it
    is released before its session leaves.
    """

    __slots__ = ("_entries", "_count")

    def __init__(self, entries):
        self._entries = entries
        self._count = 0

    def _entryOf(self, node_id):
        # None: the account asking what a new holder holds.
        entry = self._entries.get(node_id)
        return entry if entry is not None and entry.link is not None else None

    def get(self, node_id, default=None):
        entry = self._entryOf(node_id)
        charge = None if entry is None else entry.charge
        return default if charge is None else charge

    def __setitem__(self, node_id, charge):
        entry = self._entryOf(node_id)
        if entry is None:
            raise KeyError(f"{node_id!r} names no registered node's session")
        if entry.charge is None:
            self._count += 1
        entry.charged(charge)

    def __delitem__(self, node_id):
        entry = self._entryOf(node_id)
        if entry is None or entry.charge is None:
            raise KeyError(node_id)
        entry.charged(None)
        self._count -= 1

    def __iter__(self):
        return (node_id for node_id, entry in list(self._entries.items())
                if entry.charge is not None)

    def __len__(self):
        return self._count


class _Known(Set):
    """The ids of the live nodes whose address is known at least as far as
    ``least`` (L{_VERIFIED}, L{_CHECKED})."""

    __slots__ = ("_entries", "_least")

    def __init__(self, entries, least):
        self._entries = entries
        self._least = least

    def __contains__(self, node_id):
        entry = self._entries.get(node_id)
        return entry is not None and entry.state >= self._least

    def __iter__(self):
        least = self._least
        return (node_id for node_id, entry in self._entries.items()
                if entry.state >= least)

    def __len__(self):
        return sum(1 for _ in self)


@attr.s(frozen=True, slots=True)
class _OrAmong:
    """Whether an id is in either of two containers."""

    first = attr.ib()
    second = attr.ib()

    def __contains__(self, node_id):
        return node_id in self.first or node_id in self.second


class Registry:
    """
    The live table: id -> the (host, port) each node is named at, with
    what each node can do, and O(1) random picks (among all nodes, or
    those of one scheme, or its super-peers) so that a tracker of ten
    thousand nodes stays cheap.
    """

    def __init__(self, rng):
        self.rng = rng
        #: id -> its L{_Entry}: what the views below read.
        self._entries = {}
        #: id -> the (host, port) each live node is named at.
        self.nodes = _Addresses(self._entries)
        #: id -> what each live node can do (L{Abilities}).
        self.abilities = _AbilitiesOf(self._entries)
        #: Ids that may be introduced: their address was checked (or
        #: needs no check), or they are reached through a relay.
        self.verified = _Known(self._entries, _VERIFIED)
        #: Ids whose address the tracker itself checked, or took as
        #: registered (with no checks, or port 0): never one introduced
        #: through a relay alone.
        self.checked = _Known(self._entries, _CHECKED)
        #: id -> the tracker's end of its session (L{_Links}).
        self.links = _Links(self._entries)
        #: id -> what the account of registrations holds of each node
        #: (L{_Charges}).
        self.charges = _Charges(self._entries)
        #: id -> the relay (``HOST:PORT``) through which a node that
        #: cannot be dialled is reached.
        self.relays = {}
        #: id -> the ways besides its port to the relay a node is reached
        #: through (a public node's transport plugin's port: L{Path.ways
        #: <twisted_bazaar.wire.paths.Path>}), for a relay that has some.
        self.relayWays = {}
        #: id -> (the host its tracker connection comes from, its local
        #: addresses), for a node that named some (L{lanOf}).
        self.lans = {}
        #: The host a LAN-only node's connection comes from -> the ids of
        #: those there (L{lanOnly}): introduced only to nodes at that host.
        self.lanOnlyAt = {}
        #: id -> ((local address, its subnet or None), ...), as
        #: L{setLan} was told them: read without parsing an address.
        self._subnets = {}
        #: (host, subnet) -> the ids of the LAN-only nodes there that
        #: named an address on that subnet: a stranger's 256 LAN-only keys
        #: at one host cost each question of its own ~10 ms when each was
        #: compared with the asker's addresses (L{lanOnlyFor}).
        self._nearby = {}
        #: id -> [the UDP port it serves QUIC on, as its thisisme said; the
        #: host the tracker's UDP reach check saw it at there, or None].
        self.udps = {}
        #: id -> the paths of other kinds it named of itself (a
        #: transport plugin's: a port of its own), each at no host, for a
        #: node that named some (L{claimsOf}).
        self.claims = {}
        #: Changes to the table so far (a join, a check passed, a
        #: departure): an answer built from it holds while this stays.
        self.changes = 0
        self._pools = {}

    def __len__(self):
        return len(self._entries)

    def _poolsOf(self, abilities):
        """(key, the shift of its field in an entry's places) of each pool
        a node of these abilities is in."""
        keys = [(None, _ALL)]
        if abilities.scheme is not None:
            keys.append((abilities.scheme, _SCHEME))
            if abilities.superpeer:
                keys.append(((abilities.scheme, "super"), _SUPER))
        return keys

    def join(self, wanted, host, port, abilities=Abilities(), verified=True):
        """
        Add a node; it keeps ``wanted`` as its id when that is valid and
        free, else it gets a new random id.  Returns the id.  A node not
        ``verified`` is not introduced until L{verify} says its address
        was checked.
        """
        node_id = wanted
        if isKeyed(node_id):
            # Its key's id, proven: never another node's (the tracker
            # refused a second key before it got here).
            pass
        elif not 0 <= node_id < ID_SPACE or node_id in self._entries:
            node_id = self.rng.randrange(ID_SPACE)
            while node_id in self._entries:
                node_id = self.rng.randrange(ID_SPACE)
        self._entries[node_id] = _Entry(host, port, abilities)
        self.changes += 1
        if verified:
            self.verify(node_id)
        return node_id

    def verify(self, node_id, seen=None):
        """
        The node may be introduced: it listens where it said (its check
        passed), or, with ``seen``, it is reached through a relay, its
        check not passed, and is named from now on at ``seen``, the host
        the tracker saw its connection come from, never the host it
        registered: the tracker names for a node only a host it checked
        or saw.
        """
        entry = self._entries.get(node_id)
        if entry is None:
            return
        if entry.state >= _VERIFIED:
            if seen is None and entry.state < _CHECKED:
                # Reached through a relay until its check passed now.
                entry.know()
                self.changes += 1
            return
        if entry.state == _LAN_ONLY:
            self._unlist(node_id, entry)
        entry.know(seen)
        self.changes += 1
        if entry.port:
            # Port 0 means the node takes no links: never introduce it.
            for key, place in self._poolsOf(entry.abilities):
                pool = self._pools.get(key)
                if pool is None:
                    pool = self._pools[key] = _Pool(self._entries, place)
                pool.add(node_id, entry)

    def lanOnly(self, node_id, seen):
        """
        The node, whose check failed and that no relay holds, is reached
        over its LAN alone: named at ``seen``, the host its tracker
        connection comes from, and introduced only to nodes the tracker
        sees there that share a subnet with it (L{lanOf}), which dial its
        local address.  Only a node that takes links and named local
        addresses, seen at that host; one introduced already stays as it
        is.  True if it is LAN-only from now on, False if it was already,
        None if it is not.
        """
        entry = self._entries.get(node_id)
        if entry is not None and entry.state == _LAN_ONLY:
            return False
        held = self.lans.get(node_id)
        if (entry is None or entry.state != _JOINED or not entry.port or held is None
                or held[0] != seen):
            return None
        entry.know(seen, _LAN_ONLY)
        self._list(node_id, seen)
        self.changes += 1
        return True

    def _list(self, node_id, seen):
        """node_id is LAN-only at host seen: introduced to the askers
        there on a subnet of its (L{lanOnlyFor})."""
        self.lanOnlyAt.setdefault(seen, set()).add(node_id)
        for subnet in self._subnetsOf(node_id):
            self._nearby.setdefault((seen, subnet), set()).add(node_id)

    def _subnetsOf(self, node_id):
        """The subnets of node_id's local addresses (L{lanSubnet})."""
        return {subnet for _, subnet in self._subnets.get(node_id, ())
                if subnet is not None}

    def _unlist(self, node_id, entry):
        """node_id (its L{_Entry}) is LAN-only no more."""
        held = self.lanOnlyAt.get(entry.host)
        if held is not None:
            held.discard(node_id)
            if not held:
                del self.lanOnlyAt[entry.host]
        for subnet in self._subnetsOf(node_id):
            near = self._nearby.get((entry.host, subnet))
            if near is not None:
                near.discard(node_id)
                if not near:
                    del self._nearby[(entry.host, subnet)]

    def lanOnlyFor(self, asker_id, scheme=None, superpeer=False):
        """The LAN-only nodes introduced to asker_id (L{lanOnly}): those
        it shares a subnet with behind its public address, other than
        itself (of scheme, super-peers only with superpeer), by id."""
        asking = self.lans.get(asker_id) if self.lanOnlyAt else None
        if asking is None:
            return []
        near = set()
        for subnet in self._subnetsOf(asker_id):
            near.update(self._nearby.get((asking[0], subnet), ()))
        near.discard(asker_id)
        entries = self._entries
        return sorted(
            node_id for node_id in near
            if (scheme is None or entries[node_id].abilities.scheme == scheme)
            and (not superpeer or entries[node_id].abilities.superpeer))

    def introducedTo(self, asker_id):
        """The ids asker_id may be named (a container): those verified,
        and the LAN-only nodes introduced to it (L{lanOnlyFor})."""
        nearby = self.lanOnlyFor(asker_id)
        return _OrAmong(self.verified, frozenset(nearby)) if nearby else self.verified

    def lanOnlyCount(self):
        """How many live nodes are LAN-only (L{lanOnly})."""
        return sum(len(held) for held in self.lanOnlyAt.values())

    def address(self, node_id, asker_id=None):
        """(host, port) of a node whose address was checked (or, LAN-only,
        for an asker it is introduced to: L{lanOnlyFor}), else ("", 0)."""
        entry = self._entries.get(node_id)
        if entry is None or entry.state < _LAN_ONLY or (
                entry.state == _LAN_ONLY and self.lanOf(node_id, asker_id) is None):
            return ("", 0)
        return (entry.host, entry.port)

    def setRelay(self, node_id, relay, ways=()):
        """The node is reached through relay from now on (None: through
        none), which is reached by ``ways`` too (paths at its host)."""
        ways = ways if relay is not None else ()
        if (node_id not in self.nodes or (self.relays.get(node_id) == relay
                                          and self.relayWays.get(node_id, ()) == ways)):
            return
        if relay is None:
            self.relays.pop(node_id, None)
        else:
            self.relays[node_id] = relay
        if ways:
            self.relayWays[node_id] = ways
        else:
            self.relayWays.pop(node_id, None)
        self.changes += 1

    def relayOf(self, node_id):
        """The relay through which a node is reached, or None (dialled
        directly, or unknown)."""
        return self.relays.get(node_id) if node_id in self.verified else None

    def said(self, node_id, seen, paths):
        """The node, whose tracker connection comes from host ``seen``,
        named its ways in its ``thisisme`` (``paths``, None: none): each a
        claim, whatever word it says it is.  Its local addresses are kept
        (L{setLan}), its UDP port (L{setUdp}) until the UDP reach check
        sees it; its relay is the tracker's own to name (L{setRelay});
        its paths of other kinds (a transport plugin's), each without the
        host it names (L{claimsOf})."""
        self.setLan(node_id, seen, tuple(path.host for path in ofKind(paths, LAN)))
        udp = firstOf(paths, UDP)
        self.setUdp(node_id, None if udp is None else udp.port)
        claims = tuple(attr.evolve(path, host="", word=CLAIMED) for path in paths or ()
                       if path.kind not in _OWN_RULES)
        if claims and node_id in self.nodes:
            self.claims[node_id] = claims
        else:
            self.claims.pop(node_id, None)

    def pathsOf(self, node_id, asker_id):
        """
        The paths to name for node_id to node asker_id (None: none), each
        with whose word it is: the relay it is reached through (the
        tracker's word: L{relayOf}), its local addresses (its claims,
        which the tracker cannot check: L{lanOf}), its UDP port (where
        the UDP reach check saw it: L{udpOf}), its paths of other kinds
        (its claims: L{claimsOf}).
        """
        relay, lan, udp = (self.relayOf(node_id), self.lanOf(node_id, asker_id),
                           self.udpOf(node_id))
        claims = self.claimsOf(node_id)
        if relay is None and lan is None and udp is None and not claims:
            return None
        port = self.nodes[node_id][1]
        return ((() if relay is None else (
                    Path(RELAYED, relay=relay, word=NAMED,
                         ways=self.relayWays.get(node_id, ())),))
                + tuple(Path(LAN, host, port, word=CLAIMED) for host in lan or ())
                + (() if udp is None else (
                    Path(UDP, self.nodes[node_id][0], udp, word=SEEN),)) + claims)

    def claimsOf(self, node_id):
        """
        The paths of other kinds than the registry's own (a transport
        plugin's: a port of its own) that node_id named of itself, to
        name for it (a tuple): each its claim, its port unchecked, at
        the host the tracker names the node at, whatever host it said,
        and only for a node dialled there (checked, no relay, a port of
        its own), as its UDP port (L{udpOf}): a node points its peers at
        a port of the host its check passed at, never at another host.
        The port is unchecked (at an address many machines share it may
        be another's behind it), so a dialler expects the node's key
        there (docs/protocol.md §3, "Paths").
        """
        held = self.claims.get(node_id)
        if (held is None or node_id not in self.checked or node_id in self.relays
                or not self.nodes[node_id][1]):
            return ()
        host = self.nodes[node_id][0]
        return tuple(attr.evolve(path, host=host) for path in held)

    def setLan(self, node_id, seen, lan):
        """The node, whose tracker connection comes from host ``seen``,
        named its local addresses ``lan`` (a tuple; None: none)."""
        if node_id in self.nodes and lan:
            entry = self._entries[node_id]
            listed = entry.state == _LAN_ONLY
            if listed:
                self._unlist(node_id, entry)
            self.lans[node_id] = (seen, lan)
            self._subnets[node_id] = tuple((host, lanSubnet(host)) for host in lan)
            if listed:
                self._list(node_id, entry.host)

    def setUdp(self, node_id, port):
        """The node said it serves QUIC on UDP ``port`` (None: it does
        not); nothing is named of it until the UDP reach check sees it
        there (L{udpSeen})."""
        if node_id in self.nodes and port:
            self.udps[node_id] = [port, None]

    def udpSeen(self, node_id, host, port):
        """The tracker's UDP reach check saw the node's two datagrams
        come from ``host``, both from ``port`` (a mapping that does not
        depend on the destination); it confirms the port the node said,
        or, another port, unsays it."""
        held = self.udps.get(node_id)
        if held is not None:
            held[1] = host if port == held[0] else None

    def udpOf(self, node_id):
        """
        The UDP port to name for node_id, or None: only the one it said
        and the UDP reach check saw it send from, at the very host the
        tracker names it at, for a node dialled there (checked, no
        relay, a port of its own).  So a node cannot have peers send QUIC to a port it only
        claimed: not another machine's behind its public address.
        """
        held = self.udps.get(node_id)
        if (held is None or held[1] is None or node_id not in self.checked
                or node_id in self.relays or not self.nodes[node_id][1]
                or not sameHost(held[1], self.nodes[node_id][0])):
            return None
        return held[0]

    def lanOf(self, node_id, asker_id):
        """
        The local addresses of node_id for node asker_id, or None: they are
        named only where they can help, to a node the tracker sees at the
        same host (behind the same public address, one home's router),
        never to the rest of the world; and of them only those on a subnet
        of the asker's own local addresses (L{lanSubnet}): two homes
        behind one carrier-grade NAT share a public address, not a LAN.
        Not to a node merely of the same private network as the tracker
        sees it: a tracker on a private network sees the routers of homes
        behind it at private addresses, and their LANs are not each
        other's.
        """
        held, asking = self.lans.get(node_id), self.lans.get(asker_id)
        entry = self._entries.get(node_id)
        if (held is None or asking is None or entry is None or entry.state < _LAN_ONLY
                or held[0] != asking[0]):
            return None
        own = self._subnetsOf(asker_id)
        shared = tuple(host for host, subnet in self._subnets[node_id] if subnet in own)
        return shared or None

    def leave(self, node_id):
        entry = self._entries.pop(node_id, None)
        if entry is None:
            return
        if entry.state == _LAN_ONLY:
            self._unlist(node_id, entry)
        self.relays.pop(node_id, None)
        self.relayWays.pop(node_id, None)
        self.lans.pop(node_id, None)
        self._subnets.pop(node_id, None)
        self.udps.pop(node_id, None)
        self.claims.pop(node_id, None)
        self.changes += 1
        for key, _ in self._poolsOf(entry.abilities):
            pool = self._pools.get(key)
            if pool is not None:
                pool.remove(node_id, entry)
                if not pool and key is not None:
                    del self._pools[key]

    def members(self, scheme=None, superpeer=False):
        """The ids of live nodes that take links: all, or those of scheme
        (its super-peers only, with superpeer)."""
        key = (scheme, "super") if superpeer and scheme is not None else scheme
        pool = self._pools.get(key)
        return list(pool.order) if pool is not None else []

    def following(self, place, scheme, unwanted=()):
        """The live node of scheme that takes links whose ring place
        (L{ringPlace}) is the first at or after place, going up and then
        round from the lowest, other than those in unwanted: its id, or
        None if there is no such node.  Its pool is kept in ring order from
        the first such question on."""
        pool = self._pools.get(scheme)
        return None if pool is None else pool.following(place, unwanted)

    def pick(self, asker, exclude=(), scheme=None, superpeer=False):
        """A random live node that takes links (of scheme, a super-peer if
        asked), other than ``asker`` and, if possible, not one of
        ``exclude``, nor of the address group of one of them (the asker's
        peers: one group holding most of the pool would otherwise be
        most of every node's peers), and first one named at an address of
        the asker's own family (L{familyOf}; drawn, then looked for
        among L{_FAMILY_LOOKS}): a tracker on IPv4 and IPv6 at once holds
        nodes of each, and a node on one alone dials none named at the
        other (docs/protocol.md §5).  A market of one
        family draws as if there were no such rule.  The LAN-only nodes
        introduced to the asker (L{lanOnlyFor}) are drawn as the pool's
        are.  Returns (id, host, port), or None if there is no such
        node."""
        key = (scheme, "super") if superpeer and scheme is not None else scheme
        pool = self._pools.get(key)
        order = pool.order if pool is not None else []
        if self.lanOnlyAt and asker in self.lans:
            nearby = self.lanOnlyFor(asker, scheme, superpeer and scheme is not None)
            if nearby:
                order = order + nearby
        unwanted = set(exclude)
        unwanted.add(asker)
        entries = self._entries
        held = {addressGroup(entries[peer].host) for peer in exclude if peer in entries}
        family = familyOf(entries[asker].host) if asker in entries else None
        second = crossed = None
        for _ in range((_DIVERSE_TRIES if held else _PICK_TRIES) if len(order) > 1 else 0):
            candidate = order[self.rng.randrange(len(order))]
            if candidate in unwanted:
                continue
            entry = entries[candidate]
            if family is not None and familyOf(entry.host) != family:
                crossed = crossed or (candidate, entry.host, entry.port)
                continue
            if addressGroup(entry.host) not in held:
                return (candidate, entry.host, entry.port)
            second = second or (candidate, entry.host, entry.port)
        if second is not None:
            return second
        if crossed:
            # A market of both families: look further for one of the
            # asker's own, a bounded look (a rare family's asker would
            # otherwise cost a scan of the pool at every question), else
            # name the other family's drawn, as a market of one would.
            return self._ofFamily(order, unwanted, family) or crossed
        fresh = [n for n in order if n not in unwanted]
        others = fresh or [n for n in order if n != asker]
        if not others:
            return None
        candidate = self.rng.choice(others)
        entry = self._entries[candidate]
        return (candidate, entry.host, entry.port)

    def _ofFamily(self, order, unwanted, family):
        """(id, host, port) of a node of order named at an address of
        family, not in unwanted, among L{_FAMILY_LOOKS} looked at in turn
        from a place drawn; None if none is."""
        entries = self._entries
        start = self.rng.randrange(len(order))
        for step in range(min(len(order), _FAMILY_LOOKS)):
            candidate = order[(start + step) % len(order)]
            if candidate not in unwanted:
                entry = entries[candidate]
                if familyOf(entry.host) == family:
                    return (candidate, entry.host, entry.port)
        return None
