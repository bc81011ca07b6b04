"""
The dialer's check of a host it dials a peer at (L{PeerHosts}): what a
peer's word names (a chord ring entry, a record in a flood reply, an
index listing, a super-peer's answer) is a claim, so a node dials it
only where L{twisted_bazaar.base.peerhost.whyNotDialled} allows (no
loopback or private address of a scope the node is not in itself, none
at a well-known port), and resolves a name only when its tracker names
the peer at that very name (docs/protocol.md §5, "Hosts a peer names").

A name a stranger chose would have the node ask DNS what the stranger
chose, once a message: a lookup that reaches the stranger's name server
(telling it the victim's resolver), and a name that resolves to
``127.0.0.1`` would pass as no loopback address.  The tracker resolves
and dials a node's ``--host NAME`` itself when it checks it (§5 step 3),
so a name it names is one an honest node registered and the tracker
reached there.  But DNS may answer the node otherwise than it answered
the tracker (a name rebound to ``127.0.0.1`` once checked): the node
resolves the name itself and dials the addresses it gets that the rules
allow for an address a peer names, in order until one connects, never
the name.
"""

from twisted.internet import defer
from twisted.logger import Logger, LogLevel

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.lan import sameHost
from twisted_bazaar.base.peerhost import (
    LOCAL, PUBLIC, firstDialled, isName, scopeOf, whyNotDialled)
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.wire.core import splitRelay
from twisted_bazaar.wire.ids import shortId


class HostRefused(Exception):
    """A host a peer named is not dialled: why (the dial's failure says
    where: a link's, L{twisted_bazaar.net.opening.Unreachable}, names
    the address)."""

    def __str__(self):
        return self.args[0]


#: Who the line of a host refused is charged to in the node's peer log
#: when the word that named it is no longer at hand (a chord ring's
#: entry, a seller's record a lookup found): no address group.  Never the
#: named host's group: a stranger naming an honest group's hosts spent
#: that group's lines.
NAMER_UNKNOWN = "the peers that named them"


def trackersGroup(tracker):
    """The address group of a node's tracker connection (its session,
    ``tracker``, or None), whose answers (its ``nodereply``, an index's
    ``found``) named the hosts in them: the lines of those refused are
    charged to it.  None without one."""
    link = getattr(tracker, "link", None)
    return None if link is None else groupOf(link)

#: The scopes of a node none of whose tracker connections left yet.
NO_SCOPES = frozenset()


def scopeLeftFrom(local_host, tracker_host=""):
    """
    The scope (L{scopeOf}) a connection to a tracker at tracker_host
    that leaves from local_host puts its side in, or None: no private
    one when the tracker is at a public address (a machine behind a
    router, on no private network with its tracker: L{PeerHosts.leftFrom}).
    """
    scope = scopeOf(local_host) if local_host else None
    if scope == LOCAL and scopeOf(tracker_host or "") == PUBLIC:
        return None
    return scope


def whyNotRelayDialled(relay, own, atTrackersHost, who="this node"):
    """
    Why a side in the scopes ``own`` dials no relay at ``relay``
    (``HOST:PORT``) its tracker named, or None when it dials it: any
    port of the tracker's own host (``atTrackersHost``: the machine it
    chose), else an IP address the rules of a host a peer names allow
    (L{whyNotDialled}); never a name (a tracker names a relay at the
    address it reached).
    """
    if atTrackersHost:
        return None
    host, port = splitRelay(relay)
    if isName(host):
        return f"{host} is a name: a relay is named at the address the tracker reached"
    return whyNotDialled(host, port, own, who)


#: Who a client without a node (L{TrackerScopes}) is in its reasons.
CLIENT = "this client"


class TrackerScopes:
    """
    The scopes a client without a node (``bazaar list``) is in, as its
    tracker connections leave (L{leftFrom}), and the hosts named in a
    tracker's answer that it dials by the node's rules (L{whyNot}): a
    tracker, pinned or not, names whatever hosts its registry holds, and
    told a loopback or private one by a tracker on the internet the
    client dialled a service of its own machine or network.
    """

    def __init__(self):
        self.own = set()
        #: The hosts its trackers are at (their relays: any port there).
        self.trackers = set()

    def leftFrom(self, local_host, tracker_host):
        """A connection to a tracker at tracker_host left from local_host."""
        scope = scopeLeftFrom(local_host, tracker_host)
        if scope is not None:
            self.own.add(scope)
        if tracker_host:
            self.trackers.add(tracker_host)

    def whyNot(self, host, port, relay=None):
        """Why a node the tracker names at host, port (through ``relay``,
        if given) is not dialled, or None: a name is the tracker's word
        (it checked the node there), an IP address and a relay as a node
        dials them."""
        own = frozenset(self.own)
        if relay is not None:
            at = splitRelay(relay)[0]
            return whyNotRelayDialled(relay, own, any(sameHost(at, tracker)
                                                      for tracker in self.trackers),
                                      CLIENT)
        return None if isName(host) else whyNotDialled(host, port, own, CLIENT)


class PeerHosts:
    """
    What a node's dialer checks of a peer's host before it dials it.

    @ivar own: the scopes (L{scopeOf}) of the addresses this node's
        tracker connections left from: where it is itself.
    """

    log = Logger()

    # One a node (a million in a simulation): slotted, its scopes a
    # shared empty set until it has one (base/sparing.py).
    __slots__ = ("where", "book", "peerLog", "timeout", "own")

    def __init__(self, where, book, peerLog, timeout):
        """
        @param where: the node's whereabouts
            (L{twisted_bazaar.reach.whereabouts.Whereabouts}): the
            tracker's word on the node itself (its session, where it saw
            the node, its connection's address group) and the clock.
        @param book: the node's book of paths
            (L{twisted_bazaar.reach.book.PathBook}), which holds the
            host the tracker last named each peer at, and asks it.
        @param peerLog: the node's peer log
            (L{twisted_bazaar.base.logthrottle.PeerLog}), which the line
            of a host refused is charged to.
        @param timeout: seconds a name's lookup may take (as a dial's
            handshake).
        """
        self.where = where
        self.book = book
        self.peerLog = peerLog
        self.timeout = timeout
        self.own = NO_SCOPES

    def leftFrom(self, local_host, tracker_host=""):
        """
        A tracker connection of this node leaves from local_host, to its
        tracker at tracker_host: the node is in local_host's scope; but
        not in a private one when the tracker is at a public address.
        Such a node is behind a router (at home, behind a carrier's or a
        cloud's NAT), on no private network with its tracker, whatever
        the tracker says of where it sees it (``reach``) or before it
        says anything: its first ``reach`` comes when its check of the
        node ends, seconds after the node's first dials, and a lying
        tracker among several need never send one.  Until then a node at
        home dialled every private host a peer named (its router's page,
        its printer).
        """
        scope = scopeLeftFrom(local_host, tracker_host)
        if scope is not None and scope not in self.own:
            self.own = self.own | {scope}

    def scopes(self):
        """
        The scopes this node is in: those its tracker connections left
        from (L{leftFrom}), but not the private one when the tracker saw
        it at a public address (``reach``'s ``seenHost``): a node at home reaches its
        peers on the internet, and those of its own network only as the
        tracker names them (the LAN way), never as a peer says.
        """
        own = self.own
        if LOCAL in own and scopeOf(self.where.seenHost()) == PUBLIC:
            return own - {LOCAL}
        return own

    def allows(self, host, port):
        """Whether host, port is an IP address this node dials a peer at by
        its rules (L{whyNotDialled}); nothing is logged or asked."""
        return not isName(host) and whyNotDialled(host, port, self.scopes()) is None

    def whyNotRelay(self, relay):
        """
        Why this node dials no relay at ``relay`` (``HOST:PORT``), which
        its tracker named (a public node's relay, in ``relayAt`` or a
        ``nodereply``, or its own), or None when it dials it: an IP
        address the rules of a host a peer names allow
        (L{whyNotDialled}), or any port of the host this node's tracker
        connection reaches (the tracker's own machine, which the node
        chose).  A tracker names a public node's relay at the address its
        check reached, never a name; but a lying tracker among several,
        or a stranger on the tracker's own network whose check passed
        there, named ``127.0.0.1:6379`` or ``169.254.169.254:80``, and
        every node at home sent there dialled a service of its own
        machine or network.  A refusal is logged, bounded per address
        group of the tracker that named it (the one the node is with).
        """
        tracker = self.where.tracker()
        why = whyNotRelayDialled(relay, self.scopes(),
                                 tracker is not None and tracker.atTrackersHost(relay))
        if why is not None:
            namer = self.where.trackersGroup()
            self.peerLog.emit(
                self.log, LogLevel.info, NAMER_UNKNOWN if namer is None else namer,
                "not dialling the relay at {relay} its tracker named: {why}",
                relay=relay, why=why)
        return why

    def vet(self, peer, purpose, resolve):
        """
        A Deferred firing with the addresses to dial peer at, in order
        (a L{Peer} named at its host, not through a relay): its host, an
        IP address the rules allow; or, for a name the tracker names the
        peer at, those ``resolve(name, port)`` (a Deferred firing with IP
        addresses) gives that they allow.  Else failing with
        L{HostRefused}, its reason logged (bounded, per address group of
        the peer whose word named it: L{Peer.namedBy}).
        """
        host = peer.host
        if not isName(host):
            why = whyNotDialled(host, peer.port, self.scopes())
            return defer.succeed([host]) if why is None else self._refused(peer, purpose,
                                                                           why)
        if self.book.known(peer.id):
            named = defer.succeed(self.book.hostNamed(peer.id))
        else:
            if not self.where.tracked() or peer.id is None:
                return self._refused(peer, purpose, "a name is dialled only as the "
                                     "tracker names the peer, and there is no tracker "
                                     "to ask about it")
            named = self.book.ask(peer.id).addCallbacks(
                lambda reply: reply.host if reply.port else None, self._unplaced,
                errbackArgs=(peer, purpose))
        return named.addCallback(self._named, peer, purpose, resolve)

    def _unplaced(self, reason, peer, purpose):
        """The tracker did not answer where peer is (L{TrackerGone}): the
        name is refused, saying so."""
        reason.trap(TrackerGone)
        return self._refused(peer, purpose, "a name is dialled only as the tracker "
                             "names the peer, and the tracker did not say where the "
                             f"peer is ({reason.getErrorMessage()})")

    def _named(self, named, peer, purpose, resolve):
        """peer, named at a name, may be dialled if the tracker names it at
        that name (``named``: where it does, or None), at an address the
        name resolves to now."""
        if named != peer.host:
            return self._refused(peer, purpose, "a name is dialled only as the tracker "
                                 f"names the peer, and it names it at "
                                 f"{named or 'no address'}")
        # A name server that never answers must not hold the dial: the
        # lookup is bounded as the dial's handshake is (as the tracker's is).
        timeout = self.timeout
        lookup = resolve(peer.host, peer.port)
        lookup.addTimeout(timeout, self.where.clock)
        return lookup.addCallbacks(self._resolved, self._unresolved,
                                   callbackArgs=(peer, purpose),
                                   errbackArgs=(peer, purpose, timeout))

    def _resolved(self, addresses, peer, purpose):
        """The addresses peer's name resolved to that may be dialled (the
        first L{firstDialled} takes); or, if none, the refusal of the first (what DNS answered the node is
        a peer's word, as much as a host it names)."""
        scopes = self.scopes()
        whys = [(address, whyNotDialled(address, peer.port, scopes))
                for address in addresses]
        allowed = [address for address, why in whys if why is None]
        if allowed:
            return firstDialled(allowed)
        if not whys:
            return self._refused(peer, purpose, f"{peer.host} resolves to no address")
        address, why = whys[0]
        return self._refused(peer, purpose, f"{peer.host} resolves to {address}: {why}")

    def _unresolved(self, reason, peer, purpose, timeout):
        if reason.check(defer.TimeoutError):
            return self._refused(peer, purpose, f"{peer.host} did not resolve "
                                 f"within {timeout:g} s")
        return self._refused(peer, purpose, f"{peer.host} does not resolve: "
                             f"{reason.getErrorMessage()}")

    def _refused(self, peer, purpose, why):
        where = hostPort(peer.host, peer.port)
        fields = dict(where=where, id=shortId(peer.id) if peer.id is not None else "?",
                      purpose=purpose, why=why)
        line = "not dialling node {id} at {where} ({purpose}): {why}"
        namer = NAMER_UNKNOWN if peer.namedBy is None else peer.namedBy
        self.peerLog.emit(self.log, LogLevel.info, namer, line, **fields)
        return defer.fail(HostRefused(why))
