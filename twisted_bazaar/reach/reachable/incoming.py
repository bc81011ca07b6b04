"""
How many ``relayIncoming`` a node at home acts on (docs/protocol.md §5a,
"A node's side"): each makes it open a connection to the relay, which a
relay that lies could ask for without end (25,000 in a row took every
descriptor a node had, and for 60 s it could dial nobody, not even a
public seller).  So the accepts in flight (a connection to the relay
not yet an open circuit) are bounded per relay and in all
(L{ACCEPTS_LIMIT}), and none is made while the process's open
descriptors are within L{RESERVE} of its limit: those are kept for the
node's own dials.  A ``relayIncoming`` past either is declined: nothing
is opened, and the relay's own timeout frees the circuit it announced.

They are bounded in time too (L{ACCEPT_RATE_LIMIT}, per relay): each
accept is a connection from the node's own address to the relay, which
charges it to the node's address group like any other.  Acting on every
circuit a stranger opens and drops at once (an honest relay's accepts
end at once, so the bound in flight is never reached), a node made as
many connections a second as two strangers' groups asked for, past its
own group's connection rate at the relay: the relay then closed the
node's own connections, its accepts of honest circuits and its probe of
the relay with them (L{twisted_bazaar.reach.reachable.relayprobe}), and the
node left an honest relay.  Well below that rate, what is left of it is
the node's own.

That rate is shared by every dialler through the relay, so each address
group of diallers the relay names (a ``relayIncoming``'s ``host``) has a
part of it of its own (L{DIALLER_RATE_LIMIT}): one group that opened
circuits faster than the whole rate (ten free keys at a relay's ten a
second each) had nearly every ``relayIncoming`` the node acted on be its
own, and nearly every honest dialler's circuit declined, for as long as
it kept it up.  A group past its part is declined before the relay's
rate is spent, so it spends no more than its part of it.  The relay's
word divides that rate, never widens it: a relay that names a new group
for each circuit still gets the relay's rate at most.
"""

import os
import resource

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.admission import RELAYED_GROUPS
from twisted_bazaar.net.limits import GroupRates

#: Accepts in flight: in all, and per relay.
ACCEPTS = 32
RELAY_ACCEPTS = 16
ACCEPTS_LIMIT = declare(
    "node.relay-accepts", ACCEPTS, "connections",
    "relayIncoming a node at home acts on at once (connections to its relays not "
    "yet open circuits), per relay (the group share) and in all",
    group=RELAY_ACCEPTS, owner=__name__)
#: Accepts a second per relay (in bursts of twice that): a quarter of a
#: relay's default connection rate per address group
#: (L{twisted_bazaar.net.connections.DEFAULT_CONNECTION_RATE}, bursts of
#: one second's), so that the node's accepts leave its own dials to the
#: relay (its probe) room there; above what a node's circuits need (16 at
#: once per relay, each lasting seconds at least).
ACCEPT_RATE = 25.0
ACCEPT_RATE_LIMIT = declare(
    "node.relay-accept-rate", ACCEPT_RATE, "connections/s",
    "relayIncoming a node at home acts on a second, per relay (each a "
    "connection from the node's own address group to that relay)",
    group=ACCEPT_RATE, owner=__name__)
#: Accepts a second per address group of diallers a relay names (in
#: bursts of twice that), within the relay's ACCEPT_RATE: a quarter of
#: it, as a relay's group holds four diallers' groups' shares of a node's
#: connections still to say thisisme
#: (L{twisted_bazaar.net.admission.RELAYED_GROUPS}): four groups take the
#: relay's whole rate, one a quarter.  Above what one dialler's links and
#: transfers to one node need.
DIALLER_RATE = ACCEPT_RATE / RELAYED_GROUPS
DIALLER_RATE_LIMIT = declare(
    "node.relay-dialler-rate", DIALLER_RATE, "connections/s",
    "relayIncoming a node at home acts on a second from one address group of "
    "diallers (as the relay names them), within its relay's node.relay-accept-rate: "
    "one group's circuits never spend the whole of it", group=DIALLER_RATE,
    owner=__name__)
#: (relay, diallers' group) pairs whose rate is remembered, the newest kept.
DIALLER_GROUPS_KEPT = 1024
#: Descriptors kept free for the node's own dials: no relayIncoming is
#: acted on while fewer are left below the process's limit.
RESERVE = 64


def processDescriptors():
    """(descriptors the process has open, its limit), or None when either
    cannot be told (no /proc, no limit)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        return len(os.listdir("/proc/self/fd")), soft
    except OSError:
        return None


class IncomingAccepts:
    """The accepts a node has in flight, and whether it may make one more."""

    def __init__(self, clock, descriptors=processDescriptors, reserve=RESERVE,
                 capacity=None, per_relay=None, rate=None, dialler_rate=None):
        """
        @param descriptors: C{descriptors()}, (open, limit) of the
            process's descriptors, or None (no reserve kept).
        @param rate: accepts a second per relay, if not the declared.
        @param dialler_rate: accepts a second per address group of
            diallers a relay names, if not the declared.
        """
        self.clock = clock
        self.descriptors = descriptors
        self.reserve = reserve
        self.account = Account.of(ACCEPTS_LIMIT, capacity, per_relay)
        self.rates = GroupRates(ACCEPT_RATE_LIMIT, rate)
        self.diallers = GroupRates(DIALLER_RATE_LIMIT, dialler_rate,
                                   remembered=DIALLER_GROUPS_KEPT)

    def take(self, relay, accept, dialler=""):
        """
        Count ``accept`` (anything that names it) against ``relay``
        (``HOST:PORT``) and the address group of ``dialler``, the host the
        relay says the circuit's dialler is at: None if it may be made
        (then L{release} it when its circuit opens or fails), else why
        not.
        """
        account = self.account
        if account.held(relay) >= account.group_limit:
            return (f"{account.group_limit} circuits from this relay are being "
                    "accepted already, its most")
        if account.makeRoom(relay, 1, accept) != []:
            return f"{account.capacity:g} circuits are being accepted already, its most"
        now = self.clock.seconds()
        if not self.diallers.take((relay, addressGroup(dialler)), now):
            return (f"this relay announces more than {self.diallers.rate:g} circuits a "
                    "second from that dialler's address group: other diallers' come "
                    "first")
        if not self.rates.take(relay, now):
            return (f"this relay announces more than {self.rates.rate:g} circuits a "
                    "second: this node's own connections to it come first")
        # Counted last, for an accept the rates let through: counting the
        # process's descriptors lists them (a third of a millisecond at
        # 900), and each relayIncoming of a flood counted them before the
        # rates declined it.
        counted = self.descriptors()
        if counted is not None and counted[0] + self.reserve >= counted[1]:
            return (f"{counted[0]} of this process's {counted[1]} descriptors are "
                    f"open: the last {self.reserve} are kept for its own dials")
        account.hold(accept, relay)
        return None

    def release(self, accept):
        """The accept's circuit opened, or failed."""
        self.account.release(accept)
