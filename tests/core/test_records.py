"""
Tests for twisted_bazaar.core.records (sellers' signed discovery records:
what a signature covers, who may replace what, the time bounds, a
seller's book of records) and the offers made of them
(twisted_bazaar.core.market).
"""

import json
import os
import re

import attr

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.clocks import SplitClock
from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar import wire
from twisted_bazaar.core.market import (
    Offer,
    fileDescription,
    recordedOffers,
    signedFile,
)
from twisted_bazaar.core.records import (
    CLOCK_SKEW,
    LABEL,
    MAX_LIFETIME,
    RecordBook,
    checkRecord,
    fittedSellers,
    live,
    newer,
    oneOfEachGroup,
    recordFault,
    verified,
)
from twisted_bazaar.identity.keys import Identity, signedBy, verify
from twisted_bazaar.reach.reachable.reachability import PRIVATE, Reachability
# The module that declares reply, for the example of §11.
from twisted_bazaar.schemes.flood import messages  # noqa: F401
from twisted_bazaar.schemes.index.messages import Found

from tests.helpers import clockStartMs, makeNode
from tests.records import PLAIN, PLAIN_WIRE, SHA, forged, identity, offerOf, signed

SELLER, OTHER = identity(1), identity(2)
SONG = {"size": 5, "sha256": SHA, "transfer": 9100}


class Plain:
    """A shop of an older kind, with no describe()."""


class Describing:
    def describe(self, item):
        return dict(SONG) if item == "song" else None


class SignedTextTests(SynchronousTestCase):
    def test_theSignatureCoversEveryFieldButItself(self):
        """The label, then the record's JSON object without sig, keys
        sorted, compact: the same canonical form as a signed message's."""
        record = signed(SELLER, "song", "10.0.0.4", 9004, issued=7, file=(5, SHA, 9100))
        fields = {"expires": 600007, "host": "10.0.0.4", "issued": 7, "item": "song",
                  "key": SELLER.key, "port": 9004, "seller": wireId(SELLER.id),
                  "sha256": SHA, "size": 5, "transfer": 9100}
        text = LABEL + json.dumps(fields, sort_keys=True,
                                  separators=(",", ":")).encode("utf-8")
        self.assertEqual(record.text(), text)
        self.assertTrue(verify(SELLER.key, record.sig, text))
        self.assertEqual(record.asDict(), dict(fields, sig=record.sig))

    def test_aPlainItemSignsNoFileFields(self):
        record = signed(SELLER, "apple")
        self.assertNotIn(b"sha256", record.text())
        self.assertEqual(record.file, ())

    def test_everyFieldIsCovered(self):
        record = signed(SELLER, "song", file=(5, SHA, 9100))
        self.assertTrue(verified(record))
        for change in ({"item": "tune"}, {"host": "x"}, {"port": 1}, {"size": 6},
                       {"sha256": "cd" * 32}, {"transfer": 1}, {"issued": 1},
                       {"expires": 1}, {"key": OTHER.key}, {"seller": OTHER.id}):
            self.assertFalse(verified(forged(record, **change)), change)
        self.assertFalse(verified(forged(record, size=None, sha256=None,
                                         transfer=None)))

    def test_aRecordSignatureIsNoMessageSignature(self):
        """The label keeps a record's signature from passing for a
        message's, and the other way round."""
        record = signed(SELLER, "apple")
        self.assertFalse(record.text().startswith(b"bazaar-sig:"))
        self.assertFalse(verify(SELLER.key, record.sig,
                                b"bazaar-sig:" + record.text()[len(LABEL):]))


class WireTests(SynchronousTestCase):
    def test_roundTrip(self):
        self.assertEqual(checkRecord(PLAIN_WIRE, "r"), PLAIN)
        record = signed(SELLER, "song", file=(5, SHA, 9100))
        self.assertEqual(checkRecord(json.loads(json.dumps(record.asDict())), "r"),
                         record)

    def test_badRecords(self):
        cases = [
            ([], "r must be a record object"),
            ({k: v for k, v in PLAIN_WIRE.items() if k != "issued"}, "r lacks issued"),
            (dict(PLAIN_WIRE, issued=None), "r lacks issued"),
            (dict(PLAIN_WIRE, size=5), "r must have all of size, sha256 and transfer, "
                                       "or none"),
            (dict(PLAIN_WIRE, issued=2**53 + 1),
             "r.issued must be milliseconds from 0 to 2^53, not 9007199254740993"),
            (dict(PLAIN_WIRE, sig="s" * 85), "r.sig must be 86 to 86 bytes, not 85"),
            (dict(PLAIN_WIRE, port=True), "r.port must be an integer from 0 to 65535"),
        ]
        for value, info in cases:
            with self.assertRaises(wire.ProtocolError, msg=value) as caught:
                checkRecord(value, "r")
            self.assertEqual(caught.exception.info, info)


class FaultTests(SynchronousTestCase):
    def test_aGoodRecord(self):
        self.assertIsNone(recordFault(signed(SELLER), clockStartMs() / 1000, SELLER.id,
                                      "apple",
                                      alive=True))

    def test_faults(self):
        start = clockStartMs()
        record = signed(SELLER, issued=start + 10_000)
        at = start / 1000 + 10.0
        cases = [
            ((record, at, OTHER.id), f"it is node {shortId(SELLER.id)}'s record, not node "
                                     f"{shortId(OTHER.id)}'s"),
            ((record, at, None, "pear"), "it is a record of another item"),
            ((record, at - CLOCK_SKEW - 1),
             "it was issued 61 s in the future: its seller's clock is about that far "
             "ahead of the clock that checked it (more than the 60 s allowed)"),
            ((record, at - 3600),
             "it was issued 3,600 s in the future: its seller's clock is about that far "
             "ahead of the clock that checked it (more than the 60 s allowed)"),
            ((signed(SELLER, lifetime=MAX_LIFETIME + 0.001), start / 1000),
             "it lives longer than 3600 s"),
            ((forged(record, port=1), at),
             f"it is not signed by the key of node {shortId(SELLER.id)}"),
            ((forged(signed(OTHER), seller=SELLER.id), at),
             f"it is not signed by the key of node {shortId(SELLER.id)}"),
        ]
        for args, fault in cases:
            self.assertEqual(recordFault(*args), fault, args)

    def test_issuedWithinTheSkewIsTaken(self):
        self.assertIsNone(recordFault(signed(SELLER, issued=70_000), 10.0))

    def test_alive(self):
        start = clockStartMs()
        at = start / 1000
        record = signed(SELLER, lifetime=10)
        self.assertIsNone(recordFault(record, at + 10.0))
        self.assertEqual(recordFault(record, at + 10.0, alive=True), "it has expired")
        withdrawal = signed(SELLER, issued=start + 5, lifetime=0)
        self.assertTrue(withdrawal.withdrawn)
        self.assertEqual(recordFault(withdrawal, at, alive=True), "it has expired")
        self.assertEqual((live(record, at + 9.999), live(withdrawal, at)), (True, False))

    def test_newerWins(self):
        old, new = signed(SELLER, issued=1), signed(SELLER, issued=2)
        self.assertEqual((newer(new, old), newer(old, new), newer(old, old)),
                         (True, False, True))
        self.assertFalse(newer(signed(SELLER, issued=1, port=2), old))


class RecordBookTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1000)
        #: Where the clock started, in ms (tests/conftest.py's --clock-start).
        self.start = clockStartMs()
        self.book = RecordBook(SELLER, self.clock)

    def test_signedOnceWhileNothingChanges(self):
        """The same record is sent again until a quarter of its validity
        has gone; it is then signed anew, with half its validity left at
        the next renewal at the latest."""
        first = self.book.record("song", "h", 1, SONG)
        self.assertEqual((first.seller, first.key, first.issued, first.expires,
                          first.file), (SELLER.id, SELLER.key, self.start + 1_000_000,
                                        self.start + 1_600_000, (5, SHA, 9100)))
        self.assertTrue(verified(first))
        self.clock.advance(149.999)
        self.assertIs(self.book.record("song", "h", 1, SONG), first)
        self.clock.advance(0.001)
        again = self.book.record("song", "h", 1, SONG)
        self.assertEqual(again.issued, self.start + 1_150_000)
        self.assertEqual(self.book.renewal, 300.0)

    def test_datedByTheWallClock(self):
        """A record's issue and expiry (signed, and checked by other
        machines) are the seller's wall clock's, not its timers' clock's:
        one stepped back 600 s signs 600 s earlier."""
        clock = SplitClock()
        clock.advance(1000)
        clock.stepWall(-600)
        record = RecordBook(SELLER, clock).record("song", "h", 1, SONG)
        self.assertEqual((record.issued, record.expires),
                         (self.start + 400_000, self.start + 1_000_000))

    def test_signedAnewWhenWhatItSaysChanges(self):
        first = self.book.record("song", "h", 1, SONG)
        for host, port, described in (("h", 1, dict(SONG, size=6)), ("g", 1, SONG),
                                      ("h", 2, SONG), ("h", 1, None)):
            record = self.book.record("song", host, port, described)
            self.assertGreater(record.issued, first.issued)
            self.assertEqual((record.host, record.port, record.size),
                             (host, port, described and described["size"]))
            first = record

    def test_relaySigned(self):
        """A record names the relay its seller is reached through, under
        its signature: one whose relay was changed does not verify, and
        a new relay is signed anew; the relay travels on the wire."""
        plain = self.book.record("song", "h", 1, SONG)
        relayed = self.book.record("song", "h", 1, SONG, "203.0.113.1:7701")
        self.assertGreater(relayed.issued, plain.issued)
        self.assertEqual(relayed.relay, "203.0.113.1:7701")
        self.assertTrue(verified(relayed))
        self.assertFalse(verified(attr.evolve(relayed, relay="198.51.100.6:1")))
        self.assertFalse(verified(attr.evolve(relayed, relay=None)))
        self.assertEqual(checkRecord(relayed.asDict(), "record"), relayed)
        self.assertNotIn("relay", plain.asDict())

    def test_lanSigned(self):
        """A LAN-only seller's record names the host it is LAN-only behind,
        under a signature of its own (lanSig): a mark changed, added or
        left unsigned does not verify, and a new mark is signed anew; it
        travels on the wire, and a record without it reads as before.
        Taken out with its signature, it leaves the record an older node
        holds and names (test_anOlderNodeTakesAMarkedRecord)."""
        plain = self.book.record("song", "h", 1, SONG)
        marked = self.book.record("song", "h", 1, SONG, lan="203.0.113.9")
        self.assertGreater(marked.issued, plain.issued)
        self.assertTrue(verified(marked))
        self.assertFalse(verified(attr.evolve(marked, lan="198.51.100.6")))
        self.assertFalse(verified(attr.evolve(marked, lanSig=None)))
        self.assertFalse(verified(attr.evolve(plain, lan="203.0.113.9")))
        self.assertFalse(verified(attr.evolve(plain, lan="203.0.113.9",
                                              lanSig=marked.lanSig)))
        self.assertFalse(verified(attr.evolve(marked, lan="203.0.113.9",
                                              lanSig=marked.sig)))
        self.assertTrue(verified(attr.evolve(marked, lan=None, lanSig=None)))
        self.assertEqual(checkRecord(marked.asDict(), "record"), marked)
        self.assertEqual({key: marked.asDict()[key] for key in ("lan", "lanSig")},
                         {"lan": "203.0.113.9", "lanSig": marked.lanSig})
        self.assertNotIn("lan", plain.asDict())
        self.assertIsNone(checkRecord(plain.asDict(), "record").lan)
        stray = dict(plain.asDict(), lanSig=marked.lanSig)
        self.assertEqual(checkRecord(stray, "record"), plain)

    def test_anOlderNodeTakesAMarkedRecord(self):
        """A node of 12-01 (28a25090) and before reads none of lan and
        lanSig (other keys are ignored) and checks sig over the rest: a
        LAN-only seller's record passes that check, so its holders of
        that version store it and its buyers there offer it (a record
        whose sig covered lan was refused, "not signed by the key of
        node ID").  The old rule, as 28a25090's records.py has it (its
        _FIELDS and Record.signed), below."""
        marked = self.book.record("song", "h", 1, SONG, lan="203.0.113.9",
                                  relay="203.0.113.1:7701")
        oldFields = ("item", "seller", "host", "port", "size", "sha256", "transfer",
                     "issued", "expires", "key", "paths")
        wired = json.loads(json.dumps(marked.asDict()))
        read = {key: wired[key] for key in oldFields if key in wired}
        self.assertTrue(verify(wired["key"], wired["sig"],
                               wire.canonicalFields(read, b"bazaar-record:")))
        self.assertTrue(verified(checkRecord(read | {"sig": wired["sig"]}, "record")))
    def test_issueTimesOnlyGrow(self):
        """Records signed within one millisecond, a withdrawal included,
        still replace each other in order."""
        record = self.book.record("song", "h", 1, SONG)
        withdrawal = self.book.withdrawal("song", "h", 1)
        back = self.book.record("song", "h", 1, SONG)
        self.assertEqual([r.issued for r in (record, withdrawal, back)],
                         [self.start + ms for ms in (1_000_000, 1_000_001, 1_000_002)])
        self.assertTrue(withdrawal.withdrawn and newer(withdrawal, record)
                        and newer(back, withdrawal))

    def test_aNodeWithoutAKeySignsNothing(self):
        book = RecordBook(None, self.clock)
        self.assertRaises(RuntimeError, book.record, "song", "h", 1)


class OfferTests(SynchronousTestCase):
    def test_fileDescription(self):
        self.assertIsNone(fileDescription(Plain(), "song"))
        self.assertEqual(fileDescription(Describing(), "song"), SONG)
        self.assertIsNone(fileDescription(Describing(), "apple"))

    def test_offersOnlyFromTheSellersOwnLiveRecords(self):
        node = makeNode(identity(7).id, identity=identity(7))
        node.clock.advance(10)
        issued = clockStartMs() + 10_000
        good = signed(SELLER, "song", "10.0.0.4", 9004, issued=issued,
                      file=(5, SHA, 9100))
        others = [signed(identity(7), "song", issued=issued),
                  forged(signed(OTHER, "song", issued=issued), transfer=1),
                  signed(OTHER, "song", lifetime=5),
                  signed(OTHER, "tune", issued=issued)]
        offers = recordedOffers(node, "song", [(record, None, None, None)
                                               for record in others + [good]])
        self.assertEqual(offers, [Offer(SELLER.id, (node.id, SELLER.id), "10.0.0.4", 9004,
                                        5, SHA, 9100, good)])
        [checked] = recordedOffers(node, "song", [(good, "checked.example", 1,
                                                   "198.51.0.0/16")])
        self.assertEqual((checked.host, checked.port, checked.transfer, checked.namedBy),
                         ("checked.example", 1, 9100, "198.51.0.0/16"))

    def test_aLanOnlySellerIsOfferedOnlyBehindItsHost(self):
        """A record marked LAN-only behind a host is an offer to a buyer
        seen at that host (a classmate, who dials it at its local
        address), and to no other (nothing there reaches it): that one
        says why in one line, and dials nothing."""
        node = makeNode(identity(7).id, identity=identity(7))
        issued = clockStartMs()
        lan_only = RecordBook(SELLER, node.clock).record(
            "song", "203.0.113.9", 9004, lan="203.0.113.9")
        other = signed(OTHER, "song", "198.51.100.4", 9004, issued=issued)
        sellers = [(record, None, None, None) for record in (lan_only, other)]
        for seen, offered in (("203.0.113.9", [SELLER.id, OTHER.id]),
                              ("198.51.100.2", [OTHER.id]), ("", [OTHER.id])):
            node.reach = Reachability(PRIVATE, seen_host=seen)
            with capturedLogs() as events:
                offers = recordedOffers(node, "song", sellers)
            self.assertEqual([offer.seller for offer in offers], offered, seen)
            lines = [formatEvent(event) for event in events]
            if len(offered) == 2:
                self.assertEqual(lines, [])
                continue
            self.assertEqual(lines, [
                f"not dialling node {shortId(SELLER.id)}, a seller of 'song': its "
                "record says it is LAN-only, reached only by nodes seen at "
                f"203.0.113.9, and this node is seen at {seen or 'no host yet'}"])

    def test_signedFile(self):
        honest = offerOf(signed(SELLER, "song", file=(5, SHA, 9100)))
        self.assertTrue(signedFile(honest))
        for bad in (Offer(SELLER.id, (9, SELLER.id), "h", 1, 5, SHA, 9100),
                    offerOf(forged(honest.record, sha256="cd" * 32)),
                    Offer(OTHER.id, (9, OTHER.id), "h", 1, 5, SHA, 9100, honest.record),
                    Offer(SELLER.id, (9, SELLER.id), "h", 1, 6, SHA, 9100,
                          honest.record)):
            self.assertFalse(signedFile(bad), bad)


class DocumentedExampleTests(SynchronousTestCase):
    """The record of docs/protocol.md §11a, and the reply of §11 that
    carries it, are what this code signs and checks."""

    def section(self, number):
        path = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                            "protocol.md")
        with open(path, encoding="utf-8") as f:
            return f.read().split(f"\n## {number} ")[1].split("\n## ")[0]

    def test_theRecordExample(self):
        section = self.section("11a.")
        [text] = re.findall(r"^bazaar-record:\{.*\}$", section, re.M)
        [obj] = re.findall(r"^\{\"item\".*\}$", section, re.M)
        record = checkRecord(json.loads(obj), "example")
        self.assertEqual(record.text(), text.encode("utf-8"))
        seller = Identity(Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
        self.assertEqual((record.key, record.seller), (seller.key, seller.id))
        self.assertTrue(verified(record))
        self.assertEqual(seller.sign(record.text()), record.sig)

    def test_theReplyExample(self):
        [frame] = re.findall(r"^S → B\s+(\d+):(\{.*\}),$", self.section("11."), re.M)
        payload = frame[1].encode("utf-8")
        self.assertEqual(int(frame[0]), len(payload))
        reply = wire.decode(payload)
        self.assertEqual(wire.encode(reply), payload)
        self.assertTrue(signedBy(reply, reply.seller))
        self.assertIsNone(recordFault(reply.record, 1_700_000_000.0, reply.seller,
                                      reply.item, alive=True))


class FairAnswerTests(SynchronousTestCase):
    """fittedSellers and oneOfEachGroup: answers that name sellers."""

    def test_oneOfEachGroupFirst(self):
        groups = {1: "a", 2: "a", 3: "a", 4: "b", 5: "c", 6: "b"}
        self.assertEqual(oneOfEachGroup([1, 2, 3, 4, 5, 6], groups.get),
                         [1, 4, 5, 2, 6, 3])

    def test_fittedKeepsTheFirstThatFit(self):
        sellers = tuple((identity(n).id, "h", 9000 + n,
                         signed(n, "apple", host="\x01" * 255)) for n in range(1, 65))
        answer = Found("apple", sellers)
        self.assertIs(fittedSellers(answer, 1 << 20), answer)
        fitted = fittedSellers(answer, 16 * 1024)
        kept = len(fitted.sellers)
        self.assertLessEqual(len(wire.encode(fitted)), 16 * 1024)
        self.assertEqual(fitted.sellers, sellers[:kept])
        self.assertGreater(len(wire.encode(attr.evolve(answer, sellers=sellers[:kept + 1]))),
                           16 * 1024)

    def test_fittedCountsTheLanMark(self):
        """A record's lan and lanSig count in the bound on an answer's size:
        sellers whose marks fill most of it are cut to a frame all the
        same (before, the bound left the mark out, and the answer went
        whole, over the limit)."""
        sellers = tuple((identity(n).id, "h", 9000 + n, signed(n, lan="\x01" * 255))
                        for n in range(1, 13))
        fitted = fittedSellers(Found("apple", sellers), 16 * 1024)
        self.assertLessEqual(len(wire.encode(fitted)), 16 * 1024)
        self.assertLess(len(fitted.sellers), len(sellers))
