"""
Tests for twisted_bazaar.schemes.chord.lookups: a node's own lookups,
and the detours they take round a node that drops them (real nodes in a
L{Market}; the detour's own logic is tested in test_detour.py, its
steps in test_detouring.py).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.detouring import Detouring
from twisted_bazaar.schemes.chord.ring import keyOf, place
from twisted_bazaar.schemes.chord.settings import FINGER
from twisted_bazaar.sim.adversaries import Withhold
from twisted_bazaar.testing import Market

from tests.helpers import units
from tests.schemes.chord.market import FAST, SETTLE, addChord, answerOf, holderOf

APPLE = keyOf("apple")
#: Seconds of the market's time between looks at whether a find is
#: answered (L{DetourTests.found}).
STEP = 0.5


def smallRing():
    """Six chord nodes of seed 8 (the market is run until stable by the
    caller): (market, nodes)."""
    market = Market(seed=8)
    return market, [addChord(market) for _ in range(6)]


def appleRing(test):
    """smallRing with an apple seller, run until stable: (market, seller,
    the asker, the peers its detours ask ``chordNext`` from now on, for
    the rest of ``test``)."""
    market, nodes = smallRing()
    seller = addChord(market, seller={"stock": {"apple": 5}})
    market.run(SETTLE)
    asker = nodes[0]
    return market, seller, asker, stepsAsked(test, asker)


def stepsAsked(test, node):
    """The peers node's detours ask ``chordNext`` from now on (until
    ``test`` ends), as a list that grows."""
    asked = []
    original, mine = Detouring._askNext, node.discovery.detouring

    def counted(detouring, peer, key):
        if detouring is mine:
            asked.append(peer)
        return original(detouring, peer, key)

    test.patch(Detouring, "_askNext", counted)
    return asked


#: Records refreshed and expiring sooner than FAST's (10 s and 25 s), for
#: the tests that wait for every record stored before a node began
#: dropping to expire: that wait, on rings of 11 to 25 nodes, was most of
#: their CPU time.
QUICKLY_FORGOTTEN = {"chord-refresh": 5, "chord-expiry": 12}
#: Virtual seconds by which a record stored before now is expired, and
#: its seller has stored it twice since.
FORGOTTEN = QUICKLY_FORGOTTEN["chord-expiry"] + 2 * QUICKLY_FORGOTTEN["chord-refresh"]


class DetourTests(SynchronousTestCase):
    """
    The node just before apple's holder drops every request, store and
    detour question that comes to it (the simulator's withholder), so
    every routed lookup of apple, and every routed store, dies there: the
    last hop of each passes it.
    """

    def market(self, paths, size=10):
        market = Market(seed=8)
        options = dict(QUICKLY_FORGOTTEN, **{"chord-paths": paths})
        nodes = [addChord(market, scheme=options) for _ in range(size)]
        seller = addChord(market, scheme=options, seller={"stock": {"apple": 5}})
        market.run(SETTLE)
        ring = sorted(market.nodes, key=lambda node: place(node.id))
        holder = holderOf(market, APPLE)
        dropper = ring[ring.index(holder) - 1]
        self.assertNotIn(dropper, (seller, holder))
        withholder = Withhold(dropper)
        # Every copy stored before it began dropping expires.
        market.run(FORGOTTEN)
        askers = [node for node in nodes if node is not dropper]
        return market, seller, dropper, withholder, askers

    def found(self, market, askers, lookups=8):
        """The sellers each asker's find of apple names, given the time of
        that many lookups at most: the next asks once it is answered (the
        market's time past an answer changed nothing of it, and cost most
        of test_silentHoldersInARow's 96 s in a loaded parallel run)."""
        found = []
        for asker in askers:
            deferred = asker.discovery.find("apple", 1.0)
            left = FAST["chord-lookup-timeout"] * lookups
            while not deferred.called and left > 0:
                market.run(STEP)
                left -= STEP
            offers = answerOf(deferred)
            found.append(sorted({offer.seller for offer in offers}))
        return found

    def test_withoutDetoursTheItemIsHidden(self):
        """The control: with --chord-paths 0, the dropper hides apple
        from every asker whose lookup it stops."""
        market, seller, dropper, withholder, askers = self.market(paths=0)
        found = self.found(market, askers)
        self.assertGreater(withholder.dropped, 0)
        self.assertLess(found.count([seller.id]), len(askers) / 2)

    def test_detoursFindTheSeller(self):
        """With detours, the seller's stores reach the holders round the
        dropper, and every asker finds the seller; a buyer buys."""
        market, seller, dropper, withholder, askers = self.market(paths=3)
        found = self.found(market, askers)
        self.assertGreater(withholder.dropped, 0)
        self.assertEqual(found, [[seller.id]] * len(askers))
        buyer = addChord(market, buyer={"wants": ["apple"], "quantity": 2})
        market.run(20)
        self.assertEqual([p.seller for p in units(market.role(buyer, "buyer").bag)],
                         [seller.id] * 2)

    def test_fullFingerSlotsAreRecycled(self):
        """
        A detour opens a finger link to each node it asks, and a find
        after another comes before the last one's links fall idle: on a
        ring of 17 with 4 finger slots a node, each new question retires
        the asker's quietest finger link, and every asker finds the
        seller.  (Before, a question with every slot taken failed at once,
        so every node of a path failed in a row: 5 of these 15 askers
        found nobody.)
        """
        market, seller, dropper, withholder, askers = self.market(paths=3, size=16)
        for asker in askers:
            asker.setSlots(FINGER, 4)
        found = self.found(market, askers)
        self.assertGreater(withholder.dropped, 0)
        self.assertEqual(found, [[seller.id]] * len(askers))

    def test_silentHoldersInARow(self):
        """
        apple's holder and the two nodes after it drop everything, so no
        store is replicated past them: the seller's stores take detours
        to the first honest nodes after them, and every asker finds the
        seller, the first of those nodes too, among what it holds itself
        (no detour asks its own origin; before, that node alone found
        nobody).  On a ring this small every node's fingers name the
        nodes after the silent ones; where they do not, the detour's
        questions to the nodes that answer find them (test_detour.py,
        L{SilentHoldersTests}).
        """
        market = Market(seed=8)
        nodes = [addChord(market, scheme=QUICKLY_FORGOTTEN) for _ in range(24)]
        seller = addChord(market, scheme=QUICKLY_FORGOTTEN, seller={"stock": {"apple": 5}})
        market.run(SETTLE)
        ring = sorted(market.nodes, key=lambda node: place(node.id))
        first = ring.index(holderOf(market, APPLE))
        silent = [ring[(first + step) % len(ring)] for step in range(3)]
        self.assertNotIn(seller, silent)
        withholders = [Withhold(node) for node in silent]
        market.run(FORGOTTEN)
        askers = [node for node in nodes if node not in silent]
        found = self.found(market, askers, lookups=10)
        self.assertGreater(sum(each.dropped for each in withholders), 0)
        self.assertEqual(found, [[seller.id]] * len(askers))

    def test_aSlowRouteTakesNoDetour(self):
        """A find whose caller waits less than a route takes still gives
        routing the whole lookup timeout: the holders' answer comes, and
        no detour is taken (a detour follows silence, not slowness)."""
        market, seller, asker, sent = appleRing(self)
        deferred = asker.discovery.find("apple", 0.001)
        market.run(asker.discovery.settings.lookup_timeout)
        self.assertEqual([offer.seller for offer in answerOf(deferred)], [seller.id])
        self.assertEqual(sent, [])

    def test_anUnsoldItemTakesNoDetour(self):
        """Holders that answer "nobody" are believed: no detour, no
        chordNext sent."""
        market, nodes = smallRing()
        market.run(SETTLE)
        asker = nodes[0]
        sent = stepsAsked(self, asker)
        deferred = asker.discovery.find("plum", 1.0)
        market.run(5)
        self.assertEqual(answerOf(deferred), [])
        self.assertEqual(sent, [])

    def test_aSilentRingTakesADetour(self):
        """The same find with every other node dropping it: no holder
        answers, and the detour is taken (and finds nobody either)."""
        market, nodes = smallRing()
        market.run(SETTLE)
        for node in nodes[1:]:
            Withhold(node)
        asker = nodes[0]
        sent = stepsAsked(self, asker)
        deferred = asker.discovery.find("plum", 1.0)
        market.run(10)
        self.assertEqual(answerOf(deferred), [])
        self.assertNotEqual(sent, [])

    def test_anUnreachableSellerTakesADetour(self):
        """Records only of sellers this node could not reach when it last
        dialled them (a liar's made-up seller) are not enough: the find
        takes a detour, and keeps them, with what the holders name."""
        market, seller, asker, sent = appleRing(self)
        deferred = asker.discovery.find("apple", 1.0)
        market.run(5)
        self.assertEqual([offer.seller for offer in answerOf(deferred)], [seller.id])
        self.assertEqual(sent, [])
        asker.whereabouts.unreached(seller.id)
        deferred = asker.discovery.find("apple", 1.0)
        market.run(5)
        self.assertEqual([offer.seller for offer in answerOf(deferred)], [seller.id])
        self.assertNotEqual(sent, [])

    def test_aSellerThatRefusesTakesADetour(self):
        """Records only of a seller a buyer on this node found to refuse to
        sell (it read buys and answered none) are not enough either: the
        find takes a detour, in which a holder whose answer names only
        that seller does not count as one, so the detour asks past the
        key's first holders."""
        market, seller, asker, sent = appleRing(self)
        direct = []
        original, mine = Detouring._askDirect, asker.discovery.detouring

        def counted(detouring, peer, build):
            if detouring is mine:
                direct.append(peer.id)
            return original(detouring, peer, build)

        self.patch(Detouring, "_askDirect", counted)
        asker.events.refusedToSell(seller.id)
        deferred = asker.discovery.find("apple", 1.0)
        market.run(10)
        self.assertEqual([offer.seller for offer in answerOf(deferred)], [seller.id])
        self.assertNotEqual(sent, [])
        self.assertGreater(len(direct), asker.discovery.settings.holders)
