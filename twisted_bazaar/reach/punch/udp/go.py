"""
What this side of a UDP punch sends, or why it sends nothing, for a
tracker's ``udppunchgo`` (L{planFor}): the checks a punch passes before
any probe (the relay's word agrees with the tracker's, a mapping to aim
at, this node's own mapping known), and the dialer's word on the peer
(docs/protocol.md, "Over UDP", "A peer dialled, not punched"): a peer
this node reaches at the host the probes would go to gets the L{DIRECT
<twisted_bazaar.reach.punch.udp.plan.DIRECT>} plan, one reached another way
none at all.
"""

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.lan import sameHost
from twisted_bazaar.reach.punch.udp import plan as udppunch
from twisted_bazaar.reach.punch.witness import whyNot
from twisted_bazaar.transports.path import DIRECT, MAPPED

__all__ = ["planFor", "reachedWhy"]


def reachedWhy(path):
    """What a node that reaches its peer by path says of the punch it
    does not make."""
    return f"this node reaches it by its {path.kind} path at {hostPort(path.host, path.port)}: no punch"


def planFor(go, relayed, check, directPath, rng, patient=False):
    """
    (the L{Plan <twisted_bazaar.reach.punch.udp.plan.Plan>}, "") of this side
    for ``go``, or (None, why not).

    @param relayed: where the relay of the shared link saw the peer.
    @param check: this node's L{MappingCheck
        <twisted_bazaar.reach.punch.udp.mapping.MappingCheck>}.
    @param directPath: the dialer's path to the peer with no relay and no
        punch, or None (L{twisted_bazaar.reach.whereabouts.Whereabouts.directPath}).
    @param patient: whether the plan is to be patient (the last punch with
        the peer got no datagram back).
    """
    # As a TCP punch: its probes go only where the relay of the link saw
    # the peer too, not wherever the tracker's word alone says.
    why = whyNot(go.id, go.host, relayed)
    if why is not None:
        return None, why
    try:
        peer = udppunch.mappingOf(go.host, go.port, go.second)
    except ValueError as e:
        return None, str(e)
    if not check.known():
        return None, "this node's own UDP mapping is not known now"
    if directPath is not None and not (directPath.kind in (DIRECT, MAPPED)
                                       and sameHost(directPath.host, go.host)):
        return None, reachedWhy(directPath)
    plan = udppunch.plan(check.mine, peer, rng, direct=directPath is not None,
                         patient=patient, sound=True)
    return (None, plan.why) if plan.why else (plan, "")
