"""
Tests of twisted_bazaar.schemes.superpeer.query: the query flood among
super-peers (dedup, ttl, hits routed back to the origin), and the origin's
gathering (enough-hits and deadline endings, dynamic querying), on
StringTransport links and a task.Clock.  Nothing here polls: every wait
is a timer, and none is left once a query ends.
"""

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.schemes.superpeer import superpeer as superpeer_module
from twisted_bazaar.testing.memory import stepClock
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF,
    SUPER,
    LeafHits,
    LeafQuery,
    LeafRegister,
    SpHit,
    SpQuery,
)

from tests import records
from tests.schemes import answerChecks
from tests.helpers import feed, linkPeer, makeNode, sent

ME = 7
#: Two super-peer neighbours, and a leaf.
P1, P2, LEAF_ID = 21, 22, 31
#: Sellers, by the seed of their keys: their ids are their keys'.
SEEDS = (41, 42, 51, 52, 53)
ID = {seed: records.identity(seed).id for seed in SEEDS}


def entry(seed, host, port, item="apple"):
    """A seller as a hit names it: (id, host, port, its record of item)."""
    return (ID[seed], host, port, records.signed(seed, item, port=port))


def addresses(sellers):
    """(id, host, port) of each seller named, once its record is checked
    to be its own."""
    for seller, _, _, record, *_ in sellers:
        assert record.seller == seller
    return tuple(seller[:3] for seller in sellers)


def hitsOf(messages):
    """(type, id, item, path or None, sellers as addresses) of each hit."""
    return [(type(m), m.id, m.item, getattr(m, "path", None), addresses(m.sellers))
            for m in messages]


class QueryCase(SynchronousTestCase):
    def setUp(self):
        self.build()

    def build(self, **options):
        options.setdefault("enough_hits", 2)
        options.setdefault("query_deadline", 1.0)
        options.setdefault("round_wait", 0.1)
        options.setdefault("query_ttl", 4)
        self.node = makeNode(ME, identity=records.identity(7))
        self.clock = self.node.clock
        self.scheme = buildScheme(self.node, "superpeer", super=True, **options)
        self.flood = self.scheme.flood
        self.p1 = linkPeer(self.node, P1, purpose=SUPER)
        self.p2 = linkPeer(self.node, P2, purpose=SUPER)
        self.leaf = linkPeer(self.node, LEAF_ID, purpose=LEAF)

    def register(self, seed, items, port):
        link = linkPeer(self.node, ID[seed], purpose=LEAF)
        feed(link, LeafRegister(1, "", port, items, {
            item: records.signed(seed, item, port=port) for item in items}))
        answerChecks(self.node)
        sent(link)
        return link

    def floods(self):
        """spQuery sent to each super-peer neighbour since the last call;
        the leaf must get none."""
        self.assertEqual([m for m in sent(self.leaf) if type(m) is SpQuery], [])
        return sent(self.p1), sent(self.p2)

    def ask(self, item="apple"):
        result = []
        self.flood.ask(item, LEAF_ID).addCallback(result.append)
        return result


class ForwardingTests(QueryCase):
    """What a super-peer does with an spQuery that reaches it."""

    def test_answersAndForwards(self):
        self.register(41, {"apple": 1}, 9041)
        feed(self.p1, SpQuery(5, "apple", (99, P1), 3))
        # The hit goes back along the reversed return path, via P1.
        self.assertEqual(hitsOf(sent(self.p1)), [(SpHit, 5, "apple", (ME, P1, 99),
                                                  ((ID[41], "10.0.0.99", 9041),))])
        # Forwarded to the other super-peer only, with this node appended.
        self.assertEqual(sent(self.p2), [SpQuery(5, "apple", (99, P1, ME), 2)])
        self.assertEqual(sent(self.leaf), [])

    def test_hitGoesStraightToALinkedOrigin(self):
        self.register(41, {"apple": 1}, 9041)
        feed(self.p2, SpQuery(5, "apple", (P1, P2), 1))
        self.assertEqual(hitsOf(sent(self.p1)), [(SpHit, 5, "apple", (ME, P1),
                                                  ((ID[41], "10.0.0.99", 9041),))])

    def test_dedup(self):
        """A query id is handled and forwarded once, whichever way it
        comes again."""
        self.register(41, {"apple": 1}, 9041)
        feed(self.p1, SpQuery(5, "apple", (99, P1), 3))
        sent(self.p1), sent(self.p2)
        feed(self.p2, SpQuery(5, "apple", (99, P2), 3))
        feed(self.p1, SpQuery(5, "apple", (99, P1), 3))
        self.assertEqual(self.floods(), ([], []))

    def test_ttl(self):
        """A query that arrives with ttl 1 is answered but not passed on."""
        feed(self.p1, SpQuery(5, "apple", (99, P1), 1))
        self.assertEqual(self.floods(), ([], []))
        feed(self.p1, SpQuery(6, "apple", (99, P1), 2))
        self.assertEqual(self.floods(), ([], [SpQuery(6, "apple", (99, P1, ME), 1)]))

    def test_silentWithoutSellers(self):
        feed(self.p1, SpQuery(5, "plum", (99, P1), 1))
        self.assertEqual(self.floods(), ([], []))


class GatheringTests(QueryCase):
    """The origin: hits back, and how a gathering ends."""

    def hit(self, link, query, *sellers):
        """An spHit naming sellers, each (seed, host, port), with records."""
        feed(link, SpHit(query.id, query.item, (link.peer_id, ME),
                         tuple(entry(*seller, item=query.item) for seller in sellers)))

    def result(self, result):
        return [list(addresses(sellers)) for sellers in result]

    def test_enoughHitsEndsIt(self):
        result = self.ask()
        [query], [same] = self.floods()
        self.assertEqual(query, same)
        self.assertEqual((query.item, query.return_path, query.ttl), ("apple", (ME,), 1))
        asker = (LEAF_ID, "asker", 2, records.forged(records.PLAIN, seller=LEAF_ID))
        feed(self.p1, SpHit(query.id, query.item, (P1, ME), (entry(51, "h51", 1),
                                                             asker)))
        self.assertEqual(list(self.flood._gatherings.values())[0].hits, {
            ID[51]: entry(51, "h51", 1)[1:] + ("10.0.0.0/16",)})
        self.assertEqual(result, [])
        # A seller named twice counts once.
        self.hit(self.p2, query, (51, "h51", 1))
        self.assertEqual(result, [])
        self.hit(self.p2, query, (52, "h52", 2))
        self.assertEqual(self.result(result), [[(ID[51], "h51", 1), (ID[52], "h52", 2)]])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        # Late hits change nothing.
        self.hit(self.p1, query, (53, "h53", 3))
        self.assertEqual(len(result), 1)

    def test_eachSellerChargedToItsNamer(self):
        """Each seller gathered names the address group of whoever named
        it: for this index's, the leaf that registered it; for a hit's,
        the link it came over (the line of a host refused is charged to
        it, L{Offer.namedBy}; it was charged to no address group)."""
        leaf = linkPeer(self.node, ID[41], purpose=LEAF)
        leaf.transport.peerAddr = IPv4Address("TCP", "203.0.113.41", 5000)
        feed(leaf, LeafRegister(1, "", 9041, {"apple": 1},
                                {"apple": records.signed(41, "apple", port=9041)}))
        answerChecks(self.node)
        self.p1.transport.peerAddr = IPv4Address("TCP", "198.51.100.21", 5000)
        result = self.ask()
        [query], _ = self.floods()
        self.hit(self.p1, query, (51, "h51", 1))
        [sellers] = result
        self.assertEqual([(seller[0], seller[-1]) for seller in sellers],
                         [(ID[41], "203.0.0.0/16"), (ID[51], "198.51.0.0/16")])
        offers = self.scheme._offers(sellers, "apple")
        self.assertEqual([offer.namedBy for offer in offers],
                         ["203.0.0.0/16", "198.51.0.0/16"])

    def test_deadlineEndsIt(self):
        self.build(dynamic_querying=False)
        result = self.ask()
        [query], _ = self.floods()
        self.assertEqual(query.ttl, 4)
        self.hit(self.p1, query, (51, "h51", 1))
        self.clock.advance(0.999)
        self.assertEqual(result, [])
        self.assertEqual(self.floods(), ([], []))
        self.clock.advance(0.001)
        self.assertEqual(self.result(result), [[(ID[51], "h51", 1)]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_oneTimerPerWait(self):
        """Waiting costs one deadline (and one round timer): no polling."""
        asked = self.clock.seconds()
        self.ask()
        self.assertEqual(sorted(round(call.getTime() - asked, 6)
                                for call in self.clock.getDelayedCalls()), [0.1, 1.0])

    def test_dynamicQueryingWidens(self):
        """ttl 1, then 2, then 4 (the full ttl), each round a new id,
        only while too few hits came."""
        result = self.ask()
        rounds = []
        for wait in (0, 0.1, 0.2):
            self.clock.advance(wait)
            [query], [same] = self.floods()
            self.assertEqual(query, same)
            rounds.append((query.ttl, query.id))
        self.assertEqual([ttl for ttl, _ in rounds], [1, 2, 4])
        self.assertEqual(len({query_id for _, query_id in rounds}), 3)
        self.clock.advance(0.6)
        self.assertEqual((self.floods(), result), (([], []), []))
        # The deadline, 1 s after the ask: five steps' sum may fall a
        # rounding short of it at an epoch.
        stepClock(self.clock, 0.1)
        self.assertEqual(result, [[]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_popularItemCostsNoFlood(self):
        """Enough sellers in the origin's own index: no query leaves."""
        self.register(41, {"apple": 1}, 9041)
        self.register(42, {"apple": 1}, 9042)
        result = self.ask()
        self.assertEqual(len(result[0]), 2)
        self.assertEqual(self.floods(), ([], []))

    def test_foundInTheProbeRound(self):
        result = self.ask()
        [probe], _ = self.floods()
        self.hit(self.p1, probe, (51, "h51", 1), (52, "h52", 2))
        self.assertEqual(len(result[0]), 2)
        self.clock.advance(5)
        self.assertEqual(self.floods(), ([], []))

    def test_hitFromAnEarlierRoundCounts(self):
        result = self.ask()
        [probe], _ = self.floods()
        self.clock.advance(0.1)
        self.floods()
        self.hit(self.p1, probe, (51, "h51", 1))
        self.hit(self.p2, probe, (52, "h52", 2))
        self.assertEqual(len(result[0]), 2)

    def test_hitsForAnotherItemOrQueryIgnored(self):
        result = self.ask()
        [query], _ = self.floods()
        feed(self.p1, SpHit(query.id, "pear", (P1, ME), (entry(51, "h", 1, "pear"),
                                                         entry(52, "h", 2, "pear"))))
        feed(self.p1, SpHit(query.id + 1, "apple", (P1, ME), (entry(51, "h", 1),
                                                               entry(52, "h", 2))))
        self.assertEqual(result, [])

    def test_noNeighbourAnswersAtOnce(self):
        self.build()
        for link in (self.p1, self.p2):
            link.connectionLost(None)
        self.assertEqual(self.ask(), [[]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_portZeroSellersNotNamedToTheLeaf(self):
        """A leaf that takes no connections (port 0) is in the index, and
        an spHit may name it, but a leafHits never does: a buyer could not
        reach it."""
        self.register(41, {"apple": 1}, 0)
        feed(self.p1, SpQuery(5, "apple", (P1,), 2))
        hits = [m for m in sent(self.p1) if type(m) is SpHit]
        self.assertEqual([addresses(hit.sellers) for hit in hits],
                         [((ID[41], "10.0.0.99", 0),)])
        feed(self.leaf, LeafQuery(77, "apple"))
        [query], _ = self.floods()
        self.hit(self.p1, query, (51, "h51", 0), (52, "h52", 2))
        self.clock.advance(1.0)
        self.assertEqual(hitsOf(sent(self.leaf)),
                         [(LeafHits, 77, "apple", None, ((ID[52], "h52", 2),))])

    def test_cancel(self):
        d = self.flood.ask("apple", LEAF_ID)
        [query], _ = self.floods()
        d.addErrback(lambda f: f.trap(defer.CancelledError))
        d.cancel()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        feed(self.p1, SpHit(query.id, "apple", (P1, ME), (entry(51, "h", 1),)))

    def test_stopEndsQueries(self):
        result = self.ask()
        self.scheme.startService()
        self.scheme.stopService()
        self.assertEqual(result, [[]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_leafQueryThroughTheFlood(self):
        """A leaf's query: flooded, hits gathered, answered to the leaf."""
        feed(self.leaf, LeafQuery(77, "apple"))
        [query], _ = self.floods()
        self.hit(self.p1, query, (51, "h51", 1), (52, "h52", 2))
        self.assertEqual(hitsOf(sent(self.leaf)), [
            (LeafHits, 77, "apple", None, ((ID[51], "h51", 1), (ID[52], "h52", 2)))])


class FloodShareTests(QueryCase):
    """
    Every flood a super-peer starts counts against the search rate its
    super-peer neighbours allow it, all its leaves' together; a leaf's own
    query rate is as large.  So one address's leaves asking at their own
    rate had theirs flooded and every other leaf's dropped by the
    neighbours.  The leaves of an address group now start at most
    FLOOD_RATE floods a second (bursts of twice that); past it, a query is
    answered from the super-peer's own index, at once.
    """

    def test_oneGroupsQueriesFloodAShare(self):
        burst = int(superpeer_module.FLOOD_RATE * 2)
        attackers = [linkPeer(self.node, 0x500 + n, purpose=LEAF, host=f"10.9.0.{n + 1}")
                     for n in range(2)]
        for link in attackers:
            feed(link, *[LeafQuery(n + 1, f"ghost{n}") for n in range(100)])
        to_p1, _ = self.floods()
        self.assertEqual(len([m for m in to_p1 if type(m) is SpQuery]), burst)
        self.clock.advance(10)
        answered = [m for link in attackers for m in sent(link) if type(m) is LeafHits]
        self.assertEqual(len(answered), 200)
        self.floods()  # the rounds that widened meanwhile
        honest = linkPeer(self.node, 0x600, purpose=LEAF, host="10.1.0.1")
        feed(honest, LeafQuery(1, "apple"))
        to_p1, _ = self.floods()
        self.assertEqual([(type(m), m.item) for m in to_p1], [(SpQuery, "apple")])
