"""
Key routing: how a Chord request reaches the node that holds its key.

Lookups are **recursive**: each node passes the request to the best next
hop it knows (its successor if the key lies just past itself, else its
finger closest before the key), appending its own id to the request's
``returnPath``; the holder answers along the reversed path (or straight
to the origin when linked to it), through every node's path router.

A node keeps standing links only to its successors and predecessor
(L{upkeep}); a finger is an address.  A hop to a peer with no link opens
one (purpose L{FINGER}, closed by the overlay once idle) and holds the
request until it is up, a few requests a peer and a bounded number in
all; a connection that fails or takes longer than the lookup timeout is
routed round (the next best hop), and a finger nothing listens at is
forgotten.  The origin only sees the whole lookup succeed or time out;
it then asks again.  A request that reaches a node still joining waits
there (a bounded number) until the node has its place (L{KeyRouter.placed}).
"""

import attr
from twisted.internet import defer
from twisted.logger import Logger, LogLevel

from twisted_bazaar.core.topology import dialWhy
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar import wire
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.net.opening import NoRoute, Unreachable
from twisted_bazaar.routing.path import NO_LINK_GROUP
from twisted_bazaar.schemes.chord.messages import ChordFind, ChordRequest, ChordStore
from twisted_bazaar.schemes.chord.ring import between, keyOf
from twisted_bazaar.schemes.chord.settings import FINGER
from twisted_bazaar.wire.ids import shortId

#: Requests a node holds for one hop whose link is being opened, and in
#: all: past them, a request is dropped (its origin times out and asks
#: again), so a flood of requests towards dead fingers cannot fill memory.
HELD_PER_HOP = 16
HELD_IN_ALL = 256
#: Requests a joining node holds until it has its place (L{KeyRouter.placed}).
HELD_UNPLACED = 16


class _Pending:
    """
    A lookup this node started: its Deferred and its timeout; for one
    that reaches several holders (L{KeyRouter._fanOut}), the test of an
    answer that ends it at once (C{settles}; None: none does), how many
    distinct holders must answer otherwise (C{wanted}), those heard, and
    the best answer so far (the lowest C{rank}; the last if no rank).
    """

    __slots__ = ("finished", "timer", "settles", "wanted", "rank", "heard", "best")

    def __init__(self, finished, timer, settles=None, wanted=1, rank=None):
        self.finished = finished
        self.timer = timer
        self.settles = settles
        self.wanted = wanted
        self.rank = rank
        self.heard = None
        self.best = None

    def ends(self, answer):
        """Take an answer; does it end the lookup?"""
        if self.wanted <= 1 or (self.settles is not None and self.settles(answer)):
            self.best = answer
            return True
        if self.heard is None:
            self.heard = set()
        self.heard.add(answer.holder)
        if (self.best is None or self.rank is None
                or self.rank(answer) < self.rank(self.best)):
            self.best = answer
        return len(self.heard) >= self.wanted


class _Dial:
    """A link being opened to a next hop: its Deferred, the timer that
    gives up on it, and the requests waiting for it, each as (request,
    key, path, peers to avoid)."""

    __slots__ = ("connecting", "timer", "waiting")

    def __init__(self, waiting):
        self.connecting = None
        self.timer = None
        self.waiting = waiting


def requestKey(request):
    """The ring position a request goes to: its key, or its item's."""
    key = getattr(request, "key", None)
    return keyOf(request.item) if key is None else key


class KeyRouter:
    """
    Starts, passes on and serves one node's key-routed requests.

    @ivar ring: the node's L{Neighbourhood}, once it has joined.
    @ivar host: the node's scheme, which L{serve}s the requests this node
        holds the key of (C{host.serve(request, path, hops)}: the answer,
        addressed along path, or None for none), says whether requests
        that come before this node is on the ring are held
        (C{host.unplaced()}: True if the node is joining, and the request
        is held until it is placed, L{placed}; False if it is not, and the
        request is dropped), and names who named a next hop
        (C{host.namerOf(peer)}: the address group of that link,
        L{twisted_bazaar.reach.dialer.Peer.namedBy}, or None).  One
        reference, not a bound method each: a large simulated ring holds
        a router a node.
    @ivar wait: seconds a request may wait for the link to its next hop
        (the lookup timeout: its origin has given up by then).
    @ivar holders: how many holders this node's own requests for sellers
        and stores ask to reach (L{_fanOut}).
    """

    # Slots, not a dict: a simulation holds one a node.
    __slots__ = ("node", "host", "wait", "holders", "ring", "accepting", "_pending", "_dialing",
                 "_held", "_early")

    log = Logger()

    def __init__(self, node, host, wait, holders=1):
        self.node = node
        self.host = host
        self.wait = wait
        self.holders = holders
        self.ring = None
        self.accepting = False
        #: lookup id -> its L{_Pending}.  This and L{_dialing} are
        #: L{NOTHING} until written, L{_early} an empty tuple: nearly every
        #: node of a large simulated ring holds them empty.
        self._pending = NOTHING
        #: peer id -> L{_Dial}: the links being opened to next hops.
        self._dialing = NOTHING
        self._held = 0
        #: (request, sender) that came before this node had its place.
        self._early = ()

    # -- this node's own lookups ---------------------------------------------------

    def start(self, build, timeout, via=None, settles=None, wanted=1, rank=None):
        """
        Send the request ``build(lookup_id)`` (with an empty returnPath) on
        its way, through peer ``via`` if given (when joining).  A request
        that reaches several holders (L{_fanOut}) ends at the first answer
        that C{settles(answer)} approves, or once C{wanted} distinct
        holders answered, with the answer of lowest C{rank(answer)} (the
        last, without rank).

        @return: a Deferred firing with the answer, or when none ended the
            lookup within timeout the best that came, or None; cancelling
            it forgets the lookup.
        """
        node = self.node
        lookup_id = node.rng.randrange(1, wire.ID_LIMIT)

        def cancel(d):
            pending = self._pending.pop(lookup_id, None)
            if pending is not None and pending.timer.active():
                pending.timer.cancel()

        finished = defer.Deferred(cancel)
        timer = node.clock.callLater(timeout, self._timedOut, lookup_id)
        own(self, "_pending")[lookup_id] = _Pending(finished, timer, settles, wanted, rank)
        request = build(lookup_id)
        if via is None:
            self.arrived(request, None)
        elif (link := node.linkTo(via)) is not None:
            link.send(attr.evolve(request, return_path=(node.id,)))
        return finished

    def reachable(self):
        """How many holders a request of this node's asking for
        C{holders} can reach: that many, or fewer on a ring that has fewer
        other nodes than that as far as this node knows."""
        ring = self.ring
        if ring is None:
            return 1
        known = {peer.id for peer in ring.successors}
        known.update(peer.id for peer in ring.fingers if peer is not None)
        return max(1, min(self.holders, len(known)))

    def _timedOut(self, lookup_id):
        pending = self._pending.pop(lookup_id)
        pending.finished.callback(pending.best)

    def awaits(self, answer):
        """Whether answer answers one of this node's lookups in progress."""
        return answer.id in self._pending

    def answered(self, answer):
        """An answer reached this node: it ends the lookup of its id, if
        that lookup waits for no more."""
        pending = self._pending.get(answer.id)
        if pending is None or not pending.ends(answer):
            return
        del self._pending[answer.id]
        pending.timer.cancel()
        pending.finished.callback(pending.best)

    def stop(self):
        """End every lookup in progress, with no answer, and abandon the
        links being opened with the requests waiting for them."""
        pending, self._pending = self._pending, NOTHING
        for each in pending.values():
            each.timer.cancel()
            each.finished.callback(None)
        dialing, self._dialing = self._dialing, NOTHING
        self._held = 0
        self._early = ()
        for dial in dialing.values():
            dial.waiting = []
            if dial.timer is not None and dial.timer.active():
                dial.timer.cancel()
            if dial.connecting is not None:
                dial.connecting.cancel()

    def useRing(self, ring):
        """ring (a L{Neighbourhood}) is the one requests are routed round
        from now on (the scheme's, L{IRingHost.useRing
        <twisted_bazaar.schemes.chord.upkeep.IRingHost.useRing>})."""
        self.ring = ring

    def quitting(self):
        """The node quits the ring, handing its records over: a request
        that comes now is not taken (L{arrived})."""
        self.accepting = False

    def placed(self):
        """This node has its place: the requests that came before go on."""
        self.accepting = True
        early, self._early = self._early, ()
        for request, sender in early:
            self.arrived(request, sender)

    def _peerLine(self, sender, format, **fields):
        """Log a line the peer ``sender`` caused, through the node's
        L{PeerLog} (a few per address group and interval; charged to the
        peers no longer linked if its link is gone), or at once if it is
        this node's own doing (sender None)."""
        if sender is None:
            self.log.info(format, **fields)
            return
        link = self.node.linkTo(sender)
        if link is None:
            self.node.overlay.peer_log.emit(self.log, LogLevel.info, NO_LINK_GROUP,
                                            format, **fields)
        else:
            link.peerLine(LogLevel.info, format, logger=self.log, **fields)

    # -- requests on their way ---------------------------------------------------------

    def received(self, link, request):
        """A request came from a peer: it must name that peer last."""
        if request.return_path[-1] != link.peer_id:
            link.protocolError("wtf", f"{request.TYPE}.returnPath must end with "
                               "the sender's id")
            return
        if getattr(request, "direct", None) and len(request.return_path) != 1:
            link.protocolError("wtf", f"a direct {request.TYPE}.returnPath must be "
                               "the sender's id alone")
            return
        self.arrived(request, link.peer_id)

    #: The requests the router takes: message class -> function(router,
    #: link, request).
    takes = {ChordFind: received, ChordRequest: received, ChordStore: received}

    def arrived(self, request, sender):
        """
        Serve the request here if this node holds its key (or the sender
        says it does: the key lies between the two), else pass it on.
        """
        if not self.accepting:
            if not self.host.unplaced() or len(self._early) >= HELD_UNPLACED:
                self.log.debug("dropping {type}: this node is not on the ring",
                               type=request.TYPE)
            else:
                self._early += ((request, sender),)
            return
        node, ring = self.node, self.ring
        key = requestKey(request)
        path = request.return_path
        if getattr(request, "direct", None):
            # A detour's question or store, for this node alone.
            self._serve(request)
            return
        if node.id in path:
            if path[0] != node.id:
                self._peerLine(sender, "dropping {type} {id}: it came round a loop",
                               type=request.TYPE, id=request.id)
                return
            self._serve(request)
        elif ring.responsible(key) or (sender is not None
                                       and between(key, sender, node.id)):
            self._serve(request)
        else:
            self._forward(request, key, path)

    def _forward(self, request, key, path, avoid=frozenset()):
        """Pass the request to the best next hop not on its path nor in
        avoid (peers that could not be reached for it), over its link, or
        over one opened for it."""
        node = self.node
        if len(path) >= wire.MAX_PATH:
            self._peerLine(path[-1], "dropping {type} {id}: its returnPath is full",
                           type=request.TYPE, id=request.id)
            return
        passed = set(path)
        passed.update(avoid)
        hops = self._fanOut(request, key, path, passed, avoid)
        if not hops:
            hop = self.ring.nextHop(key, lambda peer: peer not in passed)
            if hop is None:
                self.log.debug("dropping {type} {id}: no hop left towards key {key}",
                               type=request.TYPE, id=request.id, key=key)
                return
            hops = (hop,)
        for hop in hops:
            link = node.linkTo(hop.id)
            if link is not None:
                link.send(attr.evolve(request, return_path=path + (node.id,)))
            else:
                self._hold(hop, (request, key, path, avoid))

    def _fanOut(self, request, key, path, passed, avoid):
        """
        The holders a request for sellers, or a store, goes to from the
        last node before its key, if its origin asked for more than one
        (its ``holders``): that many of this node's first usable
        successors (the key's holder and those that keep its replicas;
        the origin may be one, and serves it when it comes back, unless it
        could not be reached); else () (not the last hop, another kind of
        request, or one holder asked).  Each serves it (the key lies
        between this node and each), so a holder that hides a record, or
        drops a store, hides nothing: the next ones answer too.
        """
        wanted = getattr(request, "holders", None)
        if wanted is None or wanted < 2:
            return ()
        origin = path[0] if path and path[0] not in avoid else None
        live = [peer for peer in self.ring.successors
                if peer.id not in passed or peer.id == origin]
        if not live or not between(key, self.node.id, live[0].id):
            return ()
        return live[:wanted]

    # -- links to next hops -----------------------------------------------------------

    def _hold(self, hop, waiting):
        """Hold a request until the link to hop is up, opening it if it is
        not on its way."""
        request = waiting[0]
        dial = self._dialing.get(hop.id)
        if (self._held >= HELD_IN_ALL
                or (dial is not None and len(dial.waiting) >= HELD_PER_HOP)):
            path = waiting[2]
            self._peerLine(path[-1] if path else None, "dropping {type} {id}: too many "
                           "requests wait for links to next hops", type=request.TYPE,
                           id=request.id)
            return
        self._held += 1
        if dial is not None:
            dial.waiting.append(waiting)
            return
        dial = own(self, "_dialing")[hop.id] = _Dial([waiting])
        self.node.heard(hop.id, hop.host, hop.port, namedBy=self.host.namerOf(hop))
        connecting = dial.connecting = self.node.connectTo(hop.id, FINGER)
        connecting.addCallbacks(self._dialed, self._notDialed, callbackArgs=(hop, dial),
                                errbackArgs=(hop, dial))
        if self._dialing.get(hop.id) is dial:
            dial.timer = self.node.clock.callLater(self.wait, self._dialTooLong, dial)

    def _release(self, hop, dial):
        """The dial to hop is over: its requests, no longer held."""
        if self._dialing.get(hop.id) is dial:
            del self._dialing[hop.id]
        if dial.timer is not None and dial.timer.active():
            dial.timer.cancel()
        dial.timer = None
        self._held -= len(dial.waiting)
        waiting, dial.waiting = dial.waiting, []
        return waiting

    def _dialed(self, peer_id, hop, dial):
        self._resume(self._release(hop, dial), hop)

    def _notDialed(self, reason, hop, dial):
        waiting = self._release(hop, dial)
        if reason.check(defer.CancelledError):
            # Given up (see _dialTooLong), or this node is stopping.
            return None
        ring = self.ring
        if self.node.linkTo(hop.id) is None:
            if (reason.check(Unreachable, NoRoute) and ring is not None
                    and hop not in ring.watched()):
                # A finger nothing listens at: forget it; finger repair
                # finds its replacement.  Neighbours are judged by pings.
                ring.remove(hop.id)
            self.log.debug("no link to next hop {hop}: {why}", hop=shortId(hop.id),
                           why=inWords(reason))
            self.node.events.linkFailed(hop.id, hop.host, hop.port,
                                        dialWhy(reason, hop.host, hop.port))
        self._resume(waiting, hop)
        return None

    def _resume(self, waiting, hop):
        """Send the requests that waited for hop on its link, or, if there
        is none after all, on to the next best hop."""
        link = self.node.linkTo(hop.id)
        for request, key, path, avoid in waiting:
            if link is not None:
                link.send(attr.evolve(request, return_path=path + (self.node.id,)))
            else:
                self._forward(request, key, path, avoid | {hop.id})

    def _dialTooLong(self, dial):
        """A link took longer than a lookup may wait: its requests go
        nowhere (their origins have given up on them)."""
        dial.timer = None
        self.log.info("dropping {count} request(s): no link to the next hop "
                      "within {wait:g} s", count=len(dial.waiting), wait=self.wait)
        dial.connecting.cancel()

    def _serve(self, request):
        """Answer a request whose key this node holds (a store of a record
        it does not take gets no answer, but for a full key's or an
        untimely one's: L{Holding._stored})."""
        node = self.node
        path = request.return_path
        here = not path or path[0] == node.id
        if here:
            back = (node.id,)
        elif node.linkTo(path[0]) is not None:
            back = (node.id, path[0])
        else:
            back = (node.id,) + path[::-1]
        answer = self.host.serve(request, back, len(path))
        if answer is None:
            return
        if here:
            self.answered(answer)
        else:
            node.route(answer)
