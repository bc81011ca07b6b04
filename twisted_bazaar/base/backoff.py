"""
Retries with exponential backoff and jitter, on a node's clock.
"""


class Backoff:
    """
    One retry at a time: L{schedule} calls a function after a delay that
    doubles with each retry (up to ``maximum``), drawn at 0.5–1.5 times the
    current delay so that many nodes do not retry in step.  L{reset} goes
    back to ``initial`` after a success; L{cancel} drops the retry waiting.
    The owner cancels it when it stops.
    """

    def __init__(self, clock, rng, initial, maximum):
        self.clock = clock
        self.rng = rng
        self.initial = initial
        self.maximum = maximum
        self.delay = initial
        self._call = None

    @property
    def pending(self):
        """Is a retry waiting?"""
        return self._call is not None

    def schedule(self, function):
        """Call function after the next delay, unless a retry is waiting.
        @return: the seconds it will wait, or None if a retry was waiting."""
        if self._call is not None:
            return None
        wait = self.delay * (0.5 + self.rng.random())
        self.delay = min(self.delay * 2, self.maximum)
        self._call = self.clock.callLater(wait, self._fire, function)
        return wait

    def _fire(self, function):
        self._call = None
        function()

    def reset(self):
        """The next retry waits ``initial`` again."""
        self.delay = self.initial

    def cancel(self):
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
