"""
The seller's side of the chord scheme (L{Publisher}): how many stores of
its records it has in flight at once.
"""

from twisted.internet import defer
from twisted.logger import Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.schemes.chord.adverts import (
    APART_SAID_EVERY, MAX_STORING, NAMED_REFUSED, TELL_REFUSED_AFTER, Publisher)
from twisted_bazaar.schemes.chord.messages import ChordStored
from twisted_bazaar.schemes.chord.ring import SIZE, keyOf
from twisted_bazaar.schemes.chord.settings import ChordSettings

from tests import records
from tests.helpers import makeNode
from tests.schemes import StaticShop


class _Router:
    """A router that answers no store until the test says: each start is
    a Deferred kept, by the item its store is of."""

    def __init__(self):
        self.started = []
        #: The rank each store's answers are taken by, by its item.
        self.ranks = {}

    def reachable(self):
        return None

    def start(self, build, timeout, wanted=None, rank=None):
        d = defer.Deferred()
        item = build(1).item
        self.started.append((item, d))
        self.ranks[item] = rank
        return d


def _heardPublisher(case):
    """A publisher of a node of its own through a L{_Router}, its log's
    lines kept in case.lines (case.node and case.router set too)."""
    case.lines = []
    case.patch(Publisher, "log", Logger(
        observer=lambda event: case.lines.append(formatEvent(event))))
    case.node = makeNode(None, identity=records.identity(5))
    case.router = _Router()
    return Publisher(case.node, case.router, ChordSettings(paths=0))


class StoresInFlightTests(SynchronousTestCase):
    """
    A seller of 10,000 shared files (20,000 items) started 20,000 routed
    stores at once: its router dropped most (`too many requests wait for
    links to next hops`), its reactor was too busy to answer a handshake
    within 10 s, and it lost its tracker and links again and again, with
    nothing found.  Now at most MAX_STORING are in flight; each that ends,
    answered or not, lets the next waiting one go, in order.
    """

    def setUp(self):
        node = makeNode(None, identity=records.identity(5))
        self.router = _Router()
        self.publisher = Publisher(node, self.router, ChordSettings(paths=0))
        self.items = [f"i{n:05d}" for n in range(MAX_STORING + 5)]
        self.publisher.advertise(StaticShop(**{item: 1 for item in self.items}))
        self.publisher.start()

    def started(self):
        return [item for item, _ in self.router.started]

    def test_atMostMaxStoringAtOnce(self):
        self.assertEqual(self.started(), self.items[:MAX_STORING])

    def test_anEndedStoreLetsTheNextGo(self):
        self.router.started[0][1].callback(None)
        self.router.started[1][1].cancel()
        self.assertEqual(self.started(), self.items[:MAX_STORING + 2])

    def test_storesEndingAtOnceRecurseNot(self):
        """Stores that end as they start take the next in a loop."""
        self.router.start = lambda build, *a, **k: defer.succeed(None)
        self.router.started[0][1].callback(None)
        self.assertEqual(self.publisher._adverts.storing, MAX_STORING - 1)
        self.assertFalse(self.publisher._adverts.waiting)

    def test_stoppedNothingWaits(self):
        self.publisher.stop()
        self.assertFalse(self.publisher._adverts.waiting)
        self.assertEqual(self.publisher._adverts.storing, 0)


class RefusedTests(SynchronousTestCase):
    """
    Holders refused a big seller's records past the per-key bound, and the
    seller, not told, believed them stored while no buyer found them.  A
    chordStored with ``full`` is now said once, with the count and the
    items (the first NAMED_REFUSED), TELL_REFUSED_AFTER s after the first.
    """

    def setUp(self):
        self.publisher = _heardPublisher(self)
        self.items = [f"i{n:02d}" for n in range(NAMED_REFUSED + 5)]
        self.publisher.advertise(StaticShop(**{item: 1 for item in self.items}))
        self.publisher.start()

    def answer(self, full):
        for item, d in list(self.router.started):
            if not d.called:
                d.callback(ChordStored(1, item, (1,), 1, 7, full=full or None))

    def warnings(self):
        return [line for line in self.lines if "refused the records" in line]

    def test_refusedRecordsAreSaidOnceWithTheirCount(self):
        self.answer(full=True)
        self.answer(full=True)
        self.assertEqual(self.warnings(), [])
        self.node.clock.advance(TELL_REFUSED_AFTER)
        [line] = self.warnings()
        self.assertIn(f"refused the records of {len(self.items)} of this node's "
                      f"{len(self.items)} items", line)
        self.assertIn(", ".join(self.items[:NAMED_REFUSED]) + " and 5 more", line)
        self.node.clock.advance(3600)
        self.answer(full=True)
        self.node.clock.advance(3600)
        self.assertEqual(len(self.warnings()), 1)

    def test_storedRecordsSayNothing(self):
        self.answer(full=False)
        self.node.clock.advance(TELL_REFUSED_AFTER)
        self.assertEqual(self.warnings(), [])

    def test_aHolderThatStoredOutranksANearerOneThatRefused(self):
        """
        A store goes to the key's first holders (--chord-holders) and the
        answer of the nearest after the key was taken: one refusal there
        (a holder full, or a stranger's id ground just after the key,
        saying so falsely) had the seller warn that no buyer finds the
        item, while the holders after it held the record and answered
        every buyer's lookup.  A holder that stored it is taken first.
        """
        for item, d in list(self.router.started):
            key = keyOf(item)
            near = ChordStored(1, item, (1,), 1, (key + 1) % SIZE, full=True)
            far = ChordStored(1, item, (1,), 1, (key + 1000) % SIZE)
            rank = self.router.ranks[item]
            d.callback(min((near, far), key=rank))
        self.node.clock.advance(TELL_REFUSED_AFTER)
        self.assertEqual(self.warnings(), [])

    def test_stoppedBeforeTheWarningLeavesNoTimer(self):
        self.answer(full=True)
        self.publisher.stop()
        self.assertEqual(self.node.clock.getDelayedCalls(), [])


class ClockApartTests(SynchronousTestCase):
    """
    A holder that refuses a record as untimely by its clock answers with
    its clock (chordStored ``clock``): the seller warns once, naming how
    far its clock is apart, then at most every APART_SAID_EVERY s, and
    takes the record for refused, not stored (issue 96: it was not told,
    and stored again and again unheard).
    """

    def setUp(self):
        self.publisher = _heardPublisher(self)
        self.publisher.advertise(StaticShop(apple=1, pear=1))
        self.publisher.start()

    def answer(self, apart):
        """Every store under way answered by holder 7, whose clock is
        ``apart`` seconds behind this node's."""
        now = wallSeconds(self.node.clock)
        for item, d in list(self.router.started):
            if not d.called:
                d.callback(ChordStored(1, item, (1,), 1, 7,
                                       clock=round((now - apart) * 1000)))

    def warnings(self):
        return [line for line in self.lines if "as untimely" in line]

    def test_saidOnceNamingTheGap(self):
        self.answer(3600)
        [line] = self.warnings()
        self.assertRegex(line, r"^node \w+ refused this node's record of (apple|pear) as "
                               r"untimely by its clock: this node's clock is about "
                               r"3,600 s ahead of its clock, and a record may be issued "
                               r"at most 60 s ahead of its holder's")
        self.assertNotIn("stored", " ".join(self.lines))
        self.node.clock.advance(APART_SAID_EVERY - 1)
        self.answer(3600)
        self.assertEqual(len(self.warnings()), 1)
        self.node.clock.advance(1)
        while all(d.called for _, d in self.router.started):
            self.node.clock.advance(1)
        self.answer(-120)
        self.assertEqual(len(self.warnings()), 2)
        self.assertIn("about 120 s behind its clock", self.warnings()[1])

    def test_refusedRanksBelowStored(self):
        """A holder that took the record outranks one nearer the key that
        refused it as untimely."""
        for item, d in list(self.router.started):
            key = keyOf(item)
            near = ChordStored(1, item, (1,), 1, (key + 1) % SIZE, clock=1)
            far = ChordStored(1, item, (1,), 1, (key + 1000) % SIZE)
            self.assertIs(min((near, far), key=self.router.ranks[item]), far)
