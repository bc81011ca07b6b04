"""
Coalesced writes: the frames links send while any of them is reading a
burst go to their transports in one write each, once the burst is read.
"""

#: Bytes of frames a coalescing link holds back, at most, before it hands
#: them to its transport in the middle of a burst (see L{WriteBatch}).
FLUSH_BYTES = 4096


class WriteBatch:
    """
    Frames held back while links read: a burst.

    While any coalescing link sharing these settings is in its
    C{dataReceived}, the frames sent on such links wait in the link
    (L{Link.flushWrites}); when the outermost read returns, each link
    hands what waits to its transport in one write, in the order it was
    sent.  A link also hands it over as soon as L{FLUSH_BYTES} wait, so its
    transport sees it fill up (and pauses the link) at most that late.

    @ivar depth: reads in progress.
    @ivar dirty: links holding frames back, in the order they began to.
    """

    __slots__ = ("depth", "dirty")

    def __init__(self):
        self.depth = 0
        self.dirty = []

    def flush(self):
        """Every link hands over what it holds back."""
        while self.dirty:
            dirty, self.dirty = self.dirty, []
            for link in dirty:
                link.flushWrites()
