"""
Ring arithmetic for Chord: the identifier circle, its intervals, item keys
and finger starts.  Pure functions, no state.

The ring has 2^128 positions: a keyed node's place is its id's 128 bits
(L{twisted_bazaar.wire.ids}: the id modulo 2^128), an item's the first 128
bits of its name's SHA-256 (L{keyOf}).  A keyless node's
place is its id, in the first 2^34 positions: such a ring works, but its
keys crowd on its first node, so a Chord ring is meant to be keyed.
Intervals go clockwise (increasing positions, wrapping at 2^128); an
interval whose two ends are equal covers the whole ring.  Every function
here takes node ids or positions alike: it reduces them modulo 2^128.
"""

import hashlib

from twisted_bazaar.wire.ids import ID_BITS, KEYED

#: Bits of a ring position, and the number of fingers of a node.
BITS = ID_BITS
#: Positions on the ring.
SIZE = 2**BITS
_MASK = SIZE - 1


def between(x, a, b):
    """Is x in the half-open interval (a, b], clockwise?  (a, a] is the
    whole ring."""
    x &= _MASK
    a &= _MASK
    b &= _MASK
    if a < b:
        return a < x <= b
    if a > b:
        return x > a or x <= b
    return True


def strictlyBetween(x, a, b):
    """Is x in the open interval (a, b), clockwise?  (a, a) is the whole
    ring but a."""
    x &= _MASK
    a &= _MASK
    b &= _MASK
    if a < b:
        return a < x < b
    if a > b:
        return x > a or x < b
    return x != a


def distance(a, b):
    """Clockwise steps from a to b."""
    return (b - a) % SIZE


def keyOf(item):
    """The ring position of an item: the first 128 bits of the SHA-256 of
    its UTF-8 name."""
    digest = hashlib.sha256(item.encode("utf-8")).digest()
    return int.from_bytes(digest[:16], "big")


def place(node_id):
    """A node's position on the ring."""
    return node_id & _MASK


def fingerStart(node_id, index):
    """Where finger ``index`` (0 to BITS - 1) of node_id points:
    node_id + 2^index, around the ring."""
    return (node_id + (1 << index)) % SIZE


def puzzleBits(node_id):
    """
    How hard a keyed id was to find (S/Kademlia's static puzzle): the
    leading zero bits of the SHA-256 of its 16 bytes.  A keyless id
    solves nothing (-1).
    """
    if node_id < KEYED:
        return -1
    digest = hashlib.sha256((node_id ^ KEYED).to_bytes(16, "big")).digest()
    value = int.from_bytes(digest[:8], "big")
    return 64 - value.bit_length()


def solves(node_id, bits):
    """Does the id count on a ring whose puzzle is ``bits`` (0: any id)?"""
    return bits <= 0 or puzzleBits(node_id) >= bits
