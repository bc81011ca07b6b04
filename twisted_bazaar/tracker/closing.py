"""
A stopping tracker's close of its nodes' links (L{LinksClosing}).

Closed by the tracker, a link over TLS ends with TLS's close
(close_notify), so its node reads a tracker that stopped, as over plain
TCP; left to the reactor's close at exit, it ended without one, and the
node logged a connection cut ("ended without TLS's close ... or the
network failed").
"""

from twisted.internet import defer


class LinksClosing:
    """
    The links a stopping tracker closes (L{close}), and L{done}, which
    fires once all are lost or after the grace: its owner, the tracker,
    tells it each link lost (L{lost}).
    """

    __slots__ = ("_left", "done", "_timer")

    def __init__(self, clock, links, grace):
        self._left = set(links)
        self.done = defer.Deferred()
        self._timer = clock.callLater(grace, self._end)

    def close(self):
        """Close each link (one may be lost at once: told to L{lost}
        before this returns)."""
        for link in list(self._left):
            link.close()
        if not self._left:
            self._end()

    def lost(self, link):
        """link is gone."""
        self._left.discard(link)
        if not self._left:
            self._end()

    def _end(self):
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()
        if not self.done.called:
            self.done.callback(None)
