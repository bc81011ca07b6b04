"""
The tracker's answers to ``nodereq`` (introduce another live node) and
``whereis`` (where a node is now), each looked up within its asker's
address group's rate: a part of the L{Tracker
<twisted_bazaar.tracker.service.Tracker>}, with its own state (that rate),
reading the tracker's registry.
"""

from twisted_bazaar import wire
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.limits import GroupRates
from twisted_bazaar.wire.ids import NO_ID


class Introductions:
    """
    Answers ``nodereq`` and ``whereis``.  Past its rate a question is
    still answered, at once and in its turn, as if nobody were known: its
    asker matches answers to questions by their order (and their number,
    ``q``, echoed, once it numbers them), so none may be dropped, and an answer that looks nothing up costs the tracker no more
    than the question cost the asker.
    """

    def __init__(self, tracker, limit, remembered):
        """
        @param limit: the lookups one address group may have a second
            (a L{twisted_bazaar.base.limitregistry} limit).
        @param remembered: address groups whose rate is remembered.
        """
        self.tracker = tracker
        self.rates = GroupRates(limit, remembered=remembered)

    def _mayLookUp(self, link):
        return self.rates.take(groupOf(link), self.tracker.clock.seconds())

    def _nodeAsked(self, link, request):
        q = request.q
        if not self._mayLookUp(link):
            link.send(wire.NodeReply(NO_ID, "", 0, q=q))
            return
        registry = self.tracker.registry
        found = registry.pick(link.peer_id, request.exclude, request.scheme,
                              bool(request.superpeer))
        if found is None:
            link.send(wire.NodeReply(NO_ID, "", 0, q=q))
        else:
            link.send(wire.NodeReply(*found, paths=registry.pathsOf(found[0], link.peer_id),
                                     q=q))

    def _whereAsked(self, link, request):
        q = request.q
        if not self._mayLookUp(link):
            link.send(wire.NodeReply(request.id, "", 0, q=q))
            return
        registry = self.tracker.registry
        link.send(wire.NodeReply(request.id, *registry.address(request.id, link.peer_id),
                                 paths=registry.pathsOf(request.id, link.peer_id), q=q))

    #: What it answers (the tracker's table, L{twisted_bazaar.net.handlers});
    #: the paths it names are those the tracker may tell the asker
    #: (L{twisted_bazaar.tracker.registry.Registry.pathsOf}).
    takes = {wire.NodeReq: _nodeAsked, wire.WhereIs: _whereAsked}
