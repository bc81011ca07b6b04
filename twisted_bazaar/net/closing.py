"""
How a node's link table stops (L{Closing}, a mixin of
L{twisted_bazaar.net.overlay.Overlay}): it refuses new links, says
``dc`` on every link it holds, and tells whoever waits once the last is
gone (L{Closing.whenClosed}: a stopping service's Deferred).  A mixin,
not a part the table holds, as L{twisted_bazaar.net.linkviews} is.
"""

from twisted.internet import defer

__all__ = ["Closing"]


class Closing:
    """
    A link table's stop: whether it is stopping (C{stopping}), its peer
    log (closed with it), its links and its greeter's, and the Deferreds
    waiting for the last to close (C{_closed_waiters}: () until one is)
    are the table's own.
    """

    def isStopping(self):
        """Whether this node opens and accepts no more links."""
        return self.stopping

    def refuseLinks(self):
        """
        Open and accept no link from now on (the node is stopping, or a
        simulation crashed it); the links it has stay until L{shutdown}.

        @return: True the first time, False once refusing already.
        """
        if self.stopping:
            return False
        self.stopping = True
        return True

    def shutdown(self):
        """Say dc on every link and close them; open no new ones."""
        self.stopping = True
        self.peer_log.close()
        for link in list(self.links.values()) + list(self.greeter.pending):
            link.disconnect("node shutting down")

    def whenClosed(self):
        """A Deferred that fires once no link is open."""
        d = defer.Deferred(lambda d: self._closed_waiters.remove(d)
                           if d in self._closed_waiters else None)
        if not self._closed_waiters:
            self._closed_waiters = []
        self._closed_waiters.append(d)
        self._checkClosed()
        return d

    def _checkClosed(self):
        if not self._closed_waiters or self.links or self.greeter.pending:
            return
        waiters, self._closed_waiters = self._closed_waiters, ()
        for d in waiters:
            if not d.called:
                d.callback(None)
