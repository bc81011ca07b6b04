"""
Tests of L{twisted_bazaar.net.overlay}: what a node's link table tells
of its links, read only.
"""

import pathlib
import re
import sys

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from twisted_bazaar.net.overlay import DIRECT, OVERLAY, Overlay

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

    def test_connectedInOrder(self):
        """The inbound links and when each connected, in the order they
        connected (eviction's ties go by it), a lost one forgotten wherever
        it stood; an outbound link has no time."""
        clock = Clock()
        start = clock.seconds()
        node = makeNode(1, clock=clock)
        first = linkPeer(node, 7)
        clock.advance(1)
        second = openLink(node)
        clock.advance(1)
        third = linkPeer(node, 9)
        outbound = linkPeer(node, 11, inbound=False)
        self.assertEqual(list(node.overlay.connected()),
                         [(first, start), (second, start + 1.0), (third, start + 2.0)])
        self.assertEqual((node.overlay.connectedAt(second), node.overlay.connectedAt(outbound)),
                         (start + 1.0, None))
        closeLink(second)
        self.assertEqual(list(node.overlay.connected()),
                         [(first, start), (third, start + 2.0)])
        self.assertIsNone(node.overlay.connectedAt(second))

    def test_connectedTimesCostTheirEntries(self):
        """When the inbound links connected is held in 16 bytes a link
        over an empty tuple's (the shared one for none): a dict of them
        took 193 bytes a warm index node for its two inbound links, about
        120 more."""
        node = makeNode(1)
        self.assertIs(node.overlay.since, ())
        linkPeer(node, 7), linkPeer(node, 9)
        self.assertLessEqual(sys.getsizeof(node.overlay.since), sys.getsizeof(()) + 2 * 16)

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

    def test_admissionAsksNoLinkOut(self):
        """Admission's count of a purpose's links, its slots held and the
        crowd test before a dial (and the topology's) are the table's own
        views: no link is handed out through L{Overlay.linkEnds}, which a
        quiet link held as one record (issue 95 item 3) would answer by
        making its links, at a third of a warm index run's nodes."""
        clock = Clock()
        node = makeNode(1, clock=clock, max_connections=2)
        crowd = [linkPeer(node, peer, source="203.0.113.9") for peer in (7, 9)]
        clock.advance(30)
        linkPeer(node, 11, purpose=DIRECT, source="198.51.100.1")
        handed = []
        self.patch(Overlay, "linkEnds", lambda overlay: handed.append(overlay) or iter(()))
        overlay = node.overlay
        self.assertEqual((overlay.count(OVERLAY), overlay.held(OVERLAY),
                          overlay.count(DIRECT)), (2, 2, 1))
        self.assertEqual((overlay.crowd(OVERLAY), node.crowd(OVERLAY)),
                         ("203.0.0.0/16",) * 2)
        self.assertIsNone(overlay.admission.refusesDial(overlay, OVERLAY))
        self.assertTrue(any(link.closing for link in crowd))
        self.assertEqual(overlay.count(OVERLAY), 1)
        self.assertIsNone(overlay.crowd(OVERLAY))
        self.assertEqual(handed, [])

#: How a part outside the link table could read the table itself: a
#: node's, a dialer's or an overlay's ``links`` or its ``established()``.
_TABLE_READ = re.compile(
    r"\b(?:node|overlay|table|dialer|links)\.(?:links\b(?!\s*\()|established\(\))")


class ReadThroughItsMethodsTests(SynchronousTestCase):
    """The node's parts read its established links through the table's
    own methods, each the view it needs: so that what stands for a link
    in the table is the table's to choose."""

    def test_theViews(self):
        """A link by its peer (None for a peer not linked), every link and
        every peer in the order they were identified, the links and peers
        of a purpose (those this node opened), and how many; a closed link
        is in none of them."""
        node = makeNode(1)
        overlay = node.overlay
        seven, nine = linkPeer(node, 7), linkPeer(node, 9, purpose=DIRECT)
        eleven = linkPeer(node, 11, inbound=False)
        self.assertEqual((overlay.linkTo(9), overlay.linkTo(8)), (nine, None))
        self.assertEqual(list(overlay.linkEnds()), [seven, nine, eleven])
        self.assertEqual(list(overlay.linkedPeers()), [7, 9, 11])
        self.assertEqual((overlay.peersOf(OVERLAY), overlay.peersOf(DIRECT)),
                         ([7, 11], [9]))
        self.assertEqual(overlay.linkedCount(), 3)
        self.assertEqual((overlay.linksOf(OVERLAY), overlay.linksOf(DIRECT)),
                         ([seven, eleven], [nine]))
        self.assertEqual(overlay.outboundPeersOf(OVERLAY), [11])
        closeLink(nine)
        self.assertEqual((overlay.linkTo(9), list(overlay.linkEnds()), overlay.linkedCount()),
                         (None, [seven, eleven], 2))
        self.assertEqual((node.linkTo(7), list(node.linkEnds()), node.peersOf(OVERLAY)),
                         (seven, [seven, eleven], [7, 11]))
        self.assertEqual((node.linksOf(OVERLAY), node.outboundPeersOf(OVERLAY)),
                         ([seven, eleven], [11]))

    def test_noPartReadsTheTableItself(self):
        """No module of the package but the table's own reads the table
        itself (``node.links``, ``overlay.links``, ``established()``): at
        75ef2329 66 lines of 30 modules did so (each scheme's neighbours,
        the relay's next hop, the punches', the status' and the metrics').
        The tracker's ``links`` are its own table."""
        root = pathlib.Path(twisted_bazaar.__file__).parent
        found = []
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).parts
            if parts[0] == "tracker" or parts == ("net", "overlay.py"):
                continue
            for line in path.read_text().splitlines():
                if _TABLE_READ.search(line) and "def " not in line:
                    found.append(f"{'/'.join(parts)}: {line.strip()}")
        # The node's ``links``, the table for tests to read and arrange.
        self.assertEqual(found, ["core/node.py: return self.overlay.established()"])
