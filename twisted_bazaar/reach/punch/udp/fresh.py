"""
This node's UDP mapping kept fresh at its tracker while a punch with a
peer may be asked again (L{KeptFresh}).  The tracker starts a punch only
while it saw both sides' datagrams in the last 30 s
(L{KNOWN <twisted_bazaar.reach.punch.udp.mapping.KNOWN>}), and a side
whose punch got no datagram back cannot tell whether its peer missed it
or was refused by its own bounds; either side then asks again when its
bounds allow, up to a window later
(L{twisted_bazaar.reach.punch.udp.again}), and a side that had nothing
re-check its mapping meanwhile was refused then ("saw no datagram ... in
the last 30 s": natbed, issue 85).  So for L{KEEP_FOR} seconds after such
a punch, while the peer still waits (its relayed link stands, no path
met), the node looks every L{EVERY} seconds and asks a check when its
mapping is older than L{FRESH <twisted_bazaar.reach.punch.udp.mapping.FRESH>}:
the tracker's copy is then never older than 20 + 5 s and a check's round
trip.  One timer for all the peers, held here, cancelled when none waits
or the node stops.
"""

from twisted_bazaar.reach.punch.budgets.dials import WINDOW

__all__ = ["KeptFresh", "KEEP_FOR", "EVERY"]

#: Seconds after a punch that got nothing back that the mapping is kept
#: fresh: the window after which the peer's budget has room again (its
#: refusal came as this punch started, its timeout before this), with the
#: few seconds of its ask, its own check and the tracker's go to spare.
KEEP_FOR = WINDOW
#: Seconds between two looks at the mapping's age.
EVERY = 5.0


class KeptFresh:
    """The peers whose punch may be asked again, and until when the
    mapping is kept fresh for each: see the module's docstring."""

    def __init__(self, clock, freshen, stillWaits):
        """
        @param freshen: called to ask a check if the mapping is stale
            (L{MappingCheck.freshen
            <twisted_bazaar.reach.punch.udp.mapping.MappingCheck.freshen>}
            with its sender).
        @param stillWaits: C{stillWaits(peer_id)}, whether a punch with
            that peer may still come (its link relayed, nothing met).
        """
        self.clock = clock
        self.freshen = freshen
        self.stillWaits = stillWaits
        #: peer id -> until when the mapping is kept fresh for it.
        self._until = {}
        self._timer = None

    def keep(self, peer_id):
        """A punch with peer_id got nothing back: keep fresh for it."""
        self._until[peer_id] = self.clock.seconds() + KEEP_FOR
        if self._timer is None:
            self._timer = self.clock.callLater(EVERY, self._look)

    def waiting(self, peer_id):
        """Whether the mapping is kept fresh for peer_id."""
        return peer_id in self._until

    def done(self, peer_id):
        """No punch with peer_id is waited for (its link went, or a path met)."""
        self._until.pop(peer_id, None)
        if not self._until:
            self._cancel()

    def _look(self):
        self._timer = None
        now = self.clock.seconds()
        for peer_id, until in list(self._until.items()):
            if until <= now or not self.stillWaits(peer_id):
                del self._until[peer_id]
        if self._until:
            self.freshen()
            self._timer = self.clock.callLater(EVERY, self._look)

    def _cancel(self):
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def stop(self):
        """The node stops: nothing is kept fresh."""
        self._until.clear()
        self._cancel()
