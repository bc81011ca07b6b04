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

The book is an account (docs/protocol.md §6, "The book of paths"): at
most L{BOOK_PEERS <twisted_bazaar.reach.bookaccount.BOOK_PEERS>} peers,
a peer's claims charged to the address group its connection came from,
and past the bound the heaviest group's claims go first; which entry is
held and which goes is its base's (L{BookAccount}), what the words mean
as paths is here.  A path
carries its expiry (L{Path.expires}): the tracker's word is fresh for
L{NAMED_FOR} seconds, a claimed address until the dial that reads it
takes it, L{HEARD_FOR} at most, a local address proven L{NAMED_FOR}; a
path a UDP punch met, until the punch drops it, with the socket it is
dialled from and whom silence there is told (L{Path.via}, L{Path.lost}).
What became of the LAN way's dials is here too (L{lanReached},
L{lanFailed}), and which peers nothing listened at when this node last
dialled them (L{unreached}: for L{RETRY_AFTER} seconds, or until a link
to the peer comes up; a scheme need not believe a record of a seller
it could not reach): the book is the one table of how a peer is
reached.

One a node, made when the node first notes a path (a simulated node of a
million that never dials holds none: docs/simulator.md, "Memory a
node"); its tables the shared empty one until written, and again once
emptied (base/sparing.py): a claim goes when the dial that reads it
takes it (a simulated node that dials a seller or a ring entry holds
no table for it).
"""

from twisted.internet import defer

from twisted_bazaar.base.lan import MAX_LAN
from twisted_bazaar.transports.path import (
    CLAIMED, DIRECT, LAN, NAMED, RELAYED, SEEN, Path, firstOf, ofKind)
from twisted_bazaar.reach.asking import TrackerGone
from twisted_bazaar.reach.bookaccount import BookAccount
from twisted_bazaar.transports.relay.messages import FILES, NODE

__all__ = ["PathBook", "NAMED_FOR", "HEARD_FOR", "RETRY_AFTER"]

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
#: The kinds of path a ``nodereply`` names that the book holds apart
#: (the relay, the local addresses); each other path it names is held
#: as named (L{PathBook.trackerNamed}).
_APART = frozenset({RELAYED, LAN, DIRECT})


class PathBook(BookAccount):
    """
    A node's paths to its peers: see the module's docstring.
    """

    __slots__ = ()

    # -- the boundary: the wire's words, as paths ------------------------------

    def trackerNamed(self, reply):
        """The tracker named a node (a ``nodereply`` with a port): where it
        is, and its paths: the relay it is reached through (none: it is
        dialled there), its local addresses (for a node on this node's own
        network), and its paths of other kinds, each dialled at that host
        whatever host the path names: the UDP port its QUIC is seen on,
        a port of a transport plugin's (the node's claim, which the
        tracker names at the host its check passed at)."""
        held = self._write(reply.id)
        paths = reply.paths
        relayed = firstOf(paths, RELAYED)
        relay = None if relayed is None else relayed.relay
        held.host, held.port, held.relay = reply.host, reply.port, relay
        held.lan = tuple(path.host for path in ofKind(paths, LAN))
        # The relayed path is held apart, as its relay; with the relay's
        # ways (L{Path.ways}), among the others too.
        held.named = tuple(path for path in paths or () if path.kind not in _APART
                           or (path is relayed and path.ways))
        held.at = self.where.now()
        held.noted, held.word = relay, NAMED
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
        held = self.entry(peer_id)
        if (purpose != FILES and held is not None and held.at is not None
                and (held.host, held.port) == (host, port)):
            held.hear(None)
            return
        held = self._write(peer_id, "" if namedBy is None else namedBy)
        held.hear((host, port, namedBy, self.where.now()), purpose)

    def taken(self, peer_id, purpose=NODE):
        """A dial of peer_id took the address heard of it (L{linkAddress},
        or for ``purpose`` L{FILES} L{transferAddress}, gave it): the
        claim is forgotten, and peer_id with it if nothing else is held
        of it."""
        held = self.entry(peer_id)
        if held is not None and (held.transfer if purpose == FILES else held.said) is not None:
            held.hear(None, purpose)
            self._drop(peer_id, held)

    def _note(self, peer_id, relay, word, group=None):
        if relay is None:
            held = self.entry(peer_id)
            if held is not None:
                held.noted = held.word = None
                self._drop(peer_id, held)
            return
        held = self._write(peer_id, group)
        held.noted, held.word = relay, word

    def add(self, peer_id, path):
        """One more L{Path} to peer_id that no message above names (a kind
        of its own: a UDP address, a port its router mapped, one this
        node's operator configured, one a UDP punch met, noted with the
        socket it is dialled from and whom its silence is told:
        L{Path.via}, L{Path.lost}), kept until L{drop}.  A path equal to
        one held takes its place, with its notes."""
        held = self._write(peer_id)
        if path in held.more:
            held.more = tuple(path if each == path else each for each in held.more)
        else:
            held.more += (path,)

    def drop(self, peer_id, path):
        """Forget a path L{add} added."""
        held = self.entry(peer_id)
        if held is not None and path in held.more:
            held.more = tuple(each for each in held.more if each != path)
            self._drop(peer_id, held)

    def lanReached(self, peer_id, host, port):
        """peer_id proved its key at its local address host (a dial at
        ``port``): a path it was L{SEEN} at, until L{NAMED_FOR} seconds
        from now (L{lanProven}), whatever failed there before; pinned as
        a punch's met path is (the account's L{_victim})."""
        held = self.entry(peer_id)
        if held is None:
            # The tracker's word that named the address went meanwhile.
            return
        now = self.where.now()
        held.more = _withoutLan(held.more, host, now, room=True) + (
            Path(LAN, host, port, word=SEEN, expires=now + NAMED_FOR),)
        held.failed = tuple(each for each in held.failed if each[0] != host)
        self._write(peer_id)

    def lanFailed(self, peer_id, host):
        """A dial of peer_id at its local address host failed: not dialled
        there again for L{RETRY_AFTER} seconds (L{lanFailedLately}), nor
        taken as proven."""
        held = self.entry(peer_id)
        if held is None:
            return
        now = self.where.now()
        held.failed = tuple(each for each in held.failed
                            if each[0] != host and each[1] > now)[1 - MAX_LAN:] + (
            (host, now + RETRY_AFTER),)
        held.more = _withoutLan(held.more, host, now)

    def lanProven(self, peer_id, host):
        """Whether peer_id proved its key at its local address host within
        L{NAMED_FOR} seconds (L{lanReached})."""
        held = self.entry(peer_id)
        if held is None:
            return False
        now = self.where.now()
        return any(path.kind == LAN and path.host == host and path.expires > now
                   for path in held.more)

    def lanFailedLately(self, peer_id, host):
        """Whether a dial of peer_id at its local address host failed
        within L{RETRY_AFTER} seconds (L{lanFailed})."""
        held = self.entry(peer_id)
        if held is None:
            return False
        now = self.where.now()
        return any(failed == host and until > now for failed, until in held.failed)

    def unreached(self, peer_id):
        """Nothing listened where this node dialled peer_id (a dial of its
        link failed so: L{twisted_bazaar.net.opening.Unreachable}): it is
        taken as unreachable (L{unreachable}) for L{RETRY_AFTER} seconds,
        or until a link to it comes up (L{reached}).  The note holds the
        peer's entry, which goes right after the claims past the bound."""
        self._write(peer_id, unreached=self.where.now() + RETRY_AFTER)

    def reached(self, peer_id):
        """A link to peer_id came up: it is reachable after all."""
        held = self.entry(peer_id)
        if held is not None and held.unreached is not None:
            held.unreachedUntil(None)
            self._drop(peer_id, held)

    def unreachable(self, peer_id):
        """Whether nothing listened where this node last dialled peer_id,
        within L{RETRY_AFTER} seconds, and no link to it came up since
        (L{unreached})."""
        held = self.entry(peer_id)
        return (held is not None and held.unreached is not None
                and held.unreached > self.where.now())

    def forgetNamed(self):
        """Forget what the tracker named of each peer: the node registered
        with another tracker, whose word alone it takes from now on."""
        for peer_id, held in self.entries():
            # The relay noted stays: a dial through it asks the new
            # tracker first (it vouches for it no longer: L{vouches}).
            held.host, held.port, held.relay, held.lan, held.at = "", 0, None, (), None
            held.named = ()
            held.more = tuple(path for path in held.more if path.word not in (NAMED, SEEN))
            self._drop(peer_id, held)

    # -- reading -------------------------------------------------------------------

    def paths(self, peer_id):
        """The paths to peer_id this node knows, the tracker's first."""
        held = self.entry(peer_id)
        if held is None:
            return ()
        found = []
        if held.at is not None:
            until = held.at + NAMED_FOR
            if held.relay is None:
                found.append(Path(DIRECT, held.host, held.port, word=SEEN, expires=until))
            else:
                ways = firstOf(held.named, RELAYED)
                found.append(Path(RELAYED, held.host, held.port, held.relay, NAMED,
                                  expires=until, ways=() if ways is None else ways.ways))
            found.extend(Path(LAN, host, held.port, word=NAMED, expires=until)
                         for host in held.lan)
            found.extend(Path(path.kind, held.host, path.port, path.relay, NAMED, until)
                         for path in held.named if path.kind != RELAYED)
        if held.noted is not None and held.noted != held.relay:
            found.append(Path(RELAYED, relay=held.noted, word=held.word))
        said = self._said(held)
        if said is not None:
            found.append(said[0])
        now = self.where.now()
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
        if self.where.now() >= until:
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
        held = self.entry(peer_id)
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
        held = self.entry(peer_id)
        return None if held is None else self._said(held, FILES)

    def pathsOf(self, peer_id, kind):
        """The paths to peer_id of that kind (L{paths})."""
        return tuple(path for path in self.paths(peer_id) if path.kind == kind)

    def relayOf(self, peer_id):
        """The relay peer_id is reached through as last noted (the
        tracker's word or the peer's own), or None."""
        held = self.entry(peer_id)
        return None if held is None else held.noted

    def namedRelay(self, peer_id):
        """The relay the tracker last named for peer_id, or None."""
        held = self.entry(peer_id)
        return None if held is None or held.at is None else held.relay

    def vouches(self, relay, peer_id):
        """Whether relay may be dialled for peer_id as it is: the tracker
        named it for that peer, or it is the tracker's own."""
        if relay == self.namedRelay(peer_id):
            return True
        tracker = self.where.tracker()
        return tracker is not None and tracker.isTrackerRelay(relay)

    def known(self, peer_id):
        """Whether the tracker's word on peer_id is fresh (no need to ask)."""
        held = self.entry(peer_id)
        return (held is not None and held.at is not None
                and self.where.now() - held.at < NAMED_FOR)

    def hostNamed(self, peer_id):
        """The host the tracker names peer_id at, if its word is fresh
        (L{known}); else None."""
        return self.entry(peer_id).host if self.known(peer_id) else None

    def namedHost(self, peer_id):
        """The host the tracker last named peer_id at, however long ago
        (the punch's witness, for the link it asked on), or None."""
        held = self.entry(peer_id)
        return None if held is None or held.at is None else held.host

    def lanNamed(self, peer_id):
        """(the host the tracker names peer_id at, its local addresses) as
        the tracker last named them, or None."""
        held = self.entry(peer_id)
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
        tracker = self.where.tracker()
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
        held = self.entry(peer_id)
        if held is not None and held.at is not None:
            held.host, held.port, held.relay, held.lan, held.at = "", 0, None, (), None
            held.named = ()
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
