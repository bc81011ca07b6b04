"""
Memory spared per node and per link, for simulations of a million nodes.

A simulation holds every node in one process: a warm chord run of a
million nodes peaked at 14.7 GiB, 15,796 bytes a node (docs/simulator.md),
on a machine of 16 GiB.  There, every 64 bytes a node is 61 MiB, and
every 8 bytes a link end (about 8.7 a chord node) is 66 MiB.  So a few
objects that every node or link holds are made smaller than plain code
would make them.  A daemon holds one node and its links: there these
savings are too small to measure, either way.

Here, the one such device that is not a class's own: the shared empty
table.  An empty dict is 64 bytes; a chord node and its overlay hold
seven that are nearly always empty (the pings its upkeep awaits, the
peers it heard from, the links it is opening, its graves; the overlay's
links in their handshake, their handshakes and the connects waiting for
them), 448 bytes of each of a million nodes.  L{NOTHING} reads as an
empty dict (``get``, ``in``, ``pop`` with a default, iteration) and
refuses to be written: an owner puts a dict of its own in its place first
(L{own}), so no owner can fill every other's.  L{NO_MEMBERS} is the same
for a set (L{ownSet}; an empty set is 216 bytes).

The others belong to the class that uses them, and say so there:

 - what only some links ever need, in one object made when first needed
   (L{twisted_bazaar.net.link}'s C{_Seldom}), not seven slots on each;
 - what every link of one owner holds alike, in one L{LinkContext
   <twisted_bazaar.net.link.LinkContext>} (56 bytes a link end), and for
   a node's tracker session, which holds one link at a time, the session
   itself (L{OwnContext<twisted_bazaar.net.link.OwnContext>}: 96 bytes a
   node);
 - a link's keepalive check waiting in its clock's deadlines as the
   link itself, its L{Keepalive<twisted_bazaar.net.keepalive.Keepalive>}
   a base of it and not an object (L{twisted_bazaar.net.timers}: a
   deadline object was 130 bytes a link end, a keepalive object and its
   slot 64);
 - the handlers, one table shared by the nodes whose parts registered the
   same (L{twisted_bazaar.net.handlers}: 1.5 kB a chord node);
 - a neighbour's path kept as a marker, not a tuple
   (L{twisted_bazaar.routing.path}: 56 bytes a link end);
 - objects nearly no node ever uses made when first needed: a peer log's
   throttle (L{twisted_bazaar.base.logthrottle.PeerLog}, 0.6 kB), a chord
   node's detour questions and refused sellers
   (L{twisted_bazaar.schemes.chord.node}), a dialer's LAN paths' tables
   and rates and its check of peers' hosts
   (L{twisted_bazaar.reach.lanpaths}, L{twisted_bazaar.reach.peerhosts}:
   0.5 kB a node); a list rather than an empty
   deque of 760 bytes (L{twisted_bazaar.core.membership}); a role's
   trade log's deque (L{twisted_bazaar.roles.trades}), a dialer's book
   of paths (L{twisted_bazaar.reach.book}), LAN paths and punch
   waiters (L{twisted_bazaar.reach.dialer});
 - an account's tables (L{twisted_bazaar.net.account.Account}, in
   slots): a seller's three, of the closes it remembers and nearly
   always empty, held 0.9 kB more of each simulated seller as dicts; a
   seller's sets of the sales and closes being written and the answers
   waiting or signed alone (L{twisted_bazaar.roles.seller}: 0.9 kB);
 - the shared empty table, or an empty frozenset or tuple, until written:
   a store's sales, bag, pending buys, stock and copies sold, its closes
   and copies remembered (L{twisted_bazaar.store.records}), an index
   node's items registered and listed, lookups, their times and its
   unacknowledged registrations (L{twisted_bazaar.schemes.index.node}), a
   seller's records (L{twisted_bazaar.core.records.RecordBook}): with the
   parts above made when first needed, 2 kB of each simulated node
   (docs/simulator.md, "Memory a node"); a chord node's lookups, dials
   and requests held before its place (L{twisted_bazaar.schemes.chord.routing}),
   its shops and adverts (L{twisted_bazaar.schemes.chord.adverts}), the
   tables of the records it holds (L{twisted_bazaar.schemes.chord.records})
   and its neighbours' missed pings (L{twisted_bazaar.schemes.chord.state}):
   0.7 kB of a warm chord node;
 - a handler a method of its part's class, and a part reached through
   one reference to its owner, not a closure or bound method each node
   (L{twisted_bazaar.schemes.chord.node}, the chord router's host: 2.6
   kB of a warm chord node);
 - a key's first signer the class's method, not a bound method each key
   held (L{twisted_bazaar.identity.keys}, 64 bytes a node);
 - a store's books of sales, closes and copies shared empty ones until
   written (L{twisted_bazaar.store.records}, 136 bytes a node), a
   super-peer leaf's sets and tables and its topology's
   (L{twisted_bazaar.schemes.superpeer.leaf},
   L{twisted_bazaar.schemes.superpeer.topology}: 1.2 kB a leaf), a
   retry's backoff with its policy its class's, not a closure a node
   (L{twisted_bazaar.base.backoff}, 336 bytes), one tracker's
   L{Abilities<twisted_bazaar.tracker.registry.Abilities>} for the nodes
   that said the same; a learned path kept once for the peers on it, not
   a prefix each (L{twisted_bazaar.routing.path}: 15 kB of a flooding
   node at the end of a run);
 - in the simulator alone: a warm node's small random source
   (L{twisted_bazaar.sim.smallrandom}, 2.5 kB a node less), and a
   scheme's settings made once a run (L{twisted_bazaar.sim.build}).

The codec's generated C{asDict} and C{fromDict}
(L{twisted_bazaar.wire.codec}) are for time, not room: every node of a
run decodes every message it relays.
"""


class _Nothing(dict):
    """An empty dict that cannot be filled."""

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("the shared empty table is read-only: own() a table first")

    __setitem__ = setdefault = update = __ior__ = _refuse

    def __repr__(self):
        return "NOTHING"


#: The shared empty table.
NOTHING = _Nothing()


def own(owner, name):
    """owner's table called name, made its own (a new dict in the place
    of L{NOTHING}) so that it can be written."""
    table = getattr(owner, name)
    if table is NOTHING:
        table = {}
        setattr(owner, name, table)
    return table


class _NoMembers(frozenset):
    """An empty set that cannot be filled: what L{NOTHING} is to a dict,
    to a set (an empty set is 216 bytes).  It discards, clears and takes
    away members (C{difference_update}) as a set does, so an owner writes
    only where it adds (L{ownSet})."""

    __slots__ = ()

    def discard(self, member):
        pass

    def clear(self):
        pass

    def difference_update(self, *others):
        pass

    def __repr__(self):
        return "NO_MEMBERS"


#: The shared empty set.
NO_MEMBERS = _NoMembers()


def ownSet(owner, name):
    """owner's set called name, made its own (a new set in the place of
    L{NO_MEMBERS}) so that it can be added to."""
    members = getattr(owner, name)
    if members is NO_MEMBERS:
        members = set()
        setattr(owner, name, members)
    return members
