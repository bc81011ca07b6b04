"""
The pings of a Chord node's neighbours, a part of its upkeep (L{Upkeep
<twisted_bazaar.schemes.chord.upkeep.Upkeep>}): its first successor and
its predecessor are pinged unless heard from lately; k misses in a row
make one dead, buried, and the ring repaired; and its answers to the
pings of others, one of which may name a better successor.

A mixin of L{Upkeep <twisted_bazaar.schemes.chord.upkeep.Upkeep>}, not
an object of its own: the simulator runs an upkeep for every node, and a
part held apart would cost each node an object (docs/simulator.md).  It
reads the upkeep's host, paces and ring repair (L{Upkeep.update
<twisted_bazaar.schemes.chord.upkeep.Upkeep.update>}, C{bury},
C{refill}, C{living}, C{_ensureLink}); its state is in the upkeep's
slots: C{_heard} and C{_awaiting}.
"""

from twisted_bazaar.base.sparing import own
from twisted_bazaar.schemes.chord.messages import ChordPing, ChordPong
from twisted_bazaar.schemes.chord.ring import strictlyBetween
from twisted_bazaar.schemes.chord.state import Peer
from twisted_bazaar.wire.ids import shortId


class Pinging:
    """
    Ping the neighbours, count their misses, answer pings.

    @ivar _heard: peer id -> when a neighbour last showed it is alive
        (see L{_ping}).
    @ivar _awaiting: peer id -> nonce of its unanswered ping (None: it
        could not be pinged).
    """

    __slots__ = ()

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
        ring, links, pace = self.host.ring, self.host.node.links, self.paces["ping"]
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
            link = links.get(peer.id)
            if link is None:
                awaiting[peer.id] = None
                self._ensureLink(peer)
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
