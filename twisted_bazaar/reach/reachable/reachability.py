"""
Whether other nodes can dial this node: its reachability, as the
tracker's last check of its address found it.

The tracker dials every node at the address it registered before it
introduces it (docs/protocol.md §5, "The address check"); a node that
asks is told the outcome, and where the tracker saw the node's own
connection come from (``reach``), as STUN and libp2p's AutoNAT tell.  A
node behind a NAT router learns so that it cannot be dialled, and the
router's public address.
"""

import attr

from twisted_bazaar.base.lan import sameHost

#: The tracker dialled the node at its registered address, and it answered.
PUBLIC = "public"
#: The tracker's dial did not reach the node (behind NAT, or a firewall).
PRIVATE = "private"
#: No check has told the node yet (no tracker, an old one, or port 0).
UNKNOWN = "unknown"
REACHABILITIES = (PUBLIC, PRIVATE, UNKNOWN)


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Reachability:
    """
    What the tracker's last check of the node's address found: the
    ``state`` (L{PUBLIC}, L{PRIVATE} or L{UNKNOWN}), the address it
    checked (``host``:``port``), where it saw the node's connection
    come from (``seen_host``:``seen_port``), and where that connection
    leaves from here (``local_host``, which L{behind} compares with
    ``seen_host``); "" and 0 while unknown.
    """

    state: str = UNKNOWN
    host: str = ""
    port: int = 0
    seen_host: str = ""
    seen_port: int = 0
    local_host: str = ""

    @classmethod
    def fromReach(cls, message, local_host=""):
        """The reachability a tracker's L{twisted_bazaar.wire.Reach} tells,
        heard on a connection that leaves from ``local_host``."""
        return cls(PUBLIC if message.reachable else PRIVATE, message.host,
                   message.port, message.seen_host, message.seen_port, local_host)

    def differs(self, other):
        """Whether other says something else of the node than this does:
        another state, or another address checked (a change worth a line
        in the log; the address seen may change with each connection)."""
        return (self.state, self.host, self.port) != (other.state, other.host,
                                                      other.port)


#: A node's reachability until a check tells it.
UNCHECKED = Reachability()


def behind(local, seen_host):
    """
    What keeps a node undialled, as a guess in words: a firewall when
    its tracker saw its connection come from the address it leaves from
    (``local``: no router rewrote it on the way out, and an IPv6 home's
    router, or the machine's own firewall, drops what comes unasked),
    else NAT; either, where ``local`` is not known (None: a stranger's
    or an older node's status answer does not say).  An IPv6 home behind
    a stateful firewall was told it was "behind NAT?", which it is not.
    The node's log and ``bazaar node`` both say this.
    """
    if local is None:
        return "behind NAT or a firewall?"
    return "behind a firewall?" if seen_host and sameHost(local, seen_host) else "behind NAT?"


def lanOnlyAt(reach, relay):
    """
    The public host a node with reachability ``reach`` and ``relay``
    (None: none) is LAN-only behind (docs/protocol.md §5, "LAN-only
    nodes"), or None: the host its tracker sees it at, while the
    tracker's check found it unreachable there and no relay holds it, so
    that only nodes seen at that host (behind its router) reach it.
    """
    if reach.state != PRIVATE or relay is not None or not reach.seen_host:
        return None
    return reach.seen_host
