"""
What a node at home uses to be reached through a relay
(L{twisted_bazaar.reach.reachable.reservation}, its accepts of circuits
and its probes of the relay): given by whoever builds the node
(L{twisted_bazaar.daemon.build.plugReservations}), so that none of them
holds the node.  Each field is one they use.
"""

import attr

__all__ = ["RelayHome"]


@attr.s(frozen=True, slots=True)
class RelayHome:
    """
    @ivar clock: the node's clock (the parts' timers).
    @ivar peerLog: the node's peer log (lines charged to an address
        group: L{twisted_bazaar.base.logthrottle.PeerLog}).
    @ivar dialer: the node's L{Dialer <twisted_bazaar.reach.dialer.Dialer>}:
        every dial to a relay is its C{toRelay}; C{whyNotRelay} vets a
        relay named.
    @ivar tracker: C{tracker()}, the node's tracker session now (it sends
        and hears the relay messages), or None.
    @ivar ownId: C{ownId()}, the node's id now (its tracker names it).
    @ivar identity: the node's key pair, or None.
    @ivar takes: C{takes(purpose)}, the factory of the protocol a circuit
        for purpose runs (the node's links, or its transfer port), or None
        when the node takes none.
    @ivar events: the node's parts, told C{relayCircuits(relay, why)}.
    @ivar sources: the node's dialer's sources of paths
        (L{Sources <twisted_bazaar.reach.sources.Sources>}), which the
        reservation is added to, and which it tells of the relayed path
        held (the node's advertisement hears it there).
    @ivar pace: C{pace()}, the node's
        L{AdvertisePace <twisted_bazaar.reach.reachable.advertising.AdvertisePace>}
        (made at its first use).
    @ivar wayOut: C{wayOut()}, the ways out a node whose circuits cannot
        reach its relay may take (its transport plugins': a relay over
        another transport), in words; said only when none opens.
    """

    clock = attr.ib()
    peerLog = attr.ib()
    dialer = attr.ib()
    tracker = attr.ib()
    ownId = attr.ib()
    identity = attr.ib()
    takes = attr.ib()
    events = attr.ib()
    sources = attr.ib()
    pace = attr.ib()
    wayOut = attr.ib(default=lambda: ())
