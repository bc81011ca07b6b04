"""
Tests of L{twisted_bazaar.reach.bookaccount}: the account that bounds the
book of paths, which entry it holds, charged to whom, and which goes.
The words are written through the book (L{PathBook}), as the node's are;
the account's own tables are read.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.sparing import NOTHING
from twisted_bazaar.reach.book import PathBook
from twisted_bazaar.reach.bookaccount import KEPT, BookAccount
from twisted_bazaar.transports.path import CONFIGURED, SEEN, UDP, Path

from tests.helpers import nodeReply
from tests.reach.test_book import Owner

PEER = 0x77
RELAY = "198.51.100.1:7701"
OTHER = "198.51.100.2:7701"


def bookOf():
    return PathBook(Owner())


def strangersClaim(book, count, groups=("198.18", "198.19", "203.0", "100.64")):
    """count fresh keys, spread over four /16s, each claiming a relay on a
    link of its own (issue 82's attack: 1,100 of them)."""
    for n in range(count):
        book.claimed(0x100000 + n, RELAY, groups[n % len(groups)])


class AccountTests(SynchronousTestCase):
    """The book is an account: strangers' claims push out only claims,
    the heaviest group's first; the operator's paths never go."""

    def test_claimsDoNotPushOutAConfiguredPath(self):
        """The operator's --quic-peer path stays through 1,100 strangers'
        claims from four /16s (before: gone after about 1,024)."""
        book = bookOf()
        configured = Path(UDP, "203.0.113.9", 7801, word=CONFIGURED)
        book.add(PEER, configured)
        strangersClaim(book, 1100)
        self.assertEqual(book.paths(PEER), (configured,))
        self.assertEqual(len(book._peers), KEPT)

    def test_claimsDoNotPushOutTheTrackersWordOrAPunchedPath(self):
        """What the tracker named and a path a punch met stay through the
        claims: each claim past the bound pushes out a claim."""
        book = bookOf()
        book.trackerNamed(nodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        met = Path(UDP, "203.0.113.8", 40001, word=SEEN)
        book.add(0x78, met)
        strangersClaim(book, 1100)
        self.assertEqual(book.namedRelay(PEER), RELAY)
        self.assertEqual(book.paths(0x78), (met,))
        self.assertEqual(len(book._claims), KEPT - 2)

    def test_theHeaviestGroupsClaimsGoFirst(self):
        """Past the bound, the least lately written claim of the group
        holding most goes: a light group's claims stay."""
        book = bookOf()
        for n in range(KEPT - 24):
            book.claimed(1000 + n, RELAY, "198.18")
        for n in range(24):
            book.claimed(5000 + n, OTHER, "10.1")
        book.claimed(6000, OTHER, "10.1")
        self.assertIsNone(book.relayOf(1000))
        self.assertEqual(book.relayOf(1001), RELAY)
        self.assertEqual([book.relayOf(5000 + n) for n in range(24)] + [book.relayOf(6000)],
                         [OTHER] * 25)

    def test_theTrackersWordFreesAClaimOfItsCharge(self):
        """A peer the tracker names is no claim any more: it is not
        charged, and claims do not push it out."""
        book = bookOf()
        book.claimed(PEER, RELAY, "198.18")
        self.assertEqual(book._claims, {PEER: "198.18"})
        book.trackerNamed(nodeReply(PEER, "203.0.113.7", 9001, relay=RELAY))
        self.assertEqual(book._claims, {})
        book.claimed(PEER, OTHER, "198.18")
        self.assertEqual(book._claims, {})
        strangersClaim(book, 1100)
        self.assertEqual(book.namedRelay(PEER), RELAY)
        book.claimed(PEER, None)
        book.forgetNamed()
        self.assertNotIn(PEER, book._claims)

    def test_namedPeersGoBeforePunchedOnesAndConfiguredNever(self):
        """Past the bound with no claim held, the least lately named
        peer goes before a path a punch met; a configured one never."""
        book = bookOf()
        configured = Path(UDP, "203.0.113.9", 7801, word=CONFIGURED)
        met = Path(UDP, "203.0.113.8", 40001, word=SEEN)
        book.add(1, configured)
        book.add(2, met)
        for peer in range(KEPT + 10):
            book.trackerNamed(wire.NodeReply(100 + peer, "203.0.113.7", 9001))
        self.assertEqual((book.paths(1), book.paths(2)), ((configured,), (met,)))
        self.assertIsNone(book.namedHost(100))
        self.assertEqual(len(book._peers), KEPT)

    def test_onlyConfiguredPathsOutgrowTheBound(self):
        """The operator's own paths are kept past the bound: it chose them."""
        book = bookOf()
        for peer in range(KEPT + 5):
            book.add(peer, Path(UDP, "203.0.113.9", 7801 + peer % 100, word=CONFIGURED))
        self.assertEqual(len(book._peers), KEPT + 5)
        book.claimed(KEPT + 100, RELAY, "198.18")
        self.assertIsNone(book.relayOf(KEPT + 100))
        self.assertEqual(len(book._peers), KEPT + 5)

    def test_kept(self):
        """The KEPT peers written last are kept."""
        book = bookOf()
        for peer in range(KEPT + 1):
            book.trackerNamed(nodeReply(peer, "203.0.113.7", 9001, relay=RELAY))
        self.assertEqual((book.namedRelay(0), book.namedRelay(KEPT)), (None, RELAY))
        self.assertEqual(len(book._peers), KEPT)

    def test_declared(self):
        """The bound is the registry's book.peers."""
        from twisted_bazaar.base.limitregistry import LIMITS
        self.assertEqual((LIMITS["book.peers"].default, KEPT), (1024, 1024))


class TableTests(SynchronousTestCase):
    """The account's table alone, with no word of the book's: an entry
    written is held and charged, one emptied goes, and the tables with
    it."""

    def test_aClaimIsChargedUntilAnotherWord(self):
        """An entry written on a claim is charged to its group; written
        by another word, it is not."""
        account = BookAccount(Owner())
        held = account._write(PEER, "198.18")
        self.assertEqual(account._claims, {PEER: "198.18"})
        account._write(PEER)
        self.assertEqual((account._claims, account._peers), ({}, {PEER: held}))

    def test_anEmptiedEntryGoesAndTheTablesWithIt(self):
        """An entry holding nothing goes (L{BookAccount._drop}), and the
        tables are the shared empty one again; one holding a note stays."""
        account = BookAccount(Owner())
        self.assertTrue(account.empty())
        held = account._write(PEER, "198.18")
        account._drop(PEER, held)
        self.assertIs(account._peers, NOTHING)
        self.assertIs(account._claims, NOTHING)
        noted = account._write(PEER, unreached=300.0)
        account._drop(PEER, noted)
        self.assertFalse(account.empty())
