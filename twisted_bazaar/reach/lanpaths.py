"""
What a node knows of its peers' local addresses, for its dialer's LAN
way (L{twisted_bazaar.reach.ways.Lan}; docs/protocol.md §5,
"Local addresses").

Two machines of one home, behind one router that does not hairpin,
reach each other only through a relay, at the relay's rate, though
their LAN would carry the bytes at once.  So a node tells its tracker
its own local addresses (L{LanPaths.announce}); the tracker names them
only to nodes it sees behind the same public address, on a subnet of
their own; and the dialer tries them first for a peer at home.

A stranger must not make a node dial hosts of its LAN at will: only the
tracker's word is taken (never a peer's), only private addresses on a
subnet of the node's own (never its own, nor a link-local one, nor one
with a zone), at a port from 1024 on, each dial's channel must prove
the peer's key (or its link's handshake the peer's keyed id), an
address that failed is not dialled again for that peer for
L{RETRY_AFTER} seconds, and the dials to one address group are rated
(L{LAN_DIALS_LIMIT}).
"""

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import LOWEST_PORT, canonical, isLocal, sameSubnet
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.reach.book import KEPT as NAMED_KEPT, NAMED_FOR
from twisted_bazaar.net.limits import GroupRates

#: Seconds a local address that failed is not dialled again for its peer.
RETRY_AFTER = 300.0

LAN_DIALS_LIMIT = declare(
    "dialer.lan-dials", None, "dials/s",
    "dials a node makes to its peers' local addresses, per address group dialled: "
    "a stranger behind the same public address names the hosts, so their SYNs into "
    "one LAN are bounded", group=2.0, owner=__name__)


class LanPaths:
    """
    The node's own local addresses, and what became of its dials to its
    peers' (which its book of paths holds, as the tracker named them).

    @ivar own: the local addresses this node announced (a tuple).
    """

    # One a node (a million in a simulation), and nearly all of a
    # simulated node's stay empty: slotted, its tables the shared empty
    # one and its rates made when first written (base/sparing.py).
    __slots__ = ("clock", "own", "_failed", "_proven", "_rates")

    def __init__(self, clock):
        self.clock = clock
        self.own = ()
        #: (peer id, host) -> until when that address is not dialled.
        self._failed = NOTHING
        #: (peer id, host) -> until when that address, where the peer
        #: proved its key, is dialled without the rate.
        self._proven = NOTHING
        self._rates = None

    @property
    def rates(self):
        """The dials to each address group (L{LAN_DIALS_LIMIT})."""
        rates = self._rates
        if rates is None:
            rates = self._rates = GroupRates(LAN_DIALS_LIMIT, remembered=NAMED_KEPT)
        return rates

    def announce(self, local_host):
        """The local addresses to tell the tracker, this node's connection
        to it leaving from ``local_host``: that host if it is local
        (L{isLocal}), else none (None)."""
        self.own = (local_host,) if isLocal(local_host) else ()
        return self.own or None

    def targets(self, peer_id, seen_host, named):
        """
        The local addresses of peer_id to try now, this node seen by its
        tracker at ``seen_host`` ("" before it said), the tracker naming
        the peer at ``named`` (its host and local addresses, as the book
        of paths holds them: L{twisted_bazaar.reach.book.PathBook.lanNamed};
        None: it named nothing): those local addresses, when it names the
        peer at that same host (behind the same public address), that are
        on a subnet of this node's own local addresses (L{sameSubnet}:
        never a link-local one), are not this node's own, and did not
        fail lately.
        """
        if named is None:
            return ()
        host, lan = named
        if seen_host and host != seen_host:
            return ()
        own = {canonical(mine) for mine in self.own}
        now = self.clock.seconds()
        return tuple(each for each in lan
                     if canonical(each) not in own
                     and any(sameSubnet(each, mine) for mine in self.own)
                     and self._failed.get((peer_id, each), now) <= now)

    def mayDial(self, peer_id, host):
        """Whether peer_id may be dialled at host now: where it proved its
        key lately (L{reached}), always, uncounted (strangers' dials that
        spend the rate cannot keep a node from a peer of its LAN it
        reached); else if one more dial to host's address group is
        within the rate (it is counted if so)."""
        now = self.clock.seconds()
        if self._proven.get((peer_id, host), now) > now:
            return True
        return self.rates.take(addressGroup(host), now)

    def reached(self, peer_id, host):
        """peer_id proved its key at host: dialled there without the rate
        for L{NAMED_FOR} seconds."""
        _remember(own(self, "_proven"), (peer_id, host), self.clock.seconds() + NAMED_FOR)

    def failed(self, peer_id, host):
        """A dial of peer_id at host failed: not again for RETRY_AFTER."""
        _remember(own(self, "_failed"), (peer_id, host), self.clock.seconds() + RETRY_AFTER)
        if self._proven:
            self._proven.pop((peer_id, host), None)


def _remember(table, key, value):
    """Note key in table with value, the newest last, the oldest
    forgotten past L{NAMED_KEPT}."""
    table.pop(key, None)
    table[key] = value
    while len(table) > NAMED_KEPT:
        del table[next(iter(table))]
