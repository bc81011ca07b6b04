"""
Tests for L{twisted_bazaar.schemes.chord.leaving}: a neighbour's quit is
news at info; a quit from a node that was none of this node's
neighbours (a one-shot ``bazaar buy`` client) is logged at debug.
"""

from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.messages import ChordQuit
from tests.helpers import feed, linkPeer, makeNode
from tests.schemes.chord.test_routing import ME, PRED, placed

CLIENT = 777


class QuitNewsTests(SynchronousTestCase):
    def setUp(self):
        self.node = makeNode(ME)
        self.scheme = placed(self.node)

    def quitLines(self, peer):
        link = linkPeer(self.node, peer, purpose="chord")
        with capturedLogs() as events:
            feed(link, ChordQuit(None, ()))
        return [(event["log_level"], formatEvent(event)) for event in events
                if "quit the chord ring" in formatEvent(event)]

    def test_aNeighbourQuitsAtInfo(self):
        self.assertEqual(self.quitLines(PRED),
                         [(LogLevel.info, f"node {PRED} quit the chord ring")])

    def test_aStrangerQuitsAtDebug(self):
        """A client that linked to ask and buy, and was never on this
        node's side of the ring, quitting changes nothing here."""
        self.assertEqual(self.quitLines(CLIENT),
                         [(LogLevel.debug, f"node {CLIENT} quit the chord ring")])


class NeighboursQuittingAtOnceTests(SynchronousTestCase):
    """Two ring neighbours stopped at the same moment (issue 96 LOW): the
    first's handover reached the second after its own quit had gone; it
    said "took N records" and held them for nobody, its stop about to
    drop them.  It hands them on to its own successor, and says so."""

    def test_aHandoverToANodeThatQuitsIsPassedOn(self):
        from tests.schemes.chord.market import SETTLE, addChord
        from twisted_bazaar.base.wallclock import wallSeconds
        from twisted_bazaar.schemes.chord.ring import place
        from twisted_bazaar.testing import Market
        from twisted_bazaar.wire.ids import shortId

        market = Market(seed=0)
        nodes = [addChord(market) for _ in range(6)]
        addChord(market, seller={"stock": {f"item{n}": 1 for n in range(12)}})
        market.run(SETTLE * 2)
        ring = sorted(nodes, key=lambda node: place(node.id))
        first, second = ring[0], ring[1]
        onward = next(peer for peer in second.discovery.ring.successors
                      if peer.id != first.id)
        [third] = [node for node in market.nodes if node.id == onward.id]
        now = wallSeconds(first.clock)
        handed = {(held.item, held.seller)
                  for held in first.discovery.records.records(now)}
        self.assertTrue(handed)
        with capturedLogs() as events:
            market.services.pop(first).stopService()
            market.services.pop(second).stopService()
            market.run(5)
        took = [formatEvent(event) for event in events
                if formatEvent(event).startswith("took ")]
        self.assertEqual(took[0], f"took {len(handed)} records from node "
                         f"{shortId(first.id)}; this node quits too: passed on to node "
                         f"{shortId(third.id)}")
        now = wallSeconds(third.clock)
        self.assertLessEqual(handed, {(held.item, held.seller)
                                      for held in third.discovery.records.records(now)})


class EveryRingLinkToldTests(SynchronousTestCase):
    """A quitting node told only its first linked successor and its
    predecessor (issue 96 LOW): a node that pinged it as its successor,
    where the leaver took another for its predecessor (one that joined
    between them, not yet stabilized with), logged "missed 3 pings: dead"
    about a node that left as it should.  Every ring link is told."""

    def test_aPingerTheLeaverTakesForNoNeighbourHearsTheQuit(self):
        from tests.schemes.chord.market import settledRing
        from twisted_bazaar.schemes.chord.ring import place
        from twisted_bazaar.wire.ids import shortId

        market = settledRing(seed=0, size=6)
        ring = sorted(market.nodes, key=lambda node: place(node.id))
        before, pinger, leaver = ring[0], ring[1], ring[2]
        self.assertEqual(pinger.discovery.ring.successor.id, leaver.id)
        # The leaver's view: the node before its pinger is its predecessor.
        leaver.discovery.ring.predecessor = pinger.discovery.ring.predecessor
        self.assertEqual(leaver.discovery.ring.predecessor.id, before.id)
        with capturedLogs() as events:
            market.services.pop(leaver).stopService()
            market.run(10)
        said = [formatEvent(event) for event in events]
        self.assertEqual([line for line in said if line.startswith(
            f"node {shortId(leaver.id)} missed ")], [])
        self.assertIn(f"node {shortId(leaver.id)} quit the chord ring", said)
