"""
The seller's side of the chord scheme (L{Publisher}): how many stores of
its records it has in flight at once.
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.schemes.chord.adverts import MAX_STORING, Publisher
from twisted_bazaar.schemes.chord.settings import ChordSettings

from tests import records
from tests.helpers import makeNode
from tests.schemes import StaticShop


class _Router:
    """A router that answers no store until the test says: each start is
    a Deferred kept, by the item its store is of."""

    def __init__(self):
        self.started = []

    def reachable(self):
        return None

    def start(self, build, timeout, wanted=None, rank=None):
        d = defer.Deferred()
        self.started.append((build(1).item, d))
        return d


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
