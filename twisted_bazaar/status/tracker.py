"""
The tracker's side of the status messages: ``members`` is answered with
``memberlist``.  An extension every tracker hosts (see
L{twisted_bazaar.tracker.extension}).
"""

import json

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.fitting import countFitting, frameLimit
from twisted_bazaar.net.limits import GroupRates
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.transports.path import NAMED, RELAYED, Path
from twisted_bazaar.wire.paths import checkPaths
from twisted_bazaar.status.messages import MAX_ENTRIES, MemberList, Members, busy
from twisted_bazaar.tracker.extension import ITrackerExtension, ITrackerExtensionPlugin

#: ``members`` answered a second for the connections of one address group
#: together, in bursts of twice that; past it, answered ``error{busy}``
#: with the wait until one would be (L{busy}).  A memberlist is a
#: frame (64 KiB at the default --frame-limit) for a 20-byte question:
#: at the tracker's question rate (400 a second) one asking group that
#: read what it was sent took 25 MB a second of the tracker's uplink.  A
#: client asks once (``bazaar status``, ``list``) or once a second
#: (``bazaar web``).
MEMBERS_RATE = 2.0
MEMBERS_LIMIT = declare(
    "status.members", MEMBERS_RATE, "messages/s",
    "members questions the tracker answers for the connections of one address "
    "group (each answer a frame)", group=MEMBERS_RATE, owner=__name__)
#: Address groups whose rate is remembered, newest kept.
_RATE_GROUPS = 10_000


@implementer(ITrackerExtension)
class StatusExtension:
    """Answers ``members`` with the live nodes that take links, once
    their address is checked."""

    def __init__(self, tracker):
        self.tracker = tracker
        #: ((the registry's changes, the frame limit) it was built for,
        #: the encoded memberlist), or None.
        self._answer = None
        self._rates = GroupRates(MEMBERS_LIMIT, remembered=_RATE_GROUPS)

    def nodeLeft(self, node_id):
        pass

    def members(self):
        """(id, host, port, scheme) of every live node that takes links and
        whose address the tracker checked, by id: the addresses it gives
        out in ``nodereply``, and no other (a client, or the web view,
        connects to each, so an address a node merely claimed must not
        send them anywhere)."""
        registry = self.tracker.registry
        verified = registry.verified
        return [(node_id, host, port, registry.abilities[node_id].scheme or "")
                for node_id, (host, port) in sorted(registry.nodes.items())
                if port and node_id in verified]

    def _members(self, link, message):
        """
        The members in id order, cut short where they would no longer fit
        in one frame (or MAX_ENTRIES).  Built and encoded once for every
        asker until the registry changes: building it costs the tracker
        milliseconds, and a question costs its sender a few bytes, so
        answering each question anew let one connection's questions take
        the tracker's whole time.  MEMBERS_RATE a second for one address
        group, each answer being a frame; past it the question is answered
        ``busy``, with when to ask again.  That answer is cheap (a hundred
        bytes, nothing built), and its number is bounded as the
        questions' are (the link's query rate, the group's question rate,
        past which a question is dropped, §12): no amplification.

        An asker that named local addresses of its own, to whom the
        registry gives some of the members' (L{Registry.lanOf}: an asker
        at their home), is answered a list of its own with ``lans``,
        built anew, at the same rate, holding too the LAN-only nodes
        introduced to it (L{Registry.lanOnlyFor}).
        """
        group, now = groupOf(link), self.tracker.clock.seconds()
        if not self._rates.take(group, now):
            link.send(busy(message.TYPE, MEMBERS_RATE, self._rates.wait(group, now)))
            return
        limit = frameLimit(self.tracker)
        built_for = (self.tracker.registry.changes, limit)
        if self._answer is None or self._answer[0] != built_for:
            members = self.members()
            self._answer = (built_for, wire.encode(self._build(members, limit)), members)
        nearby = self._lanOnlyFor(link.peer_id)
        members = sorted(self._answer[2] + nearby) if nearby else self._answer[2]
        lans = self._lansFor(link.peer_id, members[:MAX_ENTRIES])
        if lans:
            link.send(self._build(members, limit, lans, len(nearby)))
            return
        link.sendPayload(self._answer[1], MemberList.TYPE)

    #: What it takes of registered nodes (L{ITrackerExtension.takes}).
    takes = {Members: _members}

    def _lanOnlyFor(self, asker_id):
        """The members only asker_id is told of: the LAN-only nodes behind
        its router, on its subnet (L{Registry.lanOnlyFor}), as rows."""
        registry = self.tracker.registry
        return [(node_id, *registry.nodes[node_id],
                 registry.abilities[node_id].scheme or "")
                for node_id in registry.lanOnlyFor(asker_id)]

    def _lansFor(self, asker_id, rows):
        """The local addresses of the members of rows the registry names
        to asker_id (L{Registry.lanOf}), by id: none unless the asker
        named some of its own."""
        registry = self.tracker.registry
        if asker_id not in registry.lans:
            return {}
        named = ((row[0], registry.lanOf(row[0], asker_id)) for row in rows)
        return {node_id: lan for node_id, lan in named if lan is not None}

    def _build(self, members, limit, lans=None, nearby=0):
        """The memberlist of members (``lans`` the local addresses named,
        ``nearby`` of them LAN-only nodes named to this asker); the other
        LAN-only nodes are counted (``lanOnly``)."""
        rows = members[:MAX_ENTRIES]
        registry = self.tracker.registry
        relayOf = registry.relayOf
        named = (("relays", relayOf), ("lans", (lans or {}).get),
                 ("paths", lambda node_id: checkPaths.toWire(_pathsOf(registry, node_id))
                  or None))
        unnamed = registry.lanOnlyCount() - nearby
        kept = countFitting(_entryBytes(rows, named),
                            limit - (len(f',"lanOnly":{unnamed}') if unnamed else 0))
        rows = rows[:kept]
        relays = {row[0]: relayOf(row[0]) for row in rows if relayOf(row[0]) is not None}
        lans = {row[0]: lans[row[0]] for row in rows if row[0] in (lans or {})}
        # A node's paths of a transport plugin's kind, as a nodereply names
        # them (a port of its own): a client whose network lets out only
        # that transport asks the node there.
        paths = {row[0]: _pathsOf(registry, row[0]) for row in rows}
        return MemberList(tuple(rows), len(members), relays or None, lans or None,
                          {node_id: held for node_id, held in paths.items() if held}
                          or None, unnamed or None)


def _pathsOf(registry, node_id):
    """A member's paths a memberlist names: those of a transport plugin's
    kind (L{Registry.claimsOf}), or, for a member reached through a relay
    that has ways besides its port (a public node's transport plugin's port), its
    relayed path with them, as a nodereply names it: a client whose
    network lets out only that transport reaches the relay there."""
    ways = registry.relayWays.get(node_id, ())
    relay = registry.relayOf(node_id)
    if not ways or relay is None:
        return registry.claimsOf(node_id)
    return (Path(RELAYED, relay=relay, word=NAMED, ways=ways),) + registry.claimsOf(node_id)


def _entryBytes(rows, named):
    """The bytes each member takes in a memberlist, its separators
    included: its entry in ``nodes``, and its value in each object of
    ``named`` ((``relays``, ``lans`` or ``paths``, its lookup by id)) that
    names it
    (the first it names also pays for the object)."""
    opened = set()
    for row in rows:
        cost = _rowBytes(row) + 1
        for key, lookup in named:
            value = lookup(row[0])
            if value is None:
                continue
            cost += len(json.dumps({wireId(row[0]): value}, ensure_ascii=False,
                                   separators=(",", ":")).encode("utf-8")) - 2 + 1
            if key not in opened:
                cost += len(f',"{key}":{{}}')
                opened.add(key)
        yield cost


def _rowBytes(row):
    """The bytes of a member's entry in a memberlist."""
    node_id, host, port, scheme = row
    return len(json.dumps({"id": wireId(node_id), "host": host, "port": port,
                           "scheme": scheme},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


@implementer(IPlugin, ITrackerExtensionPlugin)
class StatusTrackerPlugin:
    name = "status"

    def build(self, tracker):
        return StatusExtension(tracker)
