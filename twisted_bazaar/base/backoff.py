"""
Retries with exponential backoff and jitter, on a node's clock.

L{exponential} is the one policy (attempt -> seconds) every retry in the
project uses; L{Backoff} runs it for one retry at a time.
"""


def exponential(initial, maximum, rng):
    """
    The policy for attempts 1, 2, 3...: ``initial`` doubled with each
    attempt up to ``maximum``, drawn at 0.5-1.5 times that so that many
    nodes do not retry in step (one ``rng.random()`` per attempt).
    """

    def policy(attempt):
        return delayOf(initial, maximum, rng, attempt)

    return policy


def delayOf(initial, maximum, rng, attempt):
    """L{exponential}'s delay for attempt, without a function made for
    the policy: a L{Backoff} of each simulated node held one, 336 bytes
    with its cells."""
    delay = initial
    for _ in range(attempt - 1):
        if delay >= maximum:
            break
        delay *= 2
    return min(delay, maximum) * (0.5 + rng.random())


class Backoff:
    """
    One retry at a time: L{schedule} calls a function after a delay that
    doubles with each retry (up to ``maximum``), drawn at 0.5–1.5 times the
    current delay so that many nodes do not retry in step.  L{reset} goes
    back to ``initial`` after a success; L{cancel} drops the retry waiting.
    The owner cancels it when it stops.
    """

    # One for each simulated node of some schemes: slotted, and its
    # policy L{delayOf} with its arguments, not a closure of its own.
    __slots__ = ("clock", "rng", "initial", "maximum", "attempts", "_call")

    def __init__(self, clock, rng, initial, maximum):
        self.clock = clock
        self.rng = rng
        self.initial = initial
        self.maximum = maximum
        #: Retries scheduled since the last reset.
        self.attempts = 0
        self._call = None

    def policy(self, attempt):
        """The seconds attempt waits (L{exponential}'s policy)."""
        return delayOf(self.initial, self.maximum, self.rng, attempt)

    @property
    def pending(self):
        """Is a retry waiting?"""
        return self._call is not None

    def schedule(self, function):
        """Call function after the next delay, unless a retry is waiting.
        @return: the seconds it will wait, or None if a retry was waiting."""
        if self._call is not None:
            return None
        self.attempts += 1
        wait = self.policy(self.attempts)
        self._call = self.clock.callLater(wait, self._fire, function)
        return wait

    def _fire(self, function):
        self._call = None
        function()

    def reset(self):
        """The next retry waits ``initial`` again."""
        self.attempts = 0

    def cancel(self):
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
