"""
The UDP punches a node wants the tracker to start (L{WantedPunches}):
for each peer, the relayed link this node opened to it whose TCP punch
failed, how often the tracker was asked for it, and the timer asking
again one the tracker refused (its check of the peer may be under way).
"""

__all__ = ["WantedPunches", "ASK_AGAIN", "ASKS"]

#: Seconds before a ``udppunch`` refused is asked again (the tracker may
#: not have the peer's datagrams yet: its check is under way), and the
#: asks at most.
ASK_AGAIN = 2.0
ASKS = 3


class WantedPunches:
    """
    The punches wanted, by peer id, until given up (L{drop}).

    @ivar links: peer id -> the relayed link this node opened to it,
        punched over UDP once this node's mapping is fresh.
    """

    def __init__(self, clock, askAgain):
        """
        @param askAgain: called with a peer's id when its refused ask is
            to be made again.
        """
        self.clock = clock
        self.askAgain = askAgain
        self.links = {}
        #: peer id -> how often its punch was asked.
        self._asks = {}
        #: peer id -> the timer asking again.
        self._again = {}

    def __contains__(self, peer_id):
        return peer_id in self.links

    def peers(self):
        """The peers wanted now, a list of its own."""
        return list(self.links)

    def want(self, peer_id, link):
        """A punch with peer_id over link is wanted."""
        self.links[peer_id] = link

    def waitsToAsk(self, peer_id):
        """Whether a refused ask of peer_id's is to be made again later."""
        return peer_id in self._again

    def asked(self, peer_id):
        """The tracker was asked for peer_id's punch once more."""
        self._asks[peer_id] = self._asks.get(peer_id, 0) + 1

    def asksAgain(self, peer_id):
        """Whether a refusal of peer_id's ask would be asked again
        (L{refused}): its punch wanted, its L{ASKS} not spent."""
        return peer_id in self and self._asks.get(peer_id, 0) < ASKS

    def refused(self, peer_id):
        """The tracker refused peer_id's ask: whether it is asked again in
        L{ASK_AGAIN} s (False: its L{ASKS} are spent)."""
        if self._asks.get(peer_id, 0) >= ASKS:
            return False
        self._again[peer_id] = self.clock.callLater(ASK_AGAIN, self._askAgain, peer_id)
        return True

    def _askAgain(self, peer_id):
        self._again.pop(peer_id, None)
        self.askAgain(peer_id)

    def drop(self, peer_id):
        """peer_id's punch is no longer wanted: its link (None if it was
        not), its count and its timer gone."""
        self._asks.pop(peer_id, None)
        again = self._again.pop(peer_id, None)
        if again is not None and again.active():
            again.cancel()
        return self.links.pop(peer_id, None)
