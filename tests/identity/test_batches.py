"""
Tests for L{twisted_bazaar.identity.batches} and batch signatures
(L{Identity.signedBatch}, L{signedBy}): every answer of a batch checks
alone, and nothing in it can be changed, moved or added.
"""

import hashlib
import random

import attr

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.identity import batches
from twisted_bazaar.identity.keys import Identity, encode, signedBy
from twisted_bazaar.wire.trade import BuyOK


def oks(seller, count, buyer=7):
    return [BuyOK(900 + n, "apple", (seller.id, buyer), buyer_key=None,
                  count=None if n % 3 else n + 2) for n in range(count)]


class LeafTextTests(SynchronousTestCase):
    """A buyOK's leaf text written from kept pieces is its canonical text."""

    def setUp(self):
        self.seller = Identity.fromRandom(random.Random(7))
        self.buyer = Identity.fromRandom(random.Random(8))

    def canonical(self, message):
        fields = message.asDict()
        fields["key"] = self.seller.key
        return wire.canonicalFields(fields, batches.SIG_LABEL)

    def test_theCanonicalTextToTheByte(self):
        """Buyer keys or none, counts or none, any item (quotes, escapes,
        non-ASCII text), keyed and keyless ids, large buy ids: each text,
        from pieces kept or new, is the dict's canonical encoding."""
        items = ["apple", 'say "hi"', "back\\slash", "äpfel ✓", "tab\tand\u0001"]
        paths = [(self.seller.id, self.buyer.id), (self.seller.id, 9, self.buyer.id),
                 (self.seller.id, 7)]
        for n, (item, path, key, count) in enumerate(
                (item, path, key, count) for item in items for path in paths
                for key in (None, self.buyer.key) for count in (None, 1, 40)):
            for buy_id in (n, 2**53 + n):
                ok = BuyOK(buy_id, item, path, buyer_key=key, count=count)
                self.assertEqual(batches.leafText(self.seller.key, ok), self.canonical(ok))

    def test_aFileIsWrittenFieldByField(self):
        """A buyOK naming a file's content (sha256, size) has the fields
        no kept piece holds: its text is the canonical one too."""
        ok = BuyOK(5, "song.ogg", (self.seller.id, self.buyer.id),
                   buyer_key=self.buyer.key, sha256="ab" * 32, size=1234)
        self.assertEqual(batches.leafText(self.seller.key, ok), self.canonical(ok))

    def test_everyFieldOfABuyOKIsPieced(self):
        """The pieces hold every field a buyOK has but a file's: a field
        added to BuyOK must be added to L{batches.leafText} too (else its
        text would leave the field out, and no buyer could check it)."""
        self.assertEqual(set(attr.fields_dict(BuyOK)),
                         {"id", "item", "path", "buyer_key", "count", "key", "sig", "proof",
                          "sha256", "size"})

    def test_piecesKeptAreBounded(self):
        """Buyers and items without end keep at most PIECES_KEPT pieces of
        each kind; texts stay right across the forgetting."""
        self.patch(batches, "PIECES_KEPT", 3)
        for n in range(10):
            ok = BuyOK(n, f"item {n}", (self.seller.id, 100 + n), buyer_key=None)
            self.assertEqual(batches.leafText(self.seller.key, ok), self.canonical(ok))
            self.assertLessEqual(len(batches._around), 3)
            self.assertLessEqual(len(batches._items), 3)


class TreeTests(SynchronousTestCase):
    def test_everyProofLeadsToTheRoot(self):
        """For batches of 1 to 40 leaves, each leaf's proof leads to the
        root, and no longer than the tree is deep."""
        for size in range(1, 41):
            leaves = [hashlib.sha256(b"%d" % n).digest() for n in range(size)]
            root, proofs = batches.treeOf(leaves)
            for leaf, proof in zip(leaves, proofs):
                self.assertEqual(batches.rootOf(leaf, proof), root)
                self.assertLessEqual(len(proof), (size - 1).bit_length())

    def test_proofTextsAreEachLeafsProof(self):
        """The proofs' texts, built from the root down once per node, are
        each leaf's proof (proofOf), quoted and joined by commas: for
        batches of 1 to 40 leaves, odd ones out at every level included."""
        for size in range(1, 41):
            leaves = [hashlib.sha256(b"%d" % n).digest() for n in range(size)]
            levels = batches.levelsOf(leaves)
            expected = [b",".join(b'"' + batches._text(node) + b'"'
                                  for node in batches.proofOf(levels, index))
                        for index in range(size)]
            self.assertEqual(batches.proofTexts(levels), expected, size)

    def test_textIsUnpaddedBase64url(self):
        """A node's text is its unpadded base64url, as the keys' encode
        writes it."""
        for data in (b"", b"\xfb\xff", b"\xff" * 32, bytes(range(64))):
            self.assertEqual(batches._text(data).decode(), encode(data))

    def test_oneLeaf(self):
        """A batch of one is its leaf, with an empty proof."""
        leaf = hashlib.sha256(b"one").digest()
        self.assertEqual(batches.treeOf([leaf]), (leaf, [[]]))

    def test_parentSortsItsChildren(self):
        """A parent is SHA-256 of 0x01 and its two children, the smaller
        first."""
        a, b = b"\x00" * 32, b"\xff" * 32
        expected = hashlib.sha256(b"\x01" + a + b).digest()
        self.assertEqual(batches.parentOf(a, b), expected)
        self.assertEqual(batches.parentOf(b, a), expected)

    def test_leafLeavesOutSigAndProof(self):
        """A leaf is SHA-256 of 0x00 and the signed bytes of the message
        (as for a signature of its own), without its sig and proof."""
        fields = {"type": "buyOK", "id": 1, "item": "apple", "path": ["a", "b"],
                  "key": "k", "sig": "s", "proof": ["p"]}
        self.assertEqual(batches.leafOf(fields), hashlib.sha256(
            b'\x00bazaar-sig:{"id":1,"item":"apple","key":"k","path":["a","b"],'
            b'"type":"buyOK"}').digest())


class SignedBatchTests(SynchronousTestCase):
    def setUp(self):
        self.seller = Identity.fromRandom(random.Random(58))

    def test_eachChecksAlone(self):
        """Each buyOK of a batch, taken from the wire alone, is signed by
        the seller; all carry the one signature."""
        for size in (2, 3, 7, 16, 33):
            signed = self.seller.signedBatch(oks(self.seller, size))
            self.assertEqual(len({ok.sig for ok in signed}), 1)
            for ok in signed:
                alone = wire.decode(wire.encode(ok))
                self.assertEqual(alone, ok)
                self.assertTrue(signedBy(alone, self.seller.id))

    def test_payloadsAreTheirLeavesTexts(self):
        """Each payload a seller sends is its leaf's text (without
        ``bazaar-sig:``) with ``proof`` and ``sig`` before its last brace,
        and decodes to the buyOK signedBatch gives, non-ASCII text
        included."""
        messages = [attr.evolve(m, item="äpfel ✓") for m in oks(self.seller, 3)]
        payloads = self.seller.batchPayloads(messages)
        signed = self.seller.signedBatch(messages)
        for payload, ok in zip(payloads, signed):
            self.assertEqual(wire.decode(payload), ok)
            leafText = wire.canonical(attr.evolve(ok, proof=None))
            self.assertTrue(payload.startswith(leafText[len(b"bazaar-sig:"):-1] +
                                               b',"proof":["'), payload)
            self.assertTrue(signedBy(wire.decode(payload), self.seller.id))

    def test_payloadsOfEverySize(self):
        """For batches of 2 to 40, each payload decodes to the buyOK
        signedBatch gives (its proof from treeOf), and checks alone."""
        for size in range(2, 41):
            messages = oks(self.seller, size)
            payloads = self.seller.batchPayloads(messages)
            for payload, ok in zip(payloads, self.seller.signedBatch(messages)):
                self.assertEqual(wire.decode(payload), ok)
                self.assertTrue(signedBy(wire.decode(payload), self.seller.id))

    def test_sameFieldsAsSignedAlone(self):
        """Apart from sig and proof, a batch's buyOKs are those the seller
        signs alone."""
        messages = oks(self.seller, 5)
        for batched, alone in zip(self.seller.signedBatch(messages),
                                  [self.seller.signed(m) for m in messages]):
            self.assertEqual(attr.evolve(batched, sig=None, proof=None),
                             attr.evolve(alone, sig=None))

    def test_changedFieldRefused(self):
        """Any field of the answer changed, and it checks no more."""
        ok = self.seller.signedBatch(oks(self.seller, 4))[1]
        for change in ({"count": 5}, {"id": 1}, {"item": "pear"},
                       {"path": (self.seller.id, 8)}, {"buyer_key": self.seller.key},
                       {"sha256": "0" * 64, "size": 3}):
            self.assertFalse(signedBy(attr.evolve(ok, **change), self.seller.id), change)

    def test_proofChangedRefused(self):
        """A proof cut short, lengthened, reordered, with a node changed,
        or taken from another answer of the batch, checks nothing."""
        signed = self.seller.signedBatch(oks(self.seller, 5))
        ok, other = signed[0], signed[1]
        flipped = encode(bytes(32))
        for proof in (ok.proof[:-1], ok.proof + (flipped,), ok.proof[::-1],
                      (flipped,) + ok.proof[1:], other.proof, (), ("A" * 43,),
                      ("not base64url!" + "A" * 29,)):
            self.assertFalse(signedBy(attr.evolve(ok, proof=proof), self.seller.id),
                             proof)

    def test_withoutProofRefused(self):
        """A batch's signature without the proof signs nothing, and a
        signature of the answer alone with a proof added checks nothing."""
        ok = self.seller.signedBatch(oks(self.seller, 2))[0]
        self.assertFalse(signedBy(attr.evolve(ok, proof=None), self.seller.id))
        alone = self.seller.signed(oks(self.seller, 1)[0])
        self.assertFalse(signedBy(attr.evolve(alone, proof=()), self.seller.id))

    def test_otherSellerRefused(self):
        """A batch signed by one seller is no other's."""
        ok = self.seller.signedBatch(oks(self.seller, 2))[0]
        self.assertFalse(signedBy(ok, Identity.fromRandom(random.Random(1)).id))
