"""
A way to reach a peer (L{Path}): its kind (which transport dials it) and
whose word it is; here, the kinds of path each transport's package
declares (with its wire form: L{twisted_bazaar.wire.paths}), gathered.

The wire names a peer's ways as lists of paths (a ``thisisme``'s, a
``nodereply``'s, a ``chordNear``'s: docs/protocol.md §3, "Paths"); they
are taken into the node's reach where they arrive
(L{twisted_bazaar.reach.book.PathBook}).  Whose word a path is decides
what may be done with it: a peer's claim is a label, dialled only where
its checks allow (docs/protocol.md §5, "Hosts a peer names"); the
tracker's word is dialled as named.
"""

from twisted_bazaar.wire.paths import (
    CLAIMED, CONFIGURED, KINDS, NAMED, SEEN, WORDS, Kinds, Path, firstOf, ofKind)
from twisted_bazaar.transports.tcp.kinds import DIRECT, LAN, MAPPED
from twisted_bazaar.transports.quic.kind import UDP
from twisted_bazaar.transports.relay.kind import RELAYED

__all__ = ["Path", "Kinds", "KINDS", "WORDS", "DIRECT", "LAN", "MAPPED", "RELAYED", "UDP",
           "CLAIMED", "NAMED", "SEEN", "CONFIGURED", "firstOf", "ofKind"]
