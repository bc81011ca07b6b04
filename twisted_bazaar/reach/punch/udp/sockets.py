"""
The UDP sockets a node's punches under way hold open beyond its own QUIC
socket (L{PunchSockets}): the hard side of a birthday punch opens 255
more for up to 10 s, 42 s for a patient punch
(L{twisted_bazaar.reach.punch.udp.plan}), and each peer
with a relayed link can have the tracker start one.  The one socket a
met punch keeps is its path's, charged to nobody: counted, it refused
the next punch to the same home (a `bazaar buy` beside the daemon that
met it, at 1 + 255 of that group's 255), and it is one descriptor a met
peer, which the reserve below still sees.  The probe budget lets four
run a minute, 1,020 sockets, which is all of a process's descriptors at
the common limit of 1,024: the node could then accept and dial nothing.
So they are a declared pool (L{SOCKETS_LIMIT}, one punch's worth to an
address group), and no punch opens any while the process's descriptors
are within L{RESERVE} of its limit (as
L{twisted_bazaar.reach.reachable.incoming} keeps them for the node's own
dials).
"""

from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.account import Account
from twisted_bazaar.reach.reachable.incoming import RESERVE, processDescriptors
from twisted_bazaar.reach.punch.udp.plan import HARD_SOCKETS

__all__ = ["PunchSockets", "SOCKETS_LIMIT"]

#: Sockets past the node's own that one birthday punch opens.
ONE_PUNCH = HARD_SOCKETS - 1
SOCKETS_LIMIT = declare(
    "punch.udp-sockets", 2 * ONE_PUNCH, "sockets",
    "UDP sockets a node's punches under way hold open at once beyond its QUIC socket "
    "(the hard side of a birthday punch opens 255, for 10 s at most, 42 s a patient one; "
    "the one a met punch keeps is its path's, not counted), one punch's to an address "
    "group; none "
    "is opened within 64 descriptors of the process's limit",
    group=ONE_PUNCH, owner=__name__)


class PunchSockets:
    """The sockets each punch holds, charged to the address group it
    probes; and the room for more."""

    def __init__(self, descriptors=processDescriptors, reserve=RESERVE):
        """
        @param descriptors: C{descriptors()}, (open, limit) of the
            process's descriptors, or None (no reserve kept).
        """
        self.descriptors = descriptors
        self.reserve = reserve
        self.account = Account.of(SOCKETS_LIMIT)

    def whyNot(self, holder, group, count):
        """Why ``holder`` (a punch probing address ``group``) may not
        open ``count`` sockets now, or None."""
        if not count:
            return None
        if self.account.makeRoom(group, count, holder) != []:
            return (f"this node's punches hold {self.account.used} "
                    f"UDP sockets, and {count} more would pass its "
                    f"{self.account.capacity} (or {self.account.group_limit} to one "
                    f"address group)")
        state = self.descriptors()
        if state is not None and state[0] + count + self.reserve > state[1]:
            return (f"the process has {state[0]} of its {state[1]} descriptors open: "
                    f"{count} more would leave fewer than {self.reserve}")
        return None

    def hold(self, holder, group, count):
        """``holder`` holds ``count`` sockets now (0: none)."""
        self.account.hold(holder, group, count)

    def release(self, holder):
        self.account.release(holder)
