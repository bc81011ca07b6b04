"""
A question a Chord node asked and whose answer it waits for, matched by
nonce: a finger's predecessor (``chordPred``) or the tracker's
introduction (``chordNear``).  Plain state; the node's parts start and
end it.
"""


class Question:
    """
    The nonce the question carries, the peer asked (None: the tracker),
    the Deferred its answer fires, the timer that gives up on it, and the
    link being opened to ask it, if any.
    """

    __slots__ = ("nonce", "peer_id", "answered", "timer", "connecting")

    def __init__(self, nonce, answered, timer, peer_id=None):
        self.nonce = nonce
        self.peer_id = peer_id
        self.answered = answered
        self.timer = timer
        self.connecting = None

    def end(self):
        """It is over (answered, timed out or given up): its timer, if
        pending, and the link being opened for it, if any, are cancelled.
        Returns the Deferred, for the caller to fire."""
        if self.timer.active():
            self.timer.cancel()
        if self.connecting is not None and not self.connecting.called:
            self.connecting.cancel()
        return self.answered
