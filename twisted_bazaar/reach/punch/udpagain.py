"""
A UDP punch that did not run or did not meet for a reason that passes,
asked again when it may (L{PunchRetries}): not abandoned, and not asked
at will.  Three reasons: the probe budget refused it (asked again once
the window has forgotten enough of what was sent,
L{twisted_bazaar.reach.punch.probebudget.ProbeBudget.wait}); the socket
pool had no room (the punches under way hold theirs
L{TIMEOUT <twisted_bazaar.reach.punch.udp.TIMEOUT>} seconds at most:
asked again after that, and once the budget has room); a birthday punch
missed, by the odds' 2 % (asked again once the budget has room for the
same plan, so within its bounds: a window later).  Each peer's punch is
asked again at most L{RETRIES} times in a row (a punch that meets starts
the count again); every timer is held here and cancelled when the peer's
link goes or the node stops.
"""

__all__ = ["PunchRetries", "RETRIES", "SLACK"]

#: Times in a row a punch is asked again.
RETRIES = 3
#: Seconds past the budget's room a punch is asked again: its ask, the
#: tracker's check and its go take a few round trips, and the window
#: forgets a send only once it is past.
SLACK = 1.0


class PunchRetries:
    """
    The punches waiting to be asked again, by peer id: see the module's
    docstring.
    """

    def __init__(self, clock, budget, again):
        """
        @param budget: the node's
            L{ProbeBudget <twisted_bazaar.reach.punch.probebudget.ProbeBudget>}.
        @param again: called with a peer's id when its punch is to be
            asked again.
        """
        self.clock = clock
        self.budget = budget
        self.again = again
        #: peer id -> the timer asking again.
        self._timers = {}
        #: peer id -> the times in a row its punch was refused.
        self._tries = {}

    def later(self, peer_id, plan, after=0.0):
        """
        plan (of a punch with peer_id) did not run or did not meet: ask
        it again once the budget has room for it, and no sooner than
        ``after`` seconds.

        @return: (the seconds until then, the try it is, of L{RETRIES}),
            or None when it is not asked again (its tries are spent, or
            no window could hold the plan).
        """
        tries = self._tries.get(peer_id, 0) + 1
        wait = self.budget.wait(plan.host, len(plan.probes))
        if wait is None or tries > RETRIES:
            self.cancel(peer_id)
            return None
        self._cancelTimer(peer_id)
        self._tries[peer_id] = tries
        seconds = max(wait, after) + SLACK
        self._timers[peer_id] = self.clock.callLater(seconds, self._fire, peer_id)
        return seconds, tries

    def waiting(self, peer_id):
        """Whether a punch with peer_id waits to be asked again."""
        return peer_id in self._timers

    def _fire(self, peer_id):
        del self._timers[peer_id]
        self.again(peer_id)

    def met(self, peer_id):
        """A punch with peer_id met: its next refusal is the first."""
        self._tries.pop(peer_id, None)

    def _cancelTimer(self, peer_id):
        timer = self._timers.pop(peer_id, None)
        if timer is not None and timer.active():
            timer.cancel()

    def cancel(self, peer_id):
        """No punch with peer_id is asked again (its link went)."""
        self._cancelTimer(peer_id)
        self._tries.pop(peer_id, None)

    def stop(self):
        """The node stops: no punch is asked again."""
        for peer_id in list(self._timers):
            self.cancel(peer_id)
        self._tries.clear()
