"""
Key routing: how a Chord request reaches the node that holds its key.

Lookups are **recursive**: each node passes the request to the best next
hop it has a live link to (its successor if the key lies just past itself,
else its finger closest before the key), appending its own id to the
request's ``returnPath``; the holder answers along the reversed path (or
straight to the origin when linked to it), through every node's path
router.  Every hop uses a link that already exists (a ring or finger
link), so a lookup costs no connection set-up and no round trip per hop,
and a hop whose link is gone is routed round at once by the node that
notices.  The cost is that the origin only sees the whole lookup succeed
or time out; it then asks again.
"""

import attr
from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.schemes.chord.ring import between, keyOf


class _Pending:
    """A lookup this node started: its Deferred and its timeout."""

    __slots__ = ("finished", "timer")

    def __init__(self, finished, timer):
        self.finished = finished
        self.timer = timer


def requestKey(request):
    """The ring position a request goes to: its key, or its item's."""
    key = getattr(request, "key", None)
    return keyOf(request.item) if key is None else key


class KeyRouter:
    """
    Starts, passes on and serves one node's key-routed requests.

    @ivar ring: the node's L{Neighbourhood}, once it has joined.
    @ivar serve: C{serve(request, path, hops)} returns the answer to a
        request this node holds the key of, addressed along path, or None
        for none.
    @ivar unplaced: called when a request comes before this node is on the
        ring; returns True if it now is (it started the ring).
    """

    log = Logger()

    def __init__(self, node, serve, unplaced):
        self.node = node
        self.serve = serve
        self.unplaced = unplaced
        self.ring = None
        self.accepting = False
        self._pending = {}

    # -- this node's own lookups ---------------------------------------------------

    def start(self, build, timeout, via=None):
        """
        Send the request ``build(lookup_id)`` (with an empty returnPath) on
        its way, through peer ``via`` if given (when joining).

        @return: a Deferred firing with the answer, or None if none came
            within timeout; cancelling it forgets the lookup.
        """
        node = self.node
        lookup_id = node.rng.randrange(1, wire.ID_LIMIT)

        def cancel(d):
            pending = self._pending.pop(lookup_id, None)
            if pending is not None and pending.timer.active():
                pending.timer.cancel()

        finished = defer.Deferred(cancel)
        timer = node.clock.callLater(timeout, self._timedOut, lookup_id)
        self._pending[lookup_id] = _Pending(finished, timer)
        request = build(lookup_id)
        if via is None:
            self.arrived(request, None)
        elif via in node.links:
            node.links[via].send(attr.evolve(request, return_path=(node.id,)))
        return finished

    def _timedOut(self, lookup_id):
        pending = self._pending.pop(lookup_id)
        pending.finished.callback(None)

    def answered(self, answer):
        """An answer reached this node: it ends the lookup of its id."""
        pending = self._pending.pop(answer.id, None)
        if pending is None:
            return
        pending.timer.cancel()
        pending.finished.callback(answer)

    def stop(self):
        """End every lookup in progress, with no answer."""
        pending, self._pending = self._pending, {}
        for each in pending.values():
            each.timer.cancel()
            each.finished.callback(None)

    # -- requests on their way ---------------------------------------------------------

    def received(self, link, request):
        """A request came from a peer: it must name that peer last."""
        if request.return_path[-1] != link.peer_id:
            link.protocolError("wtf", f"{request.TYPE}.returnPath must end with "
                               "the sender's id")
            return
        self.arrived(request, link.peer_id)

    def arrived(self, request, sender):
        """
        Serve the request here if this node holds its key (or the sender
        says it does: the key lies between the two), else pass it on.
        """
        if not self.accepting and not self.unplaced():
            self.log.debug("dropping {type}: this node is not on the ring",
                          type=request.TYPE)
            return
        node, ring = self.node, self.ring
        key = requestKey(request)
        path = request.return_path
        if node.id in path:
            if path[0] != node.id:
                self.log.info("dropping {type} {id}: it came round a loop",
                              type=request.TYPE, id=request.id)
                return
            self._serve(request)
        elif ring.responsible(key) or (sender is not None
                                       and between(key, sender, node.id)):
            self._serve(request)
        else:
            self._forward(request, key, path)

    def _forward(self, request, key, path):
        node = self.node
        if len(path) >= wire.MAX_PATH:
            self.log.info("dropping {type} {id}: its returnPath is full",
                          type=request.TYPE, id=request.id)
            return
        passed = set(path)
        links = node.links
        hop = self.ring.nextHop(key, lambda peer: peer in links and peer not in passed)
        if hop is None:
            self.log.debug("dropping {type} {id}: no live link towards key {key}",
                          type=request.TYPE, id=request.id, key=key)
            return
        links[hop.id].send(attr.evolve(request, return_path=path + (node.id,)))

    def _serve(self, request):
        """Answer a request whose key this node holds (a store of a record
        it does not take gets no answer)."""
        node = self.node
        path = request.return_path
        here = not path or path[0] == node.id
        if here:
            back = (node.id,)
        elif path[0] in node.links:
            back = (node.id, path[0])
        else:
            back = (node.id,) + path[::-1]
        answer = self.serve(request, back, len(path))
        if answer is None:
            return
        if here:
            self.answered(answer)
        else:
            node.route(answer)
