"""
Tests for L{twisted_bazaar.tap.shortfall}: a daemon buyer's
``--give-up-after S`` ends it with L{GAVE_UP} and what it lacks, and only
when it lacks something.
"""

from types import SimpleNamespace

from twisted.internet.defer import Deferred
from twisted.logger import capturedLogs, formatEvent
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.tap.node import Options
from twisted_bazaar.daemon.registry import transportPlugins
from twisted_bazaar.roles.want import BACKOFF, WAITING
from twisted_bazaar.tap.shortfall import GAVE_UP, EmptySearches, GiveUp, shortfall, wayOut
from twisted_bazaar.testing import Market
from twisted_bazaar.wire.ids import parseWireId, shortId


class GiveUpTests(SynchronousTestCase):
    def giveUp(self, market, wants, seconds=5):
        buyer = market.addNode(buyer={"wants": wants})
        failures = []
        service = GiveUp(market.clock, buyer, market.role(buyer, "buyer"), seconds,
                         lambda why, code: failures.append((why, code)), "t:7700")
        service.startService()
        return service, failures

    def test_nobodySells(self):
        """Nobody sells it: after S seconds the daemon ends with GAVE_UP
        and says what it lacks and why."""
        market = Market(seed=3)
        market.addNode(seller={"stock": {"pear": 3}})
        service, failures = self.giveUp(market, ["apple", "pear"])
        market.run(4.9)
        self.assertEqual(failures, [])
        market.run(0.2)
        [(why, code)] = failures
        self.assertEqual(code, GAVE_UP)
        self.assertRegex(why, r"^gave up after 5 s: bought 0 of 1 apple: no seller "
                              r"offered it \(\d+ search(es)? found nothing\)$")
        service.stopService()

    def test_theOtherSchemesTheTrackerKnowsAreNamed(self):
        """In a market of mixed schemes, a flood buyer whose only seller
        runs the index gives up naming the schemes it did not ask (it said
        "no seller offered it" alone: the buyer could not tell another
        scheme's sellers exist), as bazaar buy does; a scheme nobody runs
        is not named."""
        market = Market(seed=3)
        market.addNode(seller={"stock": {"pear": 3}}, discovery="index")
        buyer = market.addNode(buyer={"wants": ["pear"]})
        failures = []
        service = GiveUp(market.clock, buyer, market.role(buyer, "buyer"), 5,
                         lambda why, code: failures.append((why, code)), "t:7700",
                         schemes=("flood", ["chord", "index"]))
        service.startService()
        market.run(8)
        [(why, code)] = failures
        self.assertEqual(code, GAVE_UP)
        self.assertRegex(why, r"^gave up after 5 s: bought 0 of 1 pear: .*; only the "
                         r"flood scheme's nodes were asked, not those of index: "
                         r"--discovery SCHEME buys through them$")
        service.stopService()

    def test_stoppedWhileAskingSaysNothing(self):
        """Stopped while it asks the tracker of the other schemes: no
        give-up, nothing left waiting."""
        market = Market(seed=3)
        buyer = market.addNode(buyer={"wants": ["pear"]})
        failures = []
        service = GiveUp(market.clock, buyer, market.role(buyer, "buyer"), 5,
                         lambda why, code: failures.append((why, code)), "t:7700",
                         schemes=("flood", ["index"]))
        asked = []
        self.patch(type(buyer.membership), "ask",
                   lambda session, question: asked.append((question, Deferred()))
                   or asked[-1][1])
        service.startService()
        market.run(6)
        [waiting] = [d for question, d in asked if getattr(question, "scheme", None) == "index"]
        self.assertEqual((waiting.called, failures), (False, []))
        service.stopService()
        self.assertTrue(waiting.called)
        market.run(30)
        self.assertEqual(failures, [])

    def test_sellersClockAheadSaysSo(self):
        """The only seller's clock is 2 h ahead: it answers every buy
        expired.  The reason names it and the clocks, not "its search was
        still out" (a new user's faketime, issue 96's round 7)."""
        market = Market(seed=3)
        seller = market.addNode(seller={"stock": {"pear": 3}})
        seller.clock.wallSeconds = lambda: market.clock.seconds() + 7200
        service, failures = self.giveUp(market, ["pear"])
        market.run(6)
        [(why, code)] = failures
        self.assertEqual(code, GAVE_UP)
        self.assertEqual(why, f"gave up after 5 s: bought 0 of 1 pear: seller "
                              f"{shortId(seller.id)} answered its buy expired before it "
                              "expired by this node's clock: one of the two clocks is "
                              "wrong by more than 5 minutes")
        service.stopService()

    def test_noLinkSaysWhy(self):
        """No link to another node when time runs out (none named, or every
        dial dropped, as at a home that lets out only HTTP(S)): the reason
        says both causes (issue 96, from the HTTP-only home: it said only
        "no link"); the ways out come from the plugins (below)."""
        market = Market(seed=3)
        service, failures = self.giveUp(market, ["apple"])
        market.run(6)
        [(why, code)] = failures
        self.assertEqual(why, "gave up after 5 s: bought 0 of 1 apple: the node could "
                         "not search yet: no link to another node (none was named to "
                         "it, or none it dialled answered)")
        service.stopService()

    def test_aLoneSuperPeerSaysNoOther(self):
        """A super-peer the tracker names no other to says so, not the
        leaves' way out, a node started with --super, which it was (issue
        96 round 7, a lone super-peer at home)."""
        market = Market(seed=3)
        with capturedLogs() as events:
            market.addNode(discovery="superpeer", scheme={"super": True})
            market.run(5)
        lines = [formatEvent(event) for event in events
                 if event.get("log_namespace", "").endswith("SuperPeerLinks")]
        self.assertEqual(lines, [
            "the tracker names no other live super-peer (this node's leaves search "
            "its own index alone until another --discovery superpeer --super node "
            "starts); asking again later"])

    def test_noSuperPeerSaysSo(self):
        """A superpeer market of leaves alone: the buyer's reason is the
        tracker's, no live super-peer, and the way out, not a network that
        drops its dials (it said "no link to another node ... if this
        network lets only HTTP(S) out"); the leaf logs it once."""
        market = Market(seed=3)
        market.addNode(seller={"stock": {"apple": 3}}, discovery="superpeer")
        buyer = market.addNode(buyer={"wants": ["apple"]}, discovery="superpeer")
        failures = []
        with capturedLogs() as events:
            service = GiveUp(market.clock, buyer, market.role(buyer, "buyer"), 30,
                             lambda why, code: failures.append((why, code)), "t:7700")
            service.startService()
            market.run(31)
        [(why, code)] = failures
        self.assertEqual(why, "gave up after 30 s: bought 0 of 1 apple: the node could "
                         "not search yet: the tracker names no live super-peer (a node "
                         "started with --discovery superpeer --super serves as one)")
        lines = [formatEvent(event) for event in events
                 if event.get("log_namespace", "").endswith("SuperPeerLinks")]
        self.assertEqual(lines.count("the tracker names no live super-peer (a node "
                                     "started with --discovery superpeer --super serves "
                                     "as one); asking again later"), 2, lines)
        service.stopService()

    def unmetAmongApples(self, item):
        """Why a buyer of item gave up after 5 s in a market whose one
        seller sells apples."""
        market = Market(seed=3)
        market.addNode(seller={"stock": {"apple": 3}})
        service, failures = self.giveUp(market, [item])
        market.run(6)
        service.stopService()
        [(why, code)] = failures
        return why

    def test_anItemNamedWithItsCount(self):
        """bazaar buy apple=3 (a name --sell cannot make) that no seller
        offered says how to buy 3 apples (new user: it said only that no
        seller offered 'apple=3')."""
        self.assertRegex(self.unmetAmongApples("apple=3"),
                         r"^gave up after 5 s: bought 0 of 1 apple=3: no seller "
                         r"offered it \(\d+ search(es)? found nothing\) \(for 3 "
                         r"units of apple, name the item alone: --quantity 3\)$")

    def test_anItemNamedWithBlanksAround(self):
        """bazaar buy ' apple' that no seller offered says that such a name
        is only a shared file's, and how to name the item (it said only
        that no seller offered ' apple')."""
        self.assertRegex(self.unmetAmongApples(" apple"),
                         r"^gave up after 5 s: bought 0 of 1  apple: no seller "
                         r"offered it \(\d+ search(es)? found nothing\) \(a name "
                         r"that begins or ends with a blank is only a shared "
                         r"file's: for the item apple, name it 'apple'\)$")

    def test_satisfied(self):
        """Every want met in time: nothing happens, and stopping cancels
        the timer."""
        market = Market(seed=3)
        market.addNode(seller={"stock": {"apple": 3}})
        service, failures = self.giveUp(market, ["apple"])
        market.run(10)
        self.assertEqual(failures, [])
        service, failures = self.giveUp(market, ["apple"], seconds=60)
        service.stopService()
        market.run(70)
        self.assertEqual(failures, [])

    def test_onlyForABuyer(self):
        error = self.assertRaises(usage.UsageError, Options().parseOptions,
                                  ["--role", "seller", "--sell", "a=1",
                                   "--give-up-after", "5"])
        self.assertEqual(str(error), "--give-up-after belongs to the buyer role; "
                                     "add --role buyer")


class ShortfallTests(SynchronousTestCase):
    def test_namedButNeverTakenNeverRegistered(self):
        """A node its tracker named (ready) but never showed it took (its
        proof refused: error{wtf} and a close) never registered: its
        buyer's shortfall says so, where it used to give the reason of a
        search it never made."""
        node = SimpleNamespace(ready=True, wasRegistered=False)
        buyer = SimpleNamespace(wants=[SimpleNamespace(item="apple", bought=0,
                                                       quantity=1)])
        self.assertEqual(shortfall(node, buyer, None, "t:7700"),
                         "bought 0 of 1 apple: never registered with the tracker "
                         "at t:7700")

    def test_noLinkNamesTheWayOut(self):
        """A buyer that could not search (no link to another node) is told
        the ways out its transport plugins name (WebSocket's: the
        tracker's ws: address, a seller's --ws-port, --ws-peer), not only
        "no link"; with none, the words as ever."""
        node = SimpleNamespace(wasRegistered=True)
        buyer = SimpleNamespace(wants=[SimpleNamespace(item="pear", bought=0, quantity=1,
                                                       state=WAITING, clockApart=None,
                                                       clockBehind=None)],
                                discovery=None)
        hints = wayOut(transportPlugins().values())
        why = shortfall(node, buyer, EmptySearches(), "t:80", hints=hints)
        self.assertTrue(why.startswith("bought 0 of 1 pear: the node could not search "
                                       "yet: no link to another node (none was named "
                                       "to it, or none it dialled answered: if this "
                                       "network lets only HTTP(S) out, reach the "
                                       "tracker with --tracker ws:HOST:PORT"), why)
        self.assertIn("--ws-peer ID=HOST:PORT", why)
        self.assertIn("its --ws-port, which serves its relay over WebSocket too", why)
        self.assertEqual(shortfall(node, buyer, EmptySearches(), "t:80"),
                         "bought 0 of 1 pear: the node could not search yet: no link "
                         "to another node (none was named to it, or none it dialled "
                         "answered)")

    def test_aPeerOfTheOtherFamilyIsSaid(self):
        """A dual-stack tracker names an IPv6-only buyer the IPv4-only
        seller it cannot dial: the buyer's shortfall said only "none it
        dialled answered" (or "N searches found nothing", linked to
        others), never why (issue 96, s58-family).  Now it names the last
        peer it could not link to, and that peer's family against the one
        it reached its tracker by; not once that peer linked, and no
        family words for a peer of its own family."""
        SELLER = parseWireId("301137a9439a9a02b9cbac84f965630d")
        def node(local):
            transport = SimpleNamespace(getHost=lambda: SimpleNamespace(host=local))
            return SimpleNamespace(wasRegistered=True, membership=SimpleNamespace(
                link=SimpleNamespace(transport=transport)))

        def buyer(state):
            return SimpleNamespace(wants=[SimpleNamespace(
                item="cherry", bought=0, quantity=1, state=state, clockApart=None,
                clockBehind=None)], discovery=None)

        searches = EmptySearches()
        unreachable = "the network is unreachable (this machine has no route to it)"
        searches.linkFailed(SELLER, "45.58.5.11", 27010, unreachable)
        seller = "node 301137a9 at 45.58.5.11:27010"
        family = (" (an IPv4 address, and this node reached its tracker over IPv6: the "
                  "tracker names nodes of both families, and a node with no IPv4 "
                  "reaches none that is on IPv4 alone)")
        self.assertEqual(shortfall(node("2001:db8:5f::12"), buyer(WAITING), searches,
                                   "t:80"),
                         "bought 0 of 1 cherry: the node could not search yet: no link "
                         "to another node (none was named to it, or none it dialled "
                         f"answered: the last, {seller}{family}: {unreachable})")
        for _ in range(6):
            searches.offersFound("cherry", [])
        self.assertEqual(shortfall(node("2001:db8:5f::12"), buyer(BACKOFF), searches,
                                   "t:80").split(" (for N units")[0],
                         "bought 0 of 1 cherry: no seller offered it (6 searches found "
                         f"nothing; this node could not link to {seller}{family}: "
                         f"{unreachable})")
        self.assertIn(f"link to {seller}: {unreachable})",
                      shortfall(node("::ffff:45.58.5.12"), buyer(BACKOFF), searches,
                                "t:80"))
        searches.linkAdded(SELLER)
        self.assertEqual(shortfall(node("2001:db8:5f::12"), buyer(BACKOFF), searches,
                                   "t:80").split(" (for N units")[0],
                         "bought 0 of 1 cherry: no seller offered it (6 searches found "
                         "nothing)")

    def test_theFilesBoughtAreToldTheWayOutToo(self):
        """The buyer's files not in place are said with the hints (each
        file of which no byte came says them: L{Fetcher.unfinished
        <twisted_bazaar.roles.files.fetch.Fetcher.unfinished>})."""
        node = SimpleNamespace(wasRegistered=True)
        buyer = SimpleNamespace(wants=[], fetcher=SimpleNamespace(
            unfinished=lambda hints: [f"cannot download film.bin ({'; '.join(hints)})"]))
        self.assertEqual(shortfall(node, buyer, EmptySearches(), "t:80",
                                   hints=("try the other door",)),
                         "cannot download film.bin (try the other door)")

    def test_aDaemonsGiveUpSaysIt(self):
        """--give-up-after's line carries the hints it is given."""
        market = Market(seed=3)
        buyer = market.addNode(buyer={"wants": ["pear"]})
        failures = []
        GiveUp(market.clock, buyer, market.role(buyer, "buyer"), 5,
               lambda why, code: failures.append(why), "t:7700",
               hints=("try the other door",)).startService()
        market.run(6)
        [why] = failures
        self.assertIn("no link to another node (none was named to it, or none it "
                      "dialled answered: try the other door)", why)
