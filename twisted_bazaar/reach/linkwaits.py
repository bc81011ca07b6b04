"""
The links that wait for a punch (L{LinkWaits}): a link to a peer linked
through a relay, while a punch with it may replace it, is handed to
whoever asked for it only once the punched link is up, the punch failed,
or the wait is out (L{twisted_bazaar.reach.dialer.Dialer.settle} says
which links wait, and for how long).  It owns each waiting Deferred and
its timer.
"""

from twisted.internet import defer

__all__ = ["LinkWaits"]


class LinkWaits:
    """peer id -> the Deferreds of the links waiting for its punch, each
    with its timer on the clock."""

    __slots__ = ("clock", "_waiting")

    def __init__(self, clock):
        self.clock = clock
        self._waiting = {}

    def wait(self, peer_id, seconds):
        """A Deferred firing with peer_id when L{release}d, or after
        ``seconds``; cancelling it takes it off the list."""
        waiting = self._waiting.setdefault(peer_id, [])

        def cancel(d):
            self._forget(peer_id, d)

        d = defer.Deferred(cancel)
        timer = self.clock.callLater(seconds, self._expire, peer_id, d)
        d.addBoth(_stopTimer, timer)
        waiting.append(d)
        return d

    def release(self, peer_id=None):
        """The links waiting for peer_id's punch (every peer's: None) go
        on."""
        peers = list(self._waiting) if peer_id is None else [peer_id]
        for peer in peers:
            for d in self._waiting.pop(peer, ()):
                d.callback(peer)

    def _expire(self, peer_id, d):
        if self._forget(peer_id, d):
            d.callback(peer_id)

    def _forget(self, peer_id, d):
        """Take d off peer_id's waiting list: whether it was on it."""
        waiting = self._waiting.get(peer_id, ())
        if d not in waiting:
            return False
        waiting.remove(d)
        if not waiting:
            del self._waiting[peer_id]
        return True


def _stopTimer(result, timer):
    if timer.active():
        timer.cancel()
    return result
