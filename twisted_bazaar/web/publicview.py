"""
L{TwoViews}: what a web view that is some node's operator
(``bazaar web --data-dir``) keeps, twice: the L{MarketView} of what it
is told (``whole``), shown only to a request that carries the operator's
token, and the one of the public facts alone (``public``), shown to any
other.  Each node's state reaches the public view as a stranger is told
it (L{publicOf}), so nothing only the operator is told (its bag, trades,
paths, direct links, messages, downloads) is ever in the public view to
leak, whatever the view draws from it.
"""

from twisted_bazaar.status.node import publicOf
from twisted_bazaar.web.view import SILENT, MarketView


class TwoViews:
    """Both views, told the same: a L{StatusWatcher}'s (and a
    L{TrackerMembers}') view."""

    def __init__(self, clock, silent=SILENT):
        self.clock = clock
        self.whole = MarketView(clock, silent)
        self.public = MarketView(clock, silent)

    def _both(name):
        def told(self, *args, **kwargs):
            getattr(self.whole, name)(*args, **kwargs)
            getattr(self.public, name)(*args, **kwargs)
        told.__name__ = name
        told.__doc__ = f"L{{MarketView.{name}}}, to both views."
        return told

    membersSeen = _both("membersSeen")
    liveSeen = _both("liveSeen")
    trackerSilent = _both("trackerSilent")
    trackerAnswered = _both("trackerAnswered")
    publish = _both("publish")
    del _both

    def stateSeen(self, state):
        """A node's state: the whole to the operator's view, its public
        facts to the public view."""
        self.whole.stateSeen(state)
        self.public.stateSeen(state if state.public else publicOf(state))
