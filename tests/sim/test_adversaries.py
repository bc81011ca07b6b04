"""
The adversaries' behaviours (L{twisted_bazaar.sim.adversaries}), each
through the public protocol: a keyed node on fake transports, fed what
its peers send, and what it sends back read off its links.  Each does
what its kind says where the honest node does the opposite (relays,
serves, sells).  What they do to whole markets is in test_attack.py.
"""

import random

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import NODE_HOST, NODE_PORT, FakeConnector, feed, flooded, linkPeer, sent
from twisted_bazaar import wire
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.core.records import recordFault
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.identity.keys import Identity, signedBy
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.schemes.chord.messages import ChordRecords, ChordRequest
from twisted_bazaar.schemes.chord.ring import between, place
from twisted_bazaar.schemes.flood.messages import Reply, Search
from twisted_bazaar.sim.adversaries import (
    NOWHERE_PORT,
    Misroute,
    NotYetSeller,
    SquatSeller,
    Withhold,
    grindBetween,
    nowhere,
)
from twisted_bazaar.wire.trade import Buy, BuyOK


def keyOf(seed):
    return Identity.fromRandom(random.Random(seed))


class _Delivered(NodeObserver):
    def __init__(self, node):
        self.messages = []
        node.addObserver(self)

    def _delivered(self, link, message):
        self.messages.append(message)

    delivers = {Buy: _delivered}


class _NodeCase(SynchronousTestCase):
    """A keyed node between peers 2 and 3 (keyless), with a scheme."""

    def makeNode(self, scheme="flood"):
        self.key = keyOf(41)
        node = Node(task.Clock(), random.Random(0), FakeConnector(),
                    NodeConfig(link=LinkSettings(ping_interval=0)), identity=self.key)
        node.setAddress(NODE_HOST, NODE_PORT)
        node.setId(self.key.id)
        if scheme == "flood":
            flooded(node)
        else:
            buildScheme(node, scheme)
        self.node = node
        self.two, self.three = linkPeer(node, 2), linkPeer(node, 3)
        return node

    def search(self, search_id=7):
        return Search(search_id, "apple", (2,), 5)


class WithholdTests(_NodeCase):
    def test_searchNotRelayed(self):
        """A withholder drops a search it would flood on (an honest node
        sends it to peer 3)."""
        withhold = Withhold(self.makeNode())
        feed(self.two, self.search())
        self.assertEqual((sent(self.three), sent(self.two)), ([], []))
        self.assertEqual(withhold.dropped, 1)

    def test_honestNodeRelays(self):
        """What the withholder changes: the same node, honest, floods the
        search on."""
        self.makeNode()
        feed(self.two, self.search())
        [relayed] = sent(self.three)
        self.assertEqual((relayed.TYPE, relayed.return_path), ("search", (2, self.key.id)))

    def test_routedNotRelayed(self):
        """A withholder drops a path-routed message it should pass on (a
        buy from 2 to 3), and takes one that is for it."""
        withhold = Withhold(self.makeNode())
        seen = _Delivered(self.node)
        feed(self.two, Buy(5, "apple", (2, self.key.id, 3)))
        self.assertEqual(sent(self.three), [])
        mine = Buy(6, "apple", (2, self.key.id))
        feed(self.two, mine)
        self.assertEqual((seen.messages, withhold.dropped), ([mine], 1))

    def test_chordRequestDropped(self):
        """A chord withholder neither serves nor passes on a request."""
        withhold = Withhold(self.makeNode("chord"))
        feed(self.two, ChordRequest(9, "apple", (2,)))
        self.assertEqual((sent(self.two), sent(self.three), withhold.dropped),
                         ([], [], 1))


class MisrouteTests(_NodeCase):
    def test_searchAnsweredFromNowhere(self):
        """A misrouter answers a search at once, as the seller, at an
        address where nothing listens, signed with its own key; the search
        goes no further, and a copy of it is not answered twice."""
        misroute = Misroute(self.makeNode())
        feed(self.two, self.search(), self.search())
        [reply] = sent(self.two)
        self.assertIsInstance(reply, Reply)
        self.assertEqual((reply.path, reply.seller, (reply.host, reply.port)),
                         ((self.key.id, 2), self.key.id, nowhere(self.node)))
        self.assertTrue(signedBy(reply, self.key.id))
        self.assertEqual(sent(self.three), [])
        self.assertEqual(misroute.answered, 1)

    def test_chordRequestAnsweredAsHolder(self):
        """A chord misrouter answers a request it should pass on as the
        holder, naming itself the seller at a made-up address by a record
        it signed (valid as a record: only the address lies)."""
        self.makeNode("chord")
        Misroute(self.node)
        feed(self.two, ChordRequest(9, "apple", (2,)))
        [answer] = sent(self.two)
        self.assertIsInstance(answer, ChordRecords)
        [record] = answer.sellers
        self.assertEqual((answer.holder, answer.path, record.seller, record.port),
                         (self.key.id, (self.key.id, 2), self.key.id, NOWHERE_PORT))
        self.assertIsNone(recordFault(record, self.node.clock.seconds(), self.key.id,
                                      "apple", alive=True))


class SellerKindsTests(_NodeCase):
    """notyet and squat: the real seller role with its answer to a buy
    changed; the buyer (keyed) reaches it through relay 2."""

    def answerTo(self, role):
        self.makeNode()
        buyer = keyOf(42)
        role(self.node, {"apple": 5})
        expires = int(self.node.clock.seconds() * 1000) + 60_000
        feed(self.two, buyer.signed(Buy(5, "apple", (buyer.id, 2, self.key.id),
                                        expires=expires)))
        [answer] = [m for m in sent(self.two) if type(m) in (BuyOK, wire.Error)]
        self.assertTrue(signedBy(answer, self.key.id))
        return answer

    def test_honestSells(self):
        self.assertIsInstance(self.answerTo(Seller), BuyOK)

    def test_notYet(self):
        """notyet: never sold, never refused for good."""
        self.assertEqual(self.answerTo(NotYetSeller).code, "notyet")

    def test_squat(self):
        """squat: it offers what it does not have, and says soldout."""
        self.assertEqual(self.answerTo(SquatSeller).code, "soldout")


class GrindTests(SynchronousTestCase):
    def test_landsInTheStretch(self):
        """Keys are drawn until one's place is in the stretch; for a
        1/256 of the ring, about 256 of them."""
        low = 5 << 120
        high = low + (1 << 120)
        identity, made = grindBetween(random.Random(1), low, high)
        self.assertTrue(between(place(identity.id), low, high))
        self.assertTrue(30 < made < 2000, made)
        self.assertEqual(grindBetween(random.Random(1), low, high)[1], made)
