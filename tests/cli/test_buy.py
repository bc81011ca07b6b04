"""
Tests of L{twisted_bazaar.cli.buy} (``bazaar buy``) and the buyer's
C{exit_when_done}, in a L{Market}: real nodes and tracker on the
in-memory network.
"""

import hashlib
import os
import random

import attr
from twisted.application.service import Service
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar.wire.ids import parseWireId, shortId, wireId
from twisted_bazaar.cli.buy import BuyError, OneShotBuy, renderBuy
from twisted_bazaar.daemon.pluginfault import PluginFault
from twisted_bazaar.cli.progress import Progress
from twisted_bazaar.files import hashing
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.testing import Market
from twisted_bazaar.testing.market import NodeClock
from twisted_bazaar.testing.memory import (
    MemoryClientEndpoint,
    MemoryConnector,
    MemoryServerEndpoint,
)
from twisted_bazaar.tracker import DEFAULT_TRACKER_PORT
from twisted_bazaar.base.address import Address
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.path import CONFIGURED, Path
from twisted_bazaar.transports.websocket import WEBSOCKET
from twisted_bazaar.daemon.build import configured
from twisted_bazaar.daemon.registry import discoveryPlugins, transportPlugins
from twisted_bazaar.schemes.chord.ring import distance, keyOf, solves, strictlyBetween
from twisted_bazaar.schemes.chord.settings import LEAST_PUZZLE
from tests.files.helpers import scratchDir, writeFile
from tests.helpers import FakeConnector
from tests.records import identity


class ExitWhenDoneTests(SynchronousTestCase):
    def test_stopsOnceEveryWantIsMet(self):
        """A buyer told to exit when done stops its node, in order, once it
        has bought every unit; a buyer without it stays up."""
        market = Market(seed=4)
        market.addNode(seller={"stock": {"apple": 5}})
        leaving = market.addNode(buyer={"wants": ["apple"], "quantity": 2,
                                        "exit_when_done": True})
        staying = market.addNode(buyer={"wants": ["apple"]})
        market.run(30)
        self.assertEqual(sum(p.units for p in market.role(leaving, "buyer").bag), 2)
        self.assertNotIn(leaving, market.nodes)
        self.assertIn(staying, market.nodes)
        self.assertTrue(market.role(staying, "buyer").satisfied)
        self.assertTrue(market.stopped[leaving].called)
        self.assertEqual(market.leftovers(leaving),
                         {"delayed_calls": [], "connections": []})


class OneShotHelpers:
    """Runs a L{OneShotBuy} in a L{Market}; a mixin of the test cases."""

    def setUp(self):
        self.market = Market(seed=7)
        #: The lines the buy said as it bought (its announce).
        self.said = []

    def oneShot(self, item="apple", quantity=1, deadline=20.0, tracker_port=None,
                **files):
        network = self.market.network
        host = "shopper"
        # Seeded: the jitter of its search backoff decides how many searches
        # fit before a deadline (test_nothingOnSale).
        buy = OneShotBuy(
            NodeClock(self.market.clock), MemoryConnector(network, host),
            MemoryServerEndpoint(network, host),
            MemoryClientEndpoint(network, host, self.market.tracker_host,
                                 tracker_port or DEFAULT_TRACKER_PORT),
            "tracker:7700", item, quantity, deadline, rng=random.Random(1),
            announce=self.announced, **files)
        outcome = []
        buy.run().addBoth(outcome.append)
        return buy, outcome

    def announced(self, line):
        self.said.append(line)

    def why(self, outcome):
        """The reason the buy failed with: its one outcome must be a
        L{ClientError}."""
        [failure] = outcome
        failure.trap(ClientError)
        return str(failure.value)

    def assertNothingLeft(self, buy):
        """The one-shot buyer's node is stopped, with no timer and no
        connection left."""
        self.assertFalse(buy.service.running)
        self.assertEqual(buy.clock.getDelayedCalls(), [])
        self.assertEqual([end for pair in self.market.network.connections
                          for end in pair
                          if end.host.host == "shopper" and end.connected], [])



class OneShotBuyTests(OneShotHelpers, SynchronousTestCase):
    def test_buysAndStops(self):
        """It buys what it was asked for, from the market's seller, then
        its node stops: no link and no timer left."""
        seller = self.market.addNode(seller={"stock": {"apple": 3}})
        buy, outcome = self.oneShot(quantity=2)
        self.market.run(30)
        [result] = outcome
        self.assertEqual((result["item"], result["quantity"], result["node"]),
                         ("apple", 2, wireId(buy.node.id)))
        self.assertEqual([(p["seller"], p["units"]) for p in result["purchases"]],
                         [(wireId(seller.id), 2)])
        self.assertEqual(self.market.role(seller, "seller").inventory(),
                         {"apple": 1})
        self.assertEqual(self.said,
                         [f"bought apple x2 from node {shortId(seller.id)} (2 of 2)"])
        self.assertEqual(renderBuy(result), "", "said once, as bought")
        self.assertNothingLeft(buy)

    def test_nothingOnSale(self):
        """Nobody sells it: at the deadline it stops and says why."""
        self.market.addNode(seller={"stock": {"pear": 3}})
        buy, outcome = self.oneShot(deadline=10)
        self.market.run(30)
        self.assertEqual(self.why(outcome),
                         "bought 0 of 1 apple within 10 s: no seller offered it "
                         "(3 searches found nothing)")
        self.assertNothingLeft(buy)

    def test_noLinkSaysWhy(self):
        """Alone with the tracker (or every dial dropped): the reason says
        both causes (issue 96, from the HTTP-only home); the ways out of
        the transports it has are added (tests/tap/test_shortfall)."""
        buy, outcome = self.oneShot(deadline=5)
        self.market.run(10)
        self.assertEqual(self.why(outcome),
                         "bought 0 of 1 apple within 5 s: the node could not search "
                         "yet: no link to another node (none was named to it, or none "
                         "it dialled answered)")
        self.assertNothingLeft(buy)

    def test_noTracker(self):
        """No tracker where it was told: it says it never registered."""
        buy, outcome = self.oneShot(deadline=5, tracker_port=1)
        self.market.run(10)
        self.assertEqual(self.why(outcome),
                         "bought 0 of 1 apple within 5 s: never registered with "
                         "the tracker at tracker:7700")
        # It asked nobody, so bazaar buy names no scheme as the one asked
        # (s57-soak: 'never registered ...; only the index scheme's nodes
        # were asked', said while the tracker restarted).
        self.assertFalse(outcome[0].value.unfound)
        self.assertNothingLeft(buy)


    def test_withoutQuicItsRefusalsSayNoUdp(self):
        """A buy that punches but serves no QUIC (``--no-quic``) says, in
        each punch it refuses, that no UDP punch works with it (issue 96:
        its peers asked the tracker for UDP punches with it)."""
        from twisted_bazaar.reach.punch.tcp.service import Punching

        class Dialer:
            addressed = False

        self.market.addNode(seller={"stock": {"apple": 1}})
        buy, outcome = self.oneShot(punch=(Dialer(), 0, True))
        [punching] = [each for each in buy.node.dialer.sources
                      if isinstance(each, Punching)]
        self.assertFalse(punching.puncher.udp)
        self.market.run(30)
        self.assertNothingLeft(buy)


class NothingOfferedTests(OneShotHelpers, SynchronousTestCase):
    def test_saidAtOnce(self):
        """The item is sold out: as soon as its first search has found
        nothing, the buyer says so (and that it goes on until the
        deadline), long before the deadline ends the purchase; once."""
        self.market.addNode(seller={"stock": {"apple": 1}})
        self.market.addNode(buyer={"wants": ["apple"]})
        self.market.run(10)
        told = []
        buy, outcome = self.oneShot(deadline=60, notice=told.append)
        self.market.run(8)
        self.assertEqual(outcome, [])
        self.assertEqual(len(told), 1)
        self.assertRegex(told[0], r"^no seller offers apple now \(sold out, or not "
                         r"sold here: a search found nothing\); searching again for "
                         r"up to 5\d s \(--timeout\), Ctrl-C to stop$")
        self.market.run(60)
        self.assertEqual(len(told), 1)
        self.assertRegex(self.why(outcome), "^bought 0 of 1 apple within 60 s")


    def test_aCountedNameSaysWhatItMeant(self):
        """`bazaar buy apple=2` said the way out (--quantity 2) only at its
        deadline, a minute later; its first notice says it now."""
        self.market.addNode(seller={"stock": {"apple": 3}})
        self.market.run(10)
        told = []
        buy, outcome = self.oneShot(item="apple=2", deadline=60, notice=told.append)
        self.market.run(8)
        self.assertEqual(len(told), 1)
        self.assertRegex(told[0], r"^no seller offers apple=2 now .*, Ctrl-C to stop "
                         r"\(for 2 units of apple, name the item alone: "
                         r"--quantity 2\)$")
        self.market.run(60)


class ShortPurchaseTests(OneShotHelpers, SynchronousTestCase):
    """A purchase that ends short fails with what it bought all the same,
    and says why no more."""

    def failure(self, outcome):
        [failure] = outcome
        failure.trap(BuyError)
        return failure.value

    def test_partialPurchaseKeepsWhatItBought(self):
        """The seller runs out after 3 of 5: the error says that no seller
        offered more (not "it"), and carries the purchase to show."""
        seller = self.market.addNode(seller={"stock": {"apple": 3}})
        buy, outcome = self.oneShot(quantity=5, deadline=10)
        self.market.run(30)
        error = self.failure(outcome)
        self.assertRegex(str(error), r"^bought 3 of 5 apple within 10 s: no seller "
                         r"offered more \(\d+ searches? found nothing\)$")
        self.assertEqual([(p["seller"], p["units"]) for p in error.result["purchases"]],
                         [(wireId(seller.id), 3)])
        self.assertEqual(self.said,
                         [f"bought apple x3 from node {shortId(seller.id)} (3 of 5)"])
        self.assertNothingLeft(buy)

    def test_interrupted(self):
        """Ctrl-C midway: the purchase ends at once with the reason and what
        it lacked, and the node stops in order, leaving the tracker."""
        self.market.addNode(seller={"stock": {"pear": 3}})
        buy, outcome = self.oneShot(deadline=60)
        self.market.run(3)
        self.assertEqual(len(self.market.tracker.registry), 2)
        stopped = buy.interrupt("interrupted by SIGINT")
        self.market.run(1)
        self.assertTrue(stopped.called)
        error = self.failure(outcome)
        self.assertRegex(str(error), r"^interrupted by SIGINT: bought 0 of 1 apple: ")
        self.assertEqual(error.result["purchases"], [])
        self.assertEqual(len(self.market.tracker.registry), 1)
        self.assertNothingLeft(buy)


class OneShotFileTests(OneShotHelpers, SynchronousTestCase):
    """bazaar buy of a shared file: done once the verified file is in the
    downloads folder, with progress shown; a download that cannot finish
    ends the buy with the reason."""

    PIECE = 4096

    def setUp(self):
        super().setUp()
        self.patch(hashing, "MIN_PIECE", self.PIECE)
        self.data = random.Random(3).randbytes(20 * self.PIECE)
        self.shared = scratchDir(self)
        writeFile(self.shared, "big.bin", self.data)
        self.downloads = scratchDir(self)
        self.shown = []

    def fileShot(self, **extra):
        return self.oneShot("big.bin", downloads=self.downloads,
                            progress=Progress(self.shown.append, terminal=False),
                            **extra)

    def test_waitsForTheFile(self):
        """The buy ends once the file is in place, past the deadline (which
        bounds the purchase), with plain progress lines on the way."""
        seller = self.market.addNode(seller={"stock": {}, "share": self.shared,
                                             "transfer_rate": self.PIECE})
        buy, outcome = self.fileShot(quantity=3, deadline=10)
        path = os.path.join(self.downloads, "big.bin")
        # The purchase is said as it is made, long before its file is in
        # place (a piece a second).
        self.market.run(5)
        self.assertEqual(self.said,
                         [f"bought big.bin from node {shortId(seller.id)} (1 of 1)"])
        self.assertFalse(os.path.exists(path))
        self.market.run(55)
        [result] = outcome
        with open(path, "rb") as f:
            self.assertEqual(f.read(), self.data)
        self.assertEqual(len(result["purchases"]), 1)
        self.assertEqual(result["quantity"], 1)
        [fetched] = result["files"]
        self.assertEqual((fetched["name"], fetched["path"]), ("big.bin", path))
        # Nothing came through a relay (the memory network has none), and
        # nothing moved.
        self.assertEqual(fetched["pieces"], [{"seller": wireId(seller.id), "pieces": 20,
                                              "relayed_bytes": 0, "moved_after": None}])
        self.assertEqual(len(self.said), 1, "the purchase is said once")
        [line] = renderBuy(result).splitlines()
        plain = hashlib.sha256(self.data).hexdigest()
        self.assertEqual(fetched["sha256sum"], plain)
        self.assertEqual(line, f"downloaded big.bin into {path}, verified "
                         f"(20 pieces from node {shortId(seller.id)}); its sha256sum: "
                         f"{plain}")
        self.assertGreaterEqual(len(self.shown), 2)
        self.assertTrue(self.shown[0].startswith("big.bin: "), self.shown)
        self.assertNothingLeft(buy)
        self.assertEqual(os.listdir(self.downloads), ["big.bin"],
                         "the buyer's private folder, empty, is not left behind")

    def test_aFileInPlaceIsSaid(self):
        """A second buy of a file already in the downloads folder (the
        same content) buys nothing and fetches nothing (issue 96: before,
        it paid for it again), and says where the file is all the same: a
        line with its path and sha256sum, and a row of files in the JSON,
        with no pieces and in_place true; the seller sold nothing."""
        seller = self.market.addNode(seller={"stock": {}, "share": self.shared})
        writeFile(self.downloads, "big.bin", self.data)
        path = os.path.join(self.downloads, "big.bin")
        buy, outcome = self.fileShot(deadline=10)
        self.market.run(20)
        [result] = outcome
        self.assertEqual(result["purchases"], [])
        self.assertEqual(len(self.market.role(seller, "seller").ledger), 0)
        plain = hashlib.sha256(self.data).hexdigest()
        self.assertEqual(result["files"], [{"name": "big.bin", "path": path,
                                            "sha256sum": plain, "pieces": [],
                                            "in_place": True}])
        self.assertEqual(renderBuy(result),
                         f"big.bin is in place already: {path}, verified (nothing "
                         f"bought); its sha256sum: {plain}")
        self.assertEqual(self.said, [])
        self.assertEqual(os.listdir(self.downloads), ["big.bin"])
        self.assertNothingLeft(buy)

    def test_aFileBoughtThenFoundInPlaceIsSaid(self):
        """A file of the content bought found in place after the purchase
        (a buyer restarted with its bag) says it was not fetched again."""
        row = {"name": "f", "path": "/d/f", "sha256sum": "ab", "pieces": [],
               "in_place": True}
        self.assertEqual(renderBuy({"purchases": [{"units": 1}], "files": [row]}),
                         "f is in place already: /d/f, verified (not fetched again); "
                         "its sha256sum: ab")

    def test_otherContentUnderTheNameIsBought(self):
        """A file of other content under the name changes nothing: the
        file is bought and fetched beside it, under its tagged name."""
        seller = self.market.addNode(seller={"stock": {}, "share": self.shared})
        mine = b"the user's own" * 100
        writeFile(self.downloads, "big.bin", mine)
        buy, outcome = self.fileShot(deadline=10)
        self.market.run(20)
        [result] = outcome
        self.assertEqual(len(result["purchases"]), 1)
        self.assertEqual(len(self.market.role(seller, "seller").ledger), 1)
        [row] = result["files"]
        self.assertNotIn("in_place", row)
        with open(row["path"], "rb") as f:
            self.assertEqual(f.read(), self.data)
        with open(os.path.join(self.downloads, "big.bin"), "rb") as f:
            self.assertEqual(f.read(), mine)

    def test_aFilesSecondPurchaseIsItsOneUnit(self):
        """A file bought again, of other content, once the first could not
        be fetched (a seller whose file changed mid-download), is said as
        the file's one unit, as the buyer's log says it: "(1 of 1)", not
        a count over the bag, "(2 of 1)"."""
        seller = self.market.addNode(seller={"stock": {}, "share": self.shared})
        buy, outcome = self.fileShot(deadline=10)
        self.market.run(20)
        [first] = buy.buyer.bag
        again = attr.evolve(first, buy_id=first.buy_id + 1, sha256="cd" * 32)
        buy.buyer.bag.append(again)
        self.assertEqual(buy._boughtLine(again),
                         f"bought big.bin from node {shortId(seller.id)} (1 of 1)")

    def test_aPartFileIsKept(self):
        """A buy that ends before its file is whole keeps the part file,
        and so the private folder that holds it, for the next to resume."""
        self.market.addNode(seller={"stock": {}, "share": self.shared,
                                    "transfer_rate": self.PIECE})
        buy, outcome = self.fileShot(deadline=10)
        self.market.run(5)
        buy.interrupt("interrupted by SIGINT")
        self.market.run(5)
        self.assertEqual(os.listdir(self.downloads), [".bazaar-downloads"])
        self.assertTrue(os.listdir(os.path.join(self.downloads, ".bazaar-downloads")))

    def test_aResumedFileIsSaid(self):
        """A buy of a file paid for and stopped (Ctrl-C), run again, says
        that it resumes the purchase, where a first buy says its purchase
        (it said nothing before its download's line), and buys nothing."""
        seller = self.market.addNode(seller={"stock": {}, "share": self.shared,
                                             "transfer_rate": self.PIECE})
        buy, outcome = self.fileShot(deadline=10)
        self.market.run(5)
        buy.interrupt("interrupted by SIGINT")
        self.market.run(5)
        del self.said[:]
        buy, outcome = self.fileShot(deadline=10)
        self.market.run(60)
        [result] = outcome
        self.assertEqual(self.said, [f"resuming big.bin, bought from node "
                                     f"{shortId(seller.id)} in an earlier run (not "
                                     f"bought again)"])
        self.assertEqual(result["purchases"], [])
        [fetched] = result["files"]
        self.assertNotIn("in_place", fetched)

    def test_terminalBarEndsWhole(self):
        """On a terminal, the last bar drawn of the file fetched says 100%,
        however far the last periodic redraw had caught it."""
        self.market.addNode(seller={"stock": {}, "share": self.shared,
                                    "transfer_rate": self.PIECE})
        buy, outcome = self.oneShot("big.bin", downloads=self.downloads, deadline=10,
                                    progress=Progress(self.shown.append, terminal=True))
        self.market.run(60)
        self.assertEqual(len(outcome), 1)
        bars = [text for text in self.shown if text.startswith("\r")]
        self.assertGreaterEqual(len(bars), 2)
        self.assertNotIn("100%", bars[0])
        self.assertIn("big.bin [########################] 100%", bars[-1])
        self.assertEqual(self.shown[-1], "\n")

    def test_folderThatTakesNoWrites(self):
        """A file's offers found in a folder that takes no writes (here: a
        plain file has taken its place since the buy began) end the buy with
        the disk's reason, before anything is bought, not a hang: so the
        current folder, --downloads' default, need not be checked before a
        counted item is bought."""
        self.market.addNode(seller={"stock": {}, "share": self.shared,
                                    "transfer_rate": self.PIECE})
        buy, outcome = self.fileShot(give_up=15.0)
        os.rmdir(self.downloads)
        with open(self.downloads, "wb"):
            self.addCleanup(os.remove, self.downloads)
        self.market.run(60)
        self.assertRegex(self.why(outcome), r"^cannot download big\.bin: cannot "
                         r"create .*/\.bazaar-downloads: Not a directory; nothing "
                         r"bought$")
        # Its folder ended it, not a want of sellers: bazaar buy names no
        # other scheme's nodes after it.
        self.assertFalse(outcome[0].value.unfound)
        self.assertEqual(buy.buyer.bag, [])
        self.assertNothingLeft(buy)

    def test_aFolderRefusedEndsBeforeAFileIsBought(self):
        """A folder no file may go into (bazaar buy's current folder, a
        daemon's state: L{currentFolderRefusal}) ends the buy as the file's
        offers are found, with the reason, nothing bought or written; a
        counted item is bought there all the same."""
        seller = self.market.addNode(seller={"stock": {"apple": 2}, "share": self.shared,
                                             "transfer_rate": self.PIECE})
        why = "the current folder D holds a node's key (node.key): ..."
        buy, outcome = self.fileShot(refused=why)
        self.market.run(60)
        self.assertEqual(self.why(outcome), f"cannot download big.bin: {why}; nothing bought")
        self.assertFalse(outcome[0].value.unfound)
        self.assertEqual(buy.buyer.bag, [])
        self.assertEqual(os.listdir(self.downloads), [])
        self.assertEqual(len(self.market.role(seller, "seller").ledger), 0)
        self.assertNothingLeft(buy)
        counted, outcome = self.oneShot("apple", downloads=self.downloads, refused=why)
        self.market.run(30)
        self.assertEqual(outcome[0]["purchases"][0]["units"], 1)
        self.assertNothingLeft(counted)

    def test_givesUpWithTheReason(self):
        """Its only seller dies midway: the buy ends, failing, with the
        download's reason, once --download-give-up passes."""
        seller = self.market.addNode(seller={"stock": {}, "share": self.shared,
                                             "transfer_rate": self.PIECE})
        buy, outcome = self.fileShot(give_up=15.0)
        for _ in range(400):
            self.market.run(0.05)
            download = buy.fetcher.downloads.get("big.bin")
            if download is not None and download.have:
                break
        self.market.crash(seller)
        self.market.run(14)
        self.assertEqual(outcome, [])
        self.market.run(30)
        self.assertRegex(self.why(outcome), r"^cannot download big\.bin: no piece "
                         r"came for 15 s \(--download-give-up\): ")
        self.assertNothingLeft(buy)


def _drawnKey(fits, start):
    """The first key pair of tests.records from seed ``start`` on whose id
    ``fits``."""
    return next(identity(seed) for seed in range(start, start + 100_000)
                if fits(identity(seed).id))


class OneShotChordTests(OneShotHelpers, SynchronousTestCase):
    """
    ``bazaar buy`` on a chord ring of daemons whose ids solve the ring's
    puzzle (here of 8 bits, the least a daemon takes): its own fresh key
    does not, so it is a client off the ring.
    """

    PUZZLE = LEAST_PUZZLE

    def test_takesTheLeastPuzzleOfADaemonsRing(self):
        """Unless given other settings, it takes only peers whose ids solve
        the least puzzle a ring of daemons has; with an in-process
        market's, any."""
        daemons = OneShotBuy(None, FakeConnector(), None, None, "tracker:7700", "apple",
                             discovery="chord")
        self.assertEqual(daemons.node.discovery.settings,
                         attr.evolve(configured(self.chord, {}), puzzle=LEAST_PUZZLE))
        given = OneShotBuy(None, FakeConnector(), None, None, "tracker:7700", "apple",
                           discovery="chord", scheme_settings=configured(self.chord, {}))
        self.assertEqual(given.node.discovery.settings.puzzle, 0)

    @property
    def chord(self):
        return discoveryPlugins()["chord"]

    def test_buysWhereItsPlaceWouldHoldTheKey(self):
        """Its id lies between apple's key and the node that holds the key:
        the ring does not take it there, so the holder and its replicas
        answer, its first successors, which lie between it and the key; it
        takes their answer, and buys at once."""
        sellers = [_drawnKey(lambda i: solves(i, self.PUZZLE), start)
                   for start in (20_000, 40_000)]
        for each, item in zip(sellers, ("apple", "pear")):
            self.market.addNode(discovery="chord", identity=each,
                                scheme={"chord-puzzle": self.PUZZLE},
                                seller={"stock": {item: 5}})
        self.market.run(10)
        key = keyOf("apple")
        holder = min((seller.id for seller in sellers), key=lambda i: distance(key, i))
        buyer = _drawnKey(lambda i: strictlyBetween(i, key, holder)
                          and not solves(i, self.PUZZLE), 60_000)
        buy, outcome = self.oneShot(discovery="chord", identity=buyer)
        self.market.run(3)
        [result] = outcome
        self.assertEqual([(p["seller"], p["units"]) for p in result["purchases"]],
                         [(wireId(sellers[0].id), 1)])
        self.assertNothingLeft(buy)


class TransportPluginTests(SynchronousTestCase):
    """``bazaar buy``'s node has each transport plugin's transport its
    options turn on, as a node daemon does: dialled by, and served while
    the node runs."""

    def buy(self, values, tracker_kinds=("tcp",), tracker_at=None):
        plugin = transportPlugins()["WebSocket"]
        off = {option.name: [] if option.repeatable else option.default
               for option in plugin.nodeOptions}
        return OneShotBuy(Clock(), FakeConnector(), None, None, "tracker:7700", "apple",
                          listen_description="tcp:0:interface=127.0.0.1",
                          transports=[(plugin, {**off, **values})],
                          tracker_kinds=tracker_kinds, tracker_at=tracker_at)

    def test_aWsTrackersWayIsTheNodes(self):
        """Reached by ``ws:``, the tracker's WebSocket port is the way the
        buy's node keeps to it (its relay, its punches: none), as a node
        daemon's.  Before, ``bazaar --tracker ws:HOST:80 buy`` at a home
        that lets only HTTP(S) out punched three times, 5 s each, and
        held a file to a taste meanwhile (s57-user2: 47 to 63 s for 6 MiB
        a daemon buyer fetched in 25)."""
        tracker = Address("192.0.2.10", 80, "ws:192.0.2.10:80")
        buy = self.buy({}, ("ws",), tracker)
        self.assertEqual(buy.service.membership.trackerWay,
                         Path(WEBSOCKET, "192.0.2.10", 80, word=CONFIGURED))
        self.assertIsNone(self.buy({}, ("tcp",), Address.tcp("192.0.2.10", 7700))
                          .service.membership.trackerWay)

    def test_aWsTrackerMakesItTheNodes(self):
        """Reached by ``ws:``, the tracker names WebSocket paths the buy
        dials: the node has the transport without --ws-port or --ws-peer."""
        self.assertIn("websocket", self.buy({}, ("ws",)).node.dialer.transports.kinds)

    def test_offUnlessItsOptionsTurnItOn(self):
        self.assertNotIn("websocket", self.buy({}).node.dialer.transports.kinds)

    def test_aPeerNamedMakesItTheNodes(self):
        seller = "0123456789abcdef0123456789abcdef"
        buy = self.buy({"ws-peer": [(parseWireId(seller), "192.0.2.11", 443)]})
        self.assertIn("websocket", buy.node.dialer.transports.kinds)
        # Its service runs under the node's: started and stopped with it.
        served = [service for service in buy.service
                  if type(service).__module__.startswith(
                      "twisted_bazaar.transports.websocket")]
        self.assertEqual(len(served), 1, list(buy.service))


@implementer(ITransport)
class _UnlistenedTransport:
    """A transport that dials nothing (no path of its kind is in the
    book), of a kind a plugin registered: WebSocket's."""

    kind = WEBSOCKET

    def canDial(self, path):
        return path.kind == self.kind

    def dial(self, path, expectedKey, protocolFactory, options=None):
        raise AssertionError("never dialled: no path of its kind")

    def listen(self, factory):
        raise AssertionError("its service listens, not the node")


class _UnlistenedService(Service):
    """A transport's port that cannot listen: it tells its onFailure, as
    a WebSocket port taken by another program does."""

    def __init__(self, onFailure):
        self.onFailure = onFailure

    def startService(self):
        super().startService()
        self.onFailure("cannot listen on port 80 (--unlistened-port 80): "
                       "Address already in use")


class _UnlistenedPlugin:
    """A transport plugin whose node port cannot listen."""

    def nodeTransport(self, reactor, values, interface, onFailure, trackerKinds=()):
        served = attr.make_class("Served", ["transport", "serve"])

        def make(channel, peerLog):
            return served(_UnlistenedTransport(),
                          lambda book, links, transfers, relay: _UnlistenedService(onFailure))
        return make


class _ServesNothingPlugin(_UnlistenedPlugin):
    """A transport plugin whose made transport's serve raises."""

    name = "ServesNothing"

    def nodeTransport(self, reactor, values, interface, onFailure, trackerKinds=()):
        served = attr.make_class("Served", ["transport", "serve"])

        def serve(book, links, transfers, relay):
            raise KeyError("no book")

        return lambda channel, peerLog: served(_UnlistenedTransport(), serve)


class TransportCannotListenTests(OneShotHelpers, SynchronousTestCase):
    def test_aPluginThatCannotServe(self):
        """A transport plugin whose serve raises is its PluginFault, one
        line naming it (bazaar's "failed" under a traceback before)."""
        error = self.assertRaises(PluginFault, self.oneShot,
                                  transports=[(_ServesNothingPlugin(), {})])
        self.assertEqual(str(error), f"the transport plugin 'ServesNothing' ({__file__}) "
                         "failed to serve the node's transport: KeyError: 'no book'")

    def test_aPortThatCannotListenEndsThePurchase(self):
        """A transport's port that cannot listen (its onFailure told one
        line) ends bazaar buy with that line as the reason, its node
        stopped and nothing left running."""
        buy, outcome = self.oneShot(transports=[(_UnlistenedPlugin(), {})])
        self.assertIn(WEBSOCKET, buy.node.dialer.transports.kinds)
        self.market.clock.advance(0)
        [failure] = outcome
        failure.trap(BuyError)
        self.assertEqual(str(failure.value), "cannot listen on port 80 "
                         "(--unlistened-port 80): Address already in use")
        # It never asked a seller: bazaar buy names no scheme unasked.
        self.assertFalse(failure.value.started)
        self.assertNothingLeft(buy)


class _TakenUdp:
    """A reactor whose UDP ports are all taken; its time is the market's."""

    def __init__(self, clock):
        self.clock = clock

    def seconds(self):
        return self.clock.seconds()

    def callLater(self, *args, **kwargs):
        return self.clock.callLater(*args, **kwargs)

    def listenUDP(self, port, protocol, interface=""):
        from twisted.internet.error import CannotListenError

        raise CannotListenError(interface or "any", port,
                                OSError(98, "Address already in use"))


class QuicCannotListenTests(OneShotHelpers, SynchronousTestCase):
    def test_aQuicPortTakenEndsThePurchase(self):
        """Issue 96 M1: bazaar buy --quic-port on a taken UDP port raised
        a 29-line traceback; it ends the buy with one line, its node
        stopped and nothing left running."""
        from twisted_bazaar.channel.session import ChannelKey
        from twisted_bazaar.daemon.quic import QuicService

        quic = QuicService(_TakenUdp(self.market.clock), ChannelKey.generate(), 7701)
        buy, outcome = self.oneShot(quic=quic)
        self.market.clock.advance(0)
        [failure] = outcome
        failure.trap(BuyError)
        self.assertEqual(str(failure.value), "QUIC cannot listen on --quic-port 7701: "
                         "port 7701 is in use (another program, or another daemon, "
                         "listens there)")
        self.assertNothingLeft(buy)
