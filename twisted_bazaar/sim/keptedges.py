"""
The edges of a generated overlay kept, in a run whose links lose, repeat
or reorder messages: L{EdgeKeeper}.

A daemon that loses a neighbour, or fails to link to one, asks its
tracker for another (L{twisted_bazaar.core.topology.RandomNeighbours});
a node of a generated overlay has no tracker to ask (nor a super-peer
of the super-peers' generated graph).  Without a keeper,
an edge whose handshake lost a message was gone for the rest of the run,
and a buyer left with one link at the end of a chain had no seller
within the flood's hop limit: two buyers of ``--nodes 1000 --seed 7
--searches 200 --drop 0.05 --dup 0.05`` searched for 180 s, never
reaching one.  The opener of each edge dials it again instead, backing
off as a daemon does.  Elsewhere no try can fail, and no keeper is made.
"""

from twisted_bazaar.base.backoff import delayOf
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.net.overlay import OVERLAY

#: Seconds before the first dial again, and at most between two.
REDIAL_MIN = 1.0
REDIAL_MAX = 30.0


class EdgeKeeper(NodeObserver):
    """
    The edges one node opens: each dialled again, after a backoff, when
    its dial fails or its link is lost, until the node is crashed
    (``dead()``) or the keeper stopped.

    @ivar node: the opener.
    @ivar rng: the run's source of redial delays.
    @ivar dead: called with no argument: whether the node crashed.
    @ivar failed: called with the failure of each dial that failed (the
        run counts them).
    @ivar where: peer id -> its (host, port), heard again before each dial
        (the book of paths forgets an address whose dial failed), and the
        link's purpose (an overlay link, or a super-peer's to another).
    @ivar attempts: peer id -> dials of it failed or lost in a row.
    @ivar calls: peer id -> the delayed call of its next dial.
    """

    __slots__ = ("node", "rng", "dead", "failed", "where", "attempts", "calls")

    def __init__(self, node, rng, dead, failed):
        self.node = node
        self.rng = rng
        self.dead = dead
        self.failed = failed
        self.where = {}
        self.attempts = {}
        self.calls = {}
        node.addObserver(self)

    def keep(self, peer_id, host, port, purpose=OVERLAY):
        """Dial peer_id at host:port for purpose now, and again whenever
        that fails or is lost."""
        self.where[peer_id] = (host, port, purpose)
        self.attempts.setdefault(peer_id, 0)
        self._dial(peer_id)

    def _dial(self, peer_id):
        self.calls.pop(peer_id, None)
        node = self.node
        if self.dead() or node.linkTo(peer_id) is not None:
            return
        # The generated overlay names the edge's far end, as a peer's
        # word would: a claim, kept until the dial settles.
        host, port, purpose = self.where[peer_id]
        node.heard(peer_id, host, port)
        d = node.connectTo(peer_id, purpose)
        d.addCallbacks(self._linked, self._dialFailed, errbackArgs=(peer_id,))

    def _linked(self, peer_id):
        self.attempts[peer_id] = 0

    def _dialFailed(self, reason, peer_id):
        self.failed(reason)
        self._later(peer_id)

    def linkRemoved(self, peer_id):
        if peer_id in self.attempts:
            self._later(peer_id)

    def _later(self, peer_id):
        if peer_id in self.calls or self.dead():
            return
        self.attempts[peer_id] += 1
        delay = delayOf(REDIAL_MIN, REDIAL_MAX, self.rng, self.attempts[peer_id])
        self.calls[peer_id] = self.node.clock.callLater(delay, self._dial, peer_id)

    def stop(self):
        """The run ended: no dial waits any more."""
        for call in self.calls.values():
            if call.active():
                call.cancel()
        self.calls = {}
        self.attempts = {}
        self.where = {}
