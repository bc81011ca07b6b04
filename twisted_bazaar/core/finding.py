"""
A scheme's find held to its word (L{IDiscovery.find}: a Deferred list of
L{Offer}s, best first, that fires and never fails), for the parts that
ask one: the buyer's wants and its file fetcher.

A scheme may be a plugin from outside, still being written.  A find that
raises, fails, gives anything but offers of this node's, or stays silent
L{FIND_GRACE} seconds past its wait is said in one line naming the scheme
and its file, and taken as no offer (the silent one cancelled): the buyer
searches again after its pause, rather than wait forever or log the
scheme's traceback as its own failure.
"""

from twisted.internet import defer
from twisted.logger import Logger, LogLevel

from twisted_bazaar.base.blame import moduleOf, why
from twisted_bazaar.core.market import Offer, discoveryOf

#: Seconds past its wait a find may take before it is given up on: far
#: more than a scheme's own timeouts (a chord lookup's 3 s and its
#: detours), so only a find that would never fire meets it.
FIND_GRACE = 60.0

_log = Logger()
# Each line names the scheme at fault in its field ``fault``, which the
# simulator shows once a kind (twisted_bazaar.sim.logs).


def _named(scheme):
    return f"the discovery scheme {type(scheme).__qualname__} ({moduleOf(scheme)})"


def _traceback(failure, scheme):
    """The traceback of a scheme's failure, as a debug line (-v)."""
    _log.failure("the traceback of {scheme}'s find", failure, level=LogLevel.debug,
                 scheme=type(scheme).__name__)


def find(node, item, wait):
    """Ask node's scheme for offers of item (L{IDiscovery.find}, wait
    seconds): a Deferred list of offers that fires within wait plus
    L{FIND_GRACE}, never fails, and, cancelled, cancels the scheme's."""
    scheme = discoveryOf(node)
    try:
        asked = scheme.find(item, wait)
    except Exception as e:
        _traceback(None, scheme)
        _log.error("{fault} raised in find({item!r}): {why}; taken as no offer "
                   "(-v logs its traceback)", fault=_named(scheme), item=item, why=why(e))
        return defer.succeed([])
    if not isinstance(asked, defer.Deferred):
        _log.error("{fault} returned {kind} from find({item!r}), not a Deferred; "
                   "taken as no offer", fault=_named(scheme),
                   kind=type(asked).__name__, item=item)
        return defer.succeed([])
    return _Held(node, scheme, item, wait, asked).result


class _Held:
    """One find of a scheme's, watched: L{result} is what the asker gets."""

    __slots__ = ("node", "scheme", "item", "wait", "asked", "result", "timer", "done")

    def __init__(self, node, scheme, item, wait, asked):
        self.node = node
        self.scheme = scheme
        self.item = item
        self.wait = wait
        self.asked = asked
        self.done = False
        self.result = defer.Deferred(self._cancel)
        self.timer = node.clock.callLater(wait + FIND_GRACE, self._late)
        asked.addCallbacks(self._answered, self._failed)

    def _finish(self, offers):
        self.done = True
        if self.timer.active():
            self.timer.cancel()
        self.result.callback(offers)

    def _answered(self, offers):
        if self.done:
            return
        self._finish(self._offers(offers))

    def _offers(self, offers):
        """The offers of a scheme's answer that are offers of this node's:
        L{Offer}s whose route goes from it to their seller."""
        if not isinstance(offers, (list, tuple)):
            _log.error("{fault}'s find({item!r}) gave {kind}, not a list of offers; "
                       "taken as no offer", fault=_named(self.scheme),
                       item=self.item, kind=type(offers).__name__)
            return []
        me = self.node.id
        kept = [offer for offer in offers
                if isinstance(offer, Offer) and isinstance(offer.route, (list, tuple))
                and len(offer.route) >= 2 and offer.route[0] == me
                and offer.route[-1] == offer.seller]
        if len(kept) < len(offers):
            _log.error("{fault}'s find({item!r}) gave {n} of {all} offers that are no "
                       "Offer with a route from this node to its seller; dropped",
                       fault=_named(self.scheme), item=self.item,
                       n=len(offers) - len(kept), all=len(offers))
        return kept

    def _failed(self, failure):
        if self.done:
            return None
        _traceback(failure, self.scheme)
        _log.error("{fault}'s find({item!r}) failed: {why}; taken as no offer "
                   "(-v logs its traceback)", fault=_named(self.scheme),
                   item=self.item, why=why(failure.value))
        self._finish([])
        return None

    def _late(self):
        _log.error("{fault}'s find({item!r}) did not fire within its wait, {wait} s, "
                   "nor {grace:.0f} s after: cancelled, and taken as no offer (its timers "
                   "go on node.clock: the global reactor's never fire in a Market or "
                   "bazaar-sim)",
                   fault=_named(self.scheme), item=self.item, wait=self.wait,
                   grace=FIND_GRACE)
        self.done = True
        self.asked.cancel()
        self.result.callback([])

    def _cancel(self, result):
        """The asker cancelled: so is the scheme's find."""
        self.done = True
        if self.timer.active():
            self.timer.cancel()
        self.asked.cancel()
