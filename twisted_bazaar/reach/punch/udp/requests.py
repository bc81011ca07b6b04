"""
The requests a node's punches over UDP made of its tracker and that it
has not answered yet (L{TrackerRequests}): each ``udpcheck`` and each
``udppunch``.  The tracker answers them in order on its connection, so an
answer (a ``udpprobe``, a ``udppunchgo``, an ``error{noudp}``) is matched
to the oldest, as the node's questions are (L{twisted_bazaar.core.questions}).
"""

from twisted_bazaar.wire.udpreach import UdpCheck

__all__ = ["CHECK", "TrackerRequests"]

#: A ``udpcheck`` among the requests (the others are the id of the peer
#: a ``udppunch`` asked for).
CHECK = "check"


class TrackerRequests:
    """The requests out to the tracker, oldest first."""

    __slots__ = ("pending",)

    def __init__(self):
        #: L{CHECK}, or the id of a peer a punch was asked with.
        self.pending = []

    def sendCheck(self, membership):
        """Ask the tracker to check this node's UDP mapping (``udpcheck``)
        over membership, its session (None: none): whether it was sent."""
        if membership is None or not membership.send(UdpCheck()):
            return False
        self.pending.append(CHECK)
        return True

    def asked(self, peer_id):
        """A ``udppunch`` with peer_id was sent."""
        self.pending.append(peer_id)

    def answered(self, expected):
        """The tracker answered the oldest request if it is ``expected``."""
        if self.pending and self.pending[0] == expected:
            self.pending.pop(0)

    def probeAsked(self):
        """A ``udpprobe`` came: whether it answers this node's oldest
        request, a check (else a tracker would have the node send
        datagrams at will), which it then answers."""
        if not self.pending or self.pending[0] != CHECK:
            return False
        self.pending.pop(0)
        return True

    def refused(self):
        """An ``error{noudp}``: the oldest request, which it answers, or
        None when none is out."""
        return self.pending.pop(0) if self.pending else None

    def lost(self):
        """The tracker connection is gone, and every request with it."""
        self.pending = []
