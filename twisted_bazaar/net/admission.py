"""
Which links a node opens, takes and keeps: the policy its link table
(L{twisted_bazaar.net.overlay.Overlay}) asks before it opens or accepts a
link, and when two links to one peer meet.

 - **Slots**: a budget of established links per purpose (overlay,
   direct, a scheme's own), and the connections one address group may
   hold open before saying thisisme.
 - **Making room**: a full node evicts an inbound link the eviction
   policy gives up (L{twisted_bazaar.net.eviction.chooseVictim}, with
   the tenure and grace of the node's
   L{twisted_bazaar.net.connections.ConnectionManager}); a purpose that
   is recycled retires the quietest link of its own; a link to a peer
   that proved useless gives way when this node dials with the
   purpose's slots full.
 - **Duplicates**: of two links to one peer, which survives.

It holds no link: it reads the table (its links, the links in their
handshake, when each inbound link connected, the trading partners) and
closes the links that give way; the table adds and removes them.
"""

from collections import OrderedDict
from types import MappingProxyType

from twisted.logger import Logger, LogLevel

from twisted_bazaar.net.connections import ConnectionManager
from twisted_bazaar.net.eviction import Candidate, chooseVictim, groupOf
from twisted_bazaar.wire.ids import shortId, wireId

#: Peers remembered as useless (L{Admission.useless}), newest kept.
USELESS_KEPT = 256
#: The recycled purposes of a node that recycles none: one empty set for
#: all (an empty frozenset of its own is 216 bytes of each node).
_NONE = frozenset()
#: The sets of recycled purposes nodes hold (L{Admission.recycled}), one
#: of each.
_SHARED_SETS = {}
#: The read-only tables of slots and idle timeouts by purpose nodes hold
#: (L{Admission.budgets}, L{Admission.idle_timeouts}), one of each, by
#: their items in order.
_SHARED_TABLES = {}


def _shared(table):
    """A read-only view of table, the one every node with the same items
    in the same order holds: nearly every node of a simulation has the
    same budgets, and two tables of its own were 368 bytes of each of a
    million."""
    items = tuple(table.items())
    view = _SHARED_TABLES.get(items)
    if view is None:
        view = _SHARED_TABLES[items] = MappingProxyType(dict(items))
    return view


class Admission:
    """
    One node's link policy, over its link table.

    @ivar budgets: purpose -> most established links of that purpose
        (read-only: L{addPurpose} and L{setSlots} change it).
    @ivar idle_timeouts: purpose -> seconds a link of it may go without
        trade (None: forever); read-only: L{addPurpose} changes it.
    @ivar recycled: the purposes whose links are recycled (L{addPurpose}):
        a frozenset, replaced, not changed, and shared by the nodes that
        recycle the same (a simulation holds a million of them).
    @ivar handshake_limit: connections one address group may hold open
        before saying thisisme.
    """

    log = Logger()

    __slots__ = ("table", "budgets", "idle_timeouts", "recycled", "handshake_limit",
                 "connection_rate", "_connections", "_useless")

    def __init__(self, table, budgets, handshake_limit, idle_timeouts, connection_rate):
        #: The L{twisted_bazaar.net.overlay.Overlay} this decides for.
        self.table = table
        self.budgets = _shared(budgets)
        self.idle_timeouts = _shared(idle_timeouts or {})
        self.recycled = _NONE
        self.handshake_limit = handshake_limit
        self.connection_rate = connection_rate
        #: The node's L{ConnectionManager}, made when first asked for
        #: (L{connections}): most simulated nodes never evict anyone.
        self._connections = None
        #: Peers that proved of no use to this node (L{useless}), newest
        #: last: made when first needed.
        self._useless = None

    @property
    def connections(self):
        """The node's connection policy (a L{ConnectionManager}), which
        every table of its connections asks: the link table and the
        transfer port's."""
        if self._connections is None:
            self._connections = ConnectionManager(self.table.node.clock,
                                                  self.connection_rate)
        return self._connections

    # -- slots -----------------------------------------------------------------

    def count(self, purpose):
        """Established links of purpose, not closing."""
        return sum(1 for link in self.table.links.values()
                   if link.purpose == purpose and not link.closing)

    def held(self, purpose):
        """Links of purpose that hold one of its slots: established, and
        inbound ones that have said thisisme and still owe their proof (a
        slot is charged from the handshake on, not from its end)."""
        return self.count(purpose) + sum(
            1 for link in self.table.pending
            if link.inbound and link.purpose == purpose and not link.closing)

    def capacity(self):
        """Links of every purpose this node holds at most."""
        return sum(self.budgets.values())

    def slotsFor(self, purpose):
        """See L{twisted_bazaar.core.node.Node.slotsFor}."""
        return self.budgets.get(purpose, 0)

    def addPurpose(self, purpose, slots, idle=None, recycle=False):
        """See L{twisted_bazaar.core.node.Node.addPurpose}."""
        if purpose not in self.budgets:
            self.budgets = _shared({**self.budgets, purpose: slots})
        if idle is not None and purpose not in self.idle_timeouts:
            self.idle_timeouts = _shared({**self.idle_timeouts, purpose: idle})
        if recycle and purpose not in self.recycled:
            recycled = self.recycled | {purpose}
            self.recycled = _SHARED_SETS.setdefault(recycled, recycled)

    def setSlots(self, purpose, slots):
        """See L{twisted_bazaar.core.node.Node.setSlots}."""
        self.budgets = _shared({**self.budgets, purpose: slots})

    def handshaking(self, link):
        """Inbound connections from link's address group still in their
        handshake."""
        group = groupOf(link)
        return sum(1 for other in self.table.pending
                   if other.inbound and not other.closing and groupOf(other) == group)

    # -- making room -----------------------------------------------------------

    def recycle(self, purpose):
        """
        Make room for a link of a recycled purpose this node opens: its own
        link of that purpose that carried nothing for longest is retired
        (``dc``; what is already on its way is still delivered).  With
        none of its own, the eviction policy gives up an inbound one, as
        for an inbound newcomer: peers that open links to this node must
        not be able to keep it from opening any.

        @return: True if a link made room.
        """
        if purpose not in self.recycled:
            return False
        quietest = min((link for link in self.table.links.values()
                        if link.purpose == purpose and not link.inbound and not link.closing),
                       key=lambda link: link.lastTraffic, default=None)
        if quietest is None:
            return self.evict(purpose)
        quietest.retire(f"its {purpose} slot is wanted for a new link")
        return True

    def useless(self, peer_id):
        """
        peer_id proved of no use to this node (a seller whose buy is in
        doubt): its link (whoever opened it) is the first to give way
        when this node needs the slot for another peer, so peers that
        take slots and give nothing cannot keep it from the next one.
        """
        if self._useless is None:
            self._useless = OrderedDict()
        self._useless.pop(peer_id, None)
        self._useless[peer_id] = True
        if len(self._useless) > USELESS_KEPT:
            self._useless.popitem(last=False)

    def retireUseless(self, purpose):
        """
        Make room for a link of purpose this node opens by retiring a link
        of that purpose to a peer that proved useless (the quietest of
        them), whichever side opened it.

        @return: True if a link made room.
        """
        if not self._useless:
            return False
        quietest = min((link for link in self.table.links.values()
                        if link.purpose == purpose and not link.closing
                        and link.peer_id in self._useless),
                       key=lambda link: link.lastTraffic, default=None)
        if quietest is None:
            return False
        quietest.retire(f"its {purpose} slot is wanted for a peer of more use")
        return True

    def evict(self, purpose=None, asker=None):
        """
        Make room for a newcomer (the inbound link ``asker``, or this
        node's own dial when None) by closing an inbound link (of purpose,
        if given) that the eviction policy gives up.

        @return: True if one was closed.
        """
        table = self.table
        # In the order they connected, so that ties go the same way on
        # every run.
        partners = table.partners
        candidates = [
            Candidate(link, since, groupOf(link), link.peer_id is not None,
                      link in partners)
            for link, since in table.since.items()
            if not link.closing and link is not asker
            and (purpose is None or link.purpose == purpose)]
        victim = chooseVictim(candidates, table.node.clock.seconds(),
                              None if asker is None else groupOf(asker),
                              self.connections.grace, self.connections.tenureOf)
        if victim is None:
            return False
        victim.peerLine(LogLevel.info, "evicting {peer} to make room for a new link",
                        self.log)
        victim.refuse("noslots", "evicted to make room for a new link")
        return True

    def left(self, link, since):
        """An inbound link that connected at ``since`` is gone: its group
        keeps its tenure (L{ConnectionManager.closed})."""
        group = groupOf(link)
        oldest = min((start for other, start in self.table.since.items()
                      if groupOf(other) == group), default=since)
        self.connections.closed(group, min(since, oldest))

    # -- duplicates ------------------------------------------------------------

    def usurps(self, new, old, peer):
        """
        Whether ``new`` is a second key's link to the id ``old`` is linked
        to by its first key (ids narrowed in a test, or a collision): the
        first holder keeps its link, and ``new`` is refused, said why.
        """
        first, second = self.table.provenKey(old), self.table.provenKey(new)
        if first is None or second is None or first == second:
            return False
        self.log.info("refused a link from another key claiming node {id}, which is "
                      "linked already with its own key: the first holder of an id "
                      "keeps it", id=shortId(peer))
        new.refuse("wtf", f"node {wireId(peer)} is linked already, with another key")
        return True

    def replaces(self, new, old, peer):
        """
        Two links to one peer: which survives?  One whose peer proved its
        key beats one whose peer did not, so an established honest link is
        never replaced by an impostor's.  Otherwise, when both nodes
        connected to each other at once, both sides keep the link opened by
        the lower id, so they agree without talking; else the newer one
        wins: the older is probably a dead connection not yet noticed.  The
        loser is retired, not dropped: what is already on its way over it
        still arrives.
        """
        table = self.table
        new_proven = table.provenKey(new) is not None
        if new_proven != (table.provenKey(old) is not None):
            return new_proven
        if new.inbound == old.inbound:
            return True
        me = table.node.id
        new_opener = peer if new.inbound else me
        return new_opener == min(me, peer)
