"""
The tracker's ``udppunchgo`` that came before the relayed link it names
(L{EarlyGoes}).  The side that opened a relayed link has it once it
sends its proof; the side that accepted it only once that proof came
through the relay.  An opener that asks its punch at once (a node just
registered, L{twisted_bazaar.reach.punch.udp.service}) can have the
tracker's go reach the accepter first, over its tracker connection, and
a go dropped there leaves the opener's probes unanswered for their 10 s,
then asked again a minute later, when the tracker no longer has the
accepter's datagrams: a 64 MiB `bazaar buy` came through the relay
whole, in 267 s (natbed, issue 85).  So such a go is kept L{WAIT} seconds
for its link, its punch run when the link comes.

Bounds: one go a peer (a newer one replaces it), L{MOST} in all (a go past
them is not kept), each with the timer that ends it, held here.
"""

__all__ = ["EarlyGoes", "WAIT", "MOST"]

#: Seconds a go waits for its relayed link: the proof's one way through
#: the relay, under load, well within the punch's 10 s.
WAIT = 3.0
#: Goes kept at most (the tracker sends them at its rate of ``udppunch``).
MOST = 16


class EarlyGoes:
    """The goes waiting for their links, by peer id."""

    def __init__(self, clock, expired):
        """
        @param expired: C{expired(go)}, called when a go's link did not
            come within L{WAIT} seconds.
        """
        self.clock = clock
        self.expired = expired
        #: peer id -> (the go, its timer).
        self._goes = {}

    def __contains__(self, peer_id):
        return peer_id in self._goes

    def keep(self, go):
        """Keep go for its link: whether it is kept (not past L{MOST})."""
        held = self._goes.get(go.id)
        if held is None and len(self._goes) >= MOST:
            return False
        if held is not None:
            held[1].cancel()
        self._goes[go.id] = (go, self.clock.callLater(WAIT, self._expire, go.id))
        return True

    def take(self, peer_id):
        """The go kept for peer_id, now no longer kept, or None."""
        held = self._goes.pop(peer_id, None)
        if held is None:
            return None
        if held[1].active():
            held[1].cancel()
        return held[0]

    def _expire(self, peer_id):
        go, _ = self._goes.pop(peer_id)
        self.expired(go)

    def stop(self):
        """The node stops: no go waits."""
        for peer_id in list(self._goes):
            self.take(peer_id)
