"""
The periods of a Chord node's upkeep that adapt: a ring that does not
change needs little keeping, one that does needs it at once.  Plain
state, no I/O: L{Upkeep <twisted_bazaar.schemes.chord.upkeep.Upkeep>}
decides when a period backs off or starts again from its base.
"""


class Pace:
    """
    One period of the upkeep (stabilize, ping or fix fingers): it doubles
    each time a round finds nothing new, up to a ceiling, and drops back
    to its base when something changed.

    @ivar base: the shortest period, the option's (e.g. C{--chord-stabilize}).
    @ivar ceiling: the longest (C{--chord-max-period}, never below C{base}).
    @ivar period: the one in force.
    """

    __slots__ = ("base", "ceiling", "period")

    def __init__(self, base, ceiling, calm=False):
        """@param calm: start at the ceiling rather than the base."""
        self.base = base
        self.ceiling = max(base, ceiling)
        self.period = self.ceiling if calm else base

    def settle(self):
        """Nothing is known to be wrong: wait the longest period."""
        self.period = self.ceiling

    def calm(self):
        """A round found nothing new: wait twice as long next time."""
        self.period = min(self.period * 2, self.ceiling)

    def stir(self):
        """Something changed: back to the base period."""
        self.period = self.base
