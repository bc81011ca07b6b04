"""
A buyer of more sellers than it has direct slots (``--direct-slots``):
it makes room by retiring its own direct link to a seller it has no buy
out with, and a buy that finds every slot holding a buy still out waits
for one, the seller not blamed (docs/protocol.md §6, "Link purposes").
"""

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.core.node import DIRECT, NodeConfig
from twisted_bazaar.testing.market import Market

SELLERS = 3
SLOTS = 2


class DirectSlotsTests(SynchronousTestCase):
    def setUp(self):
        self.market = Market()

    def node(self, slots=8, **roles):
        config = NodeConfig(direct_slots=slots, link=self.market.link_settings)
        return self.market.addNode(config, discovery="index", **roles)

    def buyer(self, items, slots=SLOTS):
        return self.node(slots, buyer={"wants": items, "buy_timeout": 2.0})

    def bag(self, buyer):
        return sorted(p.item for p in self.market.role(buyer, "buyer").bag)

    def test_moreSellersThanSlots(self):
        """A buyer with two direct slots buys from two sellers; a third
        seller of its third want comes later: it is bought within
        seconds of the buyer's next search, not once a link idle since
        its buy closes after --direct-idle (30 s), and no seller is said
        to be unreachable."""
        items = [f"item{n}" for n in range(SELLERS)]
        for item in items[:SLOTS]:
            self.node(seller={"stock": {item: 1}})
        self.market.run(1)
        with capturedLogs() as logged:
            buyer = self.buyer(items)
            self.market.run(3)
            self.assertEqual(self.bag(buyer), items[:SLOTS])
            self.node(seller={"stock": {items[SLOTS]: 1}})
            self.market.run(12)
        self.assertEqual(self.bag(buyer), items)
        lines = [formatEvent(event) for event in logged]
        self.assertEqual([line for line in lines if "unreachable" in line
                          or "cannot be reached" in line], [])
        self.assertLessEqual(buyer.overlay.count(DIRECT), SLOTS)

    def test_dialsInTheirHandshakeHoldSlots(self):
        """Three sellers and a buyer of all three with two direct slots,
        all at once: its dials still in their handshake hold slots, so it
        never holds more direct links than it has slots (it held three:
        a dial was counted only once up), and the third buy waits for
        one, then is bought."""
        items = [f"item{n}" for n in range(SELLERS)]
        for item in items:
            self.node(seller={"stock": {item: 1}})
        self.market.run(1)
        buyer = self.buyer(items)
        most = 0
        for _ in range(80):
            self.market.run(0.1)
            most = max(most, buyer.overlay.count(DIRECT))
        self.assertEqual((self.bag(buyer), most), (items, SLOTS))

    def test_buysWaitingAreSaidOnceAndWokenBySlotsFreed(self):
        """Six sellers and a buyer of all six with two direct slots, its
        buy timeout 10 s: the buys waiting for a slot were each said
        (four lines in a second) and each sent again only at its want's
        timer, 10 s later, though a slot freed within a second.  The wait
        is said as it begins and as it ends, and each buy waiting is sent
        again as soon as a slot frees: all six bought within 3 s."""
        items = [f"item{n}" for n in range(6)]
        for item in items:
            self.node(seller={"stock": {item: 1}})
        self.market.run(1)
        with capturedLogs() as logged:
            buyer = self.node(SLOTS, buyer={"wants": items, "buy_timeout": 10.0})
            self.market.run(3)
        self.assertEqual(self.bag(buyer), items)
        said = [formatEvent(event) for event in logged]
        waits = [line for line in said if "waits for a direct slot" in line]
        self.assertEqual(len(waits), 2, waits)
        self.assertIn("waits for a direct slot: all 2 hold a buy", waits[0])
        self.assertTrue(waits[1].startswith("no buy waits for a direct slot now: "),
                        waits[1])

class StrangersDirectLinksTests(SynchronousTestCase):
    """A stranger's keys that link to a buyer with purpose direct and keep
    talking (no link idles out) do not keep it from its seller
    (docs/protocol.md §6, "Link purposes"; docs/reliability.md, the
    fifteenth round)."""

    def test_aBuyerBuysPastAStrangersDirectLinks(self):
        market = Market()
        config = NodeConfig(direct_slots=SLOTS, link=market.link_settings)
        buyer = market.addNode(config, discovery="index",
                               buyer={"wants": ["pear"], "buy_timeout": 2.0})
        strangers = [market.addNode(discovery="index", host="203.0.113.9")
                     for _ in range(SLOTS)]
        market.run(1)
        for stranger in strangers:
            stranger.heard(buyer.id, buyer.connector.from_host, buyer.port)
            stranger.connectTo(buyer.id, DIRECT)
        market.run(1)
        self.assertEqual(buyer.overlay.count(DIRECT), SLOTS)
        market.addNode(discovery="index", seller={"stock": {"pear": 1}})
        for _ in range(12):
            # Under the links' 21 bad messages a minute, and their idle 30 s.
            for stranger in strangers:
                link = stranger.linkTo(buyer.id)
                if link is not None:
                    link.send(wire.Error("busy", "a message that is no keepalive"))
            market.run(5)
        self.assertEqual([p.item for p in market.role(buyer, "buyer").bag], ["pear"])


class ABuyerThatSellsTests(SynchronousTestCase):
    """A node that buys and sells shares its direct slots between its own
    buys and its buyers' links (docs/protocol.md §6, "Link purposes")."""

    def test_itsIdleLinkGivesWayToItsBuyer(self):
        """With one direct slot, it keeps its link to the seller it bought
        from (no buy out with it) until the link idles out, 30 s: a buyer
        of its own stock dialling it meanwhile is let in, that link
        retired, not refused ``noslots`` until then (live, 89 s for such a
        buy where the others took 10)."""
        market = Market()
        market.addNode(discovery="index", seller={"stock": {"fig": 1}})
        config = NodeConfig(direct_slots=1, link=market.link_settings)
        both = market.addNode(config, discovery="index",
                              buyer={"wants": ["fig"], "buy_timeout": 2.0},
                              seller={"stock": {"plum": 1}})
        market.run(3)
        self.assertEqual(([p.item for p in market.role(both, "buyer").bag],
                          both.overlay.count(DIRECT)), (["fig"], 1))
        buyer = market.addNode(discovery="index",
                               buyer={"wants": ["plum"], "buy_timeout": 2.0})
        market.run(8)
        self.assertEqual([p.item for p in market.role(buyer, "buyer").bag], ["plum"])
