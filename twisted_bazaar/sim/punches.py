"""
Hole punching in a simulation with nodes at home (``bazaar-sim --nat``):
every node punches over its relayed links as a daemon does
(L{twisted_bazaar.reach.punch.tcp.service.Punching}, the same messages through the
tracker's relay, the same timers), its dials simultaneous opens on the
in-memory network (L{twisted_bazaar.testing.punchdial}); what became of
the punches is counted (L{PunchCounts}).
"""

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.daemon import build
from twisted_bazaar.testing.memory import MemoryTransport
from twisted_bazaar.testing.punchdial import SimultaneousOpens

#: Why a punch failed, by what its reason
#: (L{twisted_bazaar.reach.punch.tcp.exchange.PunchFailed}) says, the first
#: that matches: (words in the reason, the key it is counted under).
REASONS = (
    ("the peer refused: it cannot punch: its router changed", "peer_symmetric"),
    ("this node cannot punch: its router changed", "symmetric"),
    ("cannot punch: no address check", "unchecked"),
    ("no direct connection after", "no_connection"),
    ("no punchReply", "unanswered"),
    ("the link closed", "link_closed"),
    ("the peer refused", "refused"),
)


def reasonOf(why):
    """The key a punch that failed for ``why`` is counted under
    (L{REASONS}), or "other"."""
    for words, key in REASONS:
        if words in why:
            return key
    return "other"


class PunchCounts:
    """
    The punches of a run: started (by the end that opened the relayed
    link), punched, failed by reason (L{reasonOf}), and the links moved
    off the relay (a punched link that took the place of a relayed one,
    counted once, at the end that opened it).
    """

    def __init__(self, opens):
        self.opens = opens
        self.started = 0
        self.punched = 0
        self.failed = {}
        self.moved = 0

    def watch(self, node):
        """Count the punches node starts and the links they move (its
        C{punchStarted}, C{punchEnded} and C{linkReplaced} events)."""
        node.addObserver(_Moves(node, self))

    def stop(self):
        """The run has ended: its simultaneous opens' timers are cancelled
        (L{SimultaneousOpens.stop})."""
        self.opens.stop()

    def metrics(self):
        """What a run reports of its punches (the ``nat.punches`` key)."""
        return {"started": self.started, "punched": self.punched,
                "failed": dict(sorted(self.failed.items())),
                "links_moved": self.moved, "dials": dict(self.opens.counts)}


class _Moves(NodeObserver):
    """Counts a node's punches, by how each ended (L{reasonOf}), and its
    links moved off the relay: a punched link of its own that took the
    place of another (its C{linkReplaced} event, told after its
    punching's)."""

    def __init__(self, node, counts):
        self.node = node
        self.counts = counts

    def punchStarted(self, link, host):
        self.counts.started += 1

    def punchEnded(self, link, host, why):
        counts = self.counts
        if why is None:
            counts.punched += 1
        else:
            key = reasonOf(why)
            counts.failed[key] = counts.failed.get(key, 0) + 1

    def linkReplaced(self, peer_id):
        link = self.node.linkTo(peer_id)
        if (link is not None and not link.inbound
                and isinstance(link.transport, MemoryTransport)
                and link.transport.punched):
            self.counts.moved += 1


def plugPunching(network, nodes):
    """
    Every node of nodes punches over its relayed links, as a daemon does
    (L{twisted_bazaar.daemon.build.plugPunching}, the function
    L{buildNode <twisted_bazaar.daemon.build.buildNode>} plugs a daemon's
    with); returns the run's L{PunchCounts}.

    Plugged once the run drew its roles, after them, as a daemon's; the
    node's reservation and relay offering services, built with the node,
    hear of its reach before its punching here (a daemon's after): each
    tells the tracker its own, and a run's figures are the same either
    way (``bazaar-sim --json`` at 1,000 nodes, every scheme, with and
    without ``--nat``, against the order of a daemon's).
    """
    opens = SimultaneousOpens(network)
    counts = PunchCounts(opens)
    for node in nodes:
        build.plugPunching(node, opens.dialer(node.connector.from_host))
        counts.watch(node)
    return counts
