"""
How often this node dials for punches: per peer key, per address group
of the host dialled, and in all, over a sliding window.  A stranger that
asks for punches in a loop (with one key or many, naming one address or
many) gets its node to send only so many SYNs: no port scan, no
reflection at a victim's address group through it.
"""

from collections import deque

from twisted_bazaar.base.limitregistry import declare

#: Seconds over which dials are counted.
WINDOW = 60.0
#: Dials to one peer key per window: one punch with its two retries.
PER_PEER = 3
#: Dials to one address group per window, whatever the keys.
PER_GROUP = 6
#: Dials in all per window.
TOTAL = 32
DIALS_LIMIT = declare(
    "punch.dials", TOTAL, "dials/min",
    "dials for punches a node sends in a window (per peer key, per address group "
    "dialled, in all): no port scan or reflection through it",
    group=PER_GROUP, key=PER_PEER, owner=__name__)


class PunchLimits:
    """
    The dials of the last L{WINDOW} seconds, at most L{TOTAL} of them:
    what L{admit} counts (a dial refused is not kept: nothing is held for
    a refusal).
    """

    def __init__(self, clock, window=WINDOW, per_peer=PER_PEER, per_group=PER_GROUP,
                 total=TOTAL):
        self.clock = clock
        self.window = window
        self.per_peer = per_peer
        self.per_group = per_group
        self.total = total
        #: (when, peer key, address group) of each dial admitted, oldest first.
        self._dials = deque()

    def admit(self, key, group):
        """
        Count a dial to the holder of ``key`` in address ``group``: None
        if it is within the limits (and counted), else why not.
        """
        now = self.clock.seconds()
        dials = self._dials
        while dials and dials[0][0] <= now - self.window:
            dials.popleft()
        if len(dials) >= self.total:
            return (f"this node dialled {self.total} punches in the last "
                    f"{self.window:g} s, its most")
        if sum(1 for _, each, _ in dials if each == key) >= self.per_peer:
            return (f"this node dialled you {self.per_peer} times for punches in the "
                    f"last {self.window:g} s, its most for one peer")
        if sum(1 for _, _, each in dials if each == group) >= self.per_group:
            return (f"this node dialled {self.per_group} punches to your address group "
                    f"in the last {self.window:g} s, its most for one group")
        dials.append((now, key, group))
        return None
