"""
A line that a retry would say at each try, said once: then again only
when what it says changes, or every L{AGAIN} seconds while it does not,
with how many tries went unsaid meanwhile.

A buyer with no offer yet, or whose seller cannot be reached, tries
again every few seconds, for as long as it runs; a line at each try
filled its log with one fact.  A L{LogThrottle} bounds how many lines
come of many events; this says one fact once, and says it again only
as a reminder, so a log read later still shows it goes on.
"""

#: Seconds after which a line that still says the same is said again.
AGAIN = 600.0


class SaidOnce:
    """
    The lines of a few kinds (a retry's search, a seller given up on...),
    each with what it said last, when, and the tries since.  It keeps no
    timer: each try moves it on.
    """

    def __init__(self, clock, again=AGAIN):
        self.clock = clock
        self.again = again
        #: kind -> [what it said, when, tries unsaid since].
        self._said = {}

    def due(self, kind, what):
        """
        Is the line of ``kind`` that says ``what`` (any value that
        compares equal while the line says the same) said now?

        @return: None when it is not (the same as last said, less than
            L{again} seconds ago: counted); else how many tries came
            unsaid since it was said last (0 for a new line).
        """
        now = self.clock.seconds()
        said = self._said.get(kind)
        if said is not None and said[0] == what:
            if now - said[1] < self.again:
                said[2] += 1
                return None
            unsaid = said[2]
        else:
            unsaid = 0
        self._said[kind] = [what, now, 0]
        return unsaid

    def forget(self, *kinds):
        """Something changed: the next line of these kinds (of every kind,
        without any) is said, as a new one."""
        if not kinds:
            self._said.clear()
        for kind in kinds:
            self._said.pop(kind, None)
