"""The tunables of one Chord node (the ``--chord-*`` options)."""

import attr

#: Link purpose of the ring's standing links, with its default slot
#: budget.  A node of a stable ring keeps a link to each of its r
#: successors and its predecessor, and one from each node that has it as
#: theirs: about 2r + 2, 10 with the default r = 4; the budget leaves room
#: for a neighbourhood in turmoil.  A node out of slots evicts a ring
#: link, whose owner opens it again at its next ping.
CHORD = "chord"
DEFAULT_LINKS = 256
#: Link purpose of the links a node opens to a finger (or any next hop it
#: has no link to) to pass a request on; closed once idle.
FINGER = "chord-finger"
#: Longest successor list (and most successors a message may list).
MAX_SUCCESSORS = 32
#: The ring's puzzle (L{ring.solves}): a daemon's default, the least a
#: daemon may be told, and the most.  In-process nodes (tests, the
#: simulator's cheap crypto) default to none.
DAEMON_PUZZLE = 12
#: Most disjoint paths a detour takes.
MOST_PATHS = 8
LEAST_PUZZLE = 8
MOST_PUZZLE = 32


@attr.s(frozen=True, auto_attribs=True, slots=True)
class ChordSettings:
    """
    @ivar successors: length r of the successor list; records live on their
        holder and its r successors.
    @ivar stabilize: seconds between two stabilizations (ask the successor
        for its predecessor and list, and notify it).
    @ivar fix_fingers: seconds between two finger checks or lookups.
    @ivar ping: seconds between two pings of the first successor and the
        predecessor.
    @ivar missed: pings in a row a neighbour may miss before it is dead.
    @ivar probe: seconds between two questions to the tracker for the node
        that follows this one (rings that formed apart merge).
    @ivar holders: how many nodes a store or a request for sellers
        reaches: the key's holder and the next ones round the ring, which
        keep its replicas (at most C{successors}); a lookup takes any valid
        signed record any of them names.
    @ivar paths: disjoint paths of a detour (L{detour}): how a lookup for
        sellers or a store that routing did not answer usefully is asked
        again round the nodes that drop or lie; 0: never.
    @ivar puzzle: leading zero bits the SHA-256 of a keyed id must have for
        the node to count on the ring (S/Kademlia's static puzzle: a place
        chosen costs 2^puzzle tries more); 0: none.
    @ivar refresh: seconds between two stores of a seller's record.
    @ivar expiry: seconds a record lives unless stored again.
    @ivar lookup_timeout: seconds to wait for the answer to a lookup.
    @ivar quit_timeout: seconds a leaving node waits for its handover to be
        confirmed before it says dc.
    @ivar links: slots for ring links (successors, predecessor, and the
        nodes that have this one as theirs).
    @ivar max_records: most records the node holds.
    @ivar finger_links: slots for finger links (those this node opens to
        pass requests on, and those other nodes open to it).
    @ivar finger_idle: seconds a finger link may carry no request before
        it is closed.
    @ivar max_period: longest period of stabilization, pings and finger
        lookups: each doubles from its base while the ring around the node
        does not change, up to this, and drops back to its base when it
        does (L{twisted_bazaar.schemes.chord.pacing.Pace}).
    """

    successors: int = 4
    holders: int = 3
    paths: int = 3
    puzzle: int = 0
    stabilize: float = 1.0
    fix_fingers: float = 1.0
    ping: float = 1.0
    missed: int = 3
    probe: float = 60.0
    refresh: float = 30.0
    expiry: float = 90.0
    lookup_timeout: float = 3.0
    quit_timeout: float = 2.0
    links: int = DEFAULT_LINKS
    max_records: int = 100_000
    finger_links: int = 64
    finger_idle: float = 10.0
    max_period: float = 10.0
