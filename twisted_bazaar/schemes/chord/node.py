"""
The node's side of the Chord scheme: it joins the ring, keeps it (pings,
stabilization, fingers), holds and replicates records, publishes a
seller's items and looks items up for a buyer.  Decisions are made by the
plain objects of L{state}, L{records} and L{routing}; this module does the
I/O and owns every timer.
"""

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.overlay import Unreachable
from twisted_bazaar.schemes import IDiscovery, Offer, offerFields
from twisted_bazaar.schemes.chord.adverts import Publisher, ignoreCancel
from twisted_bazaar.schemes.chord.messages import (
    MAX_SELLERS,
    MAX_TRANSFER,
    ChordFind,
    ChordFound,
    ChordPing,
    ChordPong,
    ChordQuit,
    ChordRecords,
    ChordRequest,
    ChordStabilize,
    ChordState,
    ChordStore,
    ChordStored,
    ChordTransfer,
    ChordTransferred,
    Handed,
    sellerOf,
)
from twisted_bazaar.schemes.chord.records import Record, RecordStore
from twisted_bazaar.schemes.chord.ring import BITS, fingerStart, keyOf, strictlyBetween
from twisted_bazaar.schemes.chord.routing import KeyRouter
from twisted_bazaar.schemes.chord.settings import CHORD, ChordSettings
from twisted_bazaar.schemes.chord.state import Neighbourhood, Peer

#: Longest pause between two attempts to join.
JOIN_RETRY_MAX = 30.0


@implementer(IDiscovery)
class ChordDiscovery(Service, NodeObserver):
    """
    A Chord node.

    @ivar ring: its L{Neighbourhood} once the node has an id.
    @ivar records: the L{RecordStore} of the records it holds, as their
        holder or as a replica.
    @ivar joined: True once it has a place on the ring.
    """

    name = "chord"
    superpeer = None
    log = Logger()

    def __init__(self, node, settings=None):
        self.node = node
        self.settings = settings or ChordSettings()
        self.ring = None
        self.records = RecordStore(self.settings.max_records)
        self.router = KeyRouter(node, self._serve, self._seed)
        self.publisher = Publisher(node, self.router, self.settings)
        self.joined = False
        self.stopped = False
        self._timers = {}
        self._connecting = {}
        #: peer id -> nonce of its unanswered ping (None: it could not be pinged).
        self._awaiting = {}
        self._stabilizing = None
        self._joining = None
        self._join_delay = self.settings.stabilize
        self._finger = 0
        self._fixing = None
        self._probe_delay = self.settings.probe
        self._nonce = 0
        self._handover = None
        #: peer id -> clock time until which it counts as gone (see _bury).
        self._graves = {}
        node.overlay.budgets[CHORD] = self.settings.links
        for kind, handler in (
                (ChordPing, self._pinged), (ChordPong, self._ponged),
                (ChordStabilize, self._stabilizeAsked), (ChordState, self._stated),
                (ChordQuit, self._quitted), (ChordTransfer, self._transferred),
                (ChordTransferred, self._handedOver),
                (ChordFind, self.router.received), (ChordRequest, self.router.received),
                (ChordStore, self.router.received)):
            node.handle(kind, handler)
        node.discovery = self
        node.addObserver(self)

    # -- small helpers --------------------------------------------------------------

    def _me(self):
        node = self.node
        return Peer(node.id, node.host, node.port)

    def _later(self, name, delay, function, *args):
        """Run function after delay, replacing what was due under name."""
        self._cancel(name)
        self._timers[name] = self.node.clock.callLater(delay, self._fire, name,
                                                       function, args)

    def _fire(self, name, function, args):
        self._timers.pop(name, None)
        function(*args)

    def _cancel(self, name):
        call = self._timers.pop(name, None)
        if call is not None and call.active():
            call.cancel()

    def _every(self, period):
        """A period with +-25% jitter, so that nodes do not tick together."""
        return period * (0.75 + 0.5 * self.node.rng.random())

    def _newNonce(self):
        self._nonce += 1
        return self._nonce

    def _bury(self, peer_id):
        """
        A peer died or left: for a while, refuse to take it back from a
        neighbour's list or predecessor, which may still name it until
        their own pings (or stabilizations) catch up: long enough for the
        news to travel the whole successor list.
        """
        settings = self.settings
        wait = 2 * ((settings.missed + 1) * settings.ping
                    + (settings.successors + 1) * settings.stabilize)
        now = self.node.clock.seconds()
        self._graves = {peer: until for peer, until in self._graves.items() if until > now}
        self._graves[peer_id] = now + wait

    def _living(self, peers):
        """The peers that are not buried."""
        now = self.node.clock.seconds()
        return tuple(peer for peer in peers if self._graves.get(peer.id, 0) <= now)

    # -- joining ----------------------------------------------------------------------

    def trackerRegistered(self):
        self._join()

    def _join(self, probe=False):
        """
        Ask the tracker for a chord node and look our own id up through
        it: to join, to leave a ring of one, or (a probe) to find a closer
        successor on a ring that formed apart from ours.
        """
        node, membership = self.node, self.node.membership
        if self.stopped or self._joining is not None or node.stopping:
            return
        if self.joined and not self.ring.alone and not probe:
            return
        if membership is None or not membership.isRegistered or node.id is None:
            return
        if self.ring is None:
            self.ring = self.router.ring = Neighbourhood(self._me(), self.settings.successors)
        asked = membership.ask(wire.NodeReq((node.id,), scheme=self.name))
        self._joining = asked
        asked.addCallback(self._introduced)
        asked.addErrback(self._joinFailed)

    def _introduced(self, reply):
        node = self.node
        if reply.id < 0 or reply.id == node.id:
            self._joining = None
            if not self.joined:
                self._begin()
                self.log.info("alone on the chord ring as node {id}", id=node.id)
            return None
        connecting = node.connectTo(reply.host, reply.port, reply.id, CHORD)
        connecting.addCallback(lambda peer: self.router.start(
            lambda i: ChordFind(i, node.id, ()), self.settings.lookup_timeout, via=peer))
        connecting.addCallback(self._placed)
        return connecting

    def _placed(self, found):
        """The node that holds our id: our successor, if it is nearer than
        the one we have."""
        self._joining = None
        if found is None or self.stopped:
            raise Unreachable("no answer to chordFind")
        ring, me = self.ring, self.node.id
        if found.node.id == me:
            if not self.joined:
                self._begin()
            return
        first = not self.joined
        if not (first or ring.alone or strictlyBetween(found.node.id, me,
                                                       ring.successor.id)):
            return
        self._update(lambda: ring.adopt(found.node, self._living(found.succs)
                                        + tuple(ring.successors)))
        self._begin()
        self.log.info("{how} the chord ring as node {id}: successor {succ}",
                      how="joined" if first else "merged into", id=me,
                      succ=ring.successor.id)
        self._join_delay = self.settings.stabilize
        self._askSuccessor()

    def _joinFailed(self, reason):
        self._joining = None
        if reason.check(defer.CancelledError) or self.stopped:
            return
        if self.joined and not self.ring.alone:
            return
        self.log.info("could not join the chord ring yet: {why}",
                      why=reason.getErrorMessage())
        delay = self._every(self._join_delay)
        self._join_delay = min(self._join_delay * 2, JOIN_RETRY_MAX)
        self._later("join", delay, self._join)

    def _seed(self):
        """
        A request came before this node found its place.  Nodes that start
        together are introduced to each other before any is on the ring, so
        the one asked first starts it; rings started apart merge through
        the probes.
        """
        if self.stopped or self.ring is None or self.joined:
            return False
        self._begin()
        self.log.info("started the chord ring as node {id}", id=self.node.id)
        return True

    def _probe(self):
        """Probe, then again after twice as long, up to the probe period:
        rings that formed apart do so while the nodes start."""
        self._probe_delay = min(self._probe_delay * 2, self.settings.probe)
        self._later("probe", self._every(self._probe_delay), self._probe)
        self._join(probe=True)

    def place(self, successors, predecessor, fingers):
        """
        Take a place on the ring without asking anyone: for a simulator
        that starts a large ring in the state stabilization converges to
        (and links its nodes itself).  The ring is kept as usual from then
        on.
        """
        ring = self.ring = self.router.ring = Neighbourhood(self._me(),
                                                            self.settings.successors)
        ring.adopt(successors[0], successors[1:])
        ring.predecessor = predecessor
        ring.fingers = list(fingers)
        self._begin()

    def _begin(self):
        """The node has a place: start keeping the ring, and publish."""
        if self.joined:
            return
        self.joined = True
        self.router.accepting = True
        settings = self.settings
        self._later("stabilize", self._every(settings.stabilize), self._stabilize)
        self._later("ping", self._every(settings.ping), self._ping)
        self._later("fingers", self._every(settings.fix_fingers), self._fixFinger)
        self._later("purge", settings.refresh, self._purge)
        # A first probe soon: nodes that started together may have started
        # more than one ring.
        self._probe_delay = min(2 * settings.stabilize, settings.probe)
        self._later("probe", self._every(self._probe_delay), self._probe)
        self.publisher.start()

    # -- keeping the ring ---------------------------------------------------------------

    def _update(self, change):
        """Apply a change to the ring; if the neighbours moved, act on it."""
        ring = self.ring
        before = (list(ring.successors), ring.predecessor)
        result = change()
        if (ring.successors, ring.predecessor) != before:
            self._moved(*before)
        return result

    def _moved(self, old_successors, old_pred):
        """
        Successors or predecessor changed: link to the new ones, give a
        new predecessor the records it now holds, and copy the records
        this node holds to its successors (the replicas).
        """
        ring, now = self.ring, self.node.clock.seconds()
        me = self.node.id
        self.log.info("ring neighbours: predecessor {pred}, successors {succs}",
                      pred=ring.predecessor.id if ring.predecessor else None,
                      succs=[peer.id for peer in ring.successors])
        for peer in ring.successors:
            self._ensureLink(peer)
        pred = ring.predecessor
        closer = pred is not None and pred != old_pred and (
            old_pred is None or strictlyBetween(pred.id, old_pred.id, me))
        if closer:
            low = old_pred.id if old_pred is not None else me
            self._send(pred, self.records.inRange(low, pred.id, now))
        grew = pred != old_pred and not closer
        self._replicate([peer for peer in ring.successors
                         if grew or peer not in old_successors])

    def _held(self):
        """The live records whose key this node holds (all of them while
        it knows no predecessor)."""
        pred, now = self.ring.predecessor, self.node.clock.seconds()
        if pred is None:
            return self.records.records(now)
        return self.records.inRange(pred.id, self.node.id, now)

    def _replicate(self, peers):
        """Copy the records this node holds to those of its successors."""
        if peers and len(self.records):
            held = self._held()
            for peer in peers:
                self._send(peer, held)

    def _send(self, peer, records, confirm=False):
        """Hand records to a linked peer, in as many transfers as needed;
        with confirm, each asks for a chordTransferred.  Returns their
        nonces."""
        link = self.node.links.get(peer.id)
        if link is None or not records:
            return []
        now = self.node.clock.seconds()
        nonces = []
        for start in range(0, len(records), MAX_TRANSFER):
            chunk = tuple(Handed.of(record, now)
                          for record in records[start:start + MAX_TRANSFER])
            nonce = self._newNonce() if confirm else None
            if nonce is not None:
                nonces.append(nonce)
            link.send(ChordTransfer(chunk, nonce))
        return nonces

    def _ensureLink(self, peer):
        """Open a ring link to peer unless there is one (or one coming)."""
        node = self.node
        if (self.stopped or peer.id == node.id or peer.id in node.links
                or peer.id in self._connecting or node.stopping):
            return
        connecting = node.connectTo(peer.host, peer.port, peer.id, CHORD)
        self._connecting[peer.id] = connecting
        connecting.addCallbacks(self._linked, self._notLinked,
                                callbackArgs=(peer,), errbackArgs=(peer,))

    def _linked(self, peer_id, peer):
        self._connecting.pop(peer.id, None)
        ring = self.ring
        if ring is not None and peer in ring.successors:
            # Records could not be copied to it before it was linked.
            self._replicate([peer])
        if (self._stabilizing is None and ring is not None and not self.stopped
                and ring.successor is not None and ring.successor.id == peer.id):
            # A new successor: stabilize with it now, not at the next tick,
            # so that a walk back from a far successor takes round trips,
            # not periods.
            self._askSuccessor()

    def _notLinked(self, reason, peer):
        self._connecting.pop(peer.id, None)
        if reason.check(defer.CancelledError) or self.stopped:
            return
        if reason.check(Unreachable) and self.ring is not None and (
                peer not in self.ring.watched()):
            # A finger nothing listens at: forget it; the next round finds
            # its replacement.  Neighbours are judged by their pings.
            self.ring.remove(peer.id)

    def _stabilize(self):
        self._later("stabilize", self._every(self.settings.stabilize), self._stabilize)
        ring = self.ring
        if ring.alone:
            if ring.predecessor is None:
                self._join()
            return
        self._askSuccessor()

    def _askSuccessor(self):
        succ = self.ring.successor
        if succ is None:
            return
        link = self.node.links.get(succ.id)
        if link is None:
            self._ensureLink(succ)
            return
        nonce = self._newNonce()
        self._stabilizing = (succ.id, nonce)
        link.send(ChordStabilize(nonce))

    def _stabilizeAsked(self, link, message):
        """A node that takes us for its successor: notify, then answer."""
        ring = self.ring
        if not self.joined or self.stopped:
            return
        host, port = self.node.overlay.addresses.get(link.peer_id, ("", 0))
        self._update(lambda: ring.notified(Peer(link.peer_id, host, port)))
        pred = ring.predecessor
        link.send(ChordState(message.nonce, pred, tuple(ring.successors)))

    def _stated(self, link, message):
        """Our successor's predecessor and list: adopt them."""
        if self._stabilizing != (link.peer_id, message.nonce):
            return
        self._stabilizing = None
        ring, me = self.ring, self.node.id
        ring.answered(link.peer_id)
        succ = ring.successor
        if succ is None or succ.id != link.peer_id:
            return
        pred = message.pred
        if pred is not None and not self._living([pred]):
            pred = None
        theirs = self._living(message.succs)

        def change():
            if pred is not None and strictlyBetween(pred.id, me, succ.id):
                ring.adopt(pred, (succ,) + theirs)
                return True
            ring.adopt(succ, theirs)
            return False

        if self._update(change):
            self._askSuccessor()

    def _ping(self):
        """Ping the successors and the predecessor; k misses make one dead."""
        self._later("ping", self._every(self.settings.ping), self._ping)
        ring, links = self.ring, self.node.links
        for peer in ring.watched():
            if peer.id in self._awaiting and (
                    ring.missed(peer.id) >= self.settings.missed):
                self._dead(peer)
                continue
            link = links.get(peer.id)
            if link is None:
                self._awaiting[peer.id] = None
                self._ensureLink(peer)
                continue
            nonce = self._awaiting[peer.id] = self._newNonce()
            link.send(ChordPing(nonce, True if peer == ring.predecessor else None))

    def _pinged(self, link, message):
        """Answer; a node that takes us for its predecessor and lies
        between us and our successor is a better successor (after a crash
        that took every successor, this repairs the ring at once rather
        than by walking back from a far finger)."""
        link.send(ChordPong(message.nonce))
        ring, peer = self.ring, link.peer_id
        if not (message.successor and self.joined and self._living(
                [Peer(peer, "", 0)])):
            return
        if ring.alone or strictlyBetween(peer, self.node.id, ring.successor.id):
            host, port = self.node.overlay.addresses.get(peer, ("", 0))
            self._update(lambda: ring.adopt(Peer(peer, host, port), ring.successors))
            self._askSuccessor()

    def _ponged(self, link, message):
        peer = link.peer_id
        if peer in self._awaiting and self._awaiting[peer] == message.nonce:
            del self._awaiting[peer]
            if self.ring is not None:
                self.ring.answered(peer)

    def _dead(self, peer):
        ring = self.ring
        self._awaiting.pop(peer.id, None)
        self._bury(peer.id)
        first = ring.successor is not None and ring.successor.id == peer.id
        self._update(lambda: ring.remove(peer.id))
        if ring.alone:
            self._refill()
        self.log.info("node {dead} missed {k} pings: dead; successor now {succ}",
                      dead=peer.id, k=self.settings.missed,
                      succ=ring.successor.id if ring.successor else self.node.id)
        if first:
            self._askSuccessor()

    def _refill(self):
        """Every successor is gone: fall back on the nearest finger that is
        not known dead, or the predecessor, or join again through the
        tracker."""
        ring, now = self.ring, self.node.clock.seconds()
        # The nearest finger, linked or not: a far one would leave the
        # ring to walk back to the true successor one node at a time.
        fallback = ring.nearest(lambda peer: self._graves.get(peer, 0) <= now)
        if fallback is None and ring.predecessor is not None:
            fallback = ring.predecessor
        if fallback is not None:
            self._update(lambda: ring.adopt(fallback, ()))
        else:
            self._join()

    def _quitted(self, link, message):
        """A neighbour leaves politely: take its place's news."""
        ring = self.ring
        if ring is None:
            return
        peer = link.peer_id
        first = ring.successor is not None and ring.successor.id == peer
        self._awaiting.pop(peer, None)
        self._bury(peer)
        pred = message.pred if message.pred is None or self._living([message.pred]) else None
        self._update(lambda: ring.departed(peer, pred, self._living(message.succs)))
        self.log.info("node {id} quit the chord ring", id=peer)
        if ring.alone:
            self._refill()
        if first:
            self._askSuccessor()

    def _fixFinger(self):
        """Look up the next finger (one lookup at a time)."""
        self._later("fingers", self._every(self.settings.fix_fingers), self._fixFinger)
        ring = self.ring
        if ring.alone or self._fixing is not None:
            return
        index = self._finger
        if index == 0:
            self._prune()
        start = fingerStart(self.node.id, index)
        fixing = self._fixing = self.router.start(lambda i: ChordFind(i, start, ()),
                                                  self.settings.lookup_timeout)
        fixing.addCallback(self._fingerFound, index)
        fixing.addErrback(ignoreCancel)

    def _fingerFound(self, found, index):
        self._fixing = None
        if found is None:
            self._finger = (index + 1) % BITS
            return
        if not self._living([found.node]):
            self._finger = (index + 1) % BITS
            return
        self._finger = self.ring.setFinger(index, found.node)
        self._ensureLink(found.node)

    def _prune(self):
        """Close the ring links this node opened and no longer needs (the
        peer reopens one if it needs it)."""
        known = self.ring.known()
        for peer, link in list(self.node.links.items()):
            if link.purpose == CHORD and not link.inbound and peer not in known:
                link.disconnect("no longer a ring neighbour or finger")

    def _purge(self):
        """Drop expired records, and copy the held ones to the successors
        again (a copy lost to a link that closed is made good)."""
        self._later("purge", self.settings.refresh, self._purge)
        self.records.purge(self.node.clock.seconds())
        self._replicate(self.ring.successors)

    def linkRemoved(self, peer_id):
        if self._stabilizing is not None and self._stabilizing[0] == peer_id:
            self._stabilizing = None

    # -- records ------------------------------------------------------------------------

    def _serve(self, request, path, hops):
        """The answer to a request whose key this node holds."""
        node, me = self.node, self.node.id
        kind = type(request)
        if kind is ChordFind:
            return ChordFound(request.id, request.key, path, hops, self._me(),
                              tuple(self.ring.successors))
        now = node.clock.seconds()
        if kind is ChordRequest:
            sellers = tuple(sellerOf(record.seller, record.host, record.port,
                                     record.details)
                            for record in self.records.sellers(request.item, now))
            return ChordRecords(request.id, request.item, path, hops, me,
                                sellers[:MAX_SELLERS])
        seller = request.return_path[0] if request.return_path else me
        record = Record(request.item, seller, request.host, request.port,
                        now + request.lifetime / 1000.0, request.details())
        if request.lifetime:
            self.records.put(record)
        else:
            self.records.withdraw(request.item, seller, now + self.settings.expiry)
        ring = self.ring
        copies = list(ring.successors)
        if ring.predecessor is not None and not ring.responsible(keyOf(request.item)):
            # Sent here by a node that has yet to learn of a newer node
            # between us, which holds the key now: it gets the change too.
            copies.append(ring.predecessor)
        for peer in copies:
            self._send(peer, [record])
        return ChordStored(request.id, request.item, path, hops, me)

    def _transferred(self, link, message):
        now = self.node.clock.seconds()
        for handed in message.records:
            if handed.lifetime:
                self.records.put(Record(handed.item, handed.seller, handed.host,
                                        handed.port, now + handed.lifetime / 1000.0,
                                        handed.details),
                                 copy=True, now=now)
            else:
                self.records.withdraw(handed.item, handed.seller,
                                      now + self.settings.expiry)
        if message.nonce is not None:
            self.log.info("took {n} records from node {id}", n=len(message.records),
                          id=link.peer_id)
            link.send(ChordTransferred(message.nonce, len(message.records)))

    def delivered(self, message):
        if type(message) in (ChordFound, ChordRecords, ChordStored):
            self.router.answered(message)

    # -- selling ------------------------------------------------------------------------

    def advertise(self, shop):
        self.publisher.advertise(shop)

    def stockChanged(self, item, units):
        self.publisher.stockChanged(item, units)

    # -- buying -------------------------------------------------------------------------

    def canFind(self):
        return self.joined and not self.stopped

    def locate(self, key, timeout=None):
        """Which node holds key?  A Deferred firing with the L{ChordFound}
        (its ``hops`` say how far it went), or None."""
        return self.router.start(lambda i: ChordFind(i, key, ()),
                                 timeout or self.settings.lookup_timeout)

    def request(self, item, timeout=None):
        """Who sells item?  A Deferred firing with the L{ChordRecords}, or
        None."""
        return self.router.start(lambda i: ChordRequest(i, item, ()),
                                 timeout or self.settings.lookup_timeout)

    def find(self, item, wait):
        node = self.node
        if not self.canFind():
            return defer.succeed([])
        node.events.findStarted(item)
        asked = self.request(item, wait)
        finished = defer.Deferred(lambda d: asked.cancel())
        asked.addCallback(self._offers, item, finished)
        asked.addErrback(ignoreCancel)
        return finished

    def _offers(self, answer, item, finished):
        node = self.node
        sellers = answer.sellers if answer is not None else ()
        offers = [Offer(seller, (node.id, seller), host, port, *offerFields(details))
                  for seller, host, port, *details in sellers
                  if seller != node.id and port]
        node.rng.shuffle(offers)
        for offer in offers:
            node.events.offerArrived(item, offer)
        node.events.offersFound(item, offers)
        finished.callback(offers)

    # -- IService -----------------------------------------------------------------------

    def stopService(self):
        """
        Stop keeping the ring and end every lookup; a node on a ring with
        others then quits: it withdraws its own items, hands the records it
        holds to its successor and tells its predecessor and successor to
        close the ring over it.  The Deferred fires once the successor has
        confirmed the handover, or after the quit timeout.
        """
        super().stopService()
        self.stopped = True
        for name in list(self._timers):
            self._cancel(name)
        self.publisher.stop()
        for pending in [self._joining, self._fixing] + list(self._connecting.values()):
            if pending is not None:
                pending.cancel()
        self.router.stop()
        ring = self.ring
        if not self.joined or ring.alone or self.node.stopping:
            return None
        return self._quit()

    def _quit(self):
        node, ring, links = self.node, self.ring, self.node.links
        now = node.clock.seconds()
        self.publisher.withdrawAll()
        self.router.accepting = False
        live = [peer for peer in ring.successors if peer.id in links]
        if not live:
            return None
        succ, pred = live[0], ring.predecessor
        held = [record for record in self.records.records(now) if record.seller != node.id]
        nonces = set(self._send(succ, held, confirm=True))
        quit = ChordQuit(pred, tuple(live))
        links[succ.id].send(quit)
        if pred is not None and pred.id in links and pred.id != succ.id:
            links[pred.id].send(quit)
        self.log.info("quitting the chord ring: {n} records handed to node {succ}",
                      n=len(held), succ=succ.id)
        if not nonces:
            return None
        done = defer.Deferred()
        timer = node.clock.callLater(self.settings.quit_timeout, self._handoverEnded)
        self._handover = (nonces, done, timer)
        return done

    def _handedOver(self, link, message):
        if self._handover is None:
            return
        nonces, done, timer = self._handover
        nonces.discard(message.nonce)
        if not nonces:
            timer.cancel()
            self._handover = None
            done.callback(None)

    def _handoverEnded(self):
        nonces, done, _ = self._handover
        self._handover = None
        self.log.info("the handover was not confirmed within {s:g} s",
                      s=self.settings.quit_timeout)
        done.callback(None)
