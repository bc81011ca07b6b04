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
   purpose's slots full; so does a link of its own whose peer the part
   that dials says it has no use for now (L{Admission.roomFor}), and for
   a peer's link of a purpose whose slots it holds itself
   (L{Admission.retireSpare}).
 - **Duplicates**: of two links to one peer, which survives.

An L{Admission} is the terms (budgets, idle timeouts, recycled
purposes, the handshake limit, the connection rate) and the decisions
made on them, for the table each decision is given: it holds no link and
no state of a node's, so every node with the same terms holds the same
one (a simulation holds a million nodes, nearly all alike).  It reads
the table (its links, the links in their handshake, when each inbound
link connected, the trading partners, the peers that proved useless,
its L{twisted_bazaar.net.connections.ConnectionManager}) and closes the
links that give way; the table adds and removes them.
"""

from types import MappingProxyType

from twisted.logger import Logger, LogLevel

from twisted_bazaar.net.eviction import (
    Candidate,
    chooseVictim,
    groupOf,
    labelKey,
    namedGroupOf,
)
from twisted_bazaar.net.greeting import OVERLAY
from twisted_bazaar.net.recent import STATUS_PURPOSES
from twisted_bazaar.wire.ids import shortId, wireId

#: The recycled purposes of a node that recycles none.
_NONE = frozenset()
#: The address groups' shares of the connections still to say thisisme
#: that one relay's group holds (each dialler's group the relay names
#: holds one share of them): a node at home has every inbound connection
#: from its relay.
RELAYED_GROUPS = 4
#: The read-only tables of slots and idle timeouts by purpose nodes hold
#: (L{Admission.budgets}, L{Admission.idle_timeouts}), one of each, by
#: their items in order.
_SHARED_TABLES = {}
#: The admissions of every set of terms asked for (L{admissionFor}), one
#: of each.
_ADMISSIONS = {}


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


def admissionFor(budgets, handshake_limit, idle_timeouts, connection_rate,
                 recycled=_NONE):
    """
    The L{Admission} of these terms: the same object for every node that
    asks for the same.

    @param budgets: purpose -> most established links of it.
    @param idle_timeouts: purpose -> seconds a link of it may go without
        trade; None for none.
    @param recycled: the purposes whose links are recycled.
    """
    idle_timeouts = idle_timeouts or {}
    key = (tuple(budgets.items()), tuple(idle_timeouts.items()), recycled,
           handshake_limit, connection_rate)
    admission = _ADMISSIONS.get(key)
    if admission is None:
        admission = _ADMISSIONS[key] = Admission(
            _shared(budgets), _shared(idle_timeouts), recycled, handshake_limit,
            connection_rate)
    return admission


def crowded(links):
    """
    The address group that holds more than one of links and more than
    half of them, when none of the others is a link this node opened;
    else None.  Such a group may have dialled the node to be all it knows
    (an eclipse): the node then opens a link of its own to another group.
    Links through a relay are left out: all those a node at home takes
    come from its relay's group.
    """
    links = [link for link in links if namedGroupOf(link) is None]
    counts = {}
    for link in links:
        group = groupOf(link)
        counts[group] = counts.get(group, 0) + 1
    group, held = max(counts.items(), key=lambda item: item[1], default=(None, 0))
    if held < 2 or 2 * held <= len(links):
        return None
    if any(not link.inbound and groupOf(link) != group for link in links):
        return None
    return group


class Admission:
    """
    The terms a node's links are held to, and the decisions made on them
    for a link table (L{twisted_bazaar.net.overlay.Overlay}).  Never
    changed: a node whose terms change takes the admission of its new
    terms (L{withPurpose}, L{withSlots}).

    @ivar budgets: purpose -> most established links of that purpose
        (read-only).
    @ivar idle_timeouts: purpose -> seconds a link of it may go without
        trade (None: forever); read-only.
    @ivar recycled: the purposes whose links are recycled (a frozenset).
    @ivar handshake_limit: connections one address group may hold open
        before saying thisisme.
    @ivar connection_rate: new connections one address group may open a
        second (see L{twisted_bazaar.net.connections.RateLimit}).
    """

    log = Logger()

    __slots__ = ("budgets", "idle_timeouts", "recycled", "handshake_limit",
                 "connection_rate")

    def __init__(self, budgets, idle_timeouts, recycled, handshake_limit, connection_rate):
        self.budgets = budgets
        self.idle_timeouts = idle_timeouts
        self.recycled = recycled
        self.handshake_limit = handshake_limit
        self.connection_rate = connection_rate

    def _with(self, budgets, idle_timeouts, recycled):
        return admissionFor(budgets, self.handshake_limit, idle_timeouts,
                            self.connection_rate, recycled)

    # -- slots -----------------------------------------------------------------

    def withPurpose(self, purpose, slots, idle=None, recycle=False):
        """These terms with a purpose added (see
        L{twisted_bazaar.core.node.Node.addPurpose}): a purpose keeps the
        budget and idle timeout it was given first."""
        budgets, idle_timeouts, recycled = self.budgets, self.idle_timeouts, self.recycled
        if purpose not in budgets:
            budgets = {**budgets, purpose: slots}
        if idle is not None and purpose not in idle_timeouts:
            idle_timeouts = {**idle_timeouts, purpose: idle}
        if recycle and purpose not in recycled:
            recycled = recycled | {purpose}
        return self._with(budgets, idle_timeouts, recycled)

    def withSlots(self, purpose, slots):
        """These terms with purpose's budget set (see
        L{twisted_bazaar.core.node.Node.setSlots})."""
        return self._with({**self.budgets, purpose: slots}, self.idle_timeouts,
                          self.recycled)

    def held(self, table, purpose):
        """Links of purpose that hold one of its slots: established, and
        inbound ones that have said thisisme and still owe their proof (a
        slot is charged from the handshake on, not from its end)."""
        return table.count(purpose) + sum(
            1 for link in table.pending
            if link.inbound and link.purpose == purpose and not link.closing)

    def capacity(self):
        """Links of every purpose a node holds at most."""
        return sum(self.budgets.values())

    def slotsFor(self, purpose):
        """See L{twisted_bazaar.core.node.Node.slotsFor}."""
        return self.budgets.get(purpose, 0)

    def whyNoHandshake(self, table, link):
        """
        Why the inbound connection link may not start its handshake (its
        address group holds its share of the connections still to say
        thisisme), or None.  One through a relay's circuit is charged to
        the relay's address group, at most L{RELAYED_GROUPS} shares, and
        within it to the group the relay names for its dialler
        (L{namedGroupOf}), one share: the relay's word divides what the
        relay's group is given, never widens it.  Charged to the relay's
        group alone, a stranger's group that held 4 silent circuits to a
        node at home had every dialler through its relay refused.
        """
        limit = self.handshake_limit
        group, named = groupOf(link), namedGroupOf(link)
        same = [namedGroupOf(other) for other in table.pending
                if other.inbound and not other.closing and groupOf(other) == group]
        if named is not None:
            relayed = len(same) - same.count(None)
            if relayed >= limit * RELAYED_GROUPS:
                return (f"{limit * RELAYED_GROUPS} connections through your relay are "
                        "still to say thisisme")
        if same.count(named) >= limit:
            return f"{limit} connections from your address group are still to say thisisme"
        return None

    def refusesDial(self, table, purpose):
        """
        Why this node may open no link of purpose now (it is shutting
        down, has no id, opens none of that purpose, or has no slot left
        that a quiet or useless link of its own gives up), or None.
        """
        if table.stopping:
            return "this node is shutting down"
        if table.node.id is None:
            return "this node has no id yet"
        if purpose not in self.budgets:
            return f"this node opens no {purpose} links"
        if (table.count(purpose) >= self.budgets[purpose]
                and not self.recycle(table, purpose)
                and not self.retireUseless(table, purpose)
                and not self.roomForOwn(table, purpose)):
            return f"no free {purpose} slots"
        if table.linkCount() >= self.capacity():
            # Links still in their handshake hold slots too.
            return "no free connection slots"
        return None

    # -- making room -----------------------------------------------------------

    def recycle(self, table, purpose):
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
        quietest = min((link for link in table.linkEnds()
                        if link.purpose == purpose and not link.inbound and not link.closing),
                       key=lambda link: link.lastTraffic, default=None)
        if quietest is None:
            return self.evict(table, purpose)
        quietest.retire(f"its {purpose} slot is wanted for a new link")
        return True

    def roomForOwn(self, table, purpose):
        """
        Make room for an overlay link this node opens itself while one
        address group holds most of its overlay links and it opened none
        to another (L{crowded}): the eviction policy gives up an inbound
        one, as for a recycled purpose, so that a group dialling a node
        cannot be every peer it has.

        @return: True if a link made room.
        """
        if purpose != OVERLAY:
            return False
        return table.crowd(purpose) is not None and self.evict(table, purpose)

    def retireUseless(self, table, purpose, besides=()):
        """
        Make room for a link of purpose this node opens by retiring a link
        of that purpose to a peer that proved useless (the quietest of
        them, see L{twisted_bazaar.net.overlay.Overlay.useless}),
        whichever side opened it, but for the links ``besides``.

        @return: True if a link made room.
        """
        useless = table.useless_peers
        if not useless:
            return False
        quietest = min((link for link in table.linkEnds()
                        if link.purpose == purpose and not link.closing
                        and link.peer_id in useless and link not in besides),
                       key=lambda link: link.lastTraffic, default=None)
        if quietest is None:
            return False
        quietest.retire(f"its {purpose} slot is wanted for a peer of more use")
        return True

    def roomFor(self, table, purpose):
        """
        Whether this node may open a link of purpose now as far as that
        purpose's slots go, its own dials still in their handshake
        counted (each takes a slot once it is up: counted only then, a
        buyer of 20 sellers at once held 19 direct links of 8), making
        room if they are full: its own links of purpose to peers it has
        no use for now (L{twisted_bazaar.core.node.Node.spares}: a
        buyer's direct link to a seller it has no buy out with) are
        retired, the quietest first, as many as it takes, or none if that is not
        enough.  One slot more may be made as for any dial of this
        node's own (L{refusesDial}): a link to a peer that proved useless
        retired, or a link a peer opened given up by the eviction policy
        (L{evict}, which protects it while its group is in its grace or it
        is a trading partner): else a stranger's keys that link to a
        buyer with purpose ``direct`` and keep talking hold its slots,
        and its buys wait for ever.
        """
        over = (table.count(purpose) - self.budgets.get(purpose, 0) + 1
                + sum(1 for link in table.pending
                      if not link.inbound and link.purpose == purpose
                      and not link.closing))
        if over <= 0:
            return True
        spared = sorted(_ownSpares(table, purpose), key=lambda link: link.lastTraffic)
        if len(spared) < over:
            if len(spared) + 1 < over or not (
                    self.retireUseless(table, purpose, frozenset(spared))
                    or self.evict(table, purpose)):
                return False
            over -= 1
        for link in spared[:over]:
            link.retire(f"its {purpose} slot is wanted for another peer")
        return True

    def retireSpare(self, table, purpose):
        """
        Make room for a peer's inbound link of purpose: the quietest link
        of it this node opened, to a peer it has no use for now
        (L{twisted_bazaar.core.node.Node.spares}: a buyer's idle link to
        the seller it bought from), is retired.  Else such a link holds a
        slot until it idles out (30 s), and a node that buys and sells
        with one direct slot refuses its own buyers that long.

        @return: True if a link made room.
        """
        quietest = min(_ownSpares(table, purpose), key=lambda link: link.lastTraffic,
                       default=None)
        if quietest is None:
            return False
        quietest.retire(f"its {purpose} slot is wanted for a peer's link")
        return True

    def evict(self, table, purpose=None, asker=None):
        """
        Make room for a newcomer (the inbound link ``asker``, or this
        node's own dial when None) by closing an inbound link (of purpose,
        if given) that the eviction policy gives up.

        @return: True if one was closed.
        """
        # In the order they connected, so that ties go the same way on
        # every run.
        partners = table.partners
        candidates = [
            Candidate(link, since, groupOf(link), link.peer_id is not None,
                      link in partners, namedGroupOf(link))
            for link, since in table.connected()
            if not link.closing and link is not asker
            and (purpose is None or link.purpose == purpose)]
        connections = table.connections
        victim = chooseVictim(candidates, table.node.clock.seconds(),
                              None if asker is None else groupOf(asker),
                              connections.grace, connections.tenureOf,
                              None if asker is None else namedGroupOf(asker))
        if victim is None:
            return False
        # A status client's link comes and goes with each question: no
        # news to the operator (docs/running.md, Logs).
        routine = victim.purpose in STATUS_PURPOSES
        victim.peerLine(LogLevel.debug if routine else LogLevel.info,
                        "evicting {peer} to make room for a new link", self.log)
        victim.refuse("noslots", "evicted to make room for a new link", routine)
        return True

    def left(self, table, link, since):
        """An inbound link that connected at ``since`` is gone: its group
        (and the group its relay names for its dialler) keeps its tenure
        (L{twisted_bazaar.net.connections.ConnectionManager.closed})."""
        group = groupOf(link)
        oldest = min((start for other, start in table.connected()
                      if groupOf(other) == group), default=since)
        table.connections.closed(group, min(since, oldest))
        label = namedGroupOf(link)
        if label is not None:
            # The label the relay names for its dialler keeps its tenure
            # too (eviction.RelayLabels): churn earns it nothing.
            oldest = min((start for other, start in table.connected()
                          if groupOf(other) == group and namedGroupOf(other) == label),
                         default=since)
            table.connections.closed(labelKey(group, label), min(since, oldest))

    # -- duplicates ------------------------------------------------------------

    def usurps(self, table, new, old, peer):
        """
        Whether ``new`` is a second key's link to the id ``old`` is linked
        to by its first key (ids narrowed in a test, or a collision): the
        first holder keeps its link, and ``new`` is refused, said why.
        """
        first, second = table.provenKey(old), table.provenKey(new)
        if first is None or second is None or first == second:
            return False
        self.log.info("refused a link from another key claiming node {id}, which is "
                      "linked already with its own key: the first holder of an id "
                      "keeps it", id=shortId(peer))
        new.refuse("wtf", f"node {wireId(peer)} is linked already, with another key")
        return True

    def replaces(self, table, new, old, peer):
        """
        Two links to one peer: which survives?  One whose peer proved its
        key beats one whose peer did not, so an established honest link is
        never replaced by an impostor's.  Otherwise, when both nodes
        connected to each other at once, both sides keep the link opened by
        the lower id, so they agree without talking; else the newer one
        wins: the older is probably a dead connection not yet noticed, but
        for a status client's raced ways (L{raced}), where the first stays.  The
        loser is retired, not dropped: what is already on its way over it
        still arrives.
        """
        new_proven = table.provenKey(new) is not None
        if new_proven != (table.provenKey(old) is not None):
            return new_proven
        if raced(table, new, old):
            return False
        if new.inbound == old.inbound:
            return True
        me = table.node.id
        new_opener = peer if new.inbound else me
        return new_opener == min(me, peer)


def _ownSpares(table, purpose):
    """The live links of purpose this node opened, to peers it has no use
    for now (L{twisted_bazaar.core.node.Node.spares}): what its own
    room-making may retire."""
    spares = table.node.spares
    return (link for link in table.linkEnds()
            if link.purpose == purpose and not link.inbound
            and not link.closing and spares(link.peer_id, purpose))


def raced(table, new, old):
    """
    Whether two inbound links of one status client are the ways of one
    question it raced (``bazaar`` asks a node over each of its
    transports at once, under one id, drawn for that question, with no key
    proven): of one purpose, the older heard within a handshake timeout
    (the time each way has to open), so live, not a dead one not yet
    noticed.  The client asks on the way the node introduced itself on
    first, the older; the newer one replacing it ended that question
    unanswered.
    """
    return (new.inbound and old.inbound and new.purpose == old.purpose
            and old.purpose in STATUS_PURPOSES and table.provenKey(old) is None
            and old.clock.seconds() - old.lastHeard < old.settings.handshake_timeout)
