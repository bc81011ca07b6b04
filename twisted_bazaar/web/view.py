"""
L{MarketView}: the market as the web view shows it, built from the
tracker's members and the nodes' ``nodestate`` answers.  Plain logic: it
is told what was seen, works out what changed (joins, departures, links,
sales and purchases) and hands snapshots to its subscribers.
"""

from collections import deque

#: Events the market's feed keeps, and each node's.
RECENT = 50
NODE_RECENT = 20
#: Link purposes that are not drawn: the view's own status links.
HIDDEN_PURPOSES = ("status",)


class MarketView:
    """
    The live market: members, their last known state, and recent events.

    @ivar events: the market's recent events, oldest first, each a dict
        with ``at`` (the clock's seconds), ``kind`` (``joined``, ``left``,
        ``sold``, ``bought``, ``linked``, ``unlinked``) and ``node``, plus
        ``item`` and ``units`` or ``peer``.
    """

    def __init__(self, clock):
        self.clock = clock
        self.members = {}
        self.states = {}
        #: node id -> when its last state came (its messages' ``ago`` count
        #: back from then).
        self._seenAt = {}
        self.events = deque(maxlen=RECENT)
        self.nodeEvents = {}
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
            return
        for item, units in _drops(before.stock, state.stock):
            self._event("sold", state.id, item=item, units=units)
        for item, units in _drops(state.bag, before.bag):
            self._event("bought", state.id, item=item, units=units)
        old, new = _peers(before), _peers(state)
        for peer in sorted(new - old):
            self._event("linked", state.id, peer=peer, feed=False)
        for peer in sorted(old - new):
            self._event("unlinked", state.id, peer=peer, feed=False)

    def _event(self, kind, node_id, feed=True, **details):
        event = dict(at=self.clock.seconds(), kind=kind, node=node_id, **details)
        if feed:
            self.events.append(event)
        if kind != "left":
            self.nodeEvents.setdefault(node_id, deque(maxlen=NODE_RECENT)).append(event)
        self._changed = True

    # -- what is shown ---------------------------------------------------

    def snapshot(self):
        """
        The whole market as JSON-ready data: ``nodes`` (each with its
        address, scheme, and when known its stock, bag, pending buys and
        link count), ``edges`` (id pairs, once each, between live nodes),
        ``offers`` (item -> [{node, units}] with units left) and
        ``events``.
        """
        nodes, edges, offers = [], set(), {}
        for node_id, (_, host, port, scheme) in sorted(self.members.items()):
            entry = {"id": node_id, "host": host, "port": port, "scheme": scheme,
                     "known": False}
            state = self.states.get(node_id)
            if state is not None:
                entry.update(known=True, stock=dict(state.stock), bag=dict(state.bag),
                             pending=state.pending, links=len(_peers(state)))
                for peer in _peers(state) & set(self.members):
                    edges.add((min(node_id, peer), max(node_id, peer)))
                for item, units in sorted(state.stock.items()):
                    if units:
                        offers.setdefault(item, []).append({"node": node_id,
                                                            "units": units})
            nodes.append(entry)
        return {"nodes": nodes, "edges": sorted(map(list, edges)),
                "offers": dict(sorted(offers.items())), "events": list(self.events)}

    def node(self, node_id):
        """One node's page as JSON-ready data, or None if it is not live:
        its address and scheme, its ``events`` as the view saw them, and
        when its state is known its stock, bag, pending buys, links and
        the ``messages`` it sent and received last (oldest first, each
        with when, ``dir``, ``peer`` and ``type``)."""
        if node_id not in self.members:
            return None
        _, host, port, scheme = self.members[node_id]
        page = {"id": node_id, "host": host, "port": port, "scheme": scheme,
                "known": False,
                "events": list(self.nodeEvents.get(node_id, ()))}
        state = self.states.get(node_id)
        if state is not None:
            page.update(known=True, stock=dict(state.stock), bag=dict(state.bag),
                        pending=state.pending,
                        links=[{"id": peer, "host": peer_host, "port": peer_port,
                                "purpose": purpose}
                               for peer, peer_host, peer_port, purpose in state.links
                               if purpose not in HIDDEN_PURPOSES])
            seen = self._seenAt[node_id]
            page["messages"] = [{"at": seen - ago / 1000, "dir": direction, "peer": peer,
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


def _peers(state):
    """The ids a node is linked to, status links left out."""
    return {link[0] for link in state.links if link[3] not in HIDDEN_PURPOSES}


def _drops(before, after):
    """(item, units) that ``after`` has fewer of than ``before``."""
    return [(item, units - after.get(item, 0)) for item, units in sorted(before.items())
            if units > after.get(item, 0)]
