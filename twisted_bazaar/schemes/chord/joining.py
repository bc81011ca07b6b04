"""
How a Chord node finds its place on the ring: after the node the tracker
names as the one that follows its id (``chordNear``), with the fingers
it names too, or by starting the ring when requests wait for it too
long; and how rings that formed apart merge (probes).  L{Joining} is a
part of L{ChordDiscovery <twisted_bazaar.schemes.chord.node.ChordDiscovery>},
reaching the scheme through L{IRingHost
<twisted_bazaar.schemes.chord.upkeep.IRingHost>} and its upkeep.
"""

from twisted.internet import defer

from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.reach.peerhosts import trackersGroup
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.net.opening import Unreachable
from twisted_bazaar.schemes.chord.messages import ChordNear, ChordNearIs
from twisted_bazaar.schemes.chord.question import Question
from twisted_bazaar.schemes.chord.ring import distance, strictlyBetween
from twisted_bazaar.schemes.chord.state import Fingers, Neighbourhood

#: Longest pause between two attempts to join.
JOIN_RETRY_MAX = 30.0
#: Seconds a joining node holds the requests that come before it is placed,
#: before it starts the ring itself (L{Joining.unplaced}): half the
#: default lookup timeout, so that the held requests are still answered
#: in time.
SEED_WAIT = 1.5


class Joining:
    """
    Joining the ring, and probing for rings that formed apart once placed.

    @ivar host: the L{IRingHost <twisted_bazaar.schemes.chord.upkeep.IRingHost>}.
    @ivar upkeep: the node's L{Upkeep
        <twisted_bazaar.schemes.chord.upkeep.Upkeep>}, told of the
        neighbours the tracker names, and started once the node is placed.
    @ivar _near: the chordNear asked of the tracker, a L{Question} (its
        Deferred fires with the answer), or None.
    @ivar _join_delay: the pause before the next attempt to join.
    @ivar _probe_delay: the pause before the next probe (L{_probe}).
    @ivar _doubt: has this node reason to doubt its ring is the only one
        (it started one, or was alone)?  Then it probes soon.
    @ivar _guessing: are this node's fingers still guesses that the
        tracker's answers improve?  Then its probes ask for fingers too
        (L{join}).
    @ivar _refused: has this node said that its ring refuses it for its
        puzzle (L{refusedForPuzzle})?  Said once a run.
    """

    __slots__ = ("host", "upkeep", "_near", "_join_delay", "_probe_delay", "_doubt",
                 "_guessing", "_refused")

    def __init__(self, host, upkeep):
        self.host = host
        self.upkeep = upkeep
        self._near = None
        self._join_delay = host.settings.stabilize
        self._probe_delay = host.settings.probe
        self._doubt = False
        self._guessing = True
        self._refused = False

    def trackerRegistered(self):
        """The tracker named the node: its chordNear answers come to this
        part (L{fromTracker}), and the node joins."""
        self.host.node.membership.parts.takeFrom(self)
        self.join()

    def stop(self):
        """Give up the chordNear asked, if any."""
        if self._near is not None:
            self._near.answered.cancel()

    def join(self, probe=False):
        """
        Ask the tracker for the chord nodes around our place (chordNear):
        to join (the node that follows our id, and the first at or after
        each of our finger positions), to leave a ring of one, or (a
        probe) to find a closer successor than ours, on a ring that formed
        apart from ours or past a newcomer we missed.  A probe asks for the
        fingers too while they are still guesses that the tracker's answers
        improve (L{_guessing}).
        """
        host = self.host
        node, membership = host.node, host.node.membership
        if host.stopped or self._near is not None or node.stopping:
            return
        if host.joined and not host.ring.alone and not probe:
            return
        if membership is None or not membership.isRegistered or node.id is None:
            return
        if host.ring is None:
            host.useRing(Neighbourhood(host.me(), host.settings.successors))
        nonce = host.newNonce()

        def cancel(d):
            self._endNear(nonce)

        asked = defer.Deferred(cancel)
        self._near = Question(nonce, asked, node.clock.callLater(
            host.settings.lookup_timeout, self._nearAnswered, nonce, None))
        fingers = not host.joined or self._guessing
        asked.addCallback(self._introduced, fingers)
        asked.addErrback(self._joinFailed)
        membership.send(ChordNear(nonce, True if fingers else None))

    def _endNear(self, nonce):
        """The chordNear with nonce is over (L{Question.end}); returns its
        Deferred, to fire (None if it is not the one asked)."""
        near = self._near
        if near is None or near.nonce != nonce:
            return None
        self._near = None
        return near.end()

    def nearIs(self, link, message):
        """The tracker's chordNear answer: the nodes it names are its
        connection's word (L{Naming})."""
        node = self.host.node
        self.host.naming.named(message.nodes, trackersGroup(node.membership))
        relays = message.relays or {}
        for peer in message.nodes:
            node.noteRelay(peer.id, relays.get(peer.id), named=True)
        self._nearAnswered(message.nonce, message)

    def _nearAnswered(self, nonce, answer):
        asked = self._endNear(nonce)
        if asked is None:
            return
        if answer is None:
            asked.errback(Unreachable("the tracker did not answer chordNear"))
        else:
            asked.callback(answer)

    def _introduced(self, answer, fingers):
        """
        The tracker names the nodes around ours: the nearest that follows
        us becomes our successor, if it is nearer than the one we have (or
        we have none), taken as it is, without a lookup: stabilization, at
        once, corrects it with that node's predecessor if a newcomer the
        tracker has not checked yet came in between.  With ``fingers``
        asked, the others are guesses of our fingers (L{Neighbourhood.guessFingers
        <twisted_bazaar.schemes.chord.state.Neighbourhood.guessFingers>}),
        exact as the tracker knows the ring: their repair starts at its
        longest period.  Nodes that start together join while the tracker
        has checked few of them (some are told they are alone, the others
        are named the few it knows), so a node asks again with its probes
        (L{_guessing}), which come when the tracker knows more of the
        ring, until an answer improves no finger.
        """
        host = self.host
        ring, me = host.ring, host.node.id
        if host.stopped:
            return
        if not answer.nodes:
            if not host.joined:
                self._doubt = True
                self._begin()
                host.log.info("alone on the chord ring as node {id}", id=shortId(me))
            return
        named = [peer for peer in self.upkeep.living(answer.nodes) if peer.id != me]
        if not named and host.joined:
            # On the ring already, alone: the tracker still names what is
            # known dead here (the neighbour that quit, say), which is no
            # ring to join, and no failure.
            return
        if not named:
            raise Unreachable("the tracker named only nodes known dead here, or "
                              "whose ids do not solve the ring's puzzle")
        follower = min(named, key=lambda peer: distance(me, peer.id))
        first = not host.joined
        if fingers:
            if ring.guessFingers(named):
                self.upkeep.settle("fingers")
            elif not first:
                self._guessing = False
        if not (first or ring.alone or strictlyBetween(follower.id, me, ring.successor.id)):
            return
        self.upkeep.update(lambda: ring.adopt(follower, tuple(ring.successors)))
        self._begin()
        host.log.info("{how} the chord ring as node {id}: successor {succ}",
                      how="joined" if first else "merged into", id=shortId(me),
                      succ=shortId(ring.successor.id))
        self._join_delay = host.settings.stabilize
        self.upkeep.askSuccessor()

    def _joinFailed(self, reason):
        host = self.host
        if reason.check(defer.CancelledError) or host.stopped:
            return
        if host.joined and not host.ring.alone:
            return
        host.log.info("could not join the chord ring yet: {why}",
                      why=inWords(reason))
        delay = host.every(self._join_delay)
        self._join_delay = min(self._join_delay * 2, JOIN_RETRY_MAX)
        host.later("join", delay, self.join)

    def refusedForPuzzle(self, successor, mine, least):
        """Its successor refused it for the ring's puzzle: a node that
        logged that it joined is no ring node, so say why, once."""
        if self._refused:
            return
        self._refused = True
        self.host.log.warn(
            "the chord ring takes this node for no neighbour: its successor {succ} "
            "refused it as predecessor, as its id solves {mine} bits of the puzzle "
            "and the ring's ids {least} or more (this node's --chord-puzzle is "
            "{own}; every node of a ring must give the same); it still reaches the "
            "ring as a client does", succ=shortId(successor.id), mine=mine,
            least=least, own=self.host.settings.puzzle)

    def unplaced(self):
        """
        A request came before this node found its place: it is held (by
        the router) while this node joins, and if the node is still not
        placed SEED_WAIT seconds after the first such request, it starts
        the ring itself.  Nodes that start together are introduced to each
        other before any is on the ring, and one of them must start it;
        but a node that joins a ring already formed is placed within a
        few round trips, and requests that wait for that join the one
        ring rather than start rings of their own, which only the probes
        would merge.  Returns False (drop the request) if the node is not
        joining.
        """
        host = self.host
        if host.stopped or host.ring is None or host.joined:
            return False
        if host.due("seed") is None:
            host.later("seed", host.every(SEED_WAIT), self._seed)
        return True

    def _seed(self):
        """Still not placed, with requests waiting: start the ring."""
        host = self.host
        if host.stopped or host.joined:
            return
        self._doubt = True
        self._begin()
        host.log.info("started the chord ring as node {id}", id=shortId(host.node.id))

    def _probe(self):
        """Probe, then again after twice as long, up to the probe period:
        rings that formed apart do so while the nodes start."""
        host = self.host
        self._probe_delay = min(self._probe_delay * 2, host.settings.probe)
        host.later("probe", host.every(self._probe_delay), self._probe)
        self.join(probe=True)

    def place(self, successors, predecessor, fingers):
        """
        Take a place on the ring without asking anyone: for a simulator
        that starts a large ring in the state stabilization converges to
        (and links its nodes itself).  ``fingers``: (first index, peer)
        runs (L{Fingers}).

        The ring is kept as usual from then on, as by a node that has kept
        a settled ring a while: every part of the upkeep at its longest
        period (rounds that found nothing new have backed it off), and the
        first probe a whole probe period away (the ring was placed whole:
        there is no ring formed apart to merge).  A node starting its
        upkeep from the base periods instead would stabilize, check its
        fingers and probe the tracker every second or two at first, and so
        would every node of the ring at once.  Anything that changes
        brings the base periods back, as on any ring (L{Upkeep.stir}).
        """
        host = self.host
        ring = Neighbourhood(host.me(), host.settings.successors)
        host.useRing(ring)
        ring.adopt(successors[0], successors[1:])
        ring.predecessor = predecessor
        ring.fingers = Fingers(fingers)
        self._guessing = False
        self.upkeep.settle("stabilize", "fingers", "ping")
        self._begin(settled=True)

    def _begin(self, settled=False):
        """The node has a place: the scheme starts keeping the ring
        (L{IRingHost.placed
        <twisted_bazaar.schemes.chord.upkeep.IRingHost.placed>}).
        ``settled``: the ring was placed whole, settled (L{place})."""
        if not self.host.joined:
            self.host.placed(settled)

    def placed(self, settled):
        """The node has a place (the upkeep started): probe for rings that
        formed apart, the first probe soon where they may have (nodes that
        started together may have started more than one ring; sooner from
        a node that started one or was alone, while rings that formed
        apart are small), none early on a ring ``settled``, placed whole;
        no seeding any more."""
        host = self.host
        settings = host.settings
        if settled:
            first = settings.probe
        elif self._doubt:
            first = settings.stabilize / 4
        else:
            first = 2 * settings.stabilize
        self._probe_delay = min(first, settings.probe)
        host.later("probe", host.every(self._probe_delay), self._probe)
        host.cancel("seed")

    #: What a node's joining takes of the tracker (L{SessionParts.takeFrom
    #: <twisted_bazaar.core.sessionhandlers.SessionParts.takeFrom>}).
    fromTracker = {ChordNearIs: nearIs}
