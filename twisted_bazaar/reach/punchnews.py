"""
What a node's punches do with a peer, announced to whoever listens for
that peer (a download's L{Moves <twisted_bazaar.roles.files.moves.Moves>}),
so that no part of the node polls the dialer to learn it.

The punch services tell L{PunchNews.changed} whenever a punch with a
peer may have started or ended, and L{PunchNews.linkUp} when a link to a
peer came up or replaced the one there was; the news asks the dialer
whether a punch with a plan runs with the peer now
(L{Dialer.punchRuns <twisted_bazaar.reach.dialer.Dialer.punchRuns>})
and tells each listener of that peer what changed since it last told:
C{punchStarted(peer_id)}, C{punchEnded(peer_id, met)} (met: the link to
the peer is direct now), C{linkMoved(peer_id)} (the link to the peer is
up and no relay carries it).  A listener is told only while it is
subscribed: L{PunchNews.watch} gives the L{Watching} its owner cancels.
"""

from zope.interface import Interface

__all__ = ["IPunchListener", "PunchNews", "Watching"]


class IPunchListener(Interface):
    """Who listens to the news of one peer's punches."""

    def punchStarted(peer_id):
        """A punch with a plan runs with peer_id now."""

    def punchEnded(peer_id, met):
        """The punch with peer_id ended: met (the link to it is direct
        now) or not (it stays on its relay)."""

    def linkMoved(peer_id):
        """A link to peer_id came up, or replaced the one there was, and no
        relay carries it."""


class Watching:
    """One listener's subscription to one peer's news; L{cancel} ends it.

    @ivar running: whether a punch with the peer ran when last told.
    """

    def __init__(self, news, peer_id, listener, running):
        self._news = news
        self.peer_id = peer_id
        self.listener = listener
        self.running = running

    def cancel(self):
        """Tell the listener nothing more."""
        self._news.unwatch(self)

    def tell(self, runs, met):
        """A punch runs with the peer now (runs), or not: the listener told
        if that changed since it was last told, with met() (whether the
        link to the peer is direct now) for an end."""
        if self.running == runs:
            return
        self.running = runs
        if runs:
            self.listener.punchStarted(self.peer_id)
        else:
            self.listener.punchEnded(self.peer_id, bool(met()))


class PunchNews:
    """
    The news of a node's punches, by peer: see the module's docstring.

    @param runs: peer id -> whether a punch with a plan runs with it.
    @param direct: peer id -> whether the link to it is up, not relayed.
    """

    def __init__(self, runs, direct):
        self._runs = runs
        self._direct = direct
        #: peer id -> its L{Watching}s, in the order subscribed.
        self._watching = {}

    def watch(self, peer_id, listener):
        """Subscribe listener (an L{IPunchListener}) to peer_id's news; the
        L{Watching} says whether a punch runs now."""
        watching = Watching(self, peer_id, listener, bool(self._runs(peer_id)))
        self._watching.setdefault(peer_id, []).append(watching)
        return watching

    def watched(self, peer_id):
        """Whether anyone listens to peer_id's news."""
        return peer_id in self._watching

    def unwatch(self, watching):
        """End watching (L{Watching.cancel})."""
        listeners = self._watching.get(watching.peer_id, [])
        if watching in listeners:
            listeners.remove(watching)
        if not listeners:
            self._watching.pop(watching.peer_id, None)

    def changed(self, peer_id=None):
        """A punch with peer_id (None: with anyone) may have started or
        ended: each of its listeners told what changed since it was last
        told."""
        peers = list(self._watching) if peer_id is None else [peer_id]
        for peer in peers:
            if peer not in self._watching:
                continue
            runs = bool(self._runs(peer))
            for watching in list(self._watching.get(peer, ())):
                watching.tell(runs, lambda: self._direct(peer))

    def linkUp(self, peer_id):
        """A link to peer_id came up or replaced the one there was: a direct
        one is told as a move, then what it changed of the punch."""
        if peer_id not in self._watching:
            return
        if self._direct(peer_id):
            for watching in list(self._watching.get(peer_id, ())):
                if watching in self._watching.get(peer_id, ()):
                    watching.listener.linkMoved(peer_id)
        self.changed(peer_id)
