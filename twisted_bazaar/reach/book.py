"""
The book of a node's peers' paths (L{PathBook}): the one table of the ways
to each peer, and the one place that asks the tracker where a peer is.

What names a peer's ways arrives in several messages: the peer's own
``thisisme`` (its relay: a claim), the tracker's ``nodereply`` (where it
saw or checked the peer, the relay it reaches it through, its local
addresses for a node behind this node's own router), ``chordNear``
(the relays of the nodes it names), and the address a peer's word gives
for a peer's links (an offer's, a ring entry's) or for its transfer
port (a file's offer): a claim, kept until the dial that reads it takes
it.  Each is mapped into
paths here, where it reaches the node's reach (L{claimed},
L{trackerNamed}, L{relayNamed}, L{heard}), tagged with whose word it is;
a link is dialled by the peer's id alone, at the address last written
here (L{linkAddress}), and a transfer likewise (L{transferAddress});
the dialer, the host checks, the punch's witness
and the buyer read them here (L{paths}, L{relayOf}, L{namedRelay},
L{lanNamed}, L{namedHost}).  A question to the tracker (``whereis``) goes through
L{ask} alone, and its answer is written here as any ``nodereply`` is.

The book is an account (docs/protocol.md §6, "The book of paths"): it
holds at most L{BOOK_PEERS} peers, and a peer's claims (a relay named in
its ``thisisme``, an address heard from a peer's word) are charged to the
address group its connection came from (the peer whose word named it).
Past the bound, the claims of the heaviest group go first, the
least lately written of them; only when no peer is held on a claim alone
do the tracker's words go, the least lately written first, then the paths
a punch met and the local addresses where a peer proved its key; a path
this node's operator configured (``--quic-peer``) never goes.  A path
carries its expiry (L{Path.expires}): the tracker's word is fresh for
L{NAMED_FOR} seconds, a claimed address until the dial that reads it
takes it, L{HEARD_FOR} at most, a local address proven L{NAMED_FOR}.
What became of the LAN way's dials is here too (L{lanReached},
L{lanFailed}), and which peers nothing listened at when this node last
dialled them (L{unreached}: for L{RETRY_AFTER} seconds, or until a link
to the peer comes up; a scheme need not believe a record of a seller
it could not reach): the book is the one table of how a peer is
reached.  A peer held by that note alone goes right after the claims,
so strangers' keys, however many, and their made-up addresses,
dialled and failed, push out only claims and such notes.

One a node, made when the node first notes a path (a simulated node of a
million that never dials holds none: docs/simulator.md, "Memory a
node"); its tables the shared empty one until written, and again once
emptied (base/sparing.py): a claim goes when the dial that reads it
takes it (a simulated node that dials a seller or a ring entry holds
no table for it).
"""

from collections import Counter

from twisted.internet import defer

from twisted_bazaar.base.lan import MAX_LAN
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.base.sparing import NOTHING, own
from twisted_bazaar.transports.path import (
    CLAIMED, CONFIGURED, DIRECT, LAN, NAMED, RELAYED, SEEN, UDP, Path)
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.transports.relay.messages import FILES, NODE

__all__ = ["PathBook", "BOOK_PEERS", "KEPT", "NAMED_FOR", "HEARD_FOR", "RETRY_AFTER"]

BOOK_PEERS = declare(
    "book.peers", 1024, "peers",
    "peers whose paths a node keeps: a peer's claim of a relay is charged to the "
    "group its connection came from, and past the bound the heaviest group's claims "
    "go first; the tracker's words go only when no claim is left, a configured path "
    "never", owner=__name__)
#: Peers whose paths a node keeps (L{BOOK_PEERS}).
KEPT = BOOK_PEERS.default
#: Seconds the tracker's word on a peer is taken as fresh before it is
#: asked again (L{PathBook.known}).
NAMED_FOR = 600.0
#: Seconds a local address of a peer that failed is not dialled again
#: for that peer (L{PathBook.lanFailed}), and a peer nothing listened
#: at is taken as unreachable (L{PathBook.unreached}).
RETRY_AFTER = 300.0
#: Seconds an address heard of a peer (L{PathBook.heard}: a claim) is
#: dialled after it was written, at most: it goes once the dial that
#: reads it takes it (L{PathBook.taken}).
HEARD_FOR = 600.0


class _Peer:
    """What the book holds of one peer: the tracker's last word
    (``host``, ``port``, ``relay``, ``lan``, ``udp`` as its ``nodereply``
    named them, ``at`` when; ``at`` None when it named nothing), and the relay
    it is to be reached through as last noted (``noted``), whose word
    ``word`` is; the address of its links as a peer's word last gave it
    (``said``: (host, port, the address group of the peer whose word it
    is, when), one flat tuple; or None: the tracker's, if any, is
    dialled); the address of its transfer port as a peer's word last gave
    it (``transfer``, the same shape: an offer's, L{PathBook.heard}
    with the purpose L{FILES}); the paths added of other kinds (``more``, a tuple:
    L{PathBook.add}), a local address where the peer proved its key
    among them (L{PathBook.lanReached}); and the local addresses of it
    that failed lately (``failed``, a tuple of (host, until when):
    L{PathBook.lanFailed}), which hold nothing of it by themselves; and
    until when it is taken as unreachable (``unreached``, or None:
    L{PathBook.unreached}), which holds it."""

    __slots__ = ("host", "port", "relay", "lan", "udp", "at", "noted", "word", "said",
                 "transfer", "more", "failed", "unreached")

    def __init__(self):
        self.host = ""
        self.port = 0
        self.relay = None
        self.lan = ()
        self.udp = None
        self.at = None
        self.noted = None
        self.word = None
        self.said = None
        self.transfer = None
        self.more = ()
        self.failed = ()
        self.unreached = None

    def empty(self):
        return self.unnoted() and self.unreached is None

    def unnoted(self):
        """Whether no word of a path to the peer is held (a note that it
        is unreachable aside)."""
        return (self.at is None and self.noted is None and self.said is None
                and self.transfer is None and not self.more)

    def hear(self, said, purpose=NODE):
        """The address heard of the peer's links (of its transfer port:
        ``purpose`` L{FILES}) is now ``said`` (None: none)."""
        if purpose == FILES:
            self.transfer = said
        else:
            self.said = said

    def unreachedUntil(self, until):
        """The peer is taken as unreachable until ``until`` (None: not)."""
        self.unreached = until



class PathBook:
    """
    A node's paths to its peers: see the module's docstring.
    """

    __slots__ = ("node", "_peers", "_claims")

    def __init__(self, node):
        """
        @param node: the node whose peers these are: its clock dates the
            tracker's word, its tracker session is asked (L{ask}).
        """
        self.node = node
        #: peer id -> its L{_Peer}, the least lately written first.
        self._peers = NOTHING
        #: peer id -> the address group its claim is charged to, for each
        #: peer held on its own claim alone (no word of the tracker's, no
        #: path added).
        self._claims = NOTHING

    # -- the boundary: the wire's words, as paths ------------------------------

    def _write(self, peer_id, group=None, unreached=None):
        """The entry of peer_id, made or moved to the most lately written;
        a claim's (``group``: the address group charged) or another
        word's, which frees it of any claim's charge; or ``unreached``, a
        note of this node's own that neither charges nor frees it, noted
        before the bound is kept (L{unreached})."""
        peers = own(self, "_peers")
        held = peers.pop(peer_id, None)
        if held is None:
            held = _Peer()
        peers[peer_id] = held
        if unreached is not None:
            # A note of this node's own dial: a claim's charge stays.
            held.unreachedUntil(unreached)
        elif group is not None and held.at is None and not held.more:
            own(self, "_claims")[peer_id] = group
        else:
            self._claims.pop(peer_id, None)
        while len(peers) > KEPT:
            victim = self._victim(peer_id)
            if victim is None:
                break
            del peers[victim]
            self._claims.pop(victim, None)
        return held

    def _victim(self, writing):
        """The peer to forget past the bound: the least lately written
        claim of the heaviest group; else the least lately written peer
        held by a note that it is unreachable alone (the one being
        written among them); else, but for the peer being written, the
        least lately written peer the tracker named, then one a punch
        met; never one with a configured path (None: every other peer
        has one)."""
        claims = self._claims
        if claims:
            heaviest = max(Counter(claims.values()).items(), key=lambda each: each[1])[0]
            for peer_id in self._peers:
                if peer_id in claims and claims[peer_id] == heaviest:
                    return peer_id
        for peer_id, held in self._peers.items():
            if held.unreached is not None and held.unnoted():
                return peer_id
        seen, now = None, self.node.clock.seconds()
        for peer_id, held in self._peers.items():
            if peer_id == writing:
                continue
            words = {path.word for path in held.more
                     if path.expires is None or path.expires > now}
            if CONFIGURED in words:
                continue
            if SEEN not in words:
                return peer_id
            if seen is None:
                seen = peer_id
        return seen

    def _drop(self, peer_id, held):
        """Forget peer_id if nothing is held of it; the tables, once
        empty, the shared empty one again (a simulated node that dialled
        a peer once holds no table for it)."""
        if held.empty():
            self._peers.pop(peer_id, None)
            self._claims.pop(peer_id, None)
            if not self._peers:
                self._peers = self._claims = NOTHING

    def empty(self):
        """Whether the book holds nothing (its tables the shared empty
        one)."""
        return self._peers is NOTHING

    def trackerNamed(self, reply):
        """The tracker named a node (a ``nodereply`` with a port): where it
        is, the relay it is reached through (None: it is dialled there),
        its local addresses (for a node on this node's own network), the
        UDP port its QUIC is seen on at that host (a path of kind UDP)."""
        held = self._write(reply.id)
        held.host, held.port, held.relay = reply.host, reply.port, reply.relay
        held.lan, held.udp = tuple(reply.lan or ()), reply.udp
        held.at = self.node.clock.seconds()
        held.noted, held.word = reply.relay, NAMED
        # The tracker's word is the newer: its address is dialled.
        held.hear(None)

    def claimed(self, peer_id, relay, group=""):
        """peer_id says (its ``thisisme``) it is reached through relay
        (None: directly, which forgets any relay noted for it), on a
        connection from address group ``group``, which the claim is
        charged to while it is all the book holds of peer_id."""
        self._note(peer_id, relay, CLAIMED, group)

    def relayNamed(self, peer_id, relay):
        """The tracker named relay (None: none) for peer_id in an answer
        of its own (a ``chordNear``)."""
        self._note(peer_id, relay, NAMED)

    def heard(self, peer_id, host, port, namedBy=None, purpose=NODE):
        """
        peer_id's links are at host:port, as a peer's word names them (an
        offer's address, a ring entry's, a generated overlay's edge in a
        simulation: a claim), or its transfer port is (``purpose``
        L{FILES}: a file's offer), ``namedBy`` the address group of the
        peer whose word it is (None when that is no longer at hand), which
        the claim is charged to while it is all the book holds of peer_id.
        Kept until the dial that reads it takes it (L{taken}: that dial
        carries it on, and a later one is fed again) or for L{HEARD_FOR}
        seconds at most.  A claim of its links equal to what the tracker
        last named is not written again: the tracker's word is dialled.
        """
        held = self._peers.get(peer_id)
        if (purpose != FILES and held is not None and held.at is not None
                and (held.host, held.port) == (host, port)):
            held.hear(None)
            return
        held = self._write(peer_id, "" if namedBy is None else namedBy)
        held.hear((host, port, namedBy, self.node.clock.seconds()), purpose)

    def taken(self, peer_id, purpose=NODE):
        """A dial of peer_id took the address heard of it (L{linkAddress},
        or for ``purpose`` L{FILES} L{transferAddress}, gave it): the
        claim is forgotten, and peer_id with it if nothing else is held
        of it."""
        held = self._peers.get(peer_id)
        if held is not None and (held.transfer if purpose == FILES else held.said) is not None:
            held.hear(None, purpose)
            self._drop(peer_id, held)

    def _note(self, peer_id, relay, word, group=None):
        if relay is None:
            held = self._peers.get(peer_id)
            if held is not None:
                held.noted = held.word = None
                self._drop(peer_id, held)
            return
        held = self._write(peer_id, group)
        held.noted, held.word = relay, word

    def add(self, peer_id, path):
        """One more L{Path} to peer_id that no message above names (a kind
        of its own: a UDP address, a port its router mapped, one this
        node's operator configured), kept until L{drop}."""
        held = self._write(peer_id)
        if path not in held.more:
            held.more += (path,)

    def drop(self, peer_id, path):
        """Forget a path L{add} added."""
        held = self._peers.get(peer_id)
        if held is not None and path in held.more:
            held.more = tuple(each for each in held.more if each != path)
            self._drop(peer_id, held)

    def lanReached(self, peer_id, host, port):
        """peer_id proved its key at its local address host (a dial at
        ``port``): a path it was L{SEEN} at, until L{NAMED_FOR} seconds
        from now (L{lanProven}), whatever failed there before; pinned as
        a punch's met path is (the account's L{_victim})."""
        held = self._peers.get(peer_id)
        if held is None:
            # The tracker's word that named the address went meanwhile.
            return
        now = self.node.clock.seconds()
        held.more = _withoutLan(held.more, host, now, room=True) + (
            Path(LAN, host, port, word=SEEN, expires=now + NAMED_FOR),)
        held.failed = tuple(each for each in held.failed if each[0] != host)
        self._write(peer_id)

    def lanFailed(self, peer_id, host):
        """A dial of peer_id at its local address host failed: not dialled
        there again for L{RETRY_AFTER} seconds (L{lanFailedLately}), nor
        taken as proven."""
        held = self._peers.get(peer_id)
        if held is None:
            return
        now = self.node.clock.seconds()
        held.failed = tuple(each for each in held.failed
                            if each[0] != host and each[1] > now)[1 - MAX_LAN:] + (
            (host, now + RETRY_AFTER),)
        held.more = _withoutLan(held.more, host, now)

    def lanProven(self, peer_id, host):
        """Whether peer_id proved its key at its local address host within
        L{NAMED_FOR} seconds (L{lanReached})."""
        held = self._peers.get(peer_id)
        if held is None:
            return False
        now = self.node.clock.seconds()
        return any(path.kind == LAN and path.host == host and path.expires > now
                   for path in held.more)

    def lanFailedLately(self, peer_id, host):
        """Whether a dial of peer_id at its local address host failed
        within L{RETRY_AFTER} seconds (L{lanFailed})."""
        held = self._peers.get(peer_id)
        if held is None:
            return False
        now = self.node.clock.seconds()
        return any(failed == host and until > now for failed, until in held.failed)

    def unreached(self, peer_id):
        """Nothing listened where this node dialled peer_id (a dial of its
        link failed so: L{twisted_bazaar.net.overlay.Unreachable}): it is
        taken as unreachable (L{unreachable}) for L{RETRY_AFTER} seconds,
        or until a link to it comes up (L{reached}).  The note holds the
        peer's entry, which goes right after the claims past the bound."""
        self._write(peer_id, unreached=self.node.clock.seconds() + RETRY_AFTER)

    def reached(self, peer_id):
        """A link to peer_id came up: it is reachable after all."""
        held = self._peers.get(peer_id)
        if held is not None and held.unreached is not None:
            held.unreachedUntil(None)
            self._drop(peer_id, held)

    def unreachable(self, peer_id):
        """Whether nothing listened where this node last dialled peer_id,
        within L{RETRY_AFTER} seconds, and no link to it came up since
        (L{unreached})."""
        held = self._peers.get(peer_id)
        return (held is not None and held.unreached is not None
                and held.unreached > self.node.clock.seconds())

    def forgetNamed(self):
        """Forget what the tracker named of each peer: the node registered
        with another tracker, whose word alone it takes from now on."""
        for peer_id, held in list(self._peers.items()):
            # The relay noted stays: a dial through it asks the new
            # tracker first (it vouches for it no longer: L{vouches}).
            held.host, held.port, held.relay, held.lan, held.at = "", 0, None, (), None
            held.udp = None
            held.more = tuple(path for path in held.more if path.word not in (NAMED, SEEN))
            self._drop(peer_id, held)

    # -- reading -------------------------------------------------------------------

    def paths(self, peer_id):
        """The paths to peer_id this node knows, the tracker's first."""
        held = self._peers.get(peer_id)
        if held is None:
            return ()
        found = []
        if held.at is not None:
            until = held.at + NAMED_FOR
            if held.relay is None:
                found.append(Path(DIRECT, held.host, held.port, word=SEEN, expires=until))
            else:
                found.append(Path(RELAYED, held.host, held.port, held.relay, NAMED,
                                  expires=until))
            found.extend(Path(LAN, host, held.port, word=NAMED, expires=until)
                         for host in held.lan)
            if held.udp is not None:
                found.append(Path(UDP, held.host, held.udp, word=NAMED, expires=until))
        if held.noted is not None and held.noted != held.relay:
            found.append(Path(RELAYED, relay=held.noted, word=held.word))
        said = self._said(held)
        if said is not None:
            found.append(said[0])
        now = self.node.clock.seconds()
        found.extend(path for path in held.more if path.expires is None or path.expires > now)
        return tuple(found)

    def _said(self, held, purpose=NODE):
        """The address heard of a peer's links (of its transfer port, for
        ``purpose`` L{FILES}: L{heard}), as (its L{Path}, with its
        expiry, the group of its speaker), or None: none, or a claim
        heard L{HEARD_FOR} seconds ago or more."""
        said = held.transfer if purpose == FILES else held.said
        if said is None:
            return None
        host, port, namedBy, at = said
        until = at + HEARD_FOR
        if self.node.clock.seconds() >= until:
            return None
        return Path(DIRECT, host, port, word=CLAIMED, expires=until), namedBy

    def linkAddress(self, peer_id):
        """
        Where to dial peer_id's links, as last written: (the L{Path} of
        kind L{DIRECT} at the address heard (L{heard}) or the tracker
        named, the address group of the word that named it: None for
        the tracker's own or a word no longer at hand), or None when the
        book holds neither.
        """
        held = self._peers.get(peer_id)
        if held is None:
            return None
        said = self._said(held)
        if said is not None:
            return said
        if held.at is None:
            return None
        return (Path(DIRECT, held.host, held.port,
                     word=SEEN if held.relay is None else NAMED,
                     expires=held.at + NAMED_FOR), None)

    def transferAddress(self, peer_id):
        """
        Where to dial peer_id's transfer port, as a peer's word last gave
        it (L{heard} with the purpose L{FILES}: a file's offer): (its
        L{Path} of kind L{DIRECT}, the address group of that word), or
        None (no such claim is held: the tracker names no transfer port).
        """
        held = self._peers.get(peer_id)
        return None if held is None else self._said(held, FILES)

    def pathsOf(self, peer_id, kind):
        """The paths to peer_id of that kind (L{paths})."""
        return tuple(path for path in self.paths(peer_id) if path.kind == kind)

    def relayOf(self, peer_id):
        """The relay peer_id is reached through as last noted (the
        tracker's word or the peer's own), or None."""
        held = self._peers.get(peer_id)
        return None if held is None else held.noted

    def namedRelay(self, peer_id):
        """The relay the tracker last named for peer_id, or None."""
        held = self._peers.get(peer_id)
        return None if held is None or held.at is None else held.relay

    def vouches(self, relay, peer_id):
        """Whether relay may be dialled for peer_id as it is: the tracker
        named it for that peer, or it is the tracker's own."""
        if relay == self.namedRelay(peer_id):
            return True
        tracker = self.node.membership
        return tracker is not None and tracker.isTrackerRelay(relay)

    def known(self, peer_id):
        """Whether the tracker's word on peer_id is fresh (no need to ask)."""
        held = self._peers.get(peer_id)
        return (held is not None and held.at is not None
                and self.node.clock.seconds() - held.at < NAMED_FOR)

    def hostNamed(self, peer_id):
        """The host the tracker names peer_id at, if its word is fresh
        (L{known}); else None."""
        return self._peers[peer_id].host if self.known(peer_id) else None

    def namedHost(self, peer_id):
        """The host the tracker last named peer_id at, however long ago
        (the punch's witness, for the link it asked on), or None."""
        held = self._peers.get(peer_id)
        return None if held is None or held.at is None else held.host

    def lanNamed(self, peer_id):
        """(the host the tracker names peer_id at, its local addresses) as
        the tracker last named them, or None."""
        held = self._peers.get(peer_id)
        if held is None or held.at is None:
            return None
        return held.host, held.lan

    # -- asking the tracker ----------------------------------------------------------

    def ask(self, peer_id):
        """
        Ask the tracker where peer_id is (``whereis``); its answer is
        written here (L{trackerNamed}).

        @return: a Deferred firing with the tracker's L{NodeReply} (port 0:
            it names no address), or failing with L{TrackerGone} when no
            answer came or there is no tracker to ask: its silence is not
            the peer's absence.
        """
        tracker = self.node.membership
        if tracker is None:
            return defer.fail(TrackerGone("no tracker to ask"))
        return tracker.whereRelay(peer_id).addCallback(self._answered)

    def _answered(self, reply):
        if reply.port:
            self.trackerNamed(reply)
        else:
            self._namedNowhere(reply.id)
        return reply

    def _namedNowhere(self, peer_id):
        """The tracker names peer_id nowhere now: what it named before is
        its word no longer (a punch aims only at a host it names now)."""
        held = self._peers.get(peer_id)
        if held is not None and held.at is not None:
            held.host, held.port, held.relay, held.lan, held.at = "", 0, None, (), None
            held.udp = None
            self._drop(peer_id, held)

    def whereIs(self, peer_id):
        """L{ask}, the answer as (host, port), or None when the tracker
        names no address."""
        return self.ask(peer_id).addCallback(
            lambda reply: (reply.host, reply.port) if reply.port else None)


def _withoutLan(paths, host, now, room=False):
    """paths, less the local address host where the peer proved its key
    and those proven too long ago (L{PathBook.lanReached}); with
    ``room``, less the oldest if L{MAX_LAN} are left, to add one."""
    kept = tuple(path for path in paths
                 if path.kind != LAN or (path.host != host and path.expires > now))
    lan = [path for path in kept if path.kind == LAN]
    if room and len(lan) >= MAX_LAN:
        kept = tuple(path for path in kept if path is not lan[0])
    return kept
