"""
A file's identity (its C{sha256} on the wire, and in C{sha256:HEX} item
names): the root of a binary SHA-256 hash tree over the hashes of its
pieces, bound to its size and piece size.  See docs/protocol.md §19, "A
file's identity".

The tree is BitTorrent v2's (BEP 52) over pieces instead of 16 KiB
blocks: its leaves are the pieces' SHA-256 digests, padded with all-zero
hashes to a power of two; each inner node is the SHA-256 of its two
children.  Since the identity binds the size and the piece size, and so
the number of leaves, a piece list whose length does not fit them is
refused before its root is computed
(L{twisted_bazaar.files.hashing.pieceCount}), and the tree's
shape is fixed: no domain separation between leaves and inner nodes is
needed.

A buyer checks the piece hashes it is given against the identity it was
offered once (hashes of hashes: at most 4095 of 64 bytes); each piece's
bytes are then checked once against their hash, and the whole file is
proven by those same checks.
"""

import hashlib
import struct

#: What the identity's hash starts with.
LABEL = b"bazaar-file:"
#: The hash of a leaf past the last piece.
PAD = bytes(32)


def treeRoot(leaves):
    """The root of the tree over ``leaves`` (raw 32-byte digests, at
    least one), padded with L{PAD} to a power of two."""
    layer = list(leaves)
    width = 1
    while width < len(layer):
        width *= 2
    layer += [PAD] * (width - len(layer))
    while len(layer) > 1:
        layer = [hashlib.sha256(layer[i] + layer[i + 1]).digest()
                 for i in range(0, len(layer), 2)]
    return layer[0]


def identityOf(size, piece_size, root):
    """The identity (64 lowercase hex digits) of a file of ``size`` bytes
    in pieces of ``piece_size`` whose tree has this ``root``."""
    return hashlib.sha256(LABEL + struct.pack(">QQ", size, piece_size)
                          + root).hexdigest()


def fileIdentity(size, piece_size, pieces):
    """The identity of a file described by its size, piece size and the
    SHA-256 of each piece (the caller has checked their number)."""
    return identityOf(size, piece_size, treeRoot(pieces))
