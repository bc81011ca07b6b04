"""
One pace for the rounds in which a node advertises its address anew:
each has every part advertise the node again (every item registered
again, each record signed anew).  Two changes start one on the tracker's
word alone: a new host it sees a node at home at (``reach``'s
``seenHost``, L{twisted_bazaar.reach.reachable.reaching}) and a new relay
(L{twisted_bazaar.reach.reachable.reservation}).  Each had a pace of its own,
and neither counted the other's rounds: a lying tracker alternating a
new host and a new relay had the node advertise anew every 5 s for as
long as it liked.  So both share this one: the first change of each
kind at once (an honest node's host, then its relay, are not delayed),
any other no sooner than the wait after the last round, which doubles
with each such round, and in one round with whatever else waits then.
"""

#: Seconds at least between two rounds, at first.
ADVERTISE_INTERVAL = 5.0
#: The wait doubles with each round, up to ADVERTISE_MAX: a tracker naming
#: one relay or host, then another, every ADVERTISE_INTERVAL, had the node
#: sign every record anew every 5 s for as long as it liked.  Dialling a
#: node, a peer asks the tracker where it is (docs/protocol.md §5a), so a
#: change advertised late costs no circuit.
ADVERTISE_MAX = 320.0
#: A round this long ago (none since) brings the wait back to
#: ADVERTISE_INTERVAL.
ADVERTISE_CALM = 2 * ADVERTISE_MAX


class AdvertisePace:
    """
    When a node next advertises its address anew, and the timer of the
    round that waits (its owners: each kind withdraws what it waits with,
    L{withdraw}, and the timer goes with the last).
    """

    def __init__(self, clock, advertise):
        """
        @param advertise: C{advertise()}, one round: the node's parts told
            (C{relayChanged}).
        """
        self.clock = clock
        self.advertise = advertise
        #: When the last round was, and the wait after it.
        self._at = None
        self._wait = ADVERTISE_INTERVAL
        #: The kinds whose first change was advertised.
        self._known = set()
        #: kind -> its latest change waiting for the round: C{apply()}.
        self._waiting = {}
        self._call = None

    def change(self, kind, apply):
        """
        kind (``"host"``, ``"relay"``) changed: C{apply()} brings its
        latest into what the node advertises, True when that changes it.
        Applied in a round: at once for kind's first change, or once the
        wait after the last round is out; otherwise at its end, with any
        other kind's that waits then (one round for all).
        """
        now = self.clock.seconds()
        if kind not in self._known or (self._call is None and (
                self._at is None or now >= self._at + self._wait)):
            self._waiting.pop(kind, None)
            self._round({kind: apply})
            return
        self._waiting[kind] = apply
        if self._call is None:
            self._call = self.clock.callLater(max(0, self._at + self._wait - now),
                                              self._due)

    def withdraw(self, kind):
        """kind's change waits no more (its relay lost, its owner stopped);
        the timer goes once nothing waits."""
        self._waiting.pop(kind, None)
        call = self._call
        if not self._waiting and call is not None:
            self._call = None
            if call.active():
                call.cancel()

    def _due(self):
        self._call = None
        waiting, self._waiting = self._waiting, {}
        self._round(waiting)

    def _round(self, applies):
        changed = [kind for kind, apply in applies.items() if apply()]
        if not changed:
            return
        # A kind's first round does not lengthen the wait: an honest node's
        # relay, moved once soon after its host, waits no longer for it.
        first = not self._known.issuperset(changed)
        self._known.update(changed)
        now = self.clock.seconds()
        if self._at is not None and not first:
            self._wait = (ADVERTISE_INTERVAL if now - self._at >= ADVERTISE_CALM
                          else min(ADVERTISE_MAX, 2 * self._wait))
        self._at = now
        self.advertise()
