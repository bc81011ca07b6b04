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
(L{LAN_DIALS_LIMIT}).  What became of a dial (the peer proved its key
there, or it failed) is a fact of the book of paths
(L{twisted_bazaar.reach.book.PathBook.lanReached}, C{lanFailed}), the
one table of how a peer is reached; here are this node's own addresses
and the rate.
"""

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import canonical, isLocal, sameSubnet
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.reach.book import RETRY_AFTER
from twisted_bazaar.reach.bookaccount import KEPT as NAMED_KEPT
from twisted_bazaar.net.limits import GroupRates

__all__ = ["LanPaths", "LAN_DIALS_LIMIT", "RETRY_AFTER"]

LAN_DIALS_LIMIT = declare(
    "dialer.lan-dials", None, "dials/s",
    "dials a node makes to its peers' local addresses, per address group dialled: "
    "a stranger behind the same public address names the hosts, so their SYNs into "
    "one LAN are bounded", group=2.0, owner=__name__)


class LanPaths:
    """
    The node's own local addresses, and which of its peers' (which its
    book of paths holds, as the tracker named them) to dial now.

    @ivar own: the local addresses this node announced (a tuple).
    """

    # One a node that dials a local address or has one: slotted, its
    # rates made when first written.
    __slots__ = ("clock", "book", "own", "_rates")

    def __init__(self, clock, book):
        """
        @param book: the node's book of paths
            (L{twisted_bazaar.reach.book.PathBook}): what the tracker named
            of each peer's local addresses, and what became of the dials.
        """
        self.clock = clock
        self.book = book
        self.own = ()
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

    def targets(self, peer_id, seen_host):
        """
        The local addresses of peer_id to try now, this node seen by its
        tracker at ``seen_host`` ("" before it said): those the tracker
        last named for the peer (L{PathBook.lanNamed
        <twisted_bazaar.reach.book.PathBook.lanNamed>}), when it names
        the peer at that same host (behind the same public address), that
        are on a subnet of this node's own local addresses
        (L{sameSubnet}: never a link-local one), are not this node's own,
        and did not fail lately (L{PathBook.lanFailedLately
        <twisted_bazaar.reach.book.PathBook.lanFailedLately>}).
        """
        named = self.book.lanNamed(peer_id)
        if named is None:
            return ()
        host, lan = named
        if seen_host and host != seen_host:
            return ()
        own = {canonical(mine) for mine in self.own}
        return tuple(each for each in lan
                     if canonical(each) not in own
                     and any(sameSubnet(each, mine) for mine in self.own)
                     and not self.book.lanFailedLately(peer_id, each))

    def mayDial(self, peer_id, host):
        """Whether peer_id may be dialled at host now: where it proved its
        key lately (L{PathBook.lanProven
        <twisted_bazaar.reach.book.PathBook.lanProven>}), always, uncounted
        (strangers' dials that spend the rate cannot keep a node from a
        peer of its LAN it reached); else if one more dial to host's
        address group is within the rate (it is counted if so)."""
        if self.book.lanProven(peer_id, host):
            return True
        return self.rates.take(addressGroup(host), self.clock.seconds())
