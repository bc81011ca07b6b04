"""
Stabilization of a Chord node's place, a part of its upkeep (L{Upkeep
<twisted_bazaar.schemes.chord.upkeep.Upkeep>}): now and then the node
asks its successor for that successor's predecessor and successor list
(``chordStabilize``), adopts a closer successor it names, and is noticed
as that successor's predecessor (notify) as it asks; and its answers
(``chordState``) to the nodes that take it for their successor.

A mixin of L{Upkeep <twisted_bazaar.schemes.chord.upkeep.Upkeep>}, not
an object of its own: the simulator runs an upkeep for every node, and a
part held apart would cost each node an object (docs/simulator.md).  It
reads the upkeep's host, paces and ring repair (L{Upkeep.update
<twisted_bazaar.schemes.chord.upkeep.Upkeep.update>}, C{living},
C{_ensureLink}) and notes a neighbour heard from for its pings
(L{Pinging <twisted_bazaar.schemes.chord.pinging.Pinging>}); its state
is in the upkeep's slots: C{_stabilizing}.
"""

from twisted_bazaar.schemes.chord.messages import ChordStabilize, ChordState
from twisted_bazaar.schemes.chord.ring import solves, strictlyBetween
from twisted_bazaar.schemes.chord.state import Peer


class Stabilizing:
    """
    Ask the successor, adopt what it says; answer those who ask.

    @ivar _stabilizing: (successor id, nonce) of the ``chordStabilize``
        awaiting its answer, or None.
    """

    __slots__ = ()

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
        link = self.host.node.links.get(succ.id)
        if link is None:
            self._ensureLink(succ)
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
