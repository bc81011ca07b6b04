"""Tests for L{twisted_bazaar.files.tree}: a file's identity, against the
worked example of docs/protocol.md §19 and the definition there."""

import hashlib
import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import hashing
from twisted_bazaar.files.hashing import digestFile
from twisted_bazaar.files.tree import PAD, fileIdentity, treeRoot
from tests.files.helpers import MIB, fileId, scratchDir, writeFile

PROTOCOL = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "protocol.md")

#: The worked example of docs/protocol.md §19: 1 MiB of "a", 1 MiB of
#: "b", then "hello": three pieces of 1 MiB.
EXAMPLE = b"a" * MIB + b"b" * MIB + b"hello"
EXAMPLE_VALUES = {
    "leaf 0": "9bc1b2a288b26af7257a36277ae3816a7d4f16e89c1e7e77d0a5c48bad62b360",
    "leaf 1": "e56ec8dc1862be6c09c53620cbc0f00f639de2a51c882745fbbc4e144714b3c2",
    "leaf 2": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    "node 01": "b9db8295d2307c9ee33ef928fe202eed57fcde6262cb517f9bfeb0119a8b016d",
    "node 23": "708e4f4f4118dd8742d4d67814dc1ece8dab58bd61e9da411faf9c537f0b966f",
    "root": "5b011bbd20ef1ca13f4e9fd9e64792ab23007d34d0c955f8e3e6d6fcdac6fdf2",
    "identity": "164027b582c5b774ddb482fe112df6b73a20af2fcacae557e4401111818dbe78",
}
#: The 5-byte file "hello" of §19.2.
HELLO = "1a56ab0275278519c8a3aa258f26d006fdca57fa850f836cb0a47a983474c3d8"


def sha(data):
    return hashlib.sha256(data).digest()


class WorkedExampleTests(SynchronousTestCase):
    def test_everyStepOfTheExample(self):
        leaves = [sha(EXAMPLE[i:i + MIB]) for i in range(0, len(EXAMPLE), MIB)]
        node01, node23 = sha(leaves[0] + leaves[1]), sha(leaves[2] + bytes(32))
        got = {"leaf 0": leaves[0], "leaf 1": leaves[1], "leaf 2": leaves[2],
               "node 01": node01, "node 23": node23, "root": treeRoot(leaves)}
        self.assertEqual({name: value.hex() for name, value in got.items()},
                         {name: value for name, value in EXAMPLE_VALUES.items()
                          if name != "identity"})
        self.assertEqual(fileIdentity(len(EXAMPLE), MIB, leaves),
                         EXAMPLE_VALUES["identity"])

    def test_seller(self):
        """The seller's one read pass gives the same pieces, root and
        identity."""
        digest = digestFile(writeFile(scratchDir(self), "example", EXAMPLE))
        self.assertEqual((digest.piece_size, len(digest.pieces)), (MIB, 3))
        self.assertEqual(digest.root.hex(), EXAMPLE_VALUES["root"])
        self.assertEqual(digest.sha256, EXAMPLE_VALUES["identity"])

    def test_theDocumentSaysTheSame(self):
        """Every value the test checks is the one printed in §19."""
        with open(PROTOCOL, encoding="utf-8") as f:
            text = f.read()
        section = text[text.index("## 19. File transfer"):text.index("## 20.")]
        for name, value in dict(EXAMPLE_VALUES, hello=HELLO).items():
            self.assertIn(value, section, name)

    def test_theDocumentTellsTheContentIdFromSha256sum(self):
        """§19.4 prints what sha256sum gives for the example, which is not
        its content id, and names the wire's field for what it holds."""
        with open(PROTOCOL, encoding="utf-8") as f:
            text = f.read()
        section = text[text.index("### 19.4"):text.index("## 20.")]
        plain = hashlib.sha256(EXAMPLE).hexdigest()
        self.assertIn(f"`sha256sum` prints another value for each: for this file\n`{plain}`",
                      section)
        self.assertNotEqual(plain, EXAMPLE_VALUES["identity"])
        self.assertIn("### 19.4 A file's content id (the wire's `sha256`)", section)

    def test_helperFollowsTheDefinition(self):
        """The tests' own helper, written from the document, gives the
        example's identity, and the hello file's of §19.2."""
        self.assertEqual(fileId(EXAMPLE), EXAMPLE_VALUES["identity"])
        self.assertEqual(fileId(b"hello"), HELLO)


class TreeTests(SynchronousTestCase):
    def test_oneLeafIsTheRoot(self):
        self.assertEqual(treeRoot([b"x" * 32]), b"x" * 32)

    def test_paddedToAPowerOfTwo(self):
        leaves = [sha(bytes([n])) for n in range(5)]
        padded = leaves + [PAD] * 3
        self.assertEqual(treeRoot(leaves), treeRoot(padded))
        self.assertNotEqual(treeRoot(leaves), treeRoot(leaves[:4]))

    def test_identityBindsSizeAndPieceSize(self):
        pieces = [sha(b"x")]
        ids = {fileIdentity(1, MIB, pieces), fileIdentity(2, MIB, pieces),
               fileIdentity(1, 2 * MIB, pieces)}
        self.assertEqual(len(ids), 3)

    def test_codeMatchesTheHelper(self):
        """Sizes around the piece boundaries and powers of two, with small
        pieces (the seller's digest against the document's definition)."""
        self.patch(hashing, "MIN_PIECE", 16)
        self.patch(hashing, "MAX_PIECES", 8)
        folder = scratchDir(self)
        rng = random.Random(3)
        for size in (0, 1, 15, 16, 17, 32, 33, 48, 64, 65, 127, 128, 129, 300):
            data = rng.randbytes(size)
            digest = digestFile(writeFile(folder, "f", data))
            self.assertEqual(digest.sha256, fileId(data, digest.piece_size), size)
