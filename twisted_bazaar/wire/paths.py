"""
A node's ways to be reached, as data (L{Path}), and how they travel: a
list of typed paths (docs/protocol.md §3, "Paths"), as go-libp2p's
multiaddrs are.

A kind of path is declared once, in the package of the transport that
dials it, with the form its paths take on the wire (L{Form}: which keys
it needs and how they are checked), in one line::

    RELAYED = KINDS.register("relayed", form=RelayedForm())

The codec (L{checkPaths}) asks the registry for each entry's kind; an
entry of a kind this node does not know is left out, as an unknown field
is, so a newer node may name ways an older one cannot dial.  A kind
without a form (one only this node notes, as a port its router mapped)
never travels.
"""

import attr

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.wire.codec import ProtocolError, checkHost, checkName, checkPort

__all__ = ["Path", "Kinds", "KINDS", "Form", "WORDS", "CLAIMED", "NAMED", "SEEN",
           "CONFIGURED", "MAX_PATHS", "checkPaths", "ofKind", "firstOf"]

#: The most paths one message may name for one node.
MAX_PATHS = 16

#: The peer said so itself (its ``thisisme``, a record): a claim.
CLAIMED = "claimed"
#: The tracker named it (its ``nodereply``, a ``chordNear``).
NAMED = "named"
#: The tracker saw it: its check dialled the peer there, or it saw the
#: peer's connection come from there.
SEEN = "seen"
#: This node's operator configured it.
CONFIGURED = "configured"

#: Every word a path may be.
WORDS = (CLAIMED, NAMED, SEEN, CONFIGURED)


class Form:
    """
    How one kind's paths travel: the keys an entry holds besides ``kind``
    and ``word``.  The base reads and writes ``host`` and ``port``, each
    left out when empty; a kind's own form checks what its paths need
    (L{read}) and what a list may hold of them (L{checkAll}).

    @cvar most: how many paths of the kind one list may hold.
    """

    most = 1

    def read(self, kind, entry, word, name):
        """The L{Path} of a decoded entry (a dict) of this kind.

        @raise ProtocolError: for an entry that is no such path."""
        return Path(kind, checkHost(entry.get("host", ""), f"{name}.host"),
                    checkPort(entry.get("port", 0), f"{name}.port"), word=word)

    def write(self, path):
        """The keys of path's entry, besides its kind and word."""
        out = {}
        if path.host:
            out["host"] = path.host
        if path.port:
            out["port"] = path.port
        return out

    def checkAll(self, paths, name):
        """Check the list's paths of this kind together (at most L{most},
        already checked).

        @raise ProtocolError: for paths that may not travel together."""


class Kinds:
    """
    The open registry of the kinds of path: each kind once, with the kind
    of transport that dials it (its carrier: a LAN path is dialled as a
    direct one, over TCP) and its wire form (L{Form}, or None: its paths
    never travel).  Which kind a dial tries first is the dialer's policy
    (L{twisted_bazaar.reach.ways}), not the registry's.  A new transport
    registers its kind with one line (L{register}), in its own package;
    nothing else lists the kinds.
    """

    def __init__(self):
        self._carriers = {}
        self._forms = {}

    def register(self, kind, carrier=None, form=None):
        """Declare kind, dialled by the transport of kind ``carrier`` (its
        own, if None), its paths travelling in ``form``; returns kind.  A
        kind is declared once."""
        if kind in self._carriers:
            raise ValueError(f"the kind of path {kind!r} is declared already")
        self._carriers[kind] = kind if carrier is None else carrier
        if form is not None:
            self._forms[kind] = form
        return kind

    def carrierOf(self, kind):
        """The kind of transport that dials paths of kind."""
        return self._carriers[kind]

    def formOf(self, kind):
        """The wire form of kind's paths, or None: they never travel (or
        kind is unknown here)."""
        return self._forms.get(kind)

    def __contains__(self, kind):
        return kind in self._carriers

    def __iter__(self):
        return iter(tuple(self._carriers))

    def __repr__(self):
        return f"Kinds({', '.join(self._carriers)})"


#: Every kind of path, as registered.
KINDS = Kinds()


def _oneOf(choices):
    def check(instance, attribute, value):
        if value not in choices:
            raise ValueError(f"{attribute.name} {value!r} is none of "
                             f"{tuple(iter(choices))}")
    return check


@attr.s(frozen=True, slots=True)
class Path:
    """
    One way to a peer.

    @ivar kind: its kind (L{KINDS}), which says the transport that dials it.
    @ivar host: the host dialled (for a relayed path, where the tracker
        saw the peer: a label, never dialled).
    @ivar port: the port dialled (the peer's link port).
    @ivar relay: the relay (``HOST:PORT``) of a relayed path, else None.
    @ivar word: whose word it is (L{WORDS}).
    @ivar expires: when, on the clock of the node that holds it, it is
        no longer taken as said (the book of paths sets it as it hands
        the path out: the tracker's word is asked again, a claim no
        longer dialled), or None: until it is dropped.  Not part of
        what the path is: two paths that differ only in it are equal.
    @ivar via: the socket it is dialled from (the transport's option
        C{via}: a UDP punch's met socket, as only that 5-tuple passes the
        routers), or None: the node's own.  Not part of what the path is.
    @ivar lost: told C{lost(peer_id, path, why)} when nothing answers a
        dial there (the routers forgot the 5-tuple, or the peer is gone:
        whoever punched it drops it), or None.  Not part of what the path
        is.
    @ivar ways: of a relayed path, the relay's own ways besides its port
        (paths of the kinds that serve it too: a transport plugin's port,
        where a firewall lets only HTTP(S) out), each at the relay's host
        whatever host it names; a tuple.
    """

    kind = attr.ib(validator=_oneOf(KINDS))
    host = attr.ib(default="")
    port = attr.ib(default=0)
    relay = attr.ib(default=None)
    word = attr.ib(default=CLAIMED, validator=_oneOf(WORDS))
    expires = attr.ib(default=None, eq=False)
    via = attr.ib(default=None, eq=False, repr=False)
    lost = attr.ib(default=None, eq=False, repr=False)
    ways = attr.ib(default=())

    def __str__(self):
        where = hostPort(self.host, self.port) if self.relay is None else (
            f"{self.relay} to {hostPort(self.host or '?', self.port)}")
        return f"{self.kind} {where} ({self.word})"


def ofKind(paths, kind):
    """The paths of kind among paths (None: none), in their order."""
    return tuple(path for path in paths or () if path.kind == kind)


def firstOf(paths, kind):
    """The first path of kind among paths (None: none), or None."""
    for path in paths or ():
        if path.kind == kind:
            return path
    return None


def _readEntry(entry, name):
    """The L{Path} of one entry of a list of paths, or None for a kind
    this node does not know (left out)."""
    if type(entry) is not dict:
        raise ProtocolError(f"{name} must be an object with a kind")
    kind = checkName(entry.get("kind"), f"{name}.kind")
    form = KINDS.formOf(kind)
    if form is None:
        return None
    word = entry.get("word", CLAIMED)
    if word not in WORDS:
        raise ProtocolError(f"{name}.word must be one of {', '.join(WORDS)}")
    return form.read(kind, entry, word, f"{name}")


def checkPaths(value, name):
    """
    A list of at most L{MAX_PATHS} paths (docs/protocol.md §3, "Paths"):
    objects each with its ``kind``, its ``word`` (default ``claimed``) and
    what its kind's form needs; a tuple of L{Path} here, kinds this node
    does not know left out.
    """
    if type(value) is not list or len(value) > MAX_PATHS:
        raise ProtocolError(f"{name} must be a list of at most {MAX_PATHS} paths")
    paths = tuple(path for path in (_readEntry(entry, f"{name} entry") for entry in value)
                  if path is not None)
    for kind in {path.kind for path in paths}:
        form, same = KINDS.formOf(kind), ofKind(paths, kind)
        if len(same) > form.most:
            raise ProtocolError(f"{name} names {len(same)} paths of kind {kind}: "
                                f"at most {form.most}")
        form.checkAll(same, name)
    return paths


def _pathsToWire(paths):
    out = []
    for path in paths:
        form = KINDS.formOf(path.kind)
        if form is None:
            # A kind this node alone notes: it never travels.
            continue
        entry = {"kind": path.kind}
        entry.update(form.write(path))
        entry["word"] = path.word
        out.append(entry)
    return out


checkPaths.fast = "False"
checkPaths.toWire = _pathsToWire
