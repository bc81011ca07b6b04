"""
The status messages (docs/protocol.md, "Status"):

- ``members`` (client -> tracker, once registered) is answered by
  ``memberlist{nodes, total}``: the live nodes that take links, as
  ``{id, host, port, scheme}``, cut short to fit in one frame;
- ``state`` (on a link of purpose ``status``) is answered by
  ``nodestate``: to the node's operator (who proves the node's own key,
  L{twisted_bazaar.identity.operator}), the node's id, address and scheme,
  its links, its stock, its bag (units per item), its pending buys, the
  messages it noted last, the files it shares, its downloads, its
  last trades with the path each buy took and its roles' names; to
  anyone else, only its public facts (``public``: what it offers).

A question over its rate is answered ``error{busy}`` with ``retryAfter``,
the milliseconds until it would be answered (L{busy}): never dropped
unsaid, so an asker knows why it waits and when to ask again.
"""

import math

from twisted_bazaar.wire import (
    ID_LIMIT,
    Error,
    Message,
    errorCode,
    field,
    checkFlag,
    checkId,
    checkHost,
    checkInfo,
    checkItem,
    checkName,
    checkNodeId,
    checkNodeIdOrNone,
    checkPath,
    checkPort,
    checkSha256,
    checkSig,
    checkSize,
    intIn,
    itemCounts,
    message,
    objectList,
    ProtocolError,
)
from twisted_bazaar.reach.reachable.reachability import REACHABILITIES
from twisted_bazaar.net.recent import IN, OUT, RECENT_SIZE
from twisted_bazaar.status.relaying import checkRelayUse, relayUseDict
from twisted_bazaar.wire.core import checkLan, checkRelay, relayMap
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.wire.paths import checkPaths

#: The code of a question over its rate (a transfer's too, files.messages).
BUSY = "busy"
errorCode(BUSY, "the answerer is too busy now: a status question is answered after "
                "retryAfter ms, a transfer by another seller")


def busy(kind, rate, wait):
    """
    The answer to a ``kind`` question over its ``rate`` (a second, for
    the asker's address group): ``error{busy}`` naming the ``wait`` in
    seconds, rounded up to whole milliseconds (at least 1), after which
    it would be answered.  About 120 bytes, built from no state but the
    rate's, for a question of about 20: never a frame's work.
    """
    after = max(1, math.ceil(wait * 1000))
    return Error(BUSY, f"{kind}: {rate:g} a second for your address group; ask again "
                       f"in {after} ms", retry_after=after)


#: Most entries of ``memberlist.nodes`` and ``nodestate.links``.
MAX_ENTRIES = 1024
#: Most items of ``nodestate.stock`` and ``nodestate.bag``, and most
#: entries of ``nodestate.files`` and ``nodestate.downloads``.
MAX_ITEMS = 1024


def _schemeName(value, name):
    """A scheme's name; "" for a node that did not say."""
    if value == "":
        return value
    return checkName(value, name)


_schemeName.fast = "False"


def _reach(value, name):
    """Whether a node can be dialled: "public", "private" or "unknown"."""
    if value not in REACHABILITIES:
        raise ProtocolError(f"{name} must be one of {', '.join(REACHABILITIES)}")
    return value


_reach.fast = "False"

_count = intIn(0, ID_LIMIT - 1, "a count")
_counts = itemCounts(MAX_ITEMS)

MEMBER_KEYS = (("id", checkNodeId), ("host", checkHost), ("port", checkPort),
               ("scheme", _schemeName))
LINK_KEYS = (("id", checkNodeId), ("host", checkHost), ("port", checkPort),
             ("purpose", checkName))
#: A link entry's optional keys: true where the link runs through a
#: relay's circuit (§5a), left out (false) where it is direct; true where
#: it runs over QUIC on UDP (§2.3), left out (false) on TCP.
RELAYED = "relayed"
QUIC = "quic"
FLAGS = (RELAYED, QUIC)


def _links(value, name):
    """A nodestate's links: each as (id, host, port, purpose, relayed, quic)."""
    rows = _linkRows(value, name)
    return tuple(row + tuple(checkFlag(entry.get(flag, False), f"{name}.{flag}")
                             for flag in FLAGS)
                 for row, entry in zip(rows, value))


_linkRows = objectList(LINK_KEYS, MAX_ENTRIES)
_links.fast = "False"


def _linkRowsOfSix(links):
    """Links as rows of six: a row that stops short (id, host, port,
    purpose, and maybe relayed), as a caller may build it, is false in the
    flags it leaves out."""
    width = len(LINK_KEYS) + len(FLAGS)
    return tuple(tuple(row) + (False,) * (width - len(row)) for row in links)


def _linkDict(row):
    """A link's entry: each flag (``relayed``, ``quic``) only where it is."""
    entry = dict(zip((key for key, _ in LINK_KEYS), row))
    entry["id"] = wireId(entry["id"])
    for flag, value in zip(FLAGS, row[len(LINK_KEYS):]):
        if value:
            entry[flag] = True
    return entry


def _direction(value, name):
    """Which way a message went: "in" or "out"."""
    if value not in (IN, OUT):
        raise ProtocolError(f'{name} must be "in" or "out"')
    return value


_direction.fast = "False"

FILE_KEYS = (("name", checkItem), ("size", checkSize), ("sha256", checkSha256))
SHARED_KEYS = FILE_KEYS + (("sold", _count),)


def _filesShared(keys):
    """
    A checker of the files a node shares, whose entries hold keys (the
    last, ``sold``, may be left out of every entry, as from a stranger's
    answer, where the copies sold are withheld): (name, size, sha256,
    sold) rows, ``sold`` None where left out.
    """
    whole, public = objectList(keys, MAX_ITEMS), objectList(keys[:-1], MAX_ITEMS)
    last = keys[-1][0]

    def check(value, name):
        if type(value) is list and value and all(
                type(entry) is dict and last not in entry for entry in value):
            return tuple(row + (None,) for row in public(value, name))
        return whole(value, name)

    check.fast = "False"
    return check


_sharedFiles = _filesShared(SHARED_KEYS)

DOWNLOAD_KEYS = FILE_KEYS + (("have", checkSize), ("rate", checkSize),
                             ("sellers", _count), ("state", checkName),
                             ("why", checkInfo))


def _bound(value, name):
    """A bound: a size, or null for none."""
    return None if value is None else checkSize(value, name)


_bound.fast = "False"

#: A pool of the node's against its limit (the registry of limits'
#: accounts, L{twisted_bazaar.net.account.accountsHeld}).
LIMIT_KEYS = (("name", checkName), ("unit", checkName), ("used", checkSize),
              ("limit", _bound), ("group", _bound))
#: A trade of the node's, as its operator is told it: when, the buy's id,
#: what and how many, and the path the buy took (buyer first, seller last).
TRADE_KEYS = (("ago", _count), ("id", checkId), ("item", checkItem),
              ("units", _count), ("path", checkPath))
#: Most entries of ``nodestate.trades``.
MAX_TRADES = 64
#: Most names in ``nodestate.roles``.
MAX_ROLES = 16


def _roleNames(value, name):
    """A node's roles: a list of names (its role plugins')."""
    if type(value) is not list or len(value) > MAX_ROLES:
        raise ProtocolError(f"{name} must be a list of at most {MAX_ROLES} names")
    return tuple(checkName(each, f"{name}[]") for each in value)


_roleNames.fast = "False"
RECENT_KEYS = (("ago", _count), ("dir", _direction),
               ("peer", checkNodeIdOrNone),
               ("type", checkName))


def nodesMap(limit, checkEntry, what):
    """A checker of what a memberlist says of the nodes it names
    (protocol.md §12a): an object of at most ``limit`` node id -> an entry
    that ``checkEntry(value, name)`` checks; a dict of id -> what it gives
    here.  ``what`` names the entries in the refusal."""

    def check(value, name):
        if type(value) is not dict or len(value) > limit:
            raise ProtocolError(f"{name} must be an object of at most {limit} "
                                f"nodes' {what}")
        return {checkNodeId(key, f"{name} key"): checkEntry(entry, f"{name} entry")
                for key, entry in value.items()}

    check.fast = "False"
    return check


@message("members", bucket="query")
class Members(Message):
    """Which nodes are live?"""


@message("memberlist")
class MemberList(Message):
    """
    The answer to members: (id, host, port, scheme) of live nodes that
    take links, by id; ``total`` counts them all, when the list is cut;
    ``relays`` names the relay of those among them reached through one
    (id -> ``HOST:PORT``), None if none is; ``lans`` their local
    addresses (id -> a tuple of hosts), told only to an asker at their
    home (L{twisted_bazaar.tracker.registry.Registry.lanOf}), None if
    none is; ``paths`` their paths of a transport plugin's kind (id -> a
    tuple of paths: L{twisted_bazaar.tracker.registry.Registry.claimsOf}),
    None if none has one; ``lanOnly`` counts the live nodes left out
    because they are reached only over a LAN not the asker's
    (L{twisted_bazaar.tracker.registry.Registry.lanOnly}), None if none is.
    """

    nodes: tuple = field(objectList(MEMBER_KEYS, MAX_ENTRIES))
    total: int = field(_count)
    relays: dict = field(relayMap(MAX_ENTRIES), default=None, hash=False)
    #: Each node's local addresses (L{checkLan}: a tuple of hosts).
    lans: dict = field(nodesMap(MAX_ENTRIES, checkLan, "local addresses"), default=None,
                       hash=False)
    #: The paths of other kinds the tracker names for each (§3, "Paths":
    #: a tuple of L{Path}s).
    paths: dict = field(nodesMap(MAX_ENTRIES, checkPaths, "paths"), default=None,
                        hash=False)
    lanOnly: int = field(_count, default=None)

    def asDict(self):
        out = {"type": "memberlist", "total": self.total,
               "nodes": [{"id": wireId(node_id), "host": host, "port": port,
                          "scheme": scheme}
                         for node_id, host, port, scheme in self.nodes]}
        if self.relays is not None:
            out["relays"] = {wireId(node_id): relay
                             for node_id, relay in self.relays.items()}
        if self.lans is not None:
            out["lans"] = {wireId(node_id): list(lan) for node_id, lan in self.lans.items()}
        if self.paths is not None:
            out["paths"] = {wireId(node_id): checkPaths.toWire(paths)
                            for node_id, paths in self.paths.items()}
        if self.lanOnly is not None:
            out["lanOnly"] = self.lanOnly
        return out


@message("state", bucket="query")
class State(Message):
    """
    What is your state?  ``operator``, if given, proves that the asker is
    the node's operator (L{twisted_bazaar.identity.operator}), who is told
    the whole state; anyone else its public facts.
    """

    operator: str = field(checkSig, default=None)


@message("nodestate")
class NodeState(Message):
    """
    The answer to state: the node's id, advertised host and port, scheme,
    established links as (id, host, port, purpose, relayed, quic), stock (item -> units,
    reserved included), bag (item -> units bought), pending buys, and the
    messages it sent and received last, as (milliseconds ago, "in" or
    "out", peer id or -1 (``""`` on the wire), type), oldest first; the
    files it shares, as (name, size, sha256, sold), by name (not in its
    stock); its downloads, as (name, size, sha256, have, rate, sellers,
    state, why), by name; whether other nodes can dial it (``reach``:
    public, private or unknown, L{twisted_bazaar.reach.reachable.reachability}) and where
    the tracker saw its connection come from (``seenHost``:``seenPort``;
    "" and 0 while unknown), and the relay it is reached through
    (``relay``, None while it holds no reservation).  An old node's
    answer has no ``reach`` (None).  ``limits``: each pool of the
    registry of limits the node's process holds, as (name, unit, used,
    limit, a group's share), limit and share None where there is none.
    ``relaying``: for a node that runs a relay for nodes at home, its
    use as (reservations, circuits, bytes copied)
    (L{twisted_bazaar.status.relaying}); None otherwise.
    ``trades``: its last trades, bought and sold, as (milliseconds ago,
    buy id, item, units, path), the path the buy took, buyer first,
    oldest first.  ``roles``: the names of its roles (its role plugins',
    ``buyer``, ``seller``), in the order they were plugged in; None where
    an older node does not say.  ``files_shared``: how many files it
    shares in all, of which ``files`` may hold only the first (cut to fit
    a frame, or to MAX_ITEMS); None where an older node does not say.
    ``stock_items``: likewise, how many items it holds in stock in all,
    of which ``stock`` may hold only the first.
    ``bag_items``: likewise, how many items its bag holds in all (its
    operator's answer alone).
    ``local_host``: the address its connection to the tracker leaves
    from, which ``bazaar node`` compares with ``seen_host`` to guess what
    keeps it undialled (L{behind
    <twisted_bazaar.reach.reachable.reachability.behind>}); the operator's
    answer alone, None where an older node does not say.

    A ``public`` state (a stranger's answer) holds only the public facts:
    its overlay links, its stock and its files, each without ``sold``
    (None), and its reach; its bag, pending buys and the address seen
    are None, and it has no recent messages, downloads, limits, relay
    use, trades or roles, since they are withheld.
    """

    id: int = field(checkNodeIdOrNone)
    host: str = field(checkHost)
    port: int = field(checkPort)
    scheme: str = field(checkName)
    links: tuple = field(_links, converter=_linkRowsOfSix)
    stock: dict = field(_counts, hash=False)
    bag: dict = field(_counts, default=None, hash=False)
    pending: int = field(_count, default=None)
    recent: tuple = field(objectList(RECENT_KEYS, RECENT_SIZE), default=())
    files: tuple = field(_sharedFiles, default=())
    downloads: tuple = field(objectList(DOWNLOAD_KEYS, MAX_ITEMS), default=())
    public: bool = field(checkFlag, default=False)
    reach: str = field(_reach, default=None)
    seen_host: str = field(checkHost, default=None)
    seen_port: int = field(checkPort, default=None)
    relay: str = field(checkRelay, default=None)
    limits: tuple = field(objectList(LIMIT_KEYS, MAX_ENTRIES), default=())
    relaying: tuple = field(checkRelayUse, default=None)
    trades: tuple = field(objectList(TRADE_KEYS, MAX_TRADES), default=())
    roles: tuple = field(_roleNames, default=None)
    files_shared: int = field(_count, default=None)
    stock_items: int = field(_count, default=None)
    bag_items: int = field(_count, default=None)
    local_host: str = field(checkHost, default=None)

    def asDict(self):
        out = {"type": "nodestate", "id": wireId(self.id), "host": self.host,
               "port": self.port, "scheme": self.scheme,
               "links": [_linkDict(row) for row in self.links],
               "stock": dict(self.stock)}
        if self.reach is not None:
            out["reach"] = self.reach
        if self.relay is not None:
            out["relay"] = self.relay
        files = [_fileDict(row) for row in self.files]
        if self.files_shared is not None:
            out["filesShared"] = self.files_shared
        if self.stock_items is not None:
            out["stockItems"] = self.stock_items
        if self.public:
            out.update(files=files, public=True)
            return out
        if self.seen_host is not None:
            out.update(seenHost=self.seen_host, seenPort=self.seen_port or 0)
        if self.local_host is not None:
            out["localHost"] = self.local_host
        if self.relaying is not None:
            out["relaying"] = relayUseDict(self.relaying)
        if self.roles is not None:
            out["roles"] = list(self.roles)
        if self.bag_items is not None:
            out["bagItems"] = self.bag_items
        out.update(bag=dict(self.bag or {}), pending=self.pending or 0,
                   recent=[{"ago": ago, "dir": way, "peer": wireId(peer), "type": kind}
                           for ago, way, peer, kind in self.recent],
                   files=files,
                   downloads=[dict(zip((key for key, _ in DOWNLOAD_KEYS), row))
                              for row in self.downloads],
                   limits=[dict(zip((key for key, _ in LIMIT_KEYS), row))
                           for row in self.limits],
                   trades=[{"ago": ago, "id": buy_id, "item": item, "units": units,
                            "path": [wireId(each) for each in path]}
                           for ago, buy_id, item, units, path in self.trades])
        return out


def _fileDict(row):
    """A shared file's entry, ``sold`` left out where it is withheld."""
    entry = dict(zip((key for key, _ in SHARED_KEYS), row))
    if entry["sold"] is None:
        del entry["sold"]
    return entry
