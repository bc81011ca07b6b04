"""
Keeping a Chord node's place: stabilization with its successor (and
notify), pings of its successors and predecessor (a neighbour that misses
them is dead, and the ring is repaired), finger repair (a check of a
known finger by its predecessor, a lookup otherwise: L{fingers}), and
the ring links all this needs (to the successors and predecessor only:
fingers are reached over links opened when a request needs them,
L{routing}).

L{Upkeep} holds the state of this work and reaches the rest of the node's
scheme only through L{IRingHost}, which L{ChordDiscovery
<twisted_bazaar.schemes.chord.node.ChordDiscovery>} provides to each of
its parts.  Here are its schedule, the ring's repair, the dead and the
ring links; its stabilization (now and then the node asks its successor
for that successor's predecessor and successor list, ``chordStabilize``,
adopts a closer successor it names, and is noticed as that successor's
predecessor as it asks; and it answers, ``chordState``, the nodes that
take it for their successor); and its pings (its first successor and its
predecessor are pinged unless heard from lately; k misses in a row make
one dead, buried, and the ring repaired; a ping of another's may name a
better successor).

One object in one module, not parts: the simulator runs an upkeep for
every node, and a part held apart would cost each node an object
(docs/simulator.md); the stabilization and the pings use its ring
repair as much as their own state.
"""

from twisted.internet import defer
from twisted.logger import LogLevel
from zope.interface import Attribute, Interface

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.core.topology import dialWhy
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.net.opening import NoRoute, Unreachable
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.schemes.chord.fingers import FingerRepair
from twisted_bazaar.schemes.chord.messages import (
    ChordPing,
    ChordPong,
    ChordStabilize,
    ChordState,
)
from twisted_bazaar.schemes.chord.pacing import Pace
from twisted_bazaar.schemes.chord.ring import puzzleBits, solves, strictlyBetween
from twisted_bazaar.schemes.chord.settings import CHORD
from twisted_bazaar.schemes.chord.state import Peer


class IRingHost(Interface):
    """
    What the upkeep of a Chord node's place uses of the node's scheme.
    """

    node = Attribute("The core node: its id, clock, rng, links and dialling.")
    settings = Attribute("The scheme's ChordSettings.")
    ring = Attribute("The node's Neighbourhood, or None before it has an id.")
    records = Attribute("The RecordStore of the records the node holds.")
    router = Attribute("The KeyRouter that starts the node's lookups.")
    publisher = Attribute("The Publisher of the node's own records (withdrawn as it "
                          "quits).")
    joined = Attribute("True once the node has a place on the ring.")
    stopped = Attribute("True once the scheme stopped.")
    log = Attribute("The scheme's Logger.")
    naming = Attribute("The node's Naming: who named each ring entry, noted by the "
                       "handlers of the messages that name one.")

    def me():
        """This node as a ring peer (its id and listening address)."""

    def useRing(ring):
        """ring (a Neighbourhood) is the node's from now on (its joining
        made it)."""

    def placed(settled):
        """The node found its place (its joining): keep the ring, hold
        records, probe, publish.  ``settled``: placed whole, settled."""

    def later(name, delay, function):
        """Run function after delay, replacing what was due under name."""

    def cancel(name):
        """Cancel what is due under name, if anything."""

    def due(name):
        """The call still to come under name, or None."""

    def every(period):
        """period, with the jitter that keeps nodes from ticking together."""

    def newNonce():
        """A nonce no other question of this node uses."""

    def join():
        """Join the ring (again) through the tracker."""

    def replicate(peers):
        """Copy the records this node holds to those of its successors."""

    def sendRecords(peer, records, confirm=False):
        """Hand records to a linked peer (with confirm, each transfer asks
        for a chordTransferred); their nonces."""

    def refusedForPuzzle(successor, mine, least):
        """The successor took another for its predecessor, which only the
        ring's puzzle makes it do: this node's id solves ``mine`` bits,
        the ring's nodes met ``least`` or more (L{Joining.refusedForPuzzle
        <twisted_bazaar.schemes.chord.joining.Joining.refusedForPuzzle>})."""

    def namerOf(peer):
        """The address group of the link that named peer (a ring's entry),
        or None: its refusal's line is charged to it."""


class Upkeep:
    """
    Stabilize, ping, fix fingers; bury the dead and keep the links.

    @ivar host: the L{IRingHost} it keeps the place of.
    @ivar paces: timer name -> the L{Pace} of that part of the upkeep.
    @ivar fingers: the L{FingerRepair}.
    """

    __slots__ = ("host", "paces", "fingers", "_heard", "_connecting", "_awaiting",
                 "_stabilizing", "_graves")

    def __init__(self, host):
        self.host = host
        settings = host.settings
        ceiling = settings.max_period
        #: Pings start slow: a neighbour's death mostly shows as its
        #: broken link.
        self.paces = {"stabilize": Pace(settings.stabilize, ceiling),
                      "fingers": Pace(settings.fix_fingers, ceiling),
                      "ping": Pace(settings.ping, ceiling, calm=True)}
        #: peer id -> when a neighbour last showed it is alive (see _ping).
        #: This, L{_connecting}, L{_awaiting} and L{_graves} are
        #: L{NOTHING} until written (L{twisted_bazaar.base.sparing.own}):
        #: a large simulated ring holds a million of each, mostly empty.
        self._heard = NOTHING
        self._connecting = NOTHING
        #: peer id -> nonce of its unanswered ping (None: it could not be pinged).
        self._awaiting = NOTHING
        #: (successor id, nonce) of the ``chordStabilize`` awaiting its
        #: answer, or None.
        self._stabilizing = None
        #: peer id -> clock time until which it counts as gone (see bury).
        self._graves = NOTHING
        self.fingers = FingerRepair(host, self)

    def start(self, settled):
        """The node has a place: stabilize, ping and fix fingers from now
        on.  ``settled``: the ring was placed whole, settled: the first
        ping at the ping's pace (a newcomer pings its new neighbours
        soon)."""
        host, paces = self.host, self.paces
        host.later("stabilize", host.every(paces["stabilize"].period), self._stabilize)
        first = paces["ping"].period if settled else host.settings.ping
        host.later("ping", host.every(first), self._ping)
        host.later("fingers", host.every(paces["fingers"].period), self.fingers.fix)

    def settle(self, *names):
        """Those parts of the upkeep start at their longest periods: the
        ring around this node is known settled (its fingers as they are
        now)."""
        for name in names:
            self.paces[name].settle()
        self.fingers.settled()

    def stop(self):
        """Cancel the finger repair and the ring links being opened."""
        self.fingers.stop()
        # A copy: each cancelled one leaves the table (_notLinked).
        for pending in list(self._connecting.values()):
            pending.cancel()

    def bury(self, peer_id):
        """
        A peer died or left: for a while, refuse to take it back from a
        neighbour's list or predecessor, which may still name it until
        their own pings (or stabilizations) catch up: long enough for the
        news to travel the whole successor list.
        """
        settings = self.host.settings
        wait = 2 * ((settings.missed + 1) * settings.ping
                    + (settings.successors + 1) * settings.stabilize)
        now = self.host.node.clock.seconds()
        self._graves = {peer: until for peer, until in self._graves.items() if until > now}
        self._graves[peer_id] = now + wait

    def living(self, peers):
        """The peers that are not buried, and count on the ring (their ids
        solve its puzzle: one that does not is never taken as a
        neighbour or finger, wherever it is named)."""
        now, bits = self.host.node.clock.seconds(), self.host.settings.puzzle
        return tuple(peer for peer in peers if self._graves.get(peer.id, 0) <= now
                     and solves(peer.id, bits))

    def update(self, change, link=None):
        """Apply a change to the ring; if the neighbours moved, act on it.
        ``link`` is the peer's whose message made the change, if a peer's
        did."""
        ring = self.host.ring
        before = (list(ring.successors), ring.predecessor)
        result = change()
        if (ring.successors, ring.predecessor) != before:
            self._moved(*before, link)
            if (ring.successors[:1], ring.predecessor) != (before[0][:1], before[1]):
                self.stir("stabilize")
        return result

    def stir(self, *names):
        """
        The ring around this node changed: those parts of the upkeep go
        back to their base periods, and a tick that was due later than
        one base period from now comes then instead.
        """
        if self.host.stopped:
            return
        now = self.host.node.clock.seconds()
        for name in names:
            pace = self.paces[name]
            pace.stir()
            call = self.host.due(name)
            if call is None:
                continue
            soon = self.host.every(pace.base)
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
        ring, now = self.host.ring, wallSeconds(self.host.node.clock)
        me = self.host.node.id
        pred_id = ring.predecessor.id if ring.predecessor else None
        succ_ids = [peer.id for peer in ring.successors]
        fields = dict(pred=pred_id, succs=succ_ids,
                      pred_text="none" if pred_id is None else shortId(pred_id),
                      succs_text=", ".join(map(shortId, succ_ids)))
        line = "ring neighbours: predecessor {pred_text}, successors [{succs_text}]"
        if link is None:
            self.host.log.info(line, **fields)
        else:
            link.peerLine(LogLevel.info, line, self.host.log, latest=True, **fields)
        # A link to the first successor now (stabilization needs it); to
        # the others when there are records to copy to them, or at their
        # first ping: while a ring forms, most nodes pass through a
        # successor list before a ping would reach them.
        for peer in ring.successors if len(self.host.records) else ring.successors[:1]:
            self.ensureLink(peer)
        pred = ring.predecessor
        closer = pred is not None and pred != old_pred and (
            old_pred is None or strictlyBetween(pred.id, old_pred.id, me))
        if closer:
            low = old_pred.id if old_pred is not None else me
            self.host.sendRecords(pred, self.host.records.inRange(low, pred.id, now))
        grew = pred != old_pred and not closer
        self.host.replicate([peer for peer in ring.successors
                             if grew or peer not in old_successors])

    def ensureLink(self, peer):
        """Open a ring link to peer unless there is one (or one coming)."""
        node = self.host.node
        if (self.host.stopped or peer.id == node.id or node.linkTo(peer.id) is not None
                or peer.id in self._connecting or node.stopping):
            return
        node.heard(peer.id, peer.host, peer.port, namedBy=self.host.namerOf(peer))
        connecting = node.connectTo(peer.id, CHORD)
        own(self, "_connecting")[peer.id] = connecting
        connecting.addCallbacks(self._linked, self._notLinked,
                                callbackArgs=(peer,), errbackArgs=(peer,))

    def _linked(self, peer_id, peer):
        self._connecting.pop(peer.id, None)
        ring = self.host.ring
        if ring is not None and not self.host.stopped:
            link = self.host.node.linkTo(peer.id)
            if self._awaiting.get(peer.id, 0) is None and link is not None:
                # A neighbour linked for its ping: ping it now, not a round
                # later.
                nonce = own(self, "_awaiting")[peer.id] = self.host.newNonce()
                link.send(
                    ChordPing(nonce, True if peer == ring.predecessor else None))
        if ring is not None and peer in ring.successors:
            # Records could not be copied to it before it was linked.
            self.host.replicate([peer])
        if (self._stabilizing is None and ring is not None and not self.host.stopped
                and ring.successor is not None and ring.successor.id == peer.id):
            # A new successor: stabilize with it now, not at the next tick,
            # so that a walk back from a far successor takes round trips,
            # not periods.
            self.askSuccessor()

    def _notLinked(self, reason, peer):
        self._connecting.pop(peer.id, None)
        if reason.check(defer.CancelledError) or self.host.stopped:
            return
        node = self.host.node
        if node.linkTo(peer.id) is None:
            # A buyer that gives up names the last (a neighbour of the other
            # address family, say), as the flood's does.
            node.events.linkFailed(peer.id, peer.host, peer.port,
                                   dialWhy(reason, peer.host, peer.port))
        if reason.check(Unreachable, NoRoute) and self.host.ring is not None and (
                peer not in self.host.ring.watched()):
            # A finger nothing listens at: forget it; the next round finds
            # its replacement.  Neighbours are judged by their pings.
            self.host.ring.remove(peer.id)

    def refill(self):
        """Every successor is gone: fall back on the nearest finger that is
        not known dead, or the predecessor, or join again through the
        tracker."""
        ring, now = self.host.ring, self.host.node.clock.seconds()
        # The nearest finger, linked or not: a far one would leave the
        # ring to walk back to the true successor one node at a time.
        fallback = ring.nearest(lambda peer: self._graves.get(peer, 0) <= now)
        if fallback is None and ring.predecessor is not None:
            fallback = ring.predecessor
        if fallback is not None:
            self.update(lambda: ring.adopt(fallback, ()))
        else:
            self.host.join()

    def prune(self):
        """Close the ring links this node opened to peers that are no
        longer its successors or predecessor (the peer reopens one if it
        needs it; finger links close themselves when idle)."""
        watched = {peer.id for peer in self.host.ring.watched()}
        node = self.host.node
        # The peers first, then the link of each one to close: the links
        # kept are not handed out (issue 95: a quiet one may be less than
        # a link until a part takes it).
        for peer_id in node.outboundPeersOf(CHORD):
            if peer_id not in watched:
                link = node.linkTo(peer_id)
                if link is not None:
                    link.disconnect("no longer a ring neighbour")

    def linkRemoved(self, peer_id):
        if self._stabilizing is not None and self._stabilizing[0] == peer_id:
            self._stabilizing = None
        ring = self.host.ring
        if ring is not None and any(peer.id == peer_id for peer in ring.watched()):
            # A neighbour's link broke (its process may have died): ping
            # soon, not at the end of a long period.
            self.stir("ping")

    # -- stabilization: ask the successor, adopt what it says; answer ------------

    def _stabilize(self):
        self.host.later("stabilize", self.host.every(self.paces["stabilize"].period),
                        self._stabilize)
        ring = self.host.ring
        if ring.alone:
            if ring.predecessor is None:
                self.host.join()
            return
        self.askSuccessor()

    def askSuccessor(self):
        succ = self.host.ring.successor
        if succ is None:
            return
        link = self.host.node.linkTo(succ.id)
        if link is None:
            self.ensureLink(succ)
            return
        nonce = self.host.newNonce()
        self._stabilizing = (succ.id, nonce)
        link.send(ChordStabilize(nonce))

    def stabilizeAsked(self, link, message):
        """A node that takes us for its successor: notify, then answer."""
        self.host.naming.note(link, message, itself=True)
        ring = self.host.ring
        if not self.host.joined or self.host.stopped:
            return
        self._heardFrom(link.peer_id)
        host, port = self.host.node.addressOf(link.peer_id)
        if solves(link.peer_id, self.host.settings.puzzle):
            self.update(lambda: ring.notified(Peer(link.peer_id, host, port)), link)
        pred = ring.predecessor
        link.send(ChordState(message.nonce, pred, tuple(ring.successors)))

    def stated(self, link, message):
        """Our successor's predecessor and list: adopt them.  An answer
        that changes nothing lengthens the stabilization period."""
        self.host.naming.note(link, message)
        if self._stabilizing != (link.peer_id, message.nonce):
            return
        self._stabilizing = None
        ring, me = self.host.ring, self.host.node.id
        ring.answered(link.peer_id)
        self._heardFrom(link.peer_id)
        succ = ring.successor
        if succ is None or succ.id != link.peer_id:
            return
        pred = message.pred
        self._refused(succ, pred, message.succs)
        if pred is not None and not self.living([pred]):
            pred = None
        theirs = self.living(message.succs)

        def change():
            if pred is not None and strictlyBetween(pred.id, me, succ.id):
                ring.adopt(pred, (succ,) + theirs)
                return True
            ring.adopt(succ, theirs)
            return False

        before = list(ring.successors)
        if self.update(change, link):
            self.askSuccessor()
        elif ring.successors == before:
            self.paces["stabilize"].calm()

    def _refused(self, succ, pred, succs):
        """
        Our successor answered our notify with another predecessor, none
        nearer to it than we are: Chord's notify takes any such asker, so
        its puzzle refused our id, a sign of a --chord-puzzle unlike the
        ring's (issue 96: one of 8 in a ring of 12 said it joined, and no
        ring node took it).  Told to the host when our id solves fewer
        bits than each ring node named; the ids are hashed only then.
        """
        me = self.host.node.id
        if pred is not None and (pred.id == me or strictlyBetween(pred.id, me, succ.id)):
            return
        mine = puzzleBits(me)
        least = min(puzzleBits(peer.id) for peer in (succ, pred, *succs) if peer)
        if mine < least:
            self.host.refusedForPuzzle(succ, mine, least)

    # -- pings: of the neighbours, their misses counted; answers -----------------

    def unawait(self, peer_id):
        """No pong is awaited from peer_id any more (it quit)."""
        self._awaiting.pop(peer_id, None)

    def _heardFrom(self, peer_id):
        """Note that a neighbour showed it is alive now (see L{_ping})."""
        own(self, "_heard")[peer_id] = self.host.node.clock.seconds()

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
        ring, node, pace = self.host.ring, self.host.node, self.paces["ping"]
        watched = ring.pinged()
        awaiting = self._awaiting = {peer.id: self._awaiting[peer.id] for peer in watched
                                     if peer.id in self._awaiting}
        # Heard from within half a period: alive; the next round, a period
        # on, pings it.
        fresh = self.host.node.clock.seconds() - pace.period / 2
        self._heard = {peer.id: self._heard[peer.id] for peer in watched
                       if self._heard.get(peer.id, fresh) > fresh}
        heard = self._heard
        quiet = True
        for peer in watched:
            if peer.id in awaiting:
                quiet = False
                if ring.missed(peer.id) >= self.host.settings.missed:
                    self._dead(peer)
                    continue
            elif peer.id in heard:
                continue
            link = node.linkTo(peer.id)
            if link is None:
                awaiting[peer.id] = None
                self.ensureLink(peer)
                continue
            nonce = awaiting[peer.id] = self.host.newNonce()
            link.send(ChordPing(nonce, True if peer == ring.predecessor else None))
        if quiet:
            pace.calm()
        else:
            pace.stir()
        delay = pace.base if self._awaiting else pace.period
        self.host.later("ping", self.host.every(delay), self._ping)

    def pinged(self, link, message):
        """Answer; a node that takes us for its predecessor and lies
        between us and our successor is a better successor (after a crash
        that took every successor, this repairs the ring at once rather
        than by walking back from a far finger)."""
        self.host.naming.note(link, message, itself=True)
        link.send(ChordPong(message.nonce))
        ring, peer = self.host.ring, link.peer_id
        self._heardFrom(peer)
        if not (message.successor and self.host.joined and self.living(
                [Peer(peer, "", 0)])):
            return
        if ring.alone or strictlyBetween(peer, self.host.node.id, ring.successor.id):
            host, port = self.host.node.addressOf(peer)
            self.update(lambda: ring.adopt(Peer(peer, host, port), ring.successors),
                        link)
            self.askSuccessor()

    def ponged(self, link, message):
        peer = link.peer_id
        if peer in self._awaiting and self._awaiting[peer] == message.nonce:
            del self._awaiting[peer]
            self._heardFrom(peer)
            if self.host.ring is not None:
                self.host.ring.answered(peer)

    def _dead(self, peer):
        ring = self.host.ring
        self._awaiting.pop(peer.id, None)
        self.bury(peer.id)
        first = ring.successor is not None and ring.successor.id == peer.id
        self.update(lambda: ring.remove(peer.id))
        if ring.alone:
            self.refill()
        self.host.log.info("node {dead} missed {k} pings: dead; successor now {succ}",
                           dead=shortId(peer.id), k=self.host.settings.missed,
                           succ=shortId(ring.successor.id if ring.successor
                                        else self.host.node.id))
        if first:
            self.askSuccessor()

    #: The messages the upkeep takes, declared once for every node (as
    #: L{twisted_bazaar.events.INodeEvents.delivers}): message class
    #: -> function(upkeep, link, message).
    takes = {ChordPing: pinged, ChordPong: ponged,
             ChordStabilize: stabilizeAsked, ChordState: stated}
