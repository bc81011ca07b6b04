"""
The tracker's side of the status messages: ``members`` is answered with
``memberlist``.  An extension every tracker hosts (see
L{twisted_bazaar.tracker.extension}).
"""

import json

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.status.messages import MAX_ENTRIES, MemberList, Members
from twisted_bazaar.tracker.extension import ITrackerExtension, ITrackerExtensionPlugin


@implementer(ITrackerExtension)
class StatusExtension:
    """Answers ``members`` with the live nodes that take links, once
    their address is checked."""

    def __init__(self, tracker):
        self.tracker = tracker
        self.handlers = {Members: self._members}

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
        """The members in id order, cut short where they would no longer
        fit in one frame (or MAX_ENTRIES)."""
        members = self.members()
        room = self.tracker.settings.frame_limit - 64
        rows = []
        for row in members[:MAX_ENTRIES]:
            node_id, host, port, scheme = row
            room -= len(json.dumps({"id": wireId(node_id), "host": host, "port": port,
                                    "scheme": scheme},
                                   ensure_ascii=False, separators=(",", ":"))
                        .encode("utf-8")) + 1
            if room < 0:
                break
            rows.append(row)
        link.send(MemberList(tuple(rows), len(members)))


@implementer(IPlugin, ITrackerExtensionPlugin)
class StatusTrackerPlugin:
    name = "status"

    def build(self, tracker):
        return StatusExtension(tracker)
