"""
Tests for twisted_bazaar.web.view and .watch: the web view's picture of
a Market (real tracker and nodes on the in-memory network), kept current
over status links, and what it makes of changes.
"""

import random

import attr

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import KEYED, wireId
from twisted_bazaar.net import greeting as net_greeting
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.status.messages import NodeState
from twisted_bazaar.status import charges as status_charges
from twisted_bazaar.status import client as status_client
from twisted_bazaar.testing import Market
from twisted_bazaar.testing.market import NodeClock
from twisted_bazaar.testing.memory import MemoryConnector, MemoryTransport
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.web.view import MarketView
from twisted_bazaar.web import watch as web_watch
from twisted_bazaar.web.watch import StatusWatcher


def state(node_id, stock=None, bag=None, links=(), files=(), downloads=()):
    return NodeState(node_id, "h", 1, "flood", tuple(links), stock or {}, bag or {}, 0,
                     (), tuple(files), tuple(downloads))


class MarketViewTests(SynchronousTestCase):
    """Changes between answers become events; publishing is coalesced."""

    def setUp(self):
        self.clock = Clock()
        #: Where the clock starts: the view's times are the clock's.
        self.start = self.clock.seconds()
        self.view = MarketView(self.clock)
        self.view.membersSeen([(1, "h", 1, "flood"), (2, "h", 2, "flood")])

    def kinds(self):
        # Ids are wire text in what the view hands out (JSON): as ints here.
        return [(e["kind"], int(e["node"]), e.get("item"), e.get("units"))
                for e in self.view.events]

    def test_salesAndPurchases(self):
        self.view.stateSeen(state(1, stock={"apple": 3}))
        self.view.stateSeen(state(2))
        self.clock.advance(5)
        self.view.stateSeen(state(1, stock={"apple": 1}))
        self.view.stateSeen(state(2, bag={"apple": 2}))
        self.assertEqual(self.kinds(), [("sold", 1, "apple", 2),
                                        ("bought", 2, "apple", 2)])
        self.assertEqual(self.view.events[-1]["at"], self.start + 5)

    def trades(self):
        def number(text):
            return None if text is None else int(text)

        return [(t["item"], number(t["seller"]), number(t["buyer"]))
                for t in self.view.snapshot()["trades"]]

    def counted(self):
        return [(t["item"], t["units"]) for t in self.view.snapshot()["trades"]]

    def test_tradesNameBothSides(self):
        """A sale and a purchase of the same item, seen at two nodes, are
        one trade, with its units; a side never seen stays None."""
        self.view.stateSeen(state(1, stock={"apple": 3, "fig": 1}))
        self.view.stateSeen(state(2))
        self.view.stateSeen(state(1, stock={"apple": 1, "fig": 0}))
        self.view.stateSeen(state(2, bag={"apple": 2}))
        self.assertEqual(self.trades(), [("apple", 1, 2), ("fig", 1, None)])
        self.assertEqual(self.counted(), [("apple", 2), ("fig", 1)])
        self.clock.advance(60)
        self.view.stateSeen(state(2, bag={"apple": 2, "fig": 1}))
        self.assertEqual(self.trades()[-1], ("fig", None, 2))

    def test_aBigBuyIsOneRow(self):
        """One buy of 500 units is one row of 500, not 500 rows (which
        would push every other trade out of the table)."""
        self.view.stateSeen(state(1, stock={"apple": 1000}))
        self.view.stateSeen(state(2))
        self.view.stateSeen(state(1, stock={"apple": 500}))
        self.view.stateSeen(state(2, bag={"apple": 500}))
        self.assertEqual(self.trades(), [("apple", 1, 2)])
        self.assertEqual(self.counted(), [("apple", 500)])

    def test_aSaleToTwoBuyersIsSplit(self):
        """5 units sold between two answers, bought 2 and 3 by two buyers:
        two trades, each with its buyer and units."""
        self.view.membersSeen([(1, "h", 1, "flood"), (2, "h", 2, "flood"),
                               (3, "h", 3, "flood")])
        for node in (1, 2, 3):
            self.view.stateSeen(state(node, stock={"apple": 5} if node == 1 else None))
        self.view.stateSeen(state(1, stock={"apple": 0}))
        self.view.stateSeen(state(2, bag={"apple": 2}))
        self.view.stateSeen(state(3, bag={"apple": 3}))
        self.assertEqual([(t["item"], int(t["buyer"]), t["units"])
                          for t in self.view.snapshot()["trades"]],
                         [("apple", 2, 2), ("apple", 3, 3)])

    def test_newcomerBoughtBeforeFirstAsked(self):
        """A node that joined while the view looked, first seen with a bag,
        is the buyer of the sales seen; a node there from the start, or a
        bag no sale explains, is a starting point."""
        self.view.stateSeen(state(1, stock={"apple": 3}))
        self.view.stateSeen(state(2, bag={"apple": 5}))
        self.view.membersSeen([(1, "h", 1, "flood"), (2, "h", 2, "flood"),
                               (3, "h", 3, "flood")])
        self.view.stateSeen(state(1, stock={"apple": 2}))
        self.view.stateSeen(state(3, bag={"apple": 1, "pear": 4}))
        self.assertEqual(self.trades(), [("apple", 1, 3)])
        # The other order: the bag first, the sale in the next answer.
        self.view.membersSeen([(1, "h", 1, "flood"), (2, "h", 2, "flood"),
                               (3, "h", 3, "flood"), (4, "h", 4, "flood")])
        self.view.stateSeen(state(4, bag={"apple": 1}))
        self.assertEqual(self.trades(), [("apple", 1, 3)])
        self.view.stateSeen(state(1, stock={"apple": 1}))
        self.assertEqual(self.trades(), [("apple", 1, 3), ("apple", 1, 4)])

    def test_anItemLeftOutOfACutAnswerIsNoSale(self):
        """A seller of 3,000 items answers the first 256 by name (all that
        fit a frame); a restock of an item named before them pushes the
        last one out of the answer, which the view took for all its units
        sold: a trade of 99,992 units that no buyer made.  An item the new
        answer lacks is not sold; the node's page and the market's entry
        say how many items and files it holds in all where its answer held
        fewer."""
        self.view.stateSeen(attr.evolve(state(1, stock={"b": 5, "c": 7}), stock_items=3000))
        self.clock.advance(1)
        self.view.stateSeen(attr.evolve(
            state(1, stock={"a": 5, "b": 4}, files=[("f", 1, "ab" * 32, None)]),
            stock_items=3001, files_shared=1899))
        self.assertEqual(self.kinds(), [("sold", 1, "b", 1)])
        self.assertEqual(self.counted(), [("b", 1)])
        page = self.view.node(1)
        self.assertEqual((page["stockItems"], page["filesShared"]), (3001, 1899))
        [entry] = [n for n in self.view.snapshot()["nodes"] if n["id"] == "1"]
        self.assertEqual((entry["stockItems"], entry["filesShared"]), (3001, 1899))
        # A whole answer says no more than it shows.
        self.view.stateSeen(attr.evolve(state(2, stock={"a": 1}), stock_items=1,
                                        files_shared=0))
        self.assertNotIn("stockItems", self.view.node(2))
        self.assertNotIn("filesShared", self.view.node(2))

    def test_anItemBackInAGrownBagIsNoPurchase(self):
        """An operator's view of a buyer whose bag is cut to fit its answer
        (the first items by name): when the cut grows back, the items
        back in it were each taken for a purchase, phantom 'bought' rows.
        An item that sorts after a cut answer's last is not bought; one
        before it, or after a whole answer's last, is."""
        cut = attr.evolve(state(2, bag={"a": 1, "c": 2}), bag_items=4)
        self.view.stateSeen(cut)
        self.clock.advance(1)
        self.view.stateSeen(attr.evolve(state(2, bag={"a": 1, "b": 1, "c": 2, "d": 3, "e": 1}),
                                        bag_items=5))
        self.assertEqual(self.kinds(), [("bought", 2, "b", 1)])
        self.view.stateSeen(attr.evolve(state(2, bag={"a": 1, "b": 1, "c": 2, "d": 3, "e": 1,
                                                      "f": 2}), bag_items=6))
        self.assertEqual(self.kinds()[1:], [("bought", 2, "f", 2)])

    def test_filesListedOnce(self):
        """A shared file is listed once, by name, with its size and hash,
        and the nodes sharing it: never among the counted offers."""
        sha = "ab" * 32
        self.view.stateSeen(state(1, stock={"apple": 2},
                                  files=[("song.ogg", 4096, sha, 0)]))
        self.view.stateSeen(state(2, files=[("song.ogg", 4096, sha, 0)]))
        snapshot = self.view.snapshot()
        self.assertEqual(snapshot["offers"], {"apple": [{"node": "1", "units": 2}]})
        self.assertEqual(snapshot["files"], [{"name": "song.ogg", "size": 4096,
                                              "contentId": sha, "nodes": ["1", "2"]}])
        self.assertEqual([(n["id"], n["files"]) for n in snapshot["nodes"]],
                         [("1", 1), ("2", 1)])

    def test_fileSaleIsATrade(self):
        """A shared file's sales are its ``sold`` going up (it has no
        stock): each pairs with the purchase seen at the buyer."""
        sha = "ab" * 32
        self.view.stateSeen(state(1, files=[("song.ogg", 4096, sha, 0)]))
        self.view.stateSeen(state(2))
        self.view.stateSeen(state(1, files=[("song.ogg", 4096, sha, 1)]))
        self.view.stateSeen(state(2, bag={"song.ogg": 1}))
        self.assertEqual(self.trades(), [("song.ogg", 1, 2)])
        self.assertIn(("sold", 1, "song.ogg", 1), self.kinds())

    def test_nodePageShowsFilesAndDownloads(self):
        sha = "cd" * 32
        self.view.stateSeen(state(1, files=[("a.bin", 10, sha, 3)], downloads=[
            ("b.bin", 100, sha, 40, 20, 1, "stalled", "seller 3 did not deliver")]))
        page = self.view.node(1)
        self.assertEqual(page["files"], [{"name": "a.bin", "size": 10, "contentId": sha,
                                          "sold": 3}])
        self.assertEqual(page["downloads"], [{
            "name": "b.bin", "size": 100, "contentId": sha, "have": 40, "rate": 20,
            "sellers": 1, "state": "stalled", "why": "seller 3 did not deliver"}])

    def test_liveAreTheMembersUnlessToldMore(self):
        """The tracker's own view lists every live node: `live` counts
        them; told of more (a memberlist cut short), it counts those."""
        self.assertEqual(self.view.snapshot()["live"], 2)
        self.view.liveSeen(900)
        self.assertEqual(self.view.snapshot()["live"], 900)

    def test_firstAnswerIsTheBaseline(self):
        self.view.stateSeen(state(2, bag={"apple": 2}))
        self.assertEqual(self.kinds(), [])

    def test_nodesLiveAtTheFirstLookDidNotJoinThen(self):
        """The nodes live when the view first reads the members joined
        before it looked (a `bazaar web` started on a running market):
        no join is claimed for them, at the time the view started; a
        node that joins later is one."""
        told = []
        self.view.subscribe(lambda: told.append(1))
        self.view.publish()
        self.assertEqual(told, [1], "the first members are a change to push")
        self.assertEqual(self.view.nodeEvents, {})
        self.assertEqual([n["id"] for n in self.view.snapshot()["nodes"]], ["1", "2"])
        self.clock.advance(3)
        self.view.membersSeen([(1, "h", 1, "flood"), (2, "h", 2, "flood"),
                               (3, "h", 3, "flood")])
        self.assertEqual(self.kinds(), [("joined", 3, None, None)])
        self.assertEqual(self.view.node(3)["events"][0]["at"], self.start + 3)

    def test_linksGoToTheNodeOnly(self):
        self.view.stateSeen(state(1))
        self.view.stateSeen(state(1, links=[(2, "h", 2, "overlay"), (9, "h", 0, "status")]))
        self.view.stateSeen(state(1))
        self.assertEqual([(e["kind"], e.get("peer")) for e in self.view.node(1)["events"]],
                         [("linked", "2"), ("unlinked", "2")])
        self.assertNotIn("linked", [e["kind"] for e in self.view.events])

    def test_theOperatorsOwnLinkIsNoNodes(self):
        """bazaar web asks its operator's node over a link of purpose
        "operator": it was listed in the node's Links as a node, whose
        page is a 404, and drawn.  Status links of either purpose are
        neither."""
        self.view.stateSeen(state(1, links=[(2, "h", 2, "overlay"), (7, "h", 0, "status"),
                                            (8, "h", 0, "operator")]))
        self.view.stateSeen(state(2, links=[(1, "h", 1, "overlay")]))
        self.assertEqual([link["id"] for link in self.view.node(1)["links"]], ["2"])
        self.assertEqual(self.view.snapshot()["edges"], [["1", "2"]])

    def test_snapshot(self):
        self.view.stateSeen(state(1, stock={"apple": 2, "fig": 0},
                                  links=[(2, "h", 2, "overlay"), (7, "h", 0, "status")]))
        self.view.stateSeen(state(2, bag={"apple": 1}, links=[(1, "h", 1, "overlay")]))
        snapshot = self.view.snapshot()
        self.assertEqual(snapshot["edges"], [["1", "2"]])
        self.assertEqual(snapshot["offers"], {"apple": [{"node": "1", "units": 2}]})
        self.assertEqual([(int(n["id"]), n["links"], n["bag"]) for n in snapshot["nodes"]],
                         [(1, 1, {}), (2, 1, {"apple": 1})])
        self.assertEqual(self.view.node(1)["links"],
                         [{"id": "2", "host": "h", "port": 2, "purpose": "overlay",
                           "relayed": False, "quic": False}])

    def test_nodeMessages(self):
        """A node's page lists the messages its last state named, oldest
        first, each placed in time back from when that state came."""
        self.clock.advance(100)
        self.view.stateSeen(NodeState(1, "h", 1, "flood", (), {}, {}, 0,
                                      ((2500, "in", 2, "buy"), (0, "out", 2, "buyOK"))))
        self.assertEqual(self.view.node(1)["messages"],
                         [{"at": self.start + 97.5, "dir": "in", "peer": "2", "type": "buy"},
                          {"at": self.start + 100.0, "dir": "out", "peer": "2",
                           "type": "buyOK"}])
        self.assertNotIn("messages", self.view.node(2))

    def test_departure(self):
        """A node that left: out of the market, and its page says so (where
        it was, when it left, what the view saw of it), not an empty page;
        a node never seen has no page."""
        self.view.stateSeen(state(1, stock={"apple": 2}))
        self.clock.advance(7)
        self.view.membersSeen([(2, "h", 2, "flood")])
        self.assertEqual(self.kinds()[-1], ("left", 1, None, None))
        self.assertEqual(self.view.snapshot()["offers"], {})
        page = self.view.node(1)
        self.assertEqual((page["id"], page["host"], page["port"], page["left"]),
                         ("1", "h", 1, self.start + 7))
        self.assertEqual(page["events"], [], "live at the first look: no join seen")
        self.assertNotIn("stock", page)
        self.view.stateSeen(state(1, stock={"apple": 1}))
        self.assertNotIn("stock", self.view.node(1),
                         "an answer from a node gone is ignored")
        self.assertIsNone(self.view.node(99))
        self.view.membersSeen([(1, "h", 1, "flood"), (2, "h", 2, "flood")])
        self.assertNotIn("left", self.view.node(1), "back again")

    def test_namedByItsFirstDigits(self):
        """The first 8 or more hex digits of an id, as the page and the logs
        show it, name the one node the view keeps (live, or left lately)
        whose id begins so: its whole id; none for fewer digits, a prefix
        two ids share, or one no node has."""
        one, two = KEYED | 0xabcdef01 << 96 | 5 << 8, KEYED | 0xabcdef01 << 96 | 6 << 8
        three = KEYED | 0x12345678 << 96
        self.view.membersSeen([(one, "h", 1, "flood"), (two, "h", 2, "flood"),
                               (three, "h", 3, "flood")])
        self.assertEqual(self.view.named("12345678"), wireId(three))
        self.assertEqual(self.view.named(b"12345678"), wireId(three))
        self.assertEqual(self.view.named("1234567800"), wireId(three))
        self.assertEqual(self.view.named("ABCDEF01" + "0" * 21 + "5"), wireId(one))
        for prefix in ("1234567", "abcdef01", "87654321", "1234567z", "", b"\xff" * 8,
                       wireId(three)):
            self.assertIsNone(self.view.named(prefix), prefix)
        self.view.membersSeen([(one, "h", 1, "flood")])
        self.assertEqual(self.view.named("12345678"), wireId(three), "left lately")

    def test_aFrozenNodeDoesNotLookHealthy(self):
        """A node that stops answering (SIGSTOP: still registered) is shown
        as silent once it has not answered for a while; the view pushes
        that change although no answer came; an answer clears it."""
        told = []
        self.view.subscribe(lambda: told.append(1))
        self.view.stateSeen(state(1))
        self.view.stateSeen(state(2))
        self.view.publish()
        self.clock.advance(3)
        self.view.stateSeen(state(2))
        self.view.publish()
        self.assertEqual([n["silent"] for n in self.view.snapshot()["nodes"]],
                         [False, False])
        self.clock.advance(3)
        del told[:]
        self.view.publish()
        self.assertEqual(told, [1])
        self.assertEqual([(n["silent"], n["quiet"])
                          for n in self.view.snapshot()["nodes"]],
                         [(True, 6.0), (False, 0.0)])
        self.clock.advance(1)
        self.view.publish()
        self.assertEqual(told, [1, 1], "a silent node's count grows each round")
        self.assertEqual(self.view.snapshot()["nodes"][0]["quiet"], 7.0)
        self.assertTrue(self.view.node(1)["silent"])
        self.view.stateSeen(state(1))
        self.assertFalse(self.view.node(1)["silent"])

    def test_reachAndRelayForTheGraph(self):
        """A node's reach and the relay it is reached through, public
        facts, are on the market's picture: the graph draws them."""
        self.view.stateSeen(state(1))
        self.view.stateSeen(NodeState(2, "h", 2, "flood", (), {}, public=True,
                                      reach="private", relay="203.0.113.5:7701"))
        first, second = self.view.snapshot()["nodes"]
        self.assertNotIn("relay", first)
        self.assertEqual((second["reach"], second["relay"]), ("private", "203.0.113.5:7701"))

    def test_rolesWhereTheNodeSaysThem(self):
        """The roles a node tells its operator are on the market's picture
        and its page (the graph colours a buyer that has bought nothing
        by them); a node that does not say them (an older one) has none."""
        self.view.stateSeen(NodeState(1, "h", 1, "flood", (), {}, {}, 0, roles=("buyer",)))
        self.view.stateSeen(state(2))
        first, second = self.view.snapshot()["nodes"]
        self.assertEqual(first["roles"], ["buyer"])
        self.assertNotIn("roles", second)
        self.assertEqual(self.view.node(1)["roles"], ["buyer"])
        self.assertNotIn("roles", self.view.node(2))

    def test_relayedLinksAsTheNodesSayThem(self):
        """A link is relayed on the picture where an end says it runs
        through a relay's circuit, whatever the ends' relays: two homes
        that punched through hold a direct link."""
        self.view.membersSeen([(1, "h", 1, "flood"), (2, "h", 2, "flood"),
                               (3, "h", 3, "flood")])
        self.view.stateSeen(NodeState(1, "h", 1, "flood",
                                      ((2, "h", 2, "overlay", False),
                                       (3, "h", 3, "overlay", True)), {},
                                      public=True, reach="private", relay="r:1"))
        self.view.stateSeen(NodeState(2, "h", 2, "flood", ((1, "h", 1, "overlay"),), {},
                                      public=True, reach="private", relay="r:1"))
        market = self.view.snapshot()
        self.assertEqual(market["edges"], [["1", "2"], ["1", "3"]])
        self.assertEqual(market["relayed"], [["1", "3"]])
        self.assertEqual([link["relayed"] for link in self.view.node(1)["links"]],
                         [False, True])

    def test_quicLinksAsTheNodeSaysThem(self):
        """A node's page says which of its links run over QUIC, as the node
        says (``quic``), and so does the market's picture (its edges)."""
        self.view.membersSeen([(1, "h", 1, "flood"), (2, "h", 2, "flood"),
                               (3, "h", 3, "flood")])
        self.view.stateSeen(NodeState(1, "h", 1, "flood",
                                      ((2, "h", 2, "overlay", False, True),
                                       (3, "h", 3, "overlay")), {}))
        self.assertEqual([(link["id"], link["relayed"], link["quic"])
                          for link in self.view.node(1)["links"]],
                         [("2", False, True), ("3", False, False)])
        market = self.view.snapshot()
        self.assertEqual((market["edges"], market["relayed"], market["quic"]),
                         ([["1", "2"], ["1", "3"]], [], [["1", "2"]]))

    def test_quietOnlyOnceSilent(self):
        """A node that answers is quiet 0, however long since its last
        answer, so that its picture does not change with every round."""
        self.view.stateSeen(state(1))
        for delay in (0.3, 0.9, 2.5):
            self.clock.advance(delay)
            self.assertEqual(self.view.snapshot()["nodes"][0]["quiet"], 0.0)
            self.view.stateSeen(state(1))

    def test_downloadsOnTheMarketPage(self):
        """A download in progress at any node shows on the market's page,
        with the node fetching it."""
        sha = "ab" * 32
        self.view.stateSeen(state(2, downloads=[("b.bin", 100, sha, 40, 20, 2,
                                                  "fetching", "")]))
        self.assertEqual(self.view.snapshot()["downloads"], [{
            "node": "2", "name": "b.bin", "size": 100, "contentId": sha, "have": 40,
            "rate": 20, "sellers": 2, "state": "fetching", "why": ""}])

    def test_publishOncePerChange(self):
        told = []
        unsubscribe = self.view.subscribe(lambda: told.append(1))
        self.view.publish()
        self.view.publish()
        self.assertEqual(told, [1])
        self.view.stateSeen(state(1))
        self.view.stateSeen(state(2))
        self.view.publish()
        self.assertEqual(told, [1, 1])
        unsubscribe()
        self.assertEqual(self.view.subscribers, 0)


class PublicStateTests(SynchronousTestCase):
    """
    The view asks as a stranger, so each node tells it its public facts
    (``nodestate.public``): it shows those, and the sales of counted
    items, and shows nothing of a bag, buys or copies sold.
    """

    def setUp(self):
        self.clock = Clock()
        self.view = MarketView(self.clock)
        self.view.membersSeen([(1, "h", 1, "flood")])

    def public(self, stock, files=()):
        return NodeState(1, "h", 1, "flood", ((2, "h", 2, "overlay"),), stock,
                         files=tuple(files), public=True)

    def test_salesOfCountedItemsAreSeen(self):
        self.view.stateSeen(self.public({"apple": 3}))
        self.view.stateSeen(self.public({"apple": 1}))
        self.assertEqual([(e["kind"], e.get("units")) for e in self.view.events][-1:],
                         [("sold", 2)])

    def test_pagesHoldThePublicFactsOnly(self):
        song = ("song.ogg", 5, "ab" * 32, None)
        self.view.stateSeen(self.public({"apple": 3}, [song]))
        self.view.stateSeen(self.public({"apple": 3}, [song]))
        page = self.view.node(1)
        self.assertIs(page["operator"], False)
        self.assertNotIn("public", page, "a name that reads like reach")
        self.assertEqual(page["files"], [{"name": "song.ogg", "size": 5,
                                          "contentId": "ab" * 32}])
        for withheld in ("bag", "pending", "downloads", "messages"):
            self.assertNotIn(withheld, page)
        [entry] = self.view.snapshot()["nodes"]
        self.assertEqual((entry["operator"], entry["stock"], entry["files"]),
                         (False, {"apple": 3}, 1))
        self.assertNotIn("bag", entry)


class WatcherTests(SynchronousTestCase):
    """The watcher on a Market: status links to real nodes."""

    def setUp(self):
        self.market = Market(seed=5)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3}})
        self.market.run(3)
        self.view = MarketView(self.market.clock)
        self.watcher = self.watch()

    def watch(self, **bounds):
        extension = self.market.tracker.extensions["status"]
        # Its own view of the clock, to see what it leaves behind.
        self.clock = NodeClock(self.market.clock)
        watcher = StatusWatcher(self.clock, extension.members,
                                overConnector(MemoryConnector(self.market.network, "web"),
                                              self.clock), self.view,
                                LinkSettings(), random.Random(1), interval=1.0, **bounds)
        watcher.startService()
        self.addCleanup(self.stopWatcher, watcher)
        return watcher

    def stopWatcher(self, watcher):
        if watcher.running:
            watcher.stopService()
        self.market.run(2)

    def test_theOperatorsNodeTellsItsWholeState(self):
        """Given a node's key, the watcher asks that node as its operator:
        the view has its bag, pending buys and messages, and says it is
        its operator's; every other node tells it its public facts."""
        # The memory network has no encrypted channel: each connection
        # here is taken to have one handshake hash, the same at both its
        # ends, for the operator's proof to be bound to (where the status
        # client and the node read it; the connections stay plain links).
        def bound(transport):
            return b"\x07" * 32 if isinstance(transport, MemoryTransport) else None

        self.patch(status_client, "channelHash", bound)
        self.patch(status_charges, "channelHash", bound)
        # Its link's thisisme proves the operator too (an operator's slot),
        # made by the watcher and checked by the node's greeting.
        self.patch(web_watch, "channelHash", bound)
        self.patch(net_greeting, "channelHash", bound)
        buyer = self.market.addNode(buyer={"wants": ["apple"]})
        self.watcher.stopService()
        self.watcher = self.watch(operators=[buyer.identity])
        self.market.run(10)
        page = self.view.node(buyer.id)
        self.assertIs(page["operator"], True)
        self.assertEqual((page["bag"], page["pending"]), ({"apple": 1}, 0))
        self.assertIn("buyOK", [message["type"] for message in page["messages"]])
        self.assertIs(self.view.node(self.seller.id)["operator"], False)
        self.assertNotIn("bag", self.view.node(self.seller.id))
        [entry] = [n for n in self.view.snapshot()["nodes"] if n["id"] == wireId(buyer.id)]
        self.assertEqual((entry["operator"], entry["bag"]), (True, {"apple": 1}))

    def test_seesATradeAsItHappens(self):
        self.market.run(3)
        self.assertEqual(self.view.node(self.seller.id)["stock"], {"apple": 3})
        buyer = self.market.addNode(buyer={"wants": ["apple"]})
        self.market.run(10)
        snapshot = self.view.snapshot()
        self.assertEqual({n["id"] for n in snapshot["nodes"]},
                         {wireId(self.seller.id), wireId(buyer.id)})
        self.assertEqual(snapshot["offers"], {"apple": [{"node": wireId(self.seller.id),
                                                         "units": 2}]})
        self.assertEqual(snapshot["edges"],
                         [[wireId(each) for each in sorted([self.seller.id, buyer.id])]])
        self.assertIn(("sold", wireId(self.seller.id), "apple", 1),
                      [(e["kind"], e["node"], e.get("item"), e.get("units"))
                       for e in snapshot["events"]])
        # The view asks as a stranger: a node tells it its public facts,
        # and a buyer's bag is not one of them; the trade is the sale seen.
        page = self.view.node(buyer.id)
        self.assertIs(page["operator"], False)
        self.assertNotIn("bag", page)
        self.assertNotIn("messages", page)
        self.assertEqual([(t["item"], t["seller"], t["buyer"]) for t in snapshot["trades"]],
                         [("apple", wireId(self.seller.id), None)])

    def test_oneStatusLinkPerNode(self):
        """Round after round, the same link carries the questions."""
        self.market.run(5)
        first = self.watcher.sessions[self.seller.id]
        self.market.run(5)
        self.assertIs(self.watcher.sessions[self.seller.id], first)
        purposes = [link.purpose for link in self.seller.links.values()]
        self.assertEqual(purposes, ["status"])

    def test_boundedInFlight(self):
        """With inFlight 1, one new link is opened per round."""
        self.watcher.stopService()
        for _ in range(3):
            self.market.addNode(seller={"stock": {"fig": 1}})
        self.market.run(3)
        watcher = self.watch(inFlight=1)
        opened = []
        for _ in range(3):
            opened.append(len(watcher.sessions))
            self.market.run(1)
        self.assertEqual(opened, [1, 2, 3])

    def test_leavingNodeForgotten(self):
        self.market.run(3)
        self.market.stop(self.seller)
        self.market.run(3)
        self.assertEqual(self.view.snapshot()["nodes"], [])
        self.assertEqual(self.watcher.sessions, {})

    def test_unansweredQuestionClosesTheLink(self):
        self.market.run(3)
        session = self.watcher.sessions[self.seller.id]
        session.asked_at = self.market.clock.seconds() - 11
        self.market.run(1)
        self.assertTrue(session.link.closing)
        self.assertIsNot(self.watcher.sessions.get(self.seller.id), session)

    def test_stopLeavesNothing(self):
        self.market.run(3)
        self.watcher.stopService()
        self.market.run(3)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual([link.purpose for link in self.seller.links.values()], [])
        self.assertEqual(self.watcher.sessions, {})
