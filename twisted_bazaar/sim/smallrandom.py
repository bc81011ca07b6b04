"""
A warm simulated node's random source: a small deterministic generator.

A C{random.Random} holds 2.5 kB of Mersenne Twister state; at a hundred
thousand nodes that is a tenth of what the whole run holds, and every node
of a warm chord run draws (its upkeep periods are jittered), so making it
lazily does not help.  L{SmallRandom} keeps one 64-bit integer (SplitMix64,
a well-mixed generator that is more than good enough to spread a node's
timers and pick its ids) and takes the methods nodes call (randrange,
choice, sample, shuffle, expovariate, randbytes, uniform) from
C{random.Random}, which builds each of them on L{random} and L{getrandbits}.

For the simulator only: daemons draw from C{random.Random} or the system's
source, and a cold start keeps C{random.Random} so its runs stay as they
were.  A warm run draws other numbers than it did with C{random.Random}.
"""

from random import Random

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


class SmallRandom:
    """
    C{random.Random}'s drawing methods over a SplitMix64 state: the same
    seed gives the same numbers on every platform and Python.
    """

    __slots__ = ("_state",)

    def __init__(self, seed):
        self._state = seed & _MASK

    def _next(self):
        """The next 64 random bits (SplitMix64)."""
        state = self._state = (self._state + _GOLDEN) & _MASK
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def getrandbits(self, k):
        """A non-negative int of k random bits."""
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        bits, have = 0, 0
        while have < k:
            bits = (bits << 64) | self._next()
            have += 64
        return bits >> (have - k)

    def random(self):
        """A float in [0, 1), on 53 random bits."""
        return (self._next() >> 11) * (1.0 / (1 << 53))

    # Built by random.Random on random() and getrandbits() alone.
    _randbelow = Random._randbelow_with_getrandbits
    randrange = Random.randrange
    randint = Random.randint
    choice = Random.choice
    sample = Random.sample
    shuffle = Random.shuffle
    uniform = Random.uniform
    expovariate = Random.expovariate
    randbytes = Random.randbytes
