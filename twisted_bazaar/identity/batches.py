"""
Batch signatures (docs/protocol.md, "Keys and signatures": "Batch
signatures"): one Ed25519 signature over the root of a Merkle tree of
many ``buyOK``s, each of which carries the hashes (its ``proof``) that
lead from it to the root, so that each is checked alone.

A seller answers many buys a turn of its reactor under load, and one
Ed25519 signature cost it about as much as everything else it does for a
sale (docs/benchmarks.md, "Where a purchase's time goes"); a hash costs
a fortieth of one.

- A leaf is SHA-256 of the byte 0x00 and the message's signed bytes:
  ``bazaar-sig:`` and its canonical encoding, ``sig`` and ``proof`` left
  out (L{leafOf}).
- Two nodes make their parent, SHA-256 of the byte 0x01 and the two, the
  smaller first (bytes compared in order): a proof needs no left or
  right (L{parentOf}).
- The leaves, in order, are paired (first and second, third and fourth,
  ...); an odd one out at the end of a level goes up a level as it is.
  The last node standing is the root (L{treeOf}).
- ``sig`` signs the bytes ``bazaar-batch:`` and the root's 32 bytes.

A seller sends each ``buyOK`` of a batch as L{payloadsOf} writes it: its
signed bytes, the leaf's text, are its wire text too, ``proof`` and
``sig`` added at the end, so that each is built once (one canonical
text, mostly from pieces kept per buyer: L{leafText}) rather than four
times over.
"""

import binascii
import hashlib

from twisted_bazaar.wire import canonicalFields, canonicalJSON

#: What a batch's signature signs, before its root.
ROOT_LABEL = b"bazaar-batch:"
#: Bytes of a node of the tree (a SHA-256).
HASH_BYTES = 32
_LEAF, _NODE = b"\x00", b"\x01"
_sha256 = hashlib.sha256


def leafOf(fields):
    """The leaf of a message, given its wire fields (C{asDict}, with its
    ``key``): ``sig`` and ``proof`` are left out."""
    fields = {name: value for name, value in fields.items()
              if name != "sig" and name != "proof"}
    return _sha256(_LEAF + canonicalFields(fields)).digest()


def parentOf(one, other):
    """The parent of two nodes (32 bytes each)."""
    if other < one:
        one, other = other, one
    return _sha256(_NODE + one + other).digest()


def rootOf(leaf, proof):
    """The root a leaf and its proof (a list of 32-byte nodes) lead to."""
    for node in proof:
        leaf = parentOf(leaf, node)
    return leaf


def treeOf(leaves):
    """
    The root of leaves (a non-empty list of 32-byte hashes), and each
    leaf's proof: the nodes it is paired with, from its own level up.
    """
    levels = levelsOf(leaves)
    return levels[-1][0], [proofOf(levels, index) for index in range(len(leaves))]


def levelsOf(leaves):
    """Every level of the tree of leaves, bottom up: the leaves first,
    the root alone last."""
    level = list(leaves)
    levels = [level]
    while len(level) > 1:
        above = [parentOf(level[at], level[at + 1]) for at in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            above.append(level[-1])
        levels.append(above)
        level = above
    return levels


def proofOf(levels, index):
    """
    The proof of leaf ``index``: at each level below the root, the node
    its own is paired with (the one beside it, ``index ^ 1``), if any; an
    odd one out goes up unpaired.  ``levels`` may be the nodes'
    texts, level for level, as well as the nodes.
    """
    proof = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index >>= 1
    return proof


def rootSigned(root):
    """The bytes a batch's signature signs."""
    return ROOT_LABEL + root


#: What a message's signed bytes hold before its canonical text.
SIG_LABEL = b"bazaar-sig:"


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _text(data):
    """Bytes as unpadded base64url, as bytes (the wire's text of a hash
    or a signature, ASCII): C calls only, as ``base64.urlsafe_b64encode``
    would make through two Python ones."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


#: Pieces kept, at most, of each kind (then forgotten all at once).
PIECES_KEPT = 4096
_around, _items = {}, {}


def leafText(key, message):
    """
    The leaf's text of a message with ``key`` (L{leafOf}): ``bazaar-sig:``
    and its canonical encoding.  A ``buyOK`` naming no file is written
    from pieces of that text kept per buyer (its key and path, with
    ``key`` and its type) and per item, its count and id between them,
    rather than as a dict encoded anew (docs/benchmarks.md, "A buyOK's
    text from kept pieces"): the same bytes, since the canonical
    encoding is each field's text in the order of their names.
    """
    count = getattr(message, "count", None)
    if (message.TYPE != "buyOK" or message.sha256 is not None
            or message.size is not None or type(message.id) is not int
            or (count is not None and type(count) is not int)):
        fields = message.asDict()
        fields["key"] = key
        return canonicalFields(fields, SIG_LABEL)
    around = _around.get((key, message.buyer_key, message.path))
    if around is None:
        around = _keep(_around, (key, message.buyer_key, message.path),
                       _aroundOf(key, message.asDict()))
    item = _items.get(message.item)
    if item is None:
        item = _keep(_items, message.item, _piece("item", message.item))
    middle = (b'"id":%d,' % message.id if count is None
              else b'"count":%d,"id":%d,' % (count, message.id))
    return b"".join((around[0], middle, item, around[1]))


def _aroundOf(key, fields):
    """The text of a buyOK's leaf before its count (``bazaar-sig:``, its
    opening brace, its ``buyerKey``) and after its item (``key``,
    ``path``, ``type``, its closing brace), from its wire fields."""
    head = SIG_LABEL + b"{"
    if "buyerKey" in fields:
        head += _piece("buyerKey", fields["buyerKey"]) + b","
    return head, b"," + b",".join((_piece("key", key), _piece("path", fields["path"]),
                                    _piece("type", fields["type"]))) + b"}"


def _piece(name, value):
    """One field's canonical text: the object's of that field alone, its
    braces off."""
    return canonicalJSON({name: value})[1:-1]


def _keep(kept, name, value):
    if len(kept) >= PIECES_KEPT:
        kept.clear()
    kept[name] = value
    return value


def payloadsOf(key, sign, messages):
    """
    The wire payloads of messages (of a kind with a ``proof``, unsigned),
    with ``key``, under one batch signature that ``sign`` (bytes -> 64
    bytes of Ed25519 signature) makes over their root.

    Each payload is the canonical text the message's leaf hashes, its
    keys sorted, then ``proof`` and ``sig``: JSON whose fields decode to
    those of the message signed (L{Identity.signedBatch}), in another
    order, which a JSON object does not carry.
    """
    texts, leaves = [], []
    for message in messages:
        text = leafText(key, message)
        texts.append(text)
        leaves.append(_sha256(_LEAF + text).digest())
    levels = levelsOf(leaves)
    end = b'],"sig":"' + _text(sign(rootSigned(levels[-1][0]))) + b'"}'
    start = len(SIG_LABEL)
    return [b"".join((text[start:-1], b',"proof":[', proof, end))
            for text, proof in zip(texts, proofTexts(levels))]


def proofTexts(levels):
    """
    Every leaf's proof (L{proofOf}) as the text of a JSON list's items:
    its nodes' texts, quoted, joined by commas.  Built from the root
    down, once per node rather than once per leaf and level: the proof
    of a node is the text of the node beside it, then the proof of their
    parent (an odd one out has its parent's proof alone).
    """
    above = [b""]  # the root's: nothing
    for level in reversed(levels[:-1]):
        written = [b'"' + _text(node) + b'"' for node in level]
        proofs = []
        for at in range(0, len(written) - 1, 2):
            tail = above[at >> 1]
            if tail:
                tail = b"," + tail
            proofs += (written[at + 1] + tail, written[at] + tail)
        if len(written) % 2:
            proofs.append(above[-1])
        above = proofs
    return above
