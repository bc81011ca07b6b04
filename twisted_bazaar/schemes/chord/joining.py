"""
How a Chord node finds its place on the ring: through a node the tracker
names, or by starting the ring when requests wait for it too long; how
a newcomer takes its successor's fingers as first guesses of its own;
and how rings that formed apart merge (probes).  A mixin of L{ChordDiscovery
<twisted_bazaar.schemes.chord.node.ChordDiscovery>}, whose state it uses.
"""

from twisted.internet import defer

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar import wire
from twisted_bazaar.net.overlay import Unreachable
from twisted_bazaar.schemes.chord.messages import (
    MAX_FINGERS,
    ChordFind,
    ChordFingerList,
    ChordFingers,
)
from twisted_bazaar.schemes.chord.ring import strictlyBetween
from twisted_bazaar.schemes.chord.settings import CHORD
from twisted_bazaar.schemes.chord.state import Fingers, Neighbourhood

#: Longest pause between two attempts to join.
JOIN_RETRY_MAX = 30.0
#: Seconds a joining node holds the requests that come before it is placed,
#: before it starts the ring itself (L{Joining._unplaced}): half the
#: default lookup timeout, so that the held requests are still answered
#: in time.
SEED_WAIT = 1.5


class Joining:
    """
    Joining the ring, and starting to keep it once placed (L{_begin}).
    """

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
            self.ring = self.router.ring = Neighbourhood(self.me(), self.settings.successors)
        asked = membership.ask(wire.NodeReq((node.id,), scheme=self.name))
        self._joining = asked
        asked.addCallback(self._introduced)
        asked.addErrback(self._joinFailed)

    def _introduced(self, reply):
        node = self.node
        if reply.id < 0 or reply.id == node.id:
            self._joining = None
            if not self.joined:
                self._doubt = True
                self._begin()
                self.log.info("alone on the chord ring as node {id}", id=shortId(node.id))
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
                      how="joined" if first else "merged into", id=shortId(me),
                      succ=shortId(ring.successor.id))
        self._join_delay = self.settings.stabilize
        if first:
            self._fingers_wanted = (self._newNonce(), False)
        self._askSuccessor()
        self._askFingers()

    def _askFingers(self):
        """
        Just joined: ask the successor for its fingers (chordFingers), once
        there is a link to it, as first guesses of this node's own, so that
        a join costs one lookup and one round trip rather than a lookup of
        each finger through a ring still forming.
        """
        wanted, ring = self._fingers_wanted, self.ring
        if wanted is None or wanted[1] or ring is None or ring.successor is None:
            return
        link = self.node.links.get(ring.successor.id)
        if link is None:
            return
        self._fingers_wanted = (wanted[0], True)
        link.send(ChordFingers(wanted[0]))

    def _fingersAsked(self, link, message):
        """A newcomer asks for this node's fingers: its distinct ones,
        nearest first."""
        if not self.joined or self.stopped:
            return
        peers = []
        for peer in self.ring.fingers:
            if peer is not None and peer not in peers:
                peers.append(peer)
        link.send(ChordFingerList(message.nonce, tuple(peers[:MAX_FINGERS])))

    def _fingersListed(self, link, message):
        """The successor's fingers: this node's first guesses of its own."""
        wanted = self._fingers_wanted
        if wanted is None or wanted[0] != message.nonce or self.stopped:
            return
        self._fingers_wanted = None
        self.ring.guessFingers(self._living(message.fingers))

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

    def _unplaced(self):
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
        if self.stopped or self.ring is None or self.joined:
            return False
        if self._due("seed") is None:
            self._later("seed", self._every(SEED_WAIT), self._seed)
        return True

    def _seed(self):
        """Still not placed, with requests waiting: start the ring."""
        if self.stopped or self.joined:
            return
        self._doubt = True
        self._begin()
        self.log.info("started the chord ring as node {id}", id=shortId(self.node.id))

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
        on.  ``fingers``: (first index, peer) runs (L{Fingers}).
        """
        ring = self.ring = self.router.ring = Neighbourhood(self.me(),
                                                            self.settings.successors)
        ring.adopt(successors[0], successors[1:])
        ring.predecessor = predecessor
        ring.fingers = Fingers(fingers)
        self._begin()

    def _begin(self):
        """The node has a place: start keeping the ring, and publish."""
        if self.joined:
            return
        self.joined = True
        settings = self.settings
        self._later("stabilize", self._every(settings.stabilize), self._stabilize)
        self._later("ping", self._every(settings.ping), self._ping)
        self._later("fingers", self._every(settings.fix_fingers), self._fixFinger)
        self._later("purge", settings.refresh, self._purge)
        # A first probe soon: nodes that started together may have started
        # more than one ring; sooner from a node that started one or was
        # alone, while rings that formed apart are small.
        first = settings.stabilize / 4 if self._doubt else 2 * settings.stabilize
        self._probe_delay = min(first, settings.probe)
        self._later("probe", self._every(self._probe_delay), self._probe)
        self._cancel("seed")
        self.router.placed()
        self.publisher.start()
        # A buyer whose last link came before this place waits for no other
        # event to start its finds.
        self.node.events.discoveryReady()
