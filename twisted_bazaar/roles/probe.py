"""
Telling a seller that will not answer from one that cannot.

A buyer that gets no answer to a ``buy`` or an ``ask`` cannot tell, from
silence alone, a seller that crashed (its sale, if it made one, may yet
reach the buyer when it is back) from one that reads everything and
answers nothing.  On a link where the seller proved its key, the buyer
can: a L{Probe} sends the question, then a ``ping`` (docs/protocol.md
§7), on that one link.  The link is one TCP stream, delivered in order,
so the ``pong`` says the seller has read the question.  An honest seller
answers a question it read at once (a sale whose commit is in flight: as
soon as it is on disk), so if no answer comes within a grace after the
pong, round after round, the seller read the question and chose not to
answer.  A link that drops, or a pong that never comes, proves nothing:
the probe then just ends, and the buy stays in doubt.

The probes' pings keep to the rate a peer answers (L{Pings}): a buyer
that buys several items of one seller at once shares one ping among
them rather than send one each, which the seller would drop unanswered
and log the buyer for.
"""

from twisted.internet import defer
from twisted.python import failure

#: Seconds after a pong that an answer may still take: room for a sale
#: whose commit was in flight when the question arrived.
ANSWER_GRACE = 1.0
#: Rounds (question, ping, pong, grace) an ``ask`` must go unanswered
#: before its seller counts as refusing to answer.  More than one: the
#: question is asked again, so a seller whose first answer was held up
#: (a slow disk, a closed id it could not write) answers the next from
#: memory.
ASK_ROUNDS = 3
#: Rounds for a ``buy``: one, as giving up on a buy early only puts it in
#: doubt, where the ``ask`` probe takes over.
BUY_ROUNDS = 1
#: Seconds between two probe pings on one link: a peer answers 1 a
#: second, in bursts of 2 (docs/protocol.md §7); the burst's second is
#: left to the link's keepalive.
PING_SPACING = 1.0


class Probe:
    """
    Asks one question on one link, round after round, until it is
    answered (L{answered}), the link is lost, or every round's pong came
    back without an answer within the grace.

    @ivar rounds: rounds left, the current one included.
    @ivar done: True once the probe ended, for whatever reason.
    """

    def __init__(self, link, clock, ask, ended, rounds, grace=ANSWER_GRACE,
                 pings=None):
        """
        @param ask: called with no argument to send the question again on
            C{link}, at the start of each round after the first; it may
            call L{answered} to stop the probe (the link was replaced, say).
        @param ended: called once with True if the seller read every
            round's question and answered none, with False if the link was
            lost first (nothing proven); never after L{answered}.
        @param pings: the L{Pings} that paces this link's pings, shared
            by the probes of one node (None: the link pings at once).
        """
        self.link = link
        self._ping = link.ping if pings is None else (lambda: pings.ping(link))
        self.clock = clock
        self.ask = ask
        self.ended = ended
        self.rounds = rounds
        self.grace = grace
        self.done = False
        self._pong = None
        self._timer = None

    def start(self):
        """The question was just sent on the link: the first round."""
        self._round(first=True)

    def answered(self):
        """The seller answered (or the question no longer matters): stop."""
        self.done = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._pong is not None:
            pong, self._pong = self._pong, None
            pong.cancel()

    def _round(self, first=False):
        self.rounds -= 1
        if not first:
            self.ask()
            if self.done:
                return
        pong = self._pong = self._ping()
        pong.addCallbacks(self._ponged, self._lost)

    def _ponged(self, _):
        self._pong = None
        if not self.done:
            self._timer = self.clock.callLater(self.grace, self._expired)

    def _lost(self, reason):
        """The link closed (or the probe was stopped): nothing is proven."""
        self._pong = None
        if not reason.check(defer.CancelledError) and not self.done:
            self.done = True
            self.ended(False)

    def _expired(self):
        self._timer = None
        if self.rounds > 0:
            self._round()
            return
        self.done = True
        self.ended(True)


class _Shared:
    """One ping that answers every probe waiting on it: sent when its
    timer fires (then C{sent()}), unless every probe stopped waiting
    first (then C{dropped(self)})."""

    def __init__(self, clock, delay, link, sent, dropped):
        self.waiters = []
        self._pong = None
        self._dropped = dropped
        self._timer = clock.callLater(delay, self._send, link, sent)

    def wait(self):
        waiter = defer.Deferred(self._cancelled)
        self.waiters.append(waiter)
        return waiter

    def _send(self, link, sent):
        self._timer = None
        sent()
        self._pong = link.ping()
        self._pong.addBoth(self._fire)

    def _fire(self, result):
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if isinstance(result, failure.Failure):
                waiter.errback(result)
            else:
                waiter.callback(None)

    def _cancelled(self, waiter):
        if waiter in self.waiters:
            self.waiters.remove(waiter)
        if self.waiters:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._dropped(self)
        elif self._pong is not None:
            self._pong.cancel()

    def stop(self):
        for waiter in list(self.waiters):
            waiter.cancel()


class Pings:
    """
    The probes' pings, at most one a link every L{PING_SPACING} seconds.
    A pong says the peer read everything sent on the link before its
    ping, so a probe whose question went out after a link's last ping
    waits for the next one, which answers every probe that asked since.

    @ivar clock: the node's clock, which owns the timers of waiting pings
        (cancelled by L{stop}, or once no probe waits on them).
    """

    def __init__(self, clock, spacing=PING_SPACING):
        self.clock = clock
        self.spacing = spacing
        #: link -> [time of its last ping, its waiting L{_Shared} or None]
        self._links = {}

    def ping(self, link):
        """
        @return: a Deferred that fires once the peer has read what was
            sent on link before this call, fails if the link closes
            first, and may be cancelled.
        """
        now = self.clock.seconds()
        for other, (sent, shared) in list(self._links.items()):
            if shared is None and now - sent >= self.spacing:
                del self._links[other]
        paced = self._links.get(link)
        if paced is None:
            self._links[link] = [now, None]
            return link.ping()
        if paced[1] is None:
            paced[1] = _Shared(self.clock, paced[0] + self.spacing - now, link,
                               lambda: self._sent(paced),
                               lambda shared: self._dropped(paced, shared))
        return paced[1].wait()

    def _sent(self, paced):
        paced[0], paced[1] = self.clock.seconds(), None

    def _dropped(self, paced, shared):
        if paced[1] is shared:
            paced[1] = None

    def stop(self):
        """Cancel every waiting ping (its probes see a cancellation)."""
        links, self._links = self._links, {}
        for _, shared in links.values():
            if shared is not None:
                shared.stop()
