"""
How often this node dials for punches: per peer key, per address group
of the host dialled, and in all, over a sliding window.  A stranger that
asks for punches in a loop (with one key or many, naming one address or
many) gets its node to send only so many SYNs: no port scan, no
reflection at a victim's address group through it.

Keys are free, and address groups are what a stranger pays for: the
last L{NEWCOMERS} dials of the total are kept for address groups that
have none in the window, so that a few groups of fresh keys (six groups
of six dials fill 32) cannot spend the whole budget, and a group new to
the window gets an attempt while fewer than L{NEWCOMERS} other new
groups took one since the rest filled up (the max-min rule of
L{twisted_bazaar.net.account}: a newcomer group gets a share; with more
groups than the budget holds, they wait their turn, a window at most).
"""

import re
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
#: Of the total, dials kept for address groups with none in the window.
NEWCOMERS = 8
DIALS_LIMIT = declare(
    "punch.dials", TOTAL, "dials/60 s",
    f"dials for punches a node makes in a window, its peers' and its own (per peer "
    f"key, per address group dialled, in all): no port scan or reflection through "
    f"it; the last {NEWCOMERS} kept for groups new to the window", group=PER_GROUP, key=PER_PEER,
    owner=__name__)


class PunchLimits:
    """
    The dials of the last L{WINDOW} seconds, at most L{TOTAL} of them:
    what L{admit} counts (a dial refused is not kept: nothing is held for
    a refusal).
    """

    def __init__(self, clock, window=WINDOW, per_peer=PER_PEER, per_group=PER_GROUP,
                 total=TOTAL, newcomers=NEWCOMERS):
        self.clock = clock
        self.window = window
        self.per_peer = per_peer
        self.per_group = per_group
        self.total = total
        self.newcomers = min(newcomers, total)
        #: (when, peer key, address group) of each dial admitted, oldest first.
        self._dials = deque()

    def roomIn(self, key):
        """Seconds until a dial to the holder of ``key`` is within its bound
        for one peer (0: now), the other bounds aside: its oldest dial in
        the window that holds it to the bound leaves the window then."""
        now = self.clock.seconds()
        mine = [when for when, each, _ in self._dials
                if each == key and when > now - self.window]
        if len(mine) < self.per_peer:
            return 0.0
        return mine[len(mine) - self.per_peer] + self.window - now

    def admit(self, key, group, toPeer=False):
        """
        Count a dial to the holder of ``key`` in address ``group``: None
        if it is within the limits (and counted), else why not: in this
        node's words for its own line, or with ``toPeer`` in the words of
        an C{error{nopunch}} to that peer (which L{asHeard} reads back).
        """
        now = self.clock.seconds()
        dials = self._dials
        while dials and dials[0][0] <= now - self.window:
            dials.popleft()
        if len(dials) >= self.total:
            return (f"this node dialled {self.total} punches in the last "
                    f"{self.window:g} s, its most")
        peer, peers = ("you", "your") if toPeer else ("that peer", "that peer's")
        if sum(1 for _, each, _ in dials if each == key) >= self.per_peer:
            return (f"this node dialled {peer} {self.per_peer} times for punches in the "
                    f"last {self.window:g} s, its most for one peer")
        held = sum(1 for _, _, each in dials if each == group)
        if held >= self.per_group:
            return (f"this node dialled {self.per_group} punches to {peers} address group "
                    f"in the last {self.window:g} s, its most for one group")
        if held and len(dials) >= self.total - self.newcomers:
            return (f"this node dialled {len(dials)} punches in the last "
                    f"{self.window:g} s: the last {self.newcomers} of its "
                    f"{self.total} are kept for address groups it has not dialled")
        dials.append((now, key, group))
        return None


#: How a node that cannot punch begins its refusal (and its own line), in
#: its own words.
CANNOT_PUNCH = "this node cannot punch: "
#: A refusal for the per-peer count, in the refusing node's words.
_PER_PEER_REFUSAL = re.compile(r"this node dialled you (\d+) times for punches in the "
                               r"last (\S+) s, its most for one peer")


def asHeard(info):
    """
    A peer's punch refusal (its ``error{nopunch}`` text) in the words of
    the node that hears it: the per-peer count is the peer's dials to this
    node, its UDP punches' and its TCP punches' alike, not attempts this
    node made; the peer that cannot punch is "it", not "this node" (read
    as the hearer); any other refusal as the peer said it.
    """
    if info.startswith(CANNOT_PUNCH):
        return "it" + info.removeprefix("this node")
    match = _PER_PEER_REFUSAL.fullmatch(info)
    if match is None:
        return info
    count, window = match.groups()
    return (f"it dialled this node {count} times in the last {window} s for punches, "
            f"over UDP and TCP together (one count), its most for one peer")
