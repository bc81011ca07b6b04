"""
Tests for twisted_bazaar.status: the tracker's members and a node's state,
in a Market (real nodes and tracker on the in-memory network).
"""

from twisted.trial.unittest import SynchronousTestCase

import attr

from twisted_bazaar import wire
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.status.messages import MemberList, NodeState, State
from twisted_bazaar.net.recent import RECENT_SIZE, STATUS
from twisted_bazaar.status.tracker import StatusExtension
from twisted_bazaar.testing import Market

from tests.helpers import feed, linkPeer, sent
from tests.status.helpers import askAsOperator


def membersAnswer(extension):
    """The one message the tracker's status extension sends a link that
    asks ``members``."""
    answers = []

    class Link:
        transport = None
        peer_id = None

        def sendPayload(self, payload, kind):
            answers.append(wire.decode(payload))

    extension._members(Link(), None)
    [answer] = answers
    return answer


class StatusTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market(seed=3)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3, "pear": 1}})
        self.buyer = self.market.addNode(buyer={"wants": ["apple"], "quantity": 2})
        self.market.run(20)

    def test_nodeState(self):
        seller = self.market.services[self.seller].status.state()
        self.assertIsInstance(seller, NodeState)
        self.assertEqual((seller.id, seller.scheme, seller.stock, seller.bag,
                          seller.pending),
                         (self.seller.id, "flood", {"apple": 1, "pear": 1}, {}, 0))
        self.assertIn(self.buyer.id, [link[0] for link in seller.links])
        buyer = self.market.services[self.buyer].status.state()
        self.assertEqual((buyer.stock, buyer.bag, buyer.port),
                         ({}, {"apple": 2}, self.buyer.port))

    def test_nodeStateRecentMessages(self):
        """A node's state carries the messages it sent and received last,
        oldest first: the seller's buys in and buyOKs out, with the buyer's
        id; keepalives and the status link's own questions are left out."""
        self.market.run(25)  # past a keepalive round
        service = self.market.services[self.seller]
        self.assertTrue(service.node.overlay.recent)
        recent = service.status.state().recent
        self.assertLessEqual(len(recent), RECENT_SIZE)
        seen = {(direction, peer, kind) for _, direction, peer, kind in recent}
        self.assertIn(("in", self.buyer.id, "buy"), seen)
        self.assertIn(("out", self.buyer.id, "buyOK"), seen)
        kinds = {kind for _, _, _, kind in recent}
        self.assertFalse(kinds & {"ping", "pong", "state", "nodestate"})
        ages = [ago for ago, _, _, _ in recent]
        self.assertEqual(ages, sorted(ages, reverse=True))

    def test_statusLinkNotNoted(self):
        """Questions on a status link, and their answers, are not noted
        (its handshake is); messages on other links are, both ways."""
        node = self.market.services[self.seller].node
        recent = node.overlay.recent
        status = linkPeer(node, 2**33, purpose=STATUS)
        before = recent.entries(0)
        feed(status, State())
        self.assertIsInstance(sent(status)[-1], NodeState)
        self.assertEqual(recent.entries(0), before)
        overlay = linkPeer(node, 2**33 + 1)
        feed(overlay, State())
        self.assertEqual([entry[1:] for entry in recent.entries(0)[-2:]],
                         [("in", 2**33 + 1, "state"), ("out", 2**33 + 1, "nodestate")])

    def test_trackerMembers(self):
        extension = self.market.tracker.extensions["status"]
        self.assertIsInstance(extension, StatusExtension)
        self.assertEqual(
            extension.members(),
            sorted([(node.id, node.host, node.port, "flood")
                    for node in (self.seller, self.buyer)]))

    def test_onlyCheckedAddresses(self):
        """A node is a member once the tracker checked its address, as
        nodereply names it: not before (nothing may listen there)."""
        extension = self.market.tracker.extensions["status"]
        registry = self.market.tracker.registry
        registry.join(77, "192.0.2.9", 4000, verified=False)
        self.assertNotIn(77, [row[0] for row in extension.members()])
        registry.verify(77)
        self.assertIn((77, "192.0.2.9", 4000, ""), extension.members())

    def test_memberListCutToOneFrame(self):
        """A tracker with more members than fit one frame names as many as
        fit, and the total."""
        extension = self.market.tracker.extensions["status"]
        registry = self.market.tracker.registry
        for n in range(3000):
            registry.join(10_000 + n, "h" * 200, 1)
        answer = membersAnswer(extension)
        self.assertIsInstance(answer, MemberList)
        self.assertEqual(answer.total, 3002)
        self.assertLess(len(answer.nodes), 3002)
        self.assertLessEqual(len(wire.encode(answer)),
                             self.market.tracker.settings.frame_limit)

    def test_memberListNamesRelays(self):
        """The nodes the tracker relays for are listed with their relay,
        so that a client asks them through it; the others with none."""
        extension = self.market.tracker.extensions["status"]
        registry = self.market.tracker.registry
        registry.join(10_001, "203.0.113.7", 9001)
        registry.join(10_002, "203.0.113.8", 9001)
        registry.setRelay(10_001, "198.51.100.1:7701")
        answer = membersAnswer(extension)
        self.assertEqual(answer.relays, {10_001: "198.51.100.1:7701"})
        self.assertIn((10_002, "203.0.113.8", 9001, ""), answer.nodes)

    def test_relayedMemberListCutToOneFrame(self):
        """Members reached through a relay are listed with it, and their
        relays count towards the frame too: a list of such members, each
        with a long relay address, is cut to fit one frame."""
        extension = self.market.tracker.extensions["status"]
        registry = self.market.tracker.registry
        for n in range(3000):
            registry.join(10_000 + n, "h" * 100, 1)
            registry.setRelay(10_000 + n, "r" * 200 + ":7701")
        answer = membersAnswer(extension)
        self.assertLess(len(answer.nodes), 3000)
        relayed = {row[0] for row in answer.nodes if row[0] >= 10_000}
        self.assertEqual(set(answer.relays), relayed)
        self.assertLessEqual(len(wire.encode(answer)),
                             self.market.tracker.settings.frame_limit)

    def test_nodeStateCutToOneFrame(self):
        """A node whose state does not fit one frame answers it cut short:
        without recent messages, and with its first items (by name) and
        links, as many as fit; one that fits is sent whole."""
        node = self.market.services[self.seller].node
        status = linkPeer(node, 2**33, purpose=STATUS)
        whole = askAsOperator(node, status)
        self.assertEqual(whole, self.market.services[self.seller].status.state())
        [seller] = [role for role in node.roles if isinstance(role, Seller)]
        for n in range(1000):
            seller.stock["%04d-%s" % (n, "x" * 200)] = 1
        answer = askAsOperator(node, status)
        self.assertIsInstance(answer, NodeState)
        self.assertLessEqual(len(wire.encode(answer)), status.settings.frame_limit)
        self.assertEqual(answer.recent, ())
        names = list(answer.stock)
        self.assertGreater(len(names), 0)
        self.assertEqual(names, sorted(names))
        self.assertEqual(names[0], "%04d-%s" % (0, "x" * 200))
        self.assertEqual(wire.decode(wire.encode(answer)), answer)

    def test_filesAndDownloadsCutToOneFrame(self):
        """Shared files and downloads are cut like the stock: their first
        entries by name, as many as fit."""
        from twisted_bazaar.status.node import fitted

        files = tuple(("%04d-%s" % (n, "f" * 200), n, "ab" * 32, 0) for n in range(600))
        downloads = tuple(("%04d-%s" % (n, "d" * 200), 100, "cd" * 32, 1, 1, 1,
                           "fetching", "") for n in range(600))
        state = NodeState(1, "h", 1, "flood", (), {}, {}, 0, (), files, downloads)
        limit = 64 * 1024
        cut = fitted(state, limit)
        self.assertLessEqual(len(wire.encode(cut)), limit)
        self.assertGreater(len(cut.files), 0)
        self.assertEqual(cut.files, files[:len(cut.files)])
        self.assertEqual(cut.downloads, downloads[:len(cut.downloads)])

    def test_tradesKeptWhileTheListsAreCut(self):
        """A seller of 3,000 items told its operator no trades: they were
        the first thing a cut answer left out, so bazaar web, its
        operator's view, named the buyer of none of its sales.  Its links,
        stock, bag, files and downloads are cut first; its trades go only
        where even their first entries leave no room for them."""
        from twisted_bazaar.status.node import fitted

        stock = {"%04d-%s" % (n, "s" * 100): 1 for n in range(1024)}
        trades = tuple((n, n, "%04d-%s" % (n, "s" * 100), 1, (2**100 + n, 2**101))
                       for n in range(64))
        recent = ((5, "in", 2, "buy"),)
        state = NodeState(1, "h", 1, "flood", (), stock, {}, 0, recent, trades=trades)
        limit = 64 * 1024
        cut = fitted(state, limit)
        self.assertLessEqual(len(wire.encode(cut)), limit)
        self.assertEqual(cut.trades, trades)
        self.assertEqual(cut.recent, ())
        self.assertEqual(list(cut.stock), list(stock)[:len(cut.stock)])
        self.assertGreater(len(cut.stock), 0)
        # A frame the trades alone overflow: left out, the rest cut to fit.
        small = len(wire.encode(attr.evolve(state, stock={}, recent=()))) - 1
        cut = fitted(state, small)
        self.assertEqual(cut.trades, ())
        self.assertLessEqual(len(wire.encode(cut)), small)

    def test_filesSharedCountsEveryFile(self):
        """A seller of 4,000 files answered 512 of them, to fit a frame,
        and nothing said there were more: bazaar node said ``shared files:
        512``.  The answer carries how many it shares (``filesShared``),
        cut or not, to its operator and to a stranger."""
        node = self.market.services[self.seller].node
        status = linkPeer(node, 2**33, purpose=STATUS)
        [seller] = [role for role in node.roles if isinstance(role, Seller)]
        rows = [("%04d-%s.txt" % (n, "f" * 100), n, "ab" * 32, 0) for n in range(4000)]
        self.patch(seller, "sharedFiles", lambda: rows)
        answer = askAsOperator(node, status)
        self.assertLess(len(answer.files), 4000)
        self.assertEqual(answer.files_shared, 4000)
        self.assertEqual(wire.decode(wire.encode(answer)).files_shared, 4000)
        public = self.market.services[self.seller].status.publicState()
        self.assertEqual(public.files_shared, 4000)
        self.assertEqual(public.asDict()["filesShared"], 4000)

    def test_stockItemsCountsEveryItem(self):
        """A seller of 3,000 items answered the first 256 (all that fit a
        frame), and nothing said there were more: bazaar node, bazaar list
        and the web view showed 256 items as the whole stock.  The answer
        carries how many it holds (``stockItems``), cut or not, to its
        operator and to a stranger."""
        node = self.market.services[self.seller].node
        status = linkPeer(node, 2**33, purpose=STATUS)
        [seller] = [role for role in node.roles if isinstance(role, Seller)]
        held = len(seller.stockHeld())
        for n in range(3000):
            seller.stock["%04d-%s" % (n, "x" * 100)] = 1
        answer = askAsOperator(node, status)
        self.assertLess(len(answer.stock), 3000)
        self.assertEqual(answer.stock_items, 3000 + held)
        self.assertEqual(wire.decode(wire.encode(answer)).stock_items, 3000 + held)
        public = self.market.services[self.seller].status.publicState()
        self.assertEqual(public.asDict()["stockItems"], 3000 + held)
