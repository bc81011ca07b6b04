"""
A UDP punch that did not run or did not meet for a reason that passes,
asked again when it may (L{PunchRetries}): not abandoned, and not asked
at will.  Three reasons: the probe budget refused it (asked again once
the window has forgotten enough of what was sent,
L{twisted_bazaar.reach.punch.budgets.probes.ProbeBudget.wait}); the socket
pool had no room (the punches under way hold theirs
L{TIMEOUT <twisted_bazaar.reach.punch.udp.plan.TIMEOUT>} seconds at most:
asked again after that, and once the budget has room); a birthday punch
missed, by the odds' 2 %, or a punch of either kind that two routers on
one segment made miss (asked again once the routers forgot what its
datagrams left there, L{forgotten <twisted_bazaar.reach.punch.udp.plan.forgotten>},
and the budget has room for the same plan, so within its bounds).  Each peer's punch is
asked again at most L{RETRIES} times in a row (a punch that meets starts
the count again); every timer is held here and cancelled when the peer's
link goes or the node stops.  When its timer fires, the punch is wanted
of the tracker again only if the peer's relayed link still stands and
nothing else with it runs or is wanted (L{PunchRetries.mayAskAgain}); the
line that says why a punch did not run says when it is asked again
(L{PunchRetries.saying}).  A punch with a peer after one that got no
datagram back is patient (L{PunchRetries.patient}): that silence may be
two routers on one segment, each taking the other's first datagrams for
itself (L{twisted_bazaar.reach.punch.udp.plan}), which only a patient plan
outlasts.
"""

from twisted_bazaar.reach.punch.tcp.service import isRelayed

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

    def __init__(self, clock, budget, overlay, runs, wanted, ask):
        """
        @param budget: the node's
            L{ProbeBudget <twisted_bazaar.reach.punch.budgets.probes.ProbeBudget>}.
        @param overlay: the node's link table, asked its link to a peer
            (L{twisted_bazaar.net.overlay.Overlay.linkTo}).
        @param runs: peer id -> the punch with it under way or met (read
            only; a met one has a C{path}).
        @param wanted: the node's
            L{WantedPunches <twisted_bazaar.reach.punch.udp.wanted.WantedPunches>},
            told of a punch wanted again.
        @param ask: C{ask(peer_id)}, asks the tracker for a punch wanted.
        """
        self.clock = clock
        self.budget = budget
        self.overlay = overlay
        self.runs = runs
        self.wanted = wanted
        self.ask = ask
        #: peer id -> the timer asking again.
        self._timers = {}
        #: peer id -> the times in a row its punch was refused.
        self._tries = {}
        #: The peers whose last punch got no datagram back.
        self._silent = set()

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
        link = self.overlay.linkTo(peer_id)
        wait = self.budget.wait(plan.host, plan.sends, None if link is None else link.key)
        if wait is None or tries > RETRIES:
            self.cancel(peer_id)
            return None
        self._cancelTimer(peer_id)
        self._tries[peer_id] = tries
        seconds = max(wait, after) + SLACK
        self._timers[peer_id] = self.clock.callLater(seconds, self._fire, peer_id)
        return seconds, tries

    def saying(self, why, peer_id, plan, after=0.0):
        """why (a punch with peer_id did not run or did not meet), and
        when it is asked again, if it is (L{later})."""
        later = self.later(peer_id, plan, after)
        if later is None:
            return why
        return f"{why}; asked again in {later[0]:.0f} s (try {later[1]} of {RETRIES})"

    def waiting(self, peer_id):
        """Whether a punch with peer_id waits to be asked again."""
        return peer_id in self._timers

    def mayPunch(self, peer_id):
        """Whether a punch with peer_id may still come: its link is relayed
        and no path met."""
        link = self.overlay.linkTo(peer_id)
        run = self.runs.get(peer_id)
        return (link is not None and isRelayed(link)
                and (run is None or run.path is None))

    def mayAskAgain(self, peer_id):
        """Whether a punch with peer_id is to be wanted again now: its
        relayed link stands, and no punch with it runs or is wanted."""
        link = self.overlay.linkTo(peer_id)
        return (link is not None and isRelayed(link) and peer_id not in self.runs
                and peer_id not in self.wanted)

    def _fire(self, peer_id):
        """The punch may run now: the tracker is asked for it again (by
        this side, whichever opened the link), if it still may."""
        del self._timers[peer_id]
        if self.mayAskAgain(peer_id):
            self.wanted.want(peer_id, self.overlay.linkTo(peer_id))
            self.ask(peer_id)

    def met(self, peer_id):
        """A punch with peer_id met: its next refusal is the first, and its
        next punch is not patient."""
        self._tries.pop(peer_id, None)
        self._silent.discard(peer_id)

    def silent(self, peer_id):
        """A punch with peer_id got no datagram back: the next is patient."""
        self._silent.add(peer_id)

    def patient(self, peer_id):
        """Whether a punch with peer_id now is to be patient (L{silent})."""
        return peer_id in self._silent

    def _cancelTimer(self, peer_id):
        timer = self._timers.pop(peer_id, None)
        if timer is not None and timer.active():
            timer.cancel()

    def cancel(self, peer_id):
        """No punch with peer_id is asked again (its link went)."""
        self._cancelTimer(peer_id)
        self._tries.pop(peer_id, None)
        self._silent.discard(peer_id)

    def stop(self):
        """The node stops: no punch is asked again."""
        for peer_id in list(self._timers):
            self.cancel(peer_id)
        self._tries.clear()
        self._silent.clear()
