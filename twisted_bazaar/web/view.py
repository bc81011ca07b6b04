"""
L{MarketView}: the market as the web view shows it, built from the
tracker's members and the nodes' ``nodestate`` answers.  Plain logic: it
is told what was seen, works out what changed (joins, departures, links,
sales and purchases, and the trades they make, seller and buyer side by
side) and hands snapshots to its subscribers.
"""

from collections import deque

from twisted_bazaar.status.messages import DOWNLOAD_KEYS, SHARED_KEYS
from twisted_bazaar.wire.ids import wireId

#: Events the market's feed keeps, and each node's.
RECENT = 50
NODE_RECENT = 20
#: Link purposes that are not drawn: the view's own status links.
HIDDEN_PURPOSES = ("status",)
#: Seconds within which a sale and a purchase of the same item, seen at
#: two nodes, are taken for one trade.
PAIRING = 10.0


class MarketView:
    """
    The live market: members, their last known state, and recent events.

    @ivar events: the market's recent events, oldest first, each a dict
        with ``at`` (the clock's seconds), ``kind`` (``joined``, ``left``,
        ``sold``, ``bought``, ``linked``, ``unlinked``) and ``node``, plus
        ``item`` and ``units`` or ``peer``.
    @ivar trades: the recent trades, oldest first, one unit each: ``at``,
        ``item``, ``seller`` and ``buyer`` (None for a side not seen).
    """

    def __init__(self, clock):
        self.clock = clock
        self.members = {}
        self.states = {}
        #: node id -> when its last state came (its messages' ``ago`` count
        #: back from then).
        self._seenAt = {}
        self.events = deque(maxlen=RECENT)
        self.trades = deque(maxlen=RECENT)
        self.nodeEvents = {}
        #: Nodes that joined after the view first read the members: what
        #: they hold when first seen, they bought while the view looked.
        self._newcomers = set()
        self._watching = False
        self._subscribers = []
        self._changed = False

    # -- what was seen ---------------------------------------------------

    def membersSeen(self, rows):
        """The tracker's live nodes, as (id, host, port, scheme) rows."""
        rows = {row[0]: row for row in rows}
        for node_id in sorted(set(self.members) - set(rows)):
            self._event("left", node_id)
            del self.members[node_id]
            self.states.pop(node_id, None)
            self._seenAt.pop(node_id, None)
            self.nodeEvents.pop(node_id, None)
        for node_id in sorted(set(rows) - set(self.members)):
            self.members[node_id] = rows[node_id]
            self._event("joined", node_id)
            if self._watching:
                self._newcomers.add(node_id)
        self._newcomers &= set(rows)
        self._watching = True
        self.members.update(rows)

    def stateSeen(self, state):
        """A node's L{NodeState}: events for what changed since its last."""
        if state.id not in self.members:
            return
        before = self.states.get(state.id)
        self.states[state.id] = state
        self._seenAt[state.id] = self.clock.seconds()
        self._changed = True
        if before is None:
            if state.id in self._newcomers:
                # A buyer that bought before the view first asked it: each
                # unit that matches a sale seen is that sale's buyer.
                self._newcomers.discard(state.id)
                for item, units in sorted(state.bag.items()):
                    self._trade("buyer", state.id, item, units, claim=True)
            return
        # A shared file is no stock: its sales are its ``sold`` going up.
        sold = [(name, count) for name, _, _, count in state.files]
        before_sold = {name: count for name, _, _, count in before.files}
        for item, units in _drops(before.stock, state.stock) + [
                (name, count - before_sold[name]) for name, count in sold
                if count > before_sold.get(name, count)]:
            self._event("sold", state.id, item=item, units=units)
            self._trade("seller", state.id, item, units)
        for item, units in _drops(state.bag, before.bag):
            self._event("bought", state.id, item=item, units=units)
            self._trade("buyer", state.id, item, units)
        old, new = _peers(before), _peers(state)
        for peer in sorted(new - old):
            self._event("linked", state.id, peer=peer, feed=False)
        for peer in sorted(old - new):
            self._event("unlinked", state.id, peer=peer, feed=False)

    def _trade(self, side, node_id, item, units, claim=False):
        """
        Units of item sold (``side`` seller) or bought (buyer) at a node:
        each completes a recent trade of that item whose ``side`` was not
        seen yet, or starts one.  A ``claim`` (a bag first seen, which may
        be old) starts a trade that is shown only once a sale completes it.
        """
        now = self.clock.seconds()
        other = "buyer" if side == "seller" else "seller"
        for _ in range(min(units, RECENT)):
            for trade in self.trades:
                if (trade["item"] == item and trade[side] is None
                        and trade[other] != wireId(node_id)
                        and now - trade["at"] <= PAIRING):
                    trade[side] = wireId(node_id)
                    trade.pop("claim", None)
                    break
            else:
                self.trades.append({"at": now, "item": item, side: wireId(node_id),
                                    other: None, **({"claim": True} if claim else {})})
            self._changed = True

    def _event(self, kind, node_id, feed=True, **details):
        if "peer" in details:
            details["peer"] = wireId(details["peer"])
        event = dict(at=self.clock.seconds(), kind=kind, node=wireId(node_id), **details)
        if feed:
            self.events.append(event)
        if kind != "left":
            self.nodeEvents.setdefault(node_id, deque(maxlen=NODE_RECENT)).append(event)
        self._changed = True

    # -- what is shown ---------------------------------------------------

    def snapshot(self):
        """
        The whole market as JSON-ready data: ``nodes`` (each with its
        address, scheme, and when known its stock, bag, pending buys, link
        count, and its files and downloads counted), ``edges`` (id pairs,
        once each, between live nodes), ``offers`` (item -> [{node,
        units}] with units left: counted items only), ``files`` (each
        shared file once: name, size, sha256 and the ``nodes`` sharing
        it), ``events`` and ``trades``.
        """
        nodes, edges, offers, files = [], set(), {}, {}
        for node_id, (_, host, port, scheme) in sorted(self.members.items()):
            entry = {"id": wireId(node_id), "host": host, "port": port, "scheme": scheme,
                     "known": False}
            state = self.states.get(node_id)
            if state is not None:
                entry.update(known=True, stock=dict(state.stock), bag=dict(state.bag),
                             pending=state.pending, links=len(_peers(state)),
                             files=len(state.files), downloads=len(state.downloads))
                for peer in _peers(state) & set(self.members):
                    edges.add((wireId(min(node_id, peer)), wireId(max(node_id, peer))))
                for item, units in sorted(state.stock.items()):
                    if units:
                        offers.setdefault(item, []).append({"node": wireId(node_id),
                                                            "units": units})
                for name, size, sha256, _ in state.files:
                    files.setdefault((name, sha256), {
                        "name": name, "size": size, "sha256": sha256,
                        "nodes": []})["nodes"].append(wireId(node_id))
            nodes.append(entry)
        return {"nodes": nodes, "edges": sorted(map(list, edges)),
                "offers": dict(sorted(offers.items())),
                "files": [entry for _, entry in sorted(files.items())],
                "events": list(self.events),
                "trades": [dict(trade) for trade in self.trades
                           if not trade.get("claim")]}

    def node(self, node_id):
        """One node's page as JSON-ready data, or None if it is not live:
        its address and scheme, its ``events`` as the view saw them, and
        when its state is known its stock, bag, pending buys, links, the
        ``files`` it shares (with the copies sold), its ``downloads`` and
        the ``messages`` it
        sent and received last (oldest first, each
        with when, ``dir``, ``peer`` and ``type``)."""
        if node_id not in self.members:
            return None
        _, host, port, scheme = self.members[node_id]
        page = {"id": wireId(node_id), "host": host, "port": port, "scheme": scheme,
                "known": False,
                "events": list(self.nodeEvents.get(node_id, ()))}
        state = self.states.get(node_id)
        if state is not None:
            page.update(known=True, stock=dict(state.stock), bag=dict(state.bag),
                        pending=state.pending,
                        files=[_row(SHARED_KEYS, row) for row in state.files],
                        downloads=[_row(DOWNLOAD_KEYS, row) for row in state.downloads],
                        links=[{"id": wireId(peer), "host": peer_host, "port": peer_port,
                                "purpose": purpose}
                               for peer, peer_host, peer_port, purpose in state.links
                               if purpose not in HIDDEN_PURPOSES])
            seen = self._seenAt[node_id]
            page["messages"] = [{"at": seen - ago / 1000, "dir": direction,
                                 "peer": wireId(peer),
                                 "type": kind}
                                for ago, direction, peer, kind in state.recent]
        return page

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
        """Tell the subscribers, if anything changed since last time: at
        most once per call, however much changed."""
        if not self._changed:
            return
        self._changed = False
        for subscriber in list(self._subscribers):
            subscriber()


def _row(keys, row):
    """A row of a L{NodeState} list as a dict of its keys."""
    return dict(zip((key for key, _ in keys), row))


def _peers(state):
    """The ids a node is linked to, status links left out."""
    return {link[0] for link in state.links if link[3] not in HIDDEN_PURPOSES}


def _drops(before, after):
    """(item, units) that ``after`` has fewer of than ``before``."""
    return [(item, units - after.get(item, 0)) for item, units in sorted(before.items())
            if units > after.get(item, 0)]
