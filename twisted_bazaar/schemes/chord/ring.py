"""
Ring arithmetic for Chord: the identifier circle, its intervals, item keys
and finger starts.  Pure functions, no state.

The ring is the tracker's id space, [0, 2^31): a node's id is its place.
Intervals go clockwise (increasing ids, wrapping at 2^31); an interval
whose two ends are equal covers the whole ring.
"""

import hashlib

from twisted_bazaar.tracker import ID_SPACE

#: Bits of a ring position, and the number of fingers of a node.
BITS = 31
#: Positions on the ring.
SIZE = ID_SPACE
assert SIZE == 2**BITS


def between(x, a, b):
    """Is x in the half-open interval (a, b], clockwise?  (a, a] is the
    whole ring."""
    if a < b:
        return a < x <= b
    if a > b:
        return x > a or x <= b
    return True


def strictlyBetween(x, a, b):
    """Is x in the open interval (a, b), clockwise?  (a, a) is the whole
    ring but a."""
    if a < b:
        return a < x < b
    if a > b:
        return x > a or x < b
    return x != a


def distance(a, b):
    """Clockwise steps from a to b."""
    return (b - a) % SIZE


def keyOf(item):
    """The ring position of an item: the first 31 bits of the SHA-1 of its
    UTF-8 name."""
    digest = hashlib.sha1(item.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def fingerStart(node_id, index):
    """Where finger ``index`` (0 to BITS - 1) of node_id points:
    node_id + 2^index, around the ring."""
    return (node_id + (1 << index)) % SIZE
