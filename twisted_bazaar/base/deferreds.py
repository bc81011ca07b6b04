"""
Deferreds an owner waits on and must cancel when it stops: one helper,
so that every owner keeps and cancels them the same way.
"""

from twisted.internet import defer


def ignoreCancelled(reason):
    """Errback for a Deferred its owner cancelled on stopping: the cancel
    is no error; any other failure goes on down the chain."""
    reason.trap(defer.CancelledError)


class Outstanding(set):
    """
    The Deferreds an owner waits on, each kept until it fires.  It is a
    set, so ``not outstanding`` says nothing is in flight.
    """

    def own(self, d):
        """Keep d until it fires; callbacks added after this run once it is
        no longer kept.  Returns d."""
        self.add(d)
        d.addBoth(self._fired, d)
        return d

    def _fired(self, result, d):
        self.discard(d)
        return result

    def cancelAll(self):
        """Cancel every Deferred still kept (each leaves as it fires)."""
        while self:
            self.pop().cancel()
