"""
L{MarketView}: the market as the web view shows it, built from the
tracker's members and the nodes' ``nodestate`` answers.  Plain logic: it
is told what was seen, works out what changed (joins, departures, links,
sales and purchases, and the trades they make, seller and buyer side by
side, with the path each buy took where a node tells its operator) and
hands snapshots to its subscribers.

A node tells a stranger, as the tracker's view is, only its public facts
(``nodestate.public``): its overlay links, stock and shared files.  Of
such a node the view shows those, and its sales of counted items (its
stock going down); its bag, buys, downloads, messages and copies of files
sold are not shown, since they are not told.
"""

import re
from collections import deque

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.net.recent import STATUS_PURPOSES
from twisted_bazaar.status.messages import DOWNLOAD_KEYS
from twisted_bazaar.status.shown import CONTENT_ID, shownFile
from twisted_bazaar.web.trades import TradeRows
from twisted_bazaar.wire.ids import wireId

#: The first digits of a keyed id, as shown (8) or more, not the whole (32).
_SHORT_ID = re.compile("[0-9a-f]{8,31}")
#: Events the market's feed keeps, and each node's.
RECENT = 50
NODE_RECENT = 20
#: Link purposes that are neither drawn nor listed: status links, the
#: view's own (a stranger's, or its operator's) and any other client's,
#: which are no node's: a page of theirs is a 404.
HIDDEN_PURPOSES = STATUS_PURPOSES
#: Seconds without an answer after which a live node is shown as not
#: answering (frozen, or overloaded), unless the view is told otherwise.
SILENT = 5.0


class MarketView:
    """
    The live market: members, their last known state, and recent events.

    @ivar events: the market's recent events, oldest first, each a dict
        with ``at`` (the wall clock's seconds), ``kind`` (``joined``, ``left``,
        ``sold``, ``bought``, ``linked``, ``unlinked``) and ``node``, plus
        ``item`` and ``units`` or ``peer``.
    @ivar trades: the recent trades (L{TradeRows}), one row per trade
        (a buy of 500 units is one): ``at``, ``item``, ``units``,
        ``seller`` and ``buyer`` (None for a side not known), and the
        ``path`` its buy took where a side's operator told it.
    """

    def __init__(self, clock, silent=SILENT):
        """
        @param silent: seconds without an answer (since its last, or since
            it joined) after which a live node is shown as not answering:
            a frozen node stays registered, but must not look healthy.
        """
        self.clock = clock
        self.silent = silent
        self.members = {}
        self.states = {}
        #: node id -> when its last state came (its messages' ``ago`` count
        #: back from then).
        self._seenAt = {}
        #: node id -> when the view saw it join.
        self._joinedAt = {}
        #: The nodes that left lately: id -> their page's ``left`` data.
        self.departed = {}
        self.events = deque(maxlen=RECENT)
        self.trades = TradeRows(clock)
        self.nodeEvents = {}
        #: Nodes that joined after the view first read the members: what
        #: they hold when first seen, they bought while the view looked.
        self._newcomers = set()
        self._watching = False
        self._subscribers = []
        self._changed = False
        #: The nodes last published as silent.
        self._silentShown = frozenset()
        #: The live nodes the tracker counts, where it lists fewer (its
        #: list cut to one frame), else None: every one is a member.
        self._live = None
        #: Since when, and why, the tracker has not answered a view that
        #: asks it (`bazaar web`): its last list is the members shown.
        self._trackerSilent = None

    # -- what was seen ---------------------------------------------------

    def membersSeen(self, rows):
        """The tracker's live nodes, as (id, host, port, scheme) rows."""
        rows = {row[0]: row for row in rows}
        for node_id in sorted(set(self.members) - set(rows)):
            self._event("left", node_id)
            _, host, port, scheme = self.members.pop(node_id)
            self.states.pop(node_id, None)
            self._seenAt.pop(node_id, None)
            self._joinedAt.pop(node_id, None)
            self.departed[node_id] = {
                "id": wireId(node_id), "host": host, "port": port, "scheme": scheme,
                "left": wallSeconds(self.clock),
                "events": list(self.nodeEvents.pop(node_id, ()))}
            while len(self.departed) > RECENT:
                del self.departed[next(iter(self.departed))]
        for node_id in sorted(set(rows) - set(self.members)):
            self.members[node_id] = rows[node_id]
            self._joinedAt[node_id] = self.clock.seconds()
            self.departed.pop(node_id, None)
            self._changed = True
            # A node live at the view's first look joined before it, at a
            # time the view does not know: no join is claimed for it.
            if self._watching:
                self._event("joined", node_id)
                self._newcomers.add(node_id)
        self._newcomers &= set(rows)
        self._watching = True
        self.members.update(rows)

    def liveSeen(self, total):
        """How many live nodes the tracker counts, members or not (a
        tracker's memberlist names as many as fit in one frame)."""
        if total != self._live:
            self._live = total
            self._changed = True

    def trackerSilent(self, why, impostor=False):
        """The tracker did not answer the view's question: the members
        shown are its last list, which the page says, with why; an
        ``impostor``: what answered at its address proved another key
        than the tracker's, and was refused (the page warns in red)."""
        since = (self._trackerSilent or {}).get("since", wallSeconds(self.clock))
        silent = {"since": since, "error": why, "impostor": impostor}
        if self._trackerSilent != silent:
            self._trackerSilent = silent
            self._changed = True

    def trackerAnswered(self):
        """The tracker answered: its list is current again."""
        if self._trackerSilent is not None:
            self._trackerSilent = None
            self._changed = True

    def stateSeen(self, state):
        """A node's L{NodeState}: events for what changed since its last."""
        if state.id not in self.members:
            return
        before = self.states.get(state.id)
        self.states[state.id] = state
        self._seenAt[state.id] = self.clock.seconds()
        self._changed = True
        if before is None:
            if state.id in self._newcomers and state.bag is not None:
                # A buyer that bought before the view first asked it: each
                # unit that matches a sale seen is that sale's buyer.
                self._newcomers.discard(state.id)
                for item, units in sorted(state.bag.items()):
                    self.trades.seen("buyer", state.id, item, units, claim=True)
                self.trades.told(state.id, state.trades, wallSeconds(self.clock))
            else:
                # Trades from before the view looked: rows at their time
                # (a page moves only trades new since it opened).
                self.trades.told(state.id, state.trades, wallSeconds(self.clock),
                                 place=False)
            return
        # The trades the node tells its operator first: each names both
        # sides, so the units this answer shows sold or bought are theirs
        # before any other recent row's (another seller's sale of the same
        # item is not the operator's buyer's purchase).
        self.trades.told(state.id, state.trades, wallSeconds(self.clock))
        # A shared file is no stock: its sales are its ``sold`` going up.
        sold = [(name, count) for name, _, _, count in state.files if count is not None]
        before_sold = {name: count for name, _, _, count in before.files
                       if count is not None}
        # An item the new answer lacks is left out of it, not sold: a
        # seller keeps an item it sold out of (at 0), and an answer cut to
        # a frame holds the first items alone (a restock of an item named
        # before them pushed the last out, seen as all its units sold).
        for item, units in _drops(before.stock, state.stock) + [
                (name, count - before_sold[name]) for name, count in sold
                if count > before_sold.get(name, count)]:
            self._event("sold", state.id, item=item, units=units)
            self.trades.seen("seller", state.id, item, units)
        for item, units in _bought(before, state):
            self._event("bought", state.id, item=item, units=units)
            self.trades.seen("buyer", state.id, item, units)
        old, new = _peers(before), _peers(state)
        for peer in sorted(new - old):
            self._event("linked", state.id, peer=peer, feed=False)
        for peer in sorted(old - new):
            self._event("unlinked", state.id, peer=peer, feed=False)

    def _event(self, kind, node_id, feed=True, **details):
        if "peer" in details:
            details["peer"] = wireId(details["peer"])
        event = dict(at=wallSeconds(self.clock), kind=kind, node=wireId(node_id), **details)
        if feed:
            self.events.append(event)
        if kind != "left":
            self.nodeEvents.setdefault(node_id, deque(maxlen=NODE_RECENT)).append(event)
        self._changed = True

    # -- what is shown ---------------------------------------------------

    def snapshot(self):
        """
        The whole market as JSON-ready data: ``live`` (the live nodes the
        tracker counts: more than ``nodes`` where its list names fewer),
        ``nodes`` (each with its
        address, scheme, and when known its stock, link count, files
        counted, its ``reach`` and ``relay`` where it says them, and
        whether the view is its ``operator`` (told its whole state), and if so its bag, pending buys and downloads counted, and
        its ``roles`` where it says them: a
        stranger's answer leaves them out), ``edges`` (id pairs,
        once each, between live nodes), ``offers`` (item -> [{node,
        units}] with units left: counted items only), ``files`` (each
        shared file once: name, size, ``contentId`` and the ``nodes`` sharing
        it), ``relayed`` (the edges either end says run through a relay's
        circuit), ``quic`` (those either end says run over QUIC on UDP),
        ``downloads`` (each node's, with its ``node``), ``events``
        and ``trades`` (L{TradeRows.shown}).  Each node says how long it has not answered
        (``quiet``, seconds) and whether that is too long (``silent``).
        """
        nodes, edges, relayed, quic, offers, files, downloads = [], set(), set(), set(), {}, {}, []
        for node_id, (_, host, port, scheme) in sorted(self.members.items()):
            entry = {"id": wireId(node_id), "host": host, "port": port, "scheme": scheme,
                     "known": False, **self._quiet(node_id)}
            state = self.states.get(node_id)
            if state is not None:
                entry.update(known=True, operator=not state.public, stock=dict(state.stock),
                             links=len(_peers(state)), files=len(state.files),
                             **_held(state),
                             **_reach(state), **_roles(state),
                             **_private(state, bag=dict(state.bag or {}),
                                        pending=state.pending,
                                        downloads=len(state.downloads)))
                for link in state.links:
                    peer = link[0]
                    if link[3] in HIDDEN_PURPOSES or peer not in self.members:
                        continue
                    edge = (wireId(min(node_id, peer)), wireId(max(node_id, peer)))
                    edges.add(edge)
                    if _relayed(link):
                        relayed.add(edge)
                    if _quic(link):
                        quic.add(edge)
                for item, units in sorted(state.stock.items()):
                    if units:
                        offers.setdefault(item, []).append({"node": wireId(node_id),
                                                            "units": units})
                for name, size, content_id, _ in state.files:
                    files.setdefault((name, content_id), {
                        "name": name, "size": size, CONTENT_ID: content_id,
                        "nodes": []})["nodes"].append(wireId(node_id))
                downloads += [{"node": wireId(node_id), **_row(DOWNLOAD_KEYS, row)}
                              for row in state.downloads]
            nodes.append(entry)
        return {"nodes": nodes, "live": max(len(nodes), self._live or 0),
                "trackerSilent": self._trackerSilent,
                "edges": sorted(map(list, edges)),
                "relayed": sorted(map(list, relayed)),
                "quic": sorted(map(list, quic)),
                "offers": dict(sorted(offers.items())),
                "files": [entry for _, entry in sorted(files.items())],
                "downloads": downloads,
                "events": list(self.events),
                "trades": self.trades.shown()}

    def node(self, node_id):
        """
        One node's page as JSON-ready data: its address and scheme, how
        long it has not answered (L{snapshot}), its ``events`` as the view
        saw them, and when its state is known its stock, links, the
        ``files`` it shares, whether the view is its ``operator`` (told its
        whole state), and if so its bag, pending buys, the copies of its
        files sold, its ``downloads``, the ``messages`` it sent and received
        last (oldest first, each with when, ``dir``, ``peer`` and ``type``)
        and its ``trades`` (oldest first, each with when, ``item``,
        ``units`` and the ``path`` its buy took, buyer first).
        A node that left lately: its address, its events and when it
        left (``left``).  None for a node the view has not seen.
        """
        if node_id not in self.members:
            return self.departed.get(node_id)
        _, host, port, scheme = self.members[node_id]
        page = {"id": wireId(node_id), "host": host, "port": port, "scheme": scheme,
                "known": False, **self._quiet(node_id),
                "events": list(self.nodeEvents.get(node_id, ()))}
        state = self.states.get(node_id)
        if state is not None:
            # Its answer's time of day, for the times its rows are shown at.
            seen = self._seenAt[node_id] + wallSeconds(self.clock) - self.clock.seconds()
            page.update(known=True, operator=not state.public, stock=dict(state.stock),
                        files=list(map(shownFile, state.asDict()["files"])), **_roles(state),
                        **_held(state),
                        links=[{"id": wireId(link[0]), "host": link[1], "port": link[2],
                                "purpose": link[3], "relayed": _relayed(link),
                                "quic": _quic(link)}
                               for link in state.links if link[3] not in HIDDEN_PURPOSES],
                        **_private(
                            state, bag=dict(state.bag or {}), pending=state.pending,
                            downloads=[_row(DOWNLOAD_KEYS, row)
                                       for row in state.downloads],
                            messages=[{"at": seen - ago / 1000, "dir": direction,
                                       "peer": wireId(peer), "type": kind}
                                      for ago, direction, peer, kind in state.recent],
                            trades=[{"at": seen - ago / 1000, "item": item,
                                     "units": units, "path": list(map(wireId, path))}
                                    for ago, _, item, units, path in state.trades]))
        return page

    def named(self, prefix):
        """
        The whole id (its wire text) of the one node the view keeps, live
        or left lately, whose id begins with ``prefix``: 8 to 31 hex
        digits, the short form the page and the logs show (a link typed
        from a log line).  None when no node, or more than one, has it.
        """
        try:
            prefix = (prefix.decode("ascii") if isinstance(prefix, bytes) else prefix).lower()
        except UnicodeDecodeError:
            return None
        if _SHORT_ID.fullmatch(prefix) is None:
            return None
        found = {text for text in map(wireId, (*self.members, *self.departed))
                 if text.startswith(prefix)}
        return found.pop() if len(found) == 1 else None

    def _quiet(self, node_id):
        """How long a live node has not answered (since its last answer, or
        since it joined), once that is too long (``silent``); 0 while it
        answers, so that a picture changes with each round only where a
        node is silent."""
        since = self._seenAt.get(node_id, self._joinedAt.get(node_id))
        quiet = 0.0 if since is None else round(self.clock.seconds() - since, 1)
        silent = quiet > self.silent
        return {"quiet": quiet if silent else 0.0, "silent": silent}

    # -- pushing ----------------------------------------------------------

    def subscribe(self, subscriber):
        """Call ``subscriber()`` whenever L{publish} finds a change; returns
        a function that ends the subscription."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    @property
    def subscribers(self):
        return len(self._subscribers)

    def publish(self):
        """Tell the subscribers, if anything changed since last time (a
        node fell silent, too, with no answer to say so): at most once per
        call, however much changed."""
        silent = frozenset(node_id for node_id in self.members
                           if self._quiet(node_id)["silent"])
        if silent != self._silentShown or silent:
            # A silent node's quiet count grows: its picture changes.
            self._silentShown = silent
            self._changed = True
        if not self._changed:
            return
        self._changed = False
        for subscriber in list(self._subscribers):
            subscriber()


def _reach(state):
    """Whether others can dial a node (``reach``: public, private or
    unknown) and the relay it is reached through (``relay``), as far as
    it says: public facts, which the graph draws."""
    return {key: value for key, value in (("reach", state.reach), ("relay", state.relay))
            if value is not None}


def _roles(state):
    """The names of a node's roles (``roles``), where it says them: to
    its operator alone, and an older node does not (the page then
    guesses a node's colour from its stock and bag)."""
    return {} if state.roles is None else {"roles": list(state.roles)}


def _relayed(link):
    """Whether a node says its link runs through a relay's circuit."""
    return link[4]


def _quic(link):
    """Whether a node says its link runs over QUIC on UDP."""
    return link[5]


def _private(state, **fields):
    """fields, which only a node's operator is told: none for a state that
    holds its public facts only."""
    return {} if state.public else fields


def _row(keys, row):
    """A row of a L{NodeState} list as a dict of its keys (a file's
    ``sha256`` as its ``contentId``)."""
    return shownFile(dict(zip((key for key, _ in keys), row)))


def _peers(state):
    """The ids a node is linked to, status links left out."""
    return {link[0] for link in state.links if link[3] not in HIDDEN_PURPOSES}


def _held(state):
    """How many items and files the node holds in all (``stockItems``,
    ``filesShared``), where it says so and its answer held fewer (cut to
    a frame): the page says the rest are left out."""
    held = {}
    if (state.stock_items or 0) > len(state.stock):
        held["stockItems"] = state.stock_items
    if (state.files_shared or 0) > len(state.files):
        held["filesShared"] = state.files_shared
    return held


def _bought(before, after):
    """
    (item, units) a buyer's bag gained between two of its answers.  An
    item the earlier one lacks counts whole, unless that answer was cut
    (``bagItems`` above the items it held: the first by name, all that
    fit a frame) and the item sorts after its last, where it may have
    been left out: an answer that grew back showed them all as bought.
    """
    held = before.bag or {}
    cut = (before.bag_items or 0) > len(held)
    last = max(held) if cut and held else None
    return [(item, units - held.get(item, 0)) for item, units in sorted((after.bag or {}).items())
            if units > held.get(item, 0)
            and (not cut or item in held or (last is not None and item < last))]


def _drops(before, after):
    """(item, units) that ``after`` has fewer of than ``before``, of the
    items ``after`` holds."""
    return [(item, units - after[item]) for item, units in sorted(before.items())
            if item in after and units > after[item]]
