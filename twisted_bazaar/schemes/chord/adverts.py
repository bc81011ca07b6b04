"""
A seller's side of the chord scheme: each item its shops have in stock is
stored at the node that holds the item's key, and stored again and again
(records are soft state that expires); an item that runs out is
withdrawn.  Each store carries the seller's signed record (a withdrawal
is a signed record too); a record of a shared file describes it (size,
sha256, transfer port), so that buyers can fetch it.  Records come from
the node's L{RecordBook}, which signs one only when it changes or half
of its validity has gone.  A LAN-only seller's records name the host
it is LAN-only behind (docs/protocol.md §5, "LAN-only nodes"), so that
buyers elsewhere do not dial it in vain.
"""

from twisted.logger import Logger

from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.base.words import plural
from twisted_bazaar import wire
from twisted_bazaar.core.market import fileIn
from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.core.records import CLOCK_SKEW, PER_KEY, RecordBook
from twisted_bazaar.reach.reachable.reachability import lanOnlyAt
from twisted_bazaar.schemes.chord.messages import ChordStore
from twisted_bazaar.schemes.chord.ring import distance, keyOf, place
from twisted_bazaar.schemes.chord.routing import HELD_PER_HOP

#: Most stores of a seller's records in flight at once; the others wait
#: their turn.  A seller of 10,000 shared files started 20,000 routed
#: stores (and their detours) at once: its router dropped most, its
#: reactor was too busy to answer a handshake within 10 s, and it lost
#: its tracker and links, again and again, with nothing found.  As many
#: as the router holds for one next hop whose link is not up yet.
MAX_STORING = HELD_PER_HOP

#: Seconds from a holder's first refusal of a record for the per-key
#: bound (a chordStored with ``full``) to the one warning that names the
#: items refused by then, and how many of them the warning names.
TELL_REFUSED_AFTER = 30.0
NAMED_REFUSED = 20
#: Seconds between two warnings that a holder refused a record as
#: untimely by its clock (this node's clock apart from the ring's).
APART_SAID_EVERY = 600.0


class _Advert:
    """One item a seller publishes: its next store, or the store in flight."""

    def __init__(self, interval):
        self.timer = None
        self.lookup = None
        self.holder = None
        #: Seconds to the next store: short while the ring is young,
        #: doubling up to the refresh period.
        self.interval = interval

    def stop(self):
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        if self.lookup is not None:
            self.lookup.cancel()
        self.timer = self.lookup = None


class _Adverts(dict):
    """A seller's adverts (item -> L{_Advert}), and its stores under way:
    at most L{MAX_STORING} in flight (C{storing}), the rest C{waiting} in
    order (a dict as an ordered set; C{draining} while the loop that
    starts them runs), C{lan}, the host its records last signed name it
    LAN-only behind, and the items its holders C{refused}.  Kept here, not
    on the publisher, so that a node that sells nothing (nine of ten of a
    simulated ring) holds none of it."""

    __slots__ = ("waiting", "storing", "draining", "lan", "refused", "apartSaid")

    def __init__(self):
        dict.__init__(self)
        self.waiting = NOTHING
        self.storing = 0
        self.draining = False
        self.lan = None
        #: The L{_Refused} items, made at the first refusal.
        self.refused = None
        #: When a holder's refusal of an untimely record was last said
        #: (L{untimely}), or None.
        self.apartSaid = None

    def takes(self, item):
        """Whether a store of item may start now, one of L{MAX_STORING} in
        flight; if not, it waits its turn."""
        if self.storing >= MAX_STORING:
            own(self, "waiting")[item] = None
            return False
        self.storing += 1
        return True

    def ended(self, start, going):
        """A store ended: C{start(item)} each waiting one there is room
        for, in order, while C{going()}.  A loop, not a recursion: stores
        may end at once."""
        self.storing -= 1
        if self.draining:
            return
        self.draining = True
        try:
            while self.waiting and self.storing < MAX_STORING and going():
                item = next(iter(self.waiting))
                del self.waiting[item]
                start(item)
        finally:
            self.draining = False

    def signing(self, lan):
        """The records are signed naming lan (or None) now."""
        self.lan = lan
        return lan

    def wasRefused(self, item, clock, tell):
        """A holder refused item's record for the per-key bound."""
        if self.refused is None:
            self.refused = _Refused(clock, tell)
        self.refused.add(item)

    def untimely(self, clock):
        """A holder refused a record as untimely by its clock: is it said
        now?  At most once in L{APART_SAID_EVERY} s: every store of every
        item gets that answer while the clocks stay apart."""
        now = clock.seconds()
        if self.apartSaid is not None and now - self.apartSaid < APART_SAID_EVERY:
            return False
        self.apartSaid = now
        return True

    def wasStored(self, item):
        """item's record was stored: not refused (any more)."""
        if self.refused is not None:
            self.refused.items.pop(item, None)

    def stop(self):
        """Nothing waits, and nothing is said of refusals, after a stop."""
        self.waiting = NOTHING
        if self.refused is not None:
            self.refused.stop()


class _Refused:
    """
    Items a holder refused the record of, as it holds as many of this
    key's records as one key may (docs/protocol.md §15): said once a run,
    L{TELL_REFUSED_AFTER} s after the first, with the count and the items
    refused by then (C{tell(items)}).
    """

    def __init__(self, clock, tell):
        #: The items refused (a dict as an ordered set); one stored since
        #: leaves.
        self.items = {}
        self._clock, self._tell = clock, tell
        self._timer = None
        self._told = False

    def add(self, item):
        self.items[item] = None
        if self._timer is None and not self._told:
            self._timer = self._clock.callLater(TELL_REFUSED_AFTER, self._due)

    def _due(self):
        self._timer, self._told = None, True
        self._tell(self.items)

    def stop(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class Publisher:
    """
    The items of one node's shops, and their stores (through the node's
    L{KeyRouter}).  It stores nothing until L{start}, when the node is on
    the ring, and nothing after L{stop}.
    """

    # Slots, not a dict: a simulation holds one a node.
    __slots__ = ("node", "router", "detours", "settings", "shops", "running", "book",
                 "_adverts")

    log = Logger()

    def __init__(self, node, router, settings, detours=None):
        """
        @param detours: what takes a store no holder answered on a detour,
            C{detours.detourTo(key, build)} (L{Detouring.detourTo
            <twisted_bazaar.schemes.chord.detouring.Detouring.detourTo>}), or
            None.
        """
        self.node = node
        self.router = router
        self.detours = detours
        self.settings = settings
        #: The shops, and L{_adverts} (item -> its L{_Advert}): an empty
        #: tuple and L{NOTHING} until a shop is advertised, as on the nodes
        #: of a large simulated ring that sell nothing.
        self.shops = ()
        self.running = False
        #: The L{RecordBook} that signs the records, made at the first
        #: (L{_record}): nine nodes of ten of a simulated ring sell nothing.
        self.book = None
        #: L{_Adverts}, with the stores under way, made at the first
        #: advert: L{NOTHING} on a node that sells nothing.
        self._adverts = NOTHING

    def advertise(self, shop):
        self.shops += (shop,)
        for item, units in sorted(shop.inventory().items()):
            self.stockChanged(item, units)

    def stockChanged(self, item, units):
        """Publish an item that is in stock; withdraw one that ran out."""
        in_stock = any(shop.inventory().get(item, 0) > 0 for shop in self.shops)
        if in_stock and item not in self._adverts:
            if self._adverts is NOTHING:
                self._adverts = _Adverts()
            self._adverts[item] = _Advert(2 * self.settings.stabilize)
            if self.running:
                self._publish(item)
        elif not in_stock and item in self._adverts:
            self._adverts.pop(item).stop()
            if self.running:
                self._store(item, 0).addErrback(ignoreCancelled)

    def start(self):
        """Store every item, but those whose store is acknowledged already
        (L{acknowledged}): their next store is due when its timer fires."""
        self.running = True
        for item, advert in sorted(self._adverts.items()):
            if advert.timer is None:
                self._publish(item)

    def republish(self):
        """Store every item again now: its record names how the node is
        reached, which changed (a store under way too: it carries the
        record of before)."""
        for item, advert in sorted(self._adverts.items()):
            advert.stop()
            self._publish(item)

    def reachChanged(self):
        """The tracker's check of the node's address told it something:
        if the node became LAN-only (or is so no more, or behind another
        host), every record says so again (L{republish})."""
        if self.running and self._lanHost() != self.lan:
            self.republish()

    @property
    def lan(self):
        """The host the records last signed name this node LAN-only behind
        (L{lanOnlyAt}), or None."""
        return getattr(self._adverts, "lan", None)

    def _lanHost(self):
        node = self.node
        return lanOnlyAt(node.reach, node.relay)

    def acknowledged(self, holderOf):
        """
        Each item's record as a store now carries it, the store taken as
        acknowledged by C{holderOf(item)}, without a message: for a
        simulator that places the records of a settled ring at their
        holders itself (L{twisted_bazaar.sim.warm.placeRecords}), as it
        places the ring.  The next store comes after the refresh period,
        the pace of a seller on a settled ring (the shorter first
        intervals are for a young ring, where a holder may yet change).
        Returns [(item, record, lifetime in ms)].
        """
        stored, lifetime = [], self._lifetime()
        for item, advert in sorted(self._adverts.items()):
            advert.holder = holderOf(item)
            advert.interval = self.settings.refresh
            advert.timer = self.node.clock.callLater(advert.interval, self._publish, item)
            stored.append((item, self._record(item, lifetime), lifetime))
        return stored

    def stop(self):
        self.running = False
        adverts = self._adverts
        if adverts is not NOTHING:
            adverts.stop()
        for advert in self._adverts.values():
            advert.stop()

    def withdrawAll(self):
        """Withdraw every item, without waiting for answers (the node is
        leaving)."""
        node = self.node
        for item in sorted(self._adverts):
            self.router.arrived(ChordStore(node.rng.randrange(1, wire.ID_LIMIT), item, 0,
                                           (), self._record(item, 0)), None)

    def _record(self, item, lifetime):
        """The signed record a store of item carries: a withdrawal with no
        lifetime."""
        node, book = self.node, self.book
        if book is None:
            book = self.book = RecordBook(node.identity, node.clock)
        if not lifetime:
            return book.withdrawal(item, node.host, node.port)
        lan = self._adverts.signing(self._lanHost())
        return book.record(item, node.host, node.port, fileIn(self.shops, item),
                           node.relay, lan)

    def _lifetime(self):
        """A store's lifetime, in ms: the records' expiry."""
        return round(self.settings.expiry * 1000)

    def _store(self, item, lifetime):
        """
        Store the record (a withdrawal with no lifetime) at the item's
        holders: routed, and, if no holder answered, by a detour that
        finds them round the nodes in the way and stores at each.  A
        Deferred firing with the answer of the holder nearest after the
        key (the one that holds it, or one that took its place in
        between) of those that took the record, else of those that
        refused it (``full``, or untimely: ``clock``), or None: one refusal nearer the key, true
        or a stranger's, does not hide the holders after it that hold
        the record and answer buyers.
        """
        record = self._record(item, lifetime)
        key = keyOf(item)

        def rank(stored):
            return stored.refused, distance(key, place(stored.holder))

        holders = self.settings.holders if self.settings.holders > 1 else None
        stored = self.router.start(lambda i: ChordStore(i, item, lifetime, (), record,
                                                        holders),
                                   self.settings.lookup_timeout,
                                   wanted=self.router.reachable(), rank=rank)
        if self.detours is None or not self.settings.paths:
            return stored

        def orDetour(answer):
            if answer is not None:
                return answer
            d = self.detours.detourTo(key, lambda i: ChordStore(i, item, lifetime, (), record,
                                                        direct=True))
            return d.addCallback(lambda answers: min(answers, key=rank, default=None))

        return stored.addCallback(orDetour)

    def _publish(self, item):
        advert = self._adverts.get(item)
        if advert is None or not self.running:
            return
        advert.timer = None
        if not self._adverts.takes(item):
            return
        lookup = advert.lookup = self._store(item, self._lifetime())
        lookup.addCallback(self._published, item, advert)
        lookup.addBoth(self._ended)
        lookup.addErrback(ignoreCancelled)

    def _ended(self, result):
        """A store ended (answered, or not, or cancelled): the next waiting
        one goes.  A loop, not a recursion: stores may end at once."""
        self._adverts.ended(self._publish, lambda: self.running)
        return result

    def _published(self, stored, item, advert):
        advert.lookup = None
        if stored is None:
            delay = self.settings.lookup_timeout
        elif stored.clock is not None:
            if self._adverts.untimely(self.node.clock):
                self._tellApart(item, stored)
            delay = self.settings.lookup_timeout
        elif stored.full:
            self._adverts.wasRefused(item, self.node.clock, self._tellRefused)
            delay = min(advert.interval, self.settings.refresh)
            advert.interval = delay * 2
        else:
            self._adverts.wasStored(item)
            delay = min(advert.interval, self.settings.refresh)
            advert.interval = delay * 2
            if stored.holder != advert.holder:
                advert.holder = stored.holder
                self.log.info("stored {item} at node {holder} ({distance})", item=item,
                              holder=shortId(stored.holder), hops=stored.hops,
                              distance=plural(stored.hops, "hop"))
        advert.timer = self.node.clock.callLater(delay, self._publish, item)

    def _tellApart(self, item, stored):
        """A holder refused item's record as untimely by its clock: this
        node's clock is apart from it, by about the gap between the two."""
        gap = wallSeconds(self.node.clock) - stored.clock / 1000.0
        self.log.warn(
            "node {holder} refused this node's record of {item} as untimely by its "
            "clock: this node's clock is about {gap} s {way} its clock, and a record "
            "may be issued at most {skew:g} s ahead of its holder's (docs/protocol.md "
            "§11a): buyers find none of this node's items there until the clocks agree "
            "(set this clock right: NTP)", holder=shortId(stored.holder), item=item,
            gap=f"{abs(gap):,.0f}", way="ahead of" if gap >= 0 else "behind",
            skew=CLOCK_SKEW)

    def _tellRefused(self, items):
        named = list(items)[:NAMED_REFUSED]
        more = len(items) - len(named)
        self.log.warn(
            "the chord ring's holders refused the records of {n} of this node's {items}: "
            "a node holds at most {most} records of one seller's key (docs/protocol.md "
            "§15), so no buyer finds these items: {named}{more}",
            n=len(items), items=plural(len(self._adverts), "item"), most=PER_KEY,
            named=", ".join(named), more=f" and {more} more" if more else "")
