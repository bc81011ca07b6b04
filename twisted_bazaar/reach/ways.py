"""
The ways a dialer tries to reach a peer: its policy, each way choosing a
path from the node's book (or the peer it was handed) and dialling it by
the transport of that path's kind, through the dialer
(L{twisted_bazaar.reach.dialer.Dialer}), which races those that apply
(L{twisted_bazaar.reach.race}).

L{Lan} (a peer at home whose local addresses the tracker named: it is on
this node's own network, docs/protocol.md §5, "Local addresses"),
L{Direct} (the peer names no relay), L{Punched} (a connection punched
over the direct link held with a peer at home), L{Relayed} (a circuit
through the relay the peer names, whose link a punch then replaces), and
over QUIC at a UDP path (L{Quic}, L{TrackerNamedQuic}) when the dialer
has a transport of that kind; and at a path of any other kind the dialer
has a transport for (L{Added}: a transport plugin's).  A client without a
node (``bazaar node``, ``bazaar list``, the web view's watcher) has its
own ways to one node (L{ClientWay}: L{along} a path, or L{asTyped}),
raced by the same race (L{twisted_bazaar.reach.race.FirstProven}), each
declaring its place as these do.

Each way declares its place in the race: C{delay}, the seconds after a
dial starts that it starts if nothing connected by then (0: at once, as
a LAN or direct address; a relay's later), and C{holds}, whether the
ways ranked after it wait for it to fail rather than start by the clock
while it runs (a punch: what it connects keeps the bytes off the relay,
its fallback, not its rival).  C{applies(dialer, peer, purpose,
protocol)} is asked of every way when a dial starts, with nothing
dialled; C{attempt(...)} tries it: a Deferred firing with the peer's id
(a link: protocol None) or the protocol connected (a fresh one from
C{protocol()}), the peer's key proven on it, or failing with why not,
cancelling it giving the attempt up; None when it does not apply after
all (what it needs went away while it waited for its turn).
"""

import attr
from twisted.internet import defer
from twisted.internet.error import ConnectError
from twisted.logger import Logger
from twisted.python.failure import Failure

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.net.opening import NoRoom
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.base.lan import LOWEST_PORT, sameHost
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.connector import connectAny
from twisted_bazaar.transports.path import (
    CLAIMED, CONFIGURED, DIRECT, LAN, NAMED, RELAYED, UDP, WORDS, Path)
from twisted_bazaar.transports.quic.errors import QuicSilent
from twisted_bazaar.transports.relay.messages import FILES, NODE, RELAY
from twisted_bazaar.transports.relay.transport import inTurn
from twisted_bazaar.wire.core import joinRelay, splitRelay
from twisted_bazaar.wire.ids import isKeyed, shortId

__all__ = ["WAYS", "Lan", "Direct", "Punched", "Relayed", "Quic", "TrackerNamedQuic", "Added",
           "LanFailed", "PUNCH_DELAY", "RELAY_DELAY", "ClientWay", "PHRASES", "along",
           "relayedAlong", "relayedPath", "asTyped", "phrase", "relayWays", "asksFirst",
           "wayOutTo"]

#: Seconds after a dial starts that a circuit through the peer's relay
#: starts, if nothing connected by then (go-libp2p's relay delay): a LAN
#: or direct way that answers first keeps the bytes off the relay.
RELAY_DELAY = 0.5
#: Seconds after a dial starts that a punch to a peer at home starts, if
#: its LAN address has not answered by then.
PUNCH_DELAY = 0.25

class LanFailed(Exception):
    """No local address of the peer answered as the peer (or none was
    to be tried)."""


def _behindOwnRouter(where, peer):
    """Whether peer, which names no relay, may be a LAN-only peer behind
    this node's own router (docs/protocol.md §5, "LAN-only nodes"),
    reached at its local address alone: named at the public host the
    tracker sees this node at, which this node is not reachable at.
    Before the tracker's check has said where it sees this node, a node
    of a home takes as such a peer whose local addresses the tracker
    named (it names them only to a node behind the same public address),
    and one it has no fresh word on, named at an address it would dial
    (a router's public address: the LAN way asks the tracker first).
    Dialled at its router's public address alone until the check said, a
    classmate was refused there (no hairpin), and a chord class's ring
    split."""
    if where.public():
        return False
    seen = where.seenHost()
    if seen:
        return sameHost(peer.host, seen)
    if not where.atHome():
        return False
    if where.lanNamed(peer.id):
        return True
    return not where.book.known(peer.id) and where.hosts.allows(peer.host, peer.port)


class Lan:
    """
    At a local address of a peer at home (it names a relay, or, LAN-only,
    is named at the public host this node is seen at) that the
    tracker named to this node, on its own network (behind the same
    public address: L{twisted_bazaar.reach.lanpaths.LanPaths.targets}),
    each in turn: a link's handshake must prove the peer's keyed id, a
    connection's channel the peer's key (L{Peer.key
    <twisted_bazaar.reach.dialer.Peer>}), before anything is said on it.  This node, if it has a local address of its own and
    the tracker did not find it public, asks the tracker (``whereis``)
    first when it has no fresh word on the peer.  Raced at once against
    the others (the punch, the relay), which start later.
    """

    kind = LAN
    delay = 0.0
    holds = False
    log = Logger()

    def applies(self, dialer, peer, purpose, protocol):
        if (peer.id is None or not isKeyed(peer.id) or peer.port < LOWEST_PORT
                or (protocol is not None and peer.key is None)):
            return False
        if peer.relay is None and not _behindOwnRouter(dialer.whereabouts, peer):
            return False
        if protocol is None and dialer.linkTo(peer.id) is not None:
            # The link is up: the relayed way hands it over, nothing dialled.
            return False
        where = dialer.whereabouts
        if where.book.known(peer.id):
            return bool(self._targets(dialer, peer))
        # A node that has no local address, or that the tracker dialled,
        # is behind no router of a home: nobody is on its LAN.
        return where.tracked() and bool(where.lan.own) and not where.public()

    def attempt(self, dialer, peer, purpose, protocol):
        book = dialer.whereabouts.book
        if book.known(peer.id):
            return self._first(dialer, peer, purpose, protocol)
        asking = book.ask(peer.id).addErrback(
            lambda reason: reason.trap(TrackerGone) and None)
        return asking.addCallback(lambda _: self._first(dialer, peer, purpose, protocol))

    def _targets(self, dialer, peer):
        """The local addresses of peer to try now (L{LanPaths.targets <twisted_bazaar.reach.lanpaths.LanPaths.targets>})."""
        where = dialer.whereabouts
        return where.lan.targets(peer.id, where.seenHost())

    def _first(self, dialer, peer, purpose, protocol):
        hosts = self._targets(dialer, peer)
        if not hosts:
            return defer.fail(LanFailed(f"no local address of node {shortId(peer.id)} "
                                        "to try"))
        return self._try(dialer, peer, purpose, protocol, hosts, [])

    def _try(self, dialer, peer, purpose, protocol, hosts, whys):
        if not hosts:
            return defer.fail(LanFailed("; ".join(whys)))
        host, rest = hosts[0], hosts[1:]
        where = joinRelay(host, peer.port)
        if not dialer.whereabouts.lan.mayDial(peer.id, host):
            whys.append(f"{where}: too many dials to that network lately")
            return self._try(dialer, peer, purpose, protocol, rest, whys)
        if protocol is None or not dialer.punches:
            # A link; or a connection of a node that punches none (a
            # client, ``bazaar buy``): through the connector, its channel
            # proving the peer's key.
            d = dialer.connect(attr.evolve(peer, host=host, relay=None, vouched=True),
                               purpose, protocol)
        else:
            # From any local port, as a punch dials (its TCP transport's
            # option), by the dialer's transport of the kind, as every way
            # dials its path: the channel proves the peer's key before this
            # side seals anything.
            d = dialer.transports.dial(Path(LAN, host, peer.port, word=NAMED),
                                       decode(peer.key), protocol, DialOptions(fromPort=0))

        def reached(result):
            dialer.whereabouts.book.lanReached(peer.id, host, peer.port)
            self.log.info("reached node {id} at its local address {where} ({purpose}), "
                          "not through its relay", id=shortId(peer.id), where=where,
                          purpose=purpose)
            return result

        def failed(reason):
            # This node's own slots full: nothing went out, so the address
            # is not marked failed (it was for 300 s, and a classmate was
            # then dialled at its router's public address alone).
            if reason.check(defer.CancelledError, NoRoom):
                return reason
            dialer.whereabouts.book.lanFailed(peer.id, host)
            why = _why(reason).removeprefix(f"{where}: ")
            whys.append(f"{where}: {why}")
            self.log.info("no local path to node {id} at {where}: {why}",
                          id=shortId(peer.id), where=where, why=why)
            return self._try(dialer, peer, purpose, protocol, rest, whys)

        return d.addCallbacks(reached, failed)


def _why(reason):
    """What a failed dial says, in the project's words (L{inWords}: a
    close, a refusal, as a user reads it), without the failure a
    connection error may wrap (its text is the repr of a traceback)."""
    value = reason.value
    if isinstance(value, ConnectError) and isinstance(value.osError, Failure):
        return _why(value.osError)
    return inWords(reason)


class Direct:
    """At the address the peer listens on: for a peer that names no
    relay."""

    kind = DIRECT
    delay = 0.0
    holds = False

    def applies(self, dialer, peer, purpose, protocol):
        return peer.relay is None

    def attempt(self, dialer, peer, purpose, protocol):
        return dialer.connect(peer, purpose, protocol)


class Punched:
    """A transfer (purpose L{FILES}) punched to a peer at home,
    over the direct (punched) link held with it, by the dialer's sources
    of paths (L{Sources.transfer
    <twisted_bazaar.reach.sources.Sources.transfer>}: the TCP punch's,
    L{twisted_bazaar.reach.punch.tcp.service.Punching.transfer}); a link is never
    punched to first: a relayed link's punch replaces it (L{Relayed}).
    The relay waits while it runs: a punch that works keeps the file's
    bytes off it."""

    kind = None
    delay = PUNCH_DELAY
    holds = True

    def applies(self, dialer, peer, purpose, protocol):
        return (protocol is not None and purpose == FILES and peer.relay is not None
                and dialer.punches)

    def attempt(self, dialer, peer, purpose, protocol):
        return dialer.sources.transfer(peer.id, peer.key, protocol())


class Relayed:
    """Through the relay the peer names, as the tracker names it
    (L{Dialer.connect <twisted_bazaar.reach.dialer.Dialer.connect>}),
    reached by the ways L{relayWays} orders; a link made so is punched,
    and waited for.  Its delay is the dialer's (L{Dialer.relayDelay
    <twisted_bazaar.reach.dialer.Dialer>}, L{RELAY_DELAY})."""

    kind = RELAYED
    delay = RELAY_DELAY
    holds = False

    def applies(self, dialer, peer, purpose, protocol):
        return peer.relay is not None

    def attempt(self, dialer, peer, purpose, protocol):
        return dialer.connect(peer, purpose, protocol, peer.relay)


def relayWays(dialer, relay, target=None):
    """
    The ways to the relay at ``relay`` (``HOST:PORT``) the dialer tries in
    turn, None its own port.  The tracker's own relay: the path the
    transport the node reaches its tracker by serves it at
    (L{Membership.trackerWay
    <twisted_bazaar.core.membership.Membership.trackerWay>}), alone.
    Another, for a circuit to node ``target``: the ways the tracker named
    with target's relayed path through it (L{Path.ways
    <twisted_bazaar.wire.paths.Path>}), each at the relay's host whatever
    host it names, those of the kind the node reaches its tracker by
    first (where a firewall lets only HTTP(S) out, nothing else passes),
    then the relay's own port, then the others its transports dial.
    """
    where = dialer.whereabouts
    tracker = None if where is None else where.tracker()
    if tracker is not None and tracker.isTrackerRelay(relay):
        return [tracker.trackerWay]
    if target is None or where is None:
        return [None]
    host, _ = splitRelay(relay)
    named = [attr.evolve(way, host=host)
             for path in where.book.pathsOf(target, RELAYED)
             if path.relay == relay for way in path.ways]
    named = [way for way in named if way.relay is None and dialer.transports.canDial(way)]
    if not named:
        return [None]
    own = None if tracker is None else tracker.trackerWay
    first = [way for way in named if own is not None and way.kind == own.kind]
    return first + [None] + [way for way in named if way not in first]


def asksFirst(dialer, peer_id):
    """
    Whether a link's (or a transfer's) dial of peer_id asks the tracker
    where it is first (``whereis``, L{PathBook.ask <twisted_bazaar.reach.book.PathBook.ask>}):
    this node reaches its tracker by a transport plugin's path
    (L{Membership.trackerWay
    <twisted_bazaar.core.membership.Membership.trackerWay>}: where a
    firewall lets only HTTP(S) out, its only way out), and the book holds
    no relay for peer_id (L{relayWays} reaches one that way), no path to
    it of that kind, and no fresh word of the tracker's on it.  A host and
    port alone (a ``chordNearIs`` names a public chord node so) is a TCP
    port such a firewall drops; the tracker's ``nodereply`` names the
    node's paths of a plugin's kind (L{Added} dials them).
    """
    where = dialer.whereabouts
    tracker = where.tracker()
    way = None if tracker is None else tracker.trackerWay
    if way is None or way.kind in Added.covered:
        return False
    book = where.book
    return (book.relayOf(peer_id) is None and not book.known(peer_id)
            and not book.pathsOf(peer_id, way.kind))


def wayOutTo(where, peer_id, relay):
    """
    Whether a node whose only way out may be the one it reaches its
    tracker by (L{Membership.trackerWay
    <twisted_bazaar.core.membership.Membership.trackerWay>}: a plugin's
    kind, where a firewall lets only HTTP(S) out) has a way of that kind
    to peer_id, which names ``relay`` (``HOST:PORT``, or None): a buyer
    asks it before it pays for a file that comes over a connection of its
    own.  True when the node reaches its tracker by TCP, peer_id names no
    relay (its dial asks where it is: L{asksFirst}), the relay is the
    tracker's own (served the way the tracker is reached), or the book
    holds a path to peer_id of that kind or a local address of it (on
    this node's own network), not a claim, or a relayed path naming a way
    of that kind to its relay (L{relayWays} dials it first); else None while the
    tracker's word on peer_id is not fresh (L{PathBook.known
    <twisted_bazaar.reach.book.PathBook.known>}: ask it), False once it
    is: the relay's own port is all there is, which such a firewall drops.
    """
    tracker = where.tracker()
    own = None if tracker is None else tracker.trackerWay
    if (own is None or own.kind in Added.covered or relay is None
            or tracker.isTrackerRelay(relay)):
        return True
    book = where.book
    for path in book.paths(peer_id):
        if ((path.kind in (own.kind, LAN) and path.word != CLAIMED)
                or any(way.kind == own.kind for way in path.ways)):
            return True
    return False if book.known(peer_id) else None


class Quic:
    """
    Over QUIC at the first UDP path the node's book holds for a peer of
    the words it takes (L{words}: not a claim), by the dialer's transport
    of that kind: a link over the peer's links service, a transfer
    (purpose L{FILES}) over its files service; other connections of a
    protocol of their own are not carried yet.  A path a UDP punch met is
    dialled from the punched socket, as the book notes it
    (L{Path.via <twisted_bazaar.transports.path.Path.via>}), first; silence
    there is told to whoever punched it (L{Path.lost
    <twisted_bazaar.transports.path.Path.lost>}).

    Only the paths a peer's word alone names (a claim) are not dialled: a
    peer could name a victim's address for every node linked to it to
    send QUIC Initials to (docs/protocol.md §5, "Hosts a peer names").
    """

    kind = UDP
    #: Tried first, the TCP ways waiting for it to fail (it holds them,
    #: as a punch holds the relay): a UDP path is one the operator
    #: configured (``--quic-peer``), so the operator's choice is honoured
    #: while it answers, or one a UDP punch met, where the TCP ways left
    #: are the relay.  A UDP path the tracker names, to a peer TCP reaches
    #: directly, is raced after TCP instead (L{TrackerNamedQuic}): TCP
    #: carries bulk bytes about 1.8 times as fast here
    #: (docs/architecture.md, "QUIC").
    delay = 0.0
    holds = True
    #: The words of the paths it dials: all but a claim, and but the
    #: tracker's (L{TrackerNamedQuic}'s).
    words = frozenset(WORDS) - {CLAIMED, NAMED}
    log = Logger()

    def _paths(self, dialer, peer, purpose, protocol):
        if (peer.id is None or (protocol is not None and purpose != FILES)
                or dialer.transports.of(UDP) is None):
            return []
        paths = [path for path in dialer.whereabouts.book.pathsOf(peer.id, UDP) if path.word in self.words]
        return sorted(paths, key=lambda path: path.via is None)

    def applies(self, dialer, peer, purpose, protocol):
        return bool(self._paths(dialer, peer, purpose, protocol))

    def attempt(self, dialer, peer, purpose, protocol):
        paths = self._paths(dialer, peer, purpose, protocol)
        if not paths:
            return None
        path = paths[0]
        options = DialOptions(purpose=NODE if protocol is None else purpose, via=path.via)
        expected = None if peer.key is None else decode(peer.key)

        def silent(reason):
            if reason.check(QuicSilent) and path.lost is not None:
                path.lost(peer.id, path, reason.getErrorMessage())
            return reason

        # A link the overlay holds already is no dial: nothing reached.
        dialled = [protocol is not None]

        def dialLink(link):
            dialled.append(True)
            return self._dial(dialer, peer, purpose, path, expected, lambda: link,
                              options).addErrback(silent)

        if protocol is None:
            d = dialer.overlay.connectTo(path.host, path.port, peer.id, purpose,
                                              dialLink)
        else:
            d = self._dial(dialer, peer, purpose, path, expected, protocol,
                           options).addErrback(silent)

        def reached(result):
            if any(dialled):
                self.log.info("reached node {id} over QUIC at {where} ({purpose})",
                              id=shortId(peer.id), host=path.host, port=path.port,
                              where=hostPort(path.host, path.port),
                              purpose=purpose)
            return result

        return d.addCallback(reached)

    def _dial(self, dialer, peer, purpose, path, expected, make, options):
        """Dial path as it is: the operator's, or one a punch met."""
        return dialer.transports.dial(path, expected, make, options)


class TrackerNamedQuic(Quic):
    """
    Over QUIC at the UDP path the tracker named for a peer it names at a
    checked address (the QUIC port its UDP reach check saw the peer send
    from: docs/protocol.md, "Over UDP"), raced L{delay} seconds after the
    TCP ways, which it does not hold back: a TCP dial that connects first
    wins, one that does not (a firewall that drops TCP) leaves QUIC the
    way.
    """

    delay = 1.0
    holds = False
    words = frozenset({NAMED})

    def _dial(self, dialer, peer, purpose, path, expected, make, options):
        """At an address the node's rules allow for the peer's TCP address
        at the path's host (L{Added}'s rule, docs/protocol.md §5, "Hosts a
        peer names"): a stranger the tracker checked at a private or
        loopback address, or at a name rebound since, has no node send
        QUIC Initials to its own machine or network."""
        hosts = dialer.vetDirect(peer.id, path.host, peer.port, purpose)
        return hosts.addCallback(connectAny, lambda address: dialer.transports.dial(
            attr.evolve(path, host=address), expected, make, options))


class Added:
    """
    Over a path of a kind none of the ways above dials, by the dialer's
    transport of that kind (one a daemon added, from a transport plugin:
    docs/architecture.md, "Adding a transport"): the first such path the
    node's book holds for the peer that is not a bare claim, a link over
    the peer's links service, a transfer (purpose L{FILES}) over its
    files service.  Raced at once beside TCP, holding nothing back: where
    a firewall lets only this transport out, TCP's dial never connects
    and this one is the way.  So a new transport needs no way of its own.
    A path the operator did not configure is dialled only at an address
    the node's rules for a host a peer names allow for the peer's TCP
    address there (L{Dialer.vetDirect
    <twisted_bazaar.reach.dialer.Dialer.vetDirect>}).
    """

    kind = None
    delay = 0.0
    holds = False
    #: The kinds of transport the ways above dial.
    covered = frozenset({DIRECT, RELAYED, UDP})
    #: The words of the paths it dials: all but a claim.
    words = frozenset(WORDS) - {CLAIMED}
    log = Logger()

    def _path(self, dialer, peer, purpose, protocol):
        if peer.id is None or (protocol is not None and purpose != FILES):
            return None
        for kind in dialer.transports.kinds:
            if kind in self.covered:
                continue
            for path in dialer.whereabouts.book.pathsOf(peer.id, kind):
                if path.word in self.words and dialer.transports.canDial(path):
                    return path
        return None

    def applies(self, dialer, peer, purpose, protocol):
        return self._path(dialer, peer, purpose, protocol) is not None

    def attempt(self, dialer, peer, purpose, protocol):
        path = self._path(dialer, peer, purpose, protocol)
        if path is None:
            return None
        options = DialOptions(purpose=NODE if protocol is None else purpose)
        # The key the channel must prove, or, where only the peer's keyed
        # id is known (a link to a peer its operator named by id), a key of that
        # id: an impostor at the path is refused in the channel, before
        # anything is said on it.
        expected = (decode(peer.key) if peer.key is not None
                    else peer.id if isKeyed(peer.id) else None)

        def dialAt(make):
            # Not the operator's path: its host is the tracker's word of
            # the peer's, checked as the peer's TCP address there is
            # before anything is dialled (docs/protocol.md §5, "Hosts a
            # peer names"; a name resolved here, never dialled as one): a
            # stranger the tracker names at a private or loopback address,
            # or at a name rebound since, points no node at its own
            # machine or network.  The port is the peer's claim on that
            # host (an HTTP port, 80 or 443, is a usual one).
            if path.word == CONFIGURED:
                return dialer.transports.dial(path, expected, make, options)
            hosts = dialer.vetDirect(peer.id, path.host, peer.port, purpose)
            return hosts.addCallback(connectAny, lambda address: dialer.transports.dial(
                attr.evolve(path, host=address), expected, make, options))

        # A link the overlay holds already is no dial: nothing reached.
        dialled = [protocol is not None]

        def dialLink(link):
            dialled.append(True)
            return dialAt(lambda: link)

        if protocol is None:
            d = dialer.overlay.connectTo(path.host, path.port, peer.id, purpose, dialLink)
        else:
            d = dialAt(protocol)

        def reached(result):
            if any(dialled):
                self.log.info("reached node {id} over {kind} at {where} ({purpose})",
                              id=shortId(peer.id), kind=path.kind, host=path.host,
                              port=path.port, where=hostPort(path.host, path.port),
                              purpose=purpose)
            return result

        return d.addCallback(reached)


#: The ways to a peer; of those that declare the same delay, one that
#: holds the others back is ranked first, then the first listed.  The
#: QUIC ways apply only to a dialer with a transport of kind UDP, the
#: last only to one with a transport of another kind.
WAYS = (Lan(), Direct(), Punched(), Relayed(), Quic(), TrackerNamedQuic(), Added())


#: How each kind of a client's way reads in a sentence.
PHRASES = {LAN: "over the LAN at", RELAYED: "through the relay at", DIRECT: "at"}


def phrase(kind):
    """How a way of kind reads in a sentence: one of a transport plugin's
    kinds reads ``over KIND at``."""
    return PHRASES.get(kind) or f"over {kind} at"


class ClientWay:
    """
    One way of a client without a node to one node
    (L{twisted_bazaar.reach.race.FirstProven}): its kind, where in words,
    and the protocol its owner connects along it (a link); dialled along
    a path by the race's transports (L{along}) or, for an address dialled
    as typed (the tracker's endpoint string), by its owner's
    C{connect(protocol)} (L{asTyped}).  Its place in the race is its
    kind's, as a node's ways declare theirs: a local address (L{Lan}'s
    delay) at once, its relay or its address after L{RELAY_DELAY}; none
    holds the others back (every one is the node's own answer).
    """

    __slots__ = ("kind", "where", "protocol", "dial", "delay")
    holds = False

    def __init__(self, kind, where, protocol, dial=None):
        """
        @param dial: C{dial(transports)}, the Deferred of its connection
            (None: a way only told, never started).
        """
        self.kind = kind
        self.where = where
        self.protocol = protocol
        self.dial = dial
        self.delay = Lan.delay if kind == LAN else RELAY_DELAY

    def __str__(self):
        return f"{phrase(self.kind)} {self.where}"


def along(path, protocol, where, options=None):
    """The L{ClientWay} along path (of kind LAN, DIRECT, RELAYED, or a
    transport plugin's), with
    the transport's options (a circuit's target), dialled by the race's
    transports: the peer's key is its owner's to check, on its
    ``thisisme``."""
    return ClientWay(path.kind, where, protocol,
                     lambda transports: transports.dial(path, None, lambda: protocol,
                                                        options))


def relayedPath(paths, relay, host, port):
    """The relayed path through ``relay`` to a node the tracker saw at
    host and port (labels): the one of paths (as a tracker's
    ``memberlist`` names them) through it, with the relay's ways, if
    there is one."""
    named = next((path for path in paths if path.kind == RELAYED and path.relay == relay),
                 None)
    return Path(RELAYED, host, port, relay, NAMED,
                ways=() if named is None else named.ways)


def relayedAlong(path, protocol, where, options):
    """
    The L{ClientWay} through the relay of a relayed path to the node
    options name: at each of the relay's ways the path carries (L{Path.ways
    <twisted_bazaar.wire.paths.Path>}, at the relay's host whatever host
    it names) that the race's transports dial, then at the relay's own
    port, in turn (L{inTurn}), as a node's dialer reaches a public node's
    relay (L{relayWays}): a client whose transports dial a plugin's kind
    reached its tracker by it, and from a network that lets only HTTP(S)
    out the relay's port is never reached.
    """
    host, _ = splitRelay(path.relay)
    bare = attr.evolve(path, ways=())
    named = [attr.evolve(way, host=host) for way in path.ways if way.relay is None]

    def dial(transports):
        def attempt(by):
            if by is None:
                return transports.dial(bare, None, lambda: protocol, options)
            return transports.of(RELAYED).dialAlong(
                lambda _host, _port, end: transports.dial(by, None, lambda: end,
                                                          DialOptions(purpose=RELAY)),
                bare, None, lambda: protocol, options)

        return inTurn([way for way in named if transports.canDial(way)] + [None], attempt)

    return ClientWay(RELAYED, where, protocol, dial)


def asTyped(where, protocol, connect):
    """The L{ClientWay} to an address as typed (kind DIRECT), connected by
    C{connect(protocol)}, the owner's (an endpoint string's, the
    tracker's: no path)."""
    return ClientWay(DIRECT, where, protocol, lambda transports: connect(protocol))
