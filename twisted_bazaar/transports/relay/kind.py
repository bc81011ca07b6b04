"""
The kind of path the relay's circuits carry, declared here with its
wire form (docs/protocol.md §3, "Paths"): ``relay``, the relay's
``HOST:PORT`` (§5a); a peer's host and port, where it is named, a label;
``paths``, where the tracker names them, the relay's other ways (a
transport plugin's port), which a dialler whose firewall lets only
HTTP(S) out reaches it by.
"""

import functools

from twisted_bazaar.wire.codec import ProtocolError, checkNodeId
from twisted_bazaar.wire.core import checkRelay
from twisted_bazaar.wire.ids import wireId
from twisted_bazaar.wire.paths import (
    CLAIMED, KINDS, NAMED, Form, Path, checkPaths, firstOf)

__all__ = ["RELAYED", "relayOfPaths", "relaysOfPaths"]


class RelayedForm(Form):
    """A circuit through the relay at ``relay`` (required), which may be
    reached by ``paths`` too (a list of paths, none relayed: L{Path.ways
    <twisted_bazaar.wire.paths.Path>})."""

    def read(self, kind, entry, word, name):
        path = super().read(kind, entry, word, name)
        relay = checkRelay(entry.get("relay"), f"{name}.relay")
        ways = entry.get("paths")
        if ways is None:
            return Path(kind, path.host, path.port, relay, word)
        ways = checkPaths(ways, f"{name}.paths")
        if firstOf(ways, RELAYED) is not None:
            raise ProtocolError(f"{name}.paths must name the relay's own ways: no "
                                "relayed path")
        return Path(kind, path.host, path.port, relay, word, ways=ways)

    def write(self, path):
        out = super().write(path)
        out["relay"] = path.relay
        if path.ways:
            out["paths"] = checkPaths.toWire(path.ways)
        return out


#: A circuit through a relay (L{Path.relay}) to the peer
#: (L{twisted_bazaar.transports.relay.transport.RelayTransport}).
RELAYED = KINDS.register("relayed", form=RelayedForm())


def relayOfPaths(value, name, word=CLAIMED):
    """
    The relay a peer's word names for itself (an offer's, a record's, a
    leaf's) as a list of paths (docs/protocol.md §3, "Paths"): its one
    ``relayed`` path's ``HOST:PORT``.  The list holds that path alone,
    of ``word``, as it is written back (L{_relayPaths}): what is signed
    is read back as it was sent, and no other kind is taken from such a
    word.
    """
    relayed = firstOf(checkPaths(value, name), RELAYED)
    if relayed is None or value != _relayPaths(relayed.relay, word):
        raise ProtocolError(f"{name} must be one relayed path, its word {word}: a "
                            "node's relay is all it names here")
    return relayed.relay


@functools.lru_cache(maxsize=1024)
def _relayPaths(relay, word=CLAIMED):
    """The wire form of the one path through relay, of word: one list
    for each, shared by every message and record that names it (read,
    never changed)."""
    return checkPaths.toWire((Path(RELAYED, relay=relay, word=word),))


relayOfPaths.fast = "False"
relayOfPaths.toWire = lambda relay: _relayPaths(relay)


def relaysOfPaths(limit):
    """A checker of the relays of the nodes a message names (a
    ``chordNearIs``'s), as an object of at most ``limit`` node id -> a
    list of paths, the tracker's word; a dict of id -> ``HOST:PORT``
    here, a node whose list names no relay left out."""

    def check(value, name):
        if type(value) is not dict or len(value) > limit:
            raise ProtocolError(f"{name} must be an object of at most {limit} lists of "
                                "paths")
        return {checkNodeId(key, f"{name} key"): relayOfPaths(paths, f"{name} entry", NAMED)
                for key, paths in value.items()}

    check.fast = "False"
    check.toWire = lambda relays: {wireId(node_id): _relayPaths(relay, NAMED)
                                   for node_id, relay in relays.items()}
    return check
