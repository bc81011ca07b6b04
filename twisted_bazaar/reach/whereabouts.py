"""
What a node knows of where its peers are (L{Whereabouts}): the words
that name a peer's ways go in here (the tracker's ``nodereply``, a
peer's ``thisisme``, an address heard from a peer's word, the local
addresses this node tells its tracker), and the dialer
(L{twisted_bazaar.reach.dialer.Dialer}), the punch services and the
host checks read them here.  The dialer alone dials; this holds no
connector and dials nothing.

Its parts are the book of paths (L{PathBook}: the ways to each peer),
the LAN paths (L{LanPaths}: this node's own local addresses, and what
became of its dials to its peers') and the check of a host a peer
names (L{PeerHosts}): each made when first needed, so a simulated
node, which never dials a local address nor checks a host, holds
none of them, and one that never dials holds no L{Whereabouts} at all
(L{twisted_bazaar.core.node.Node.whereabouts}; docs/simulator.md,
"Memory a node").

It is built with what it reads (the node's clock, its peer log, its
links' handshake timeout), not the node, and holds the tracker's word on
the node itself: the node's tracker session (L{session}) and what the
tracker's check found of it (L{reach}), which the node's own attributes
of those names read and write.
"""

from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import isLocal, peerHost
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.peerhost import scopeOf
from twisted_bazaar.net.keepalive import DEFAULT_HANDSHAKE_TIMEOUT
from twisted_bazaar.net.limits import GroupRates
from twisted_bazaar.reach.book import PathBook
from twisted_bazaar.reach.directpath import directPath
from twisted_bazaar.reach.lanpaths import LanPaths
from twisted_bazaar.reach.peerhosts import PeerHosts, trackersGroup
from twisted_bazaar.reach.reachable.reachability import PUBLIC, UNCHECKED
from twisted_bazaar.transports.relay.messages import FILES, NODE

__all__ = ["Whereabouts", "WHERE_ASKS_LIMIT"]

WHERE_ASKS_LIMIT = declare(
    "dialer.where-asks", None, "questions/s",
    "questions to the tracker of where a peer is that relayed links prompt, per address "
    "group of the link (the one its relay names): fresh keys linking through a relay "
    "cannot spend the node's questions to its tracker", group=1.0, owner=__name__)


class Whereabouts:
    """
    Where a node's peers are, as far as it knows: see the module's
    docstring.
    """

    # One a node (a million in a simulation): slotted, its parts made
    # when first needed.
    __slots__ = ("_clock", "_peerLog", "_timeout", "session", "reach", "_book", "_lan",
                 "_hosts", "_whereAsks")

    def __init__(self, clock, peerLog, handshakeTimeout=None):
        """
        @param peerLog: the node's peer log, which its host checks log to.
        @param handshakeTimeout: the seconds its links' handshake may take
            (None: L{DEFAULT_HANDSHAKE_TIMEOUT}), which bounds a host
            check's look-up.
        """
        self._clock = clock
        self._peerLog = peerLog
        self._timeout = handshakeTimeout or DEFAULT_HANDSHAKE_TIMEOUT
        #: The node's tracker session (its questions, its relay), or None:
        #: the node's C{membership}.
        self.session = None
        #: What the tracker last found of this node's address
        #: (L{Reachability}): the node's C{reach}.
        self.reach = UNCHECKED
        self._book = None
        self._lan = None
        self._hosts = None
        #: The rates of L{learnWhere}, made when first needed.
        self._whereAsks = None

    @property
    def book(self):
        """The node's L{PathBook}, made when first written or read: most
        simulated nodes never note a path to a peer."""
        book = self._book
        if book is None:
            book = self._book = PathBook(self)
        return book

    @property
    def lan(self):
        """The node's L{LanPaths}, made when first needed: most simulated
        nodes never dial a peer's local address."""
        lan = self._lan
        if lan is None:
            lan = self._lan = LanPaths(self._clock, self.book)
        return lan

    @property
    def hosts(self):
        """The check of a host a peer is dialled at (L{PeerHosts}), made
        when first needed: a simulated node, on a connector whose hosts
        are labels, never needs it."""
        hosts = self._hosts
        if hosts is None:
            hosts = self._hosts = PeerHosts(self, self.book, self._peerLog, self._timeout)
        return hosts

    # -- the tracker's word on this node itself --------------------------------------

    def setSession(self, session):
        """The node's tracker session from now on (None: none): what it asks
        where a peer is (L{Node.membership
        <twisted_bazaar.core.node.Node.membership>} is this)."""
        self.session = session

    def setReach(self, reach):
        """What the tracker's check last found of this node's address from
        now on (L{Node.reach <twisted_bazaar.core.node.Node.reach>} is
        this)."""
        self.reach = reach

    @property
    def clock(self):
        """The node's clock."""
        return self._clock

    def now(self):
        """The node's clock's time: what dates a word in the book."""
        return self._clock.seconds()

    def tracker(self):
        """The node's tracker session (its questions, its relay), or None."""
        return self.session

    def tracked(self):
        """Whether the node has a tracker session to ask (where a peer is,
        which relay it is reached through)."""
        return self.session is not None

    def trackersGroup(self):
        """The address group of the node's tracker connection, whose
        answers named the hosts in them (L{trackersGroup}), or None."""
        return trackersGroup(self.session)

    def seenHost(self):
        """The host the tracker last saw this node's connection come from
        ("" until it said)."""
        return self.reach.seen_host or ""

    def public(self):
        """Whether the tracker last found this node reachable where it
        listens (no router of a home before it)."""
        return self.reach.state == PUBLIC

    # -- what the node knows of its peers --------------------------------------------

    def announce(self, tracker_link):
        """The local addresses to tell the tracker in the thisisme on
        tracker_link (None: none): where that connection leaves from, if
        it is a local address (L{LanPaths.announce}).  Where it leaves
        from says which scopes this node is in, with where it goes to
        (L{PeerHosts.leftFrom})."""
        transport = tracker_link.transport
        host = getattr(transport.getHost(), "host", "")
        if scopeOf(host) is not None:
            self.hosts.leftFrom(host, peerHost(transport))
        if self._lan is None and not isLocal(host):
            return None
        return self.lan.announce(host)

    def trackerNamed(self, reply):
        """The tracker named a node (a ``nodereply`` with a port): its
        paths, into the book (L{PathBook.trackerNamed})."""
        self.book.trackerNamed(reply)

    def notePeer(self, peer_id, relay, named=False, group=""):
        """peer_id is reached through relay (None: directly), as it says
        itself (its ``thisisme``, on a connection from address group
        ``group``), or as the tracker named it (``named``: a
        ``chordNear``): into the book."""
        if relay is None and self._book is None:
            return
        if named:
            self.book.relayNamed(peer_id, relay)
        else:
            self.book.claimed(peer_id, relay, group)

    def heard(self, peer_id, host, port, namedBy=None, purpose=NODE, relay=None):
        """peer_id's links (its transfer port: ``purpose`` L{FILES}) are
        at host:port, as a peer's word names them (``namedBy``: the
        address group of that peer): into the book until the dial that
        reads it takes it (L{PathBook.heard}); and the relay that word
        names for it, if any, noted as its claim, charged to the same
        group (L{PathBook.claimed}: a seller's offer names both)."""
        self.book.heard(peer_id, host, port, namedBy, purpose)
        if relay is not None:
            self.book.claimed(peer_id, relay, namedBy or "")

    def linkAddress(self, peer_id):
        """Where peer_id's links were last written at, and whose word that
        is (L{PathBook.linkAddress}), or None: a node that noted no path
        holds no book, and asking makes none."""
        return None if self._book is None else self._book.linkAddress(peer_id)

    def atHome(self):
        """Whether this node has a local address of its own (one it tells
        its tracker): a node of a home, whose classmates may be on its
        LAN.  Asking makes no L{LanPaths}."""
        return self._lan is not None and bool(self._lan.own)

    def lanNamed(self, peer_id):
        """The local addresses the tracker last named for peer_id (a tuple,
        empty for none).  It names them only to a node it sees behind the
        same public address as the peer: a peer with any is a classmate,
        behind this node's own router, whatever this node's own check has
        said yet.  Asking makes no book."""
        named = None if self._book is None else self._book.lanNamed(peer_id)
        return () if named is None else named[1]

    def lanGroups(self, peer_id):
        """The address groups of peer_id's local addresses the tracker named
        (L{lanNamed}): where a classmate's links over the LAN come from,
        the group of every other classmate's too."""
        return frozenset(addressGroup(host) for host in self.lanNamed(peer_id))

    def relayOf(self, peer_id):
        """The relay peer_id is reached through as last noted, or None."""
        return None if self._book is None else self._book.relayOf(peer_id)

    def unreached(self, peer_id):
        """Nothing listened where this node dialled peer_id: into the book
        (L{PathBook.unreached})."""
        self.book.unreached(peer_id)

    def reached(self, peer_id):
        """A link to peer_id came up (L{PathBook.reached}): a node that
        noted no path holds no book, and this makes none."""
        if self._book is not None:
            self._book.reached(peer_id)

    def unreachable(self, peer_id):
        """Whether nothing listened where this node last dialled peer_id,
        lately (L{PathBook.unreachable}); asking makes no book."""
        return self._book is not None and self._book.unreachable(peer_id)

    def directPath(self, peer_id):
        """The path by which this node reaches peer_id with no relay and no
        punch (L{twisted_bazaar.reach.directpath.directPath}), or None:
        the punch services ask before they punch."""
        if self._book is None:
            return None
        return directPath(self._book, self._lan, peer_id, self.seenHost())

    def learnWhere(self, peer_id, group):
        """Ask the tracker where peer_id is (its answer into the book),
        unless the book's word on it is fresh or there is no tracker: so
        that L{directPath} knows by the time a punch with it is asked.
        The question is the tracker session's to end (answered, timed
        out, or failed as the session goes); its silence changes
        nothing.  Charged to ``group``, the address group of the link that
        prompted it (L{WHERE_ASKS_LIMIT}): a stranger's fresh keys, each
        linking through a relay, cannot spend the node's questions to its
        tracker; past it the punch's go finds the book as it is."""
        if not self.tracked() or self.book.known(peer_id):
            return
        rates = self._whereAsks
        if rates is None:
            rates = self._whereAsks = GroupRates(WHERE_ASKS_LIMIT)
        if rates.take(group, self._clock.seconds()):
            self.book.ask(peer_id).addErrback(lambda reason: None)

    def trackerChanged(self):
        """The node registered with another tracker than the one before
        (a node of several): what that one named of peers (their relays,
        their local addresses, the names they are at) is forgotten, and
        the new tracker asked.  Else a tracker the node left, lying or
        stale, went on choosing the relay of every peer it had named,
        for good, over the word of the tracker the node is with."""
        if self._book is not None:
            self._book.forgetNamed()
