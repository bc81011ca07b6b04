"""
Keeping a Chord node's place: stabilization with its successor (and
notify), pings of its successors and predecessor (a neighbour that misses
them is dead, and the ring is repaired), finger repair (a check of a known
finger by its predecessor, a lookup otherwise), and the ring
links all this needs (to the successors and predecessor only: fingers are
reached over links opened when a request needs them, L{routing}).  A mixin of L{ChordDiscovery
<twisted_bazaar.schemes.chord.node.ChordDiscovery>}, whose state it uses.
"""

from twisted.internet import defer
from twisted.logger import LogLevel

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.net.overlay import Unreachable
from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.base.tables import own
from twisted_bazaar.schemes.chord.messages import (
    ChordFind,
    ChordPing,
    ChordPong,
    ChordPred,
    ChordPredIs,
    ChordStabilize,
    ChordState,
)
from twisted_bazaar.schemes.chord.question import Question
from twisted_bazaar.schemes.chord.ring import (
    BITS,
    distance,
    fingerStart,
    solves,
    strictlyBetween,
)
from twisted_bazaar.schemes.chord.settings import CHORD, FINGER
from twisted_bazaar.schemes.chord.state import Peer


class Upkeep:
    """
    Stabilize, ping, fix fingers; bury the dead and keep the links.
    """

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

    def _heardFrom(self, peer_id):
        """Note that a neighbour showed it is alive now (see L{_ping})."""
        own(self, "_heard")[peer_id] = self.node.clock.seconds()

    def _living(self, peers):
        """The peers that are not buried, and count on the ring (their ids
        solve its puzzle: one that does not is never taken as a
        neighbour or finger, wherever it is named)."""
        now, bits = self.node.clock.seconds(), self.settings.puzzle
        return tuple(peer for peer in peers if self._graves.get(peer.id, 0) <= now
                     and solves(peer.id, bits))

    def _update(self, change, link=None):
        """Apply a change to the ring; if the neighbours moved, act on it.
        ``link`` is the peer's whose message made the change, if a peer's
        did."""
        ring = self.ring
        before = (list(ring.successors), ring.predecessor)
        result = change()
        if (ring.successors, ring.predecessor) != before:
            self._moved(*before, link)
            if (ring.successors[:1], ring.predecessor) != (before[0][:1], before[1]):
                self._stir("stabilize")
        return result

    def _stir(self, *names):
        """
        The ring around this node changed: those parts of the upkeep go
        back to their base periods, and a tick that was due later than
        one base period from now comes then instead.
        """
        if self.stopped:
            return
        now = self.node.clock.seconds()
        for name in names:
            pace = self._paces[name]
            pace.stir()
            call = self._due(name)
            if call is None:
                continue
            soon = self._every(pace.base)
            if call.getTime() - now > soon:
                call.reset(soon)

    def _moved(self, old_successors, old_pred, link=None):
        """
        Successors or predecessor changed: link to the new ones, give a
        new predecessor the records it now holds, and copy the records
        this node holds to its successors (the replicas).  Said in the
        log; through the peer log when a peer's message (on ``link``)
        made the change, since a peer can make many.
        """
        ring, now = self.ring, self.node.clock.seconds()
        me = self.node.id
        pred_id = ring.predecessor.id if ring.predecessor else None
        succ_ids = [peer.id for peer in ring.successors]
        fields = dict(pred=pred_id, succs=succ_ids,
                      pred_text="none" if pred_id is None else shortId(pred_id),
                      succs_text=", ".join(map(shortId, succ_ids)))
        line = "ring neighbours: predecessor {pred_text}, successors [{succs_text}]"
        if link is None:
            self.log.info(line, **fields)
        else:
            link.peerLine(LogLevel.info, line, self.log, **fields)
        # A link to the first successor now (stabilization needs it); to
        # the others when there are records to copy to them, or at their
        # first ping: while a ring forms, most nodes pass through a
        # successor list before a ping would reach them.
        for peer in ring.successors if len(self.records) else ring.successors[:1]:
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

    def _ensureLink(self, peer):
        """Open a ring link to peer unless there is one (or one coming)."""
        node = self.node
        if (self.stopped or peer.id == node.id or peer.id in node.links
                or peer.id in self._connecting or node.stopping):
            return
        connecting = node.connectTo(peer.host, peer.port, peer.id, CHORD)
        own(self, "_connecting")[peer.id] = connecting
        connecting.addCallbacks(self._linked, self._notLinked,
                                callbackArgs=(peer,), errbackArgs=(peer,))

    def _linked(self, peer_id, peer):
        self._connecting.pop(peer.id, None)
        ring = self.ring
        if ring is not None and not self.stopped:
            if self._awaiting.get(peer.id, 0) is None and peer.id in self.node.links:
                # A neighbour linked for its ping: ping it now, not a round
                # later.
                nonce = own(self, "_awaiting")[peer.id] = self._newNonce()
                self.node.links[peer.id].send(
                    ChordPing(nonce, True if peer == ring.predecessor else None))
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
        self._later("stabilize", self._every(self._paces["stabilize"].period),
                    self._stabilize)
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
        self._heardFrom(link.peer_id)
        host, port = self.node.addressOf(link.peer_id)
        if solves(link.peer_id, self.settings.puzzle):
            self._update(lambda: ring.notified(Peer(link.peer_id, host, port)), link)
        pred = ring.predecessor
        link.send(ChordState(message.nonce, pred, tuple(ring.successors)))

    def _stated(self, link, message):
        """Our successor's predecessor and list: adopt them.  An answer
        that changes nothing lengthens the stabilization period."""
        if self._stabilizing != (link.peer_id, message.nonce):
            return
        self._stabilizing = None
        ring, me = self.ring, self.node.id
        ring.answered(link.peer_id)
        self._heardFrom(link.peer_id)
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

        before = list(ring.successors)
        if self._update(change, link):
            self._askSuccessor()
        elif ring.successors == before:
            self._paces["stabilize"].calm()

    def _ping(self):
        """
        Ping the first successor and the predecessor (L{Neighbourhood.pinged
        <twisted_bazaar.schemes.chord.state.Neighbourhood.pinged>}) if not
        heard from within half a period (a stabilization, a ping or a pong
        of theirs shows them alive); k misses in a row make one dead.  A round without a miss
        lengthens the period; a miss (or a neighbour's broken link: see
        L{linkRemoved}) brings it back to its base.  While a ping waits for
        its pong, the next round comes one base period later, to count a
        miss soon.
        """
        ring, links, pace = self.ring, self.node.links, self._paces["ping"]
        watched = ring.pinged()
        awaiting = self._awaiting = {peer.id: self._awaiting[peer.id] for peer in watched
                                     if peer.id in self._awaiting}
        # Heard from within half a period: alive; the next round, a period
        # on, pings it.
        fresh = self.node.clock.seconds() - pace.period / 2
        self._heard = {peer.id: self._heard[peer.id] for peer in watched
                       if self._heard.get(peer.id, fresh) > fresh}
        heard = self._heard
        quiet = True
        for peer in watched:
            if peer.id in awaiting:
                quiet = False
                if ring.missed(peer.id) >= self.settings.missed:
                    self._dead(peer)
                    continue
            elif peer.id in heard:
                continue
            link = links.get(peer.id)
            if link is None:
                awaiting[peer.id] = None
                self._ensureLink(peer)
                continue
            nonce = awaiting[peer.id] = self._newNonce()
            link.send(ChordPing(nonce, True if peer == ring.predecessor else None))
        if quiet:
            pace.calm()
        else:
            pace.stir()
        delay = pace.base if self._awaiting else pace.period
        self._later("ping", self._every(delay), self._ping)

    def _pinged(self, link, message):
        """Answer; a node that takes us for its predecessor and lies
        between us and our successor is a better successor (after a crash
        that took every successor, this repairs the ring at once rather
        than by walking back from a far finger)."""
        link.send(ChordPong(message.nonce))
        ring, peer = self.ring, link.peer_id
        self._heardFrom(peer)
        if not (message.successor and self.joined and self._living(
                [Peer(peer, "", 0)])):
            return
        if ring.alone or strictlyBetween(peer, self.node.id, ring.successor.id):
            host, port = self.node.addressOf(peer)
            self._update(lambda: ring.adopt(Peer(peer, host, port), ring.successors),
                         link)
            self._askSuccessor()

    def _ponged(self, link, message):
        peer = link.peer_id
        if peer in self._awaiting and self._awaiting[peer] == message.nonce:
            del self._awaiting[peer]
            self._heardFrom(peer)
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
                      dead=shortId(peer.id), k=self.settings.missed,
                      succ=shortId(ring.successor.id if ring.successor else self.node.id))
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

    def _fixFinger(self):
        """Look up the next finger (one lookup at a time).  A lookup that
        left the fingers as they were lengthens the period; one that
        changed them (or a finger that died since) brings it back to its
        base."""
        ring, pace = self.ring, self._paces["fingers"]
        if not ring.alone and self._fixing is None:
            seen = ring.fingers.digest()
            if seen == self._fingers_seen:
                pace.calm()
            else:
                pace.stir()
            self._fingers_seen = seen
        self._later("fingers", self._every(pace.period), self._fixFinger)
        if ring.alone or self._fixing is not None:
            return
        index = self._finger
        if index == 0:
            self._prune()
        start = fingerStart(self.node.id, index)
        finger = ring.fingers[index]
        if finger is None:
            self._lookUpFinger(index, start)
            return
        fixing = self._fixing = self._checkFinger(finger)
        fixing.addCallback(self._fingerChecked, index, start, finger)
        fixing.addErrback(ignoreCancelled)

    def _lookUpFinger(self, index, start):
        """Look the finger up through the ring."""
        fixing = self._fixing = self.router.start(lambda i: ChordFind(i, start, ()),
                                                  self.settings.lookup_timeout)
        fixing.addCallback(self._fingerFound, index)
        fixing.addErrback(ignoreCancelled)

    def _checkFinger(self, finger):
        """
        Ask the finger for its predecessor (chordPred), over its link or a
        finger link opened for it: a Deferred of the chordPredIs, or of
        None if none comes within the lookup timeout.  A round trip, where
        a lookup is about ½·log2 N hops.
        """
        node = self.node
        nonce = self._newNonce()

        def cancel(d):
            self._endCheck(nonce)

        checked = defer.Deferred(cancel)
        timer = node.clock.callLater(self.settings.lookup_timeout, self._checked,
                                     nonce, None)
        check = self._checking = Question(nonce, checked, timer, finger.id)

        def ask(_=None):
            link = node.links.get(finger.id)
            if link is None:
                self._checked(nonce, None)
            elif self._checking is check:
                link.send(ChordPred(nonce))

        def failed(reason):
            self._checked(nonce, None)

        if finger.id in node.links:
            ask()
        else:
            connecting = node.connectTo(finger.host, finger.port, finger.id, FINGER)
            if self._checking is check:
                check.connecting = connecting
            connecting.addCallbacks(ask, failed)
        return checked

    def _endCheck(self, nonce):
        """The check with nonce is over (L{Question.end}); returns its
        Deferred, to fire (None if it is not the one asked)."""
        check = self._checking
        if check is None or check.nonce != nonce:
            return None
        self._checking = None
        return check.end()

    def _checked(self, nonce, answer):
        checked = self._endCheck(nonce)
        if checked is not None:
            checked.callback(answer)

    def _predAsked(self, link, message):
        """Answer with this node's predecessor (a node on the ring only)."""
        if self.joined and not self.stopped:
            link.send(ChordPredIs(message.nonce, self.ring.predecessor))

    def _predTold(self, link, message):
        check = self._checking
        if check is not None and check.peer_id == link.peer_id:
            self._checked(message.nonce, message)

    def _fingerChecked(self, answer, index, start, finger):
        """
        The finger holds start unless its predecessor lies in [start,
        finger): a node came in between, and that predecessor, nearer to
        start, becomes the finger if it is near start (L{_nearby}), to be
        checked in its turn at the next round: a finger the tracker named
        is mostly a node or two off once newcomers joined, and a step back
        costs a round trip where a lookup costs ½·log2 N hops.  A
        predecessor farther off, or no answer: look the finger up.
        """
        self._fixing = None
        if answer is None or self.ring is None or self.stopped:
            if not self.stopped:
                self._lookUpFinger(index, start)
            return
        pred, me = answer.pred, self.node.id
        if (pred is not None and pred.id != me
                and distance(start, pred.id) < distance(start, finger.id)):
            if not self._living([pred]) or not self._nearby(start, pred.id):
                self._lookUpFinger(index, start)
                return
            self.ring.setFinger(index, pred)
            self._finger = index
            return
        self._finger = self.ring.setFinger(index, finger)

    def _nearby(self, start, peer_id):
        """Is peer_id at most about two nodes past start, as far as the
        spacing of our own successors tells?  Then a finger that far is a
        step or two from the right one, and stepping back costs less than
        a lookup; a finger further off (set while the ring was smaller)
        is looked up."""
        succs = self.ring.successors
        if not succs:
            return False
        spacing = distance(self.node.id, succs[-1].id) // len(succs)
        return distance(start, peer_id) <= 2 * spacing

    def _fingerFound(self, found, index):
        self._fixing = None
        if found is None:
            self._finger = (index + 1) % BITS
            return
        if not self._living([found.node]):
            self._finger = (index + 1) % BITS
            return
        # A finger is an address: the link to it is opened when a request
        # goes that way (see routing), not kept.
        self._finger = self.ring.setFinger(index, found.node)

    def _prune(self):
        """Close the ring links this node opened to peers that are no
        longer its successors or predecessor (the peer reopens one if it
        needs it; finger links close themselves when idle)."""
        watched = {peer.id for peer in self.ring.watched()}
        for peer, link in list(self.node.links.items()):
            if link.purpose == CHORD and not link.inbound and peer not in watched:
                link.disconnect("no longer a ring neighbour")

    def linkRemoved(self, peer_id):
        if self._stabilizing is not None and self._stabilizing[0] == peer_id:
            self._stabilizing = None
        ring = self.ring
        if ring is not None and any(peer.id == peer_id for peer in ring.watched()):
            # A neighbour's link broke (its process may have died): ping
            # soon, not at the end of a long period.
            self._stir("ping")
