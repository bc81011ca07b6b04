"""
Tests of L{twisted_bazaar.testing.linking}: a test's link to a peer at an
address it names.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.linking import linkAt

from tests.helpers import makeNode


class LinkAtTests(SynchronousTestCase):
    def test_byIdTheBookFed(self):
        """With an id: the address heard as a peer's claim, then dialled
        by the id alone, which took the claim (the book empty again)."""
        node = makeNode(1)
        linkAt(node, "203.0.113.7", 9001, 0x78, namedBy="198.51.0.0/16")
        self.assertTrue(node.whereabouts.book.empty())
        [request] = node.connector.requests
        self.assertEqual((request.host, request.port), ("203.0.113.7", 9001))

    def test_whoeverAnswers(self):
        """With no id: dialled at the address, the book untouched."""
        node = makeNode(1)
        linkAt(node, "203.0.113.7", 9001)
        [request] = node.connector.requests
        self.assertEqual((request.host, request.port), ("203.0.113.7", 9001))
        self.assertIsNone(node.whereabouts._book)
