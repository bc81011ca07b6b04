"""
Finger repair, a part of a Chord node's upkeep (L{Upkeep
<twisted_bazaar.schemes.chord.upkeep.Upkeep>}): one finger a round, a
known finger checked by its predecessor (chordPred), a nearby predecessor
taken in its place, a lookup otherwise; a round that changed nothing
lengthens the period.
"""

from twisted.internet import defer

from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.schemes.chord.messages import ChordFind, ChordPred, ChordPredIs
from twisted_bazaar.schemes.chord.question import Question
from twisted_bazaar.schemes.chord.ring import BITS, distance, fingerStart
from twisted_bazaar.schemes.chord.settings import FINGER


class FingerRepair:
    """
    The fingers of one node, repaired one at a time.

    @ivar host: the L{IRingHost <twisted_bazaar.schemes.chord.upkeep.IRingHost>}.
    @ivar upkeep: the L{Upkeep} it is part of (its paces, the dead it
        buried, its ring links).
    """

    __slots__ = ("host", "upkeep", "_fingers_seen", "_finger", "_fixing", "_checking")

    def __init__(self, host, upkeep):
        self.host = host
        self.upkeep = upkeep
        #: The fingers' L{digest <Fingers.digest>} at the last finger round
        #: (did it change them?).
        self._fingers_seen = None
        self._finger = 0
        self._fixing = None
        #: The finger being checked (its chordPred), a L{Question}, or None.
        self._checking = None

    def settled(self):
        """The fingers are known settled as they are now."""
        self._fingers_seen = self.host.ring.fingers.digest()

    def stop(self):
        """Cancel the repair under way."""
        if self._fixing is not None:
            self._fixing.cancel()

    def fix(self):
        """Look up the next finger (one lookup at a time).  A lookup that
        left the fingers as they were lengthens the period; one that
        changed them (or a finger that died since) brings it back to its
        base."""
        ring, pace = self.host.ring, self.upkeep.paces["fingers"]
        if not ring.alone and self._fixing is None:
            seen = ring.fingers.digest()
            if seen == self._fingers_seen:
                pace.calm()
            else:
                pace.stir()
            self._fingers_seen = seen
        self.host.later("fingers", self.host.every(pace.period), self.fix)
        if ring.alone or self._fixing is not None:
            return
        index = self._finger
        if index == 0:
            self.upkeep.prune()
        start = fingerStart(self.host.node.id, index)
        finger = ring.fingers[index]
        if finger is None:
            self._lookUpFinger(index, start)
            return
        fixing = self._fixing = self._checkFinger(finger)
        fixing.addCallback(self._fingerChecked, index, start, finger)
        fixing.addErrback(ignoreCancelled)

    def _lookUpFinger(self, index, start):
        """Look the finger up through the ring."""
        fixing = self._fixing = self.host.router.start(lambda i: ChordFind(i, start, ()),
                                                       self.host.settings.lookup_timeout)
        fixing.addCallback(self._fingerFound, index)
        fixing.addErrback(ignoreCancelled)

    def _checkFinger(self, finger):
        """
        Ask the finger for its predecessor (chordPred), over its link or a
        finger link opened for it: a Deferred of the chordPredIs, or of
        None if none comes within the lookup timeout.  A round trip, where
        a lookup is about ½·log2 N hops.
        """
        node = self.host.node
        nonce = self.host.newNonce()

        def cancel(d):
            self._endCheck(nonce)

        checked = defer.Deferred(cancel)
        timer = node.clock.callLater(self.host.settings.lookup_timeout, self._checked,
                                     nonce, None)
        check = self._checking = Question(nonce, checked, timer, finger.id)

        def ask(_=None):
            link = node.linkTo(finger.id)
            if link is None:
                self._checked(nonce, None)
            elif self._checking is check:
                link.send(ChordPred(nonce))

        def failed(reason):
            self._checked(nonce, None)

        if node.linkTo(finger.id) is not None:
            ask()
        else:
            node.heard(finger.id, finger.host, finger.port,
                       namedBy=self.host.namerOf(finger))
            connecting = node.connectTo(finger.id, FINGER)
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

    def predAsked(self, link, message):
        """Answer with this node's predecessor (a node on the ring only)."""
        if self.host.joined and not self.host.stopped:
            link.send(ChordPredIs(message.nonce, self.host.ring.predecessor))

    def predTold(self, link, message):
        self.host.naming.note(link, message)
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
        if answer is None or self.host.ring is None or self.host.stopped:
            if not self.host.stopped:
                self._lookUpFinger(index, start)
            return
        pred, me = answer.pred, self.host.node.id
        if (pred is not None and pred.id != me
                and distance(start, pred.id) < distance(start, finger.id)):
            if not self.upkeep.living([pred]) or not self._nearby(start, pred.id):
                self._lookUpFinger(index, start)
                return
            self.host.ring.setFinger(index, pred)
            self._finger = index
            return
        self._finger = self.host.ring.setFinger(index, finger)

    def _nearby(self, start, peer_id):
        """Is peer_id at most about two nodes past start, as far as the
        spacing of our own successors tells?  Then a finger that far is a
        step or two from the right one, and stepping back costs less than
        a lookup; a finger further off (set while the ring was smaller)
        is looked up."""
        succs = self.host.ring.successors
        if not succs:
            return False
        spacing = distance(self.host.node.id, succs[-1].id) // len(succs)
        return distance(start, peer_id) <= 2 * spacing

    def _fingerFound(self, found, index):
        self._fixing = None
        if found is None:
            self._finger = (index + 1) % BITS
            return
        if not self.upkeep.living([found.node]):
            self._finger = (index + 1) % BITS
            return
        # A finger is an address: the link to it is opened when a request
        # goes that way (see routing), not kept.
        self._finger = self.host.ring.setFinger(index, found.node)

    #: The messages the finger repair takes: message class ->
    #: function(repair, link, message).
    takes = {ChordPred: predAsked, ChordPredIs: predTold}
