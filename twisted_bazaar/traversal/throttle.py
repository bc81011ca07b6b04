"""
The bytes a second a relay copies, all its circuits together
(``RelayLimits.rate``): a public node's relay is capped, so that the
node's own links and trades keep most of its bandwidth.  Past the
allowance (at most a second's worth saved up), every open circuit stops
reading until the debt is paid back at the rate.
"""


class Throttle:
    """
    A token bucket of ``rate`` bytes a second (0: no cap) that calls
    ``pause()`` when it runs dry, and ``resume()`` once it has paid back
    what was spent beyond it.
    """

    def __init__(self, clock, rate, pause, resume):
        self.clock = clock
        self.rate = rate
        self._pause = pause
        self._resume = resume
        self._allowance = float(rate)
        self._last = clock.seconds()
        self._timer = None

    @property
    def paused(self):
        """Whether the circuits stopped reading, until the debt is paid."""
        return self._timer is not None

    def spend(self, count):
        """``count`` bytes were copied."""
        if not self.rate:
            return
        now = self.clock.seconds()
        saved = self._allowance + (now - self._last) * self.rate
        self._allowance = min(float(self.rate), saved) - count
        self._last = now
        if self._allowance >= 0:
            return
        wait = -self._allowance / self.rate
        if self._timer is not None:
            # Bytes on their way when it paused: paid back later.
            self._timer.reset(wait)
            return
        self._timer = self.clock.callLater(wait, self._paid)
        self._pause()

    def _paid(self):
        self._timer = None
        self._resume()

    def stop(self):
        """Cancel the wait for the debt (the relay stops)."""
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()
