"""
Tests of L{twisted_bazaar.net.overlay}: what a node's link table tells
of its links, read only.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.overlay import DIRECT, OVERLAY

from tests.helpers import closeLink, linkPeer, makeNode, openLink

class TableTests(SynchronousTestCase):
    """What the table says of the links it holds."""

    def test_closedLinkForgetsAddress(self):
        """A peer's address is kept while it is linked, not after: a node
        that sees many peers come and go does not grow without bound."""
        node = makeNode(1)
        link = linkPeer(node, 7, port=5007)
        self.assertEqual(node.overlay.addresses[7][1], 5007)
        closeLink(link)
        self.assertEqual(node.overlay.addresses, {})

    def test_linksByPurpose(self):
        """What a view reads (the metrics' links by purpose): established
        links of each purpose, 0 for a purpose the node takes but has
        none of; links in their handshake do not count."""
        node = makeNode(1, max_connections=2, direct_slots=1)
        node.addPurpose("status", 2)
        self.assertEqual(node.linksByPurpose(), {OVERLAY: 0, DIRECT: 0, "status": 0})
        linkPeer(node, 7), linkPeer(node, 9, purpose=DIRECT)
        openLink(node)
        self.assertEqual(node.linksByPurpose(), {OVERLAY: 1, DIRECT: 1, "status": 0})
        self.assertEqual((node.slotsFor(OVERLAY), node.slotsFor("chord")), (2, 0))
