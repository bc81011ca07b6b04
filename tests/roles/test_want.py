"""
Tests of the buyer's wants as state machines, and of the buyer against a
store whose writes take time or fail: a buy leaves only once its pending
buy is on disk, a purchase counts only once committed, a refused write is
retried and leaves nobody stuck, and the map of buy ids to wants holds
only buys still out.

The buyer is node 1, linked to relay node 2; seller 6 offers over 6-2-1,
seller 5 over 5-3-2-1.
"""

import os
import random

from twisted.internet import defer, task
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.wire import trade
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.core.market import Offer
from twisted_bazaar.core.node import Node, NodeConfig, NoRoute
from twisted_bazaar.base.saidonce import AGAIN
from twisted_bazaar.roles import want as machine
from twisted_bazaar.roles.buyer import Buyer
from twisted_bazaar.store import MemoryStore, StoreError

from tests.helpers import flooded, NODE_HOST, NODE_PORT, FakeConnector, feed, openLink, sent

WINDOW = 1.0
TIMEOUT = 2.0
NEAR = (6, 2, 1)
FAR = (5, 3, 2, 1)


class SlowStore(MemoryStore):
    """
    A MemoryStore whose writes named in ``slow`` (and any write after them)
    wait until the test calls L{finish}, as on the writer thread, and whose writes named in
    ``failing`` fail that many times with a StoreError.
    """

    def __init__(self):
        super().__init__()
        self.slow = set()
        self.failing = {}
        self.waiting = []
        self.writes = []

    def finish(self):
        """Do the oldest waiting write, and fire its Deferred."""
        d, write, args = self.waiting.pop(0)
        write(*args).chainDeferred(d)

    def _slowly(self, name, write, *args):
        self.writes.append(name)
        if self.failing.get(name):
            self.failing[name] -= 1
            return defer.fail(StoreError(f"{name}: disk I/O error"))
        if name in self.slow or self.waiting:
            # Writes are done in order, as on the writer thread.
            d = defer.Deferred()
            self.waiting.append((d, write, args))
            return d
        return write(*args)

    def addPending(self, pending):
        return self._slowly("addPending", super().addPending, pending)

    def commitPurchase(self, purchase):
        return self._slowly("commitPurchase", super().commitPurchase, purchase)

    def dropPending(self, buy_id):
        return self._slowly("dropPending", super().dropPending, buy_id)


class _BuyerCase(SynchronousTestCase):
    def start(self, store=None, wants=("apple",), quantity=1):
        """A buyer on node 1 with store, then its first link; return the
        searches it sent."""
        self.store = store if store is not None else SlowStore()
        self.node = Node(task.Clock(), random.Random(0), FakeConnector(),
                         NodeConfig(link=LinkSettings(ping_interval=0)), self.store)
        self.node.setAddress(NODE_HOST, NODE_PORT)
        self.node.setId(1)
        self.clock = self.node.clock
        self.buyer = Buyer(flooded(self.node), list(wants), quantity=quantity,
                           search_window=WINDOW, buy_timeout=TIMEOUT)
        self.want = self.buyer.wants[0]
        self.relay = openLink(self.node)
        feed(self.relay, wire.ThisIsMe(2, 5002))
        hello, *searches = sent(self.relay)
        return searches

    def offered(self, *paths, **kwargs):
        """Start, offers arrive over paths, the window closes."""
        [search] = self.start(**kwargs)
        for path in paths:
            feed(self.relay, floodmsg.Reply(search.id, "apple", path, path[0], "", 0))
        self.clock.advance(WINDOW)

    def nextCall(self):
        calls = self.clock.getDelayedCalls()
        self.clock.advance(min(call.getTime() for call in calls) - self.clock.seconds())


class PendingFirstTests(_BuyerCase):
    def test_buySentOnlyOnceItsPendingIsOnDisk(self):
        store = SlowStore()
        store.slow.add("addPending")
        self.offered(NEAR, store=store)
        self.assertEqual(self.want.state, machine.SAVING)
        self.assertEqual(sent(self.relay), [])
        self.assertEqual(store.pending(), [])
        # Saving takes a while: no resend timer runs meanwhile.
        self.assertEqual(self.clock.getDelayedCalls(), [])
        store.finish()
        [buy] = sent(self.relay)
        self.assertEqual([p.buy_id for p in store.pending()], [buy.id])
        self.assertEqual(self.want.state, machine.BUYING)

    def test_refusedPendingIsRetriedLater(self):
        """The store refuses the pending buy twice: nothing is sent; the
        write is tried again after a growing pause, then the buy leaves
        with the same id, and is bought."""
        store = SlowStore()
        store.failing["addPending"] = 2
        with capturedLogs() as events:
            self.offered(NEAR, store=store)
        self.assertIn("could not record buy", formatEvent(events[-1]))
        self.assertEqual(self.want.state, machine.RETRY_SAVE)
        buy_id = self.want.buy_id
        self.assertEqual(sent(self.relay), [])
        self.nextCall()
        self.assertEqual((self.want.state, sent(self.relay)), (machine.RETRY_SAVE, []))
        self.nextCall()
        [buy] = sent(self.relay)
        self.assertEqual((buy.id, self.want.state), (buy_id, machine.BUYING))
        self.assertEqual(store.writes, ["addPending"] * 3)
        feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
        self.assertTrue(self.buyer.satisfied)
        self.assertEqual(store.pending(), [])

    def test_soldoutWhileSaving(self):
        """A reused buy id may be answered while its pending buy is being
        rewritten: soldout moves on, and the late write changes nothing."""
        store = SlowStore()
        store.slow.add("addPending")
        self.offered(NEAR, FAR, store=store)
        first = self.want.buy_id
        feed(self.relay, wire.Error("soldout", "none", first, NEAR))
        self.assertEqual(self.want.offer.seller, 5)
        second = self.want.buy_id
        self.assertNotEqual(second, first)
        store.finish()
        store.finish()
        self.assertEqual(sent(self.relay), [])
        store.finish()
        [buy] = sent(self.relay)
        self.assertEqual(buy.id, second)
        self.assertEqual([p.buy_id for p in store.pending()], [second])


class CommitFirstTests(_BuyerCase):
    def test_countedOnlyOnceCommitted(self):
        """
        buyOK starts the commit; a duplicate buyOK meanwhile is ignored;
        only once it is on disk is the purchase in the bag, counted and
        logged.
        """
        store = SlowStore()
        store.slow.add("commitPurchase")
        self.offered(NEAR, store=store)
        [buy] = sent(self.relay)
        with capturedLogs() as events:
            feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
            feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
        self.assertEqual(events, [])
        self.assertEqual(store.writes, ["addPending", "commitPurchase"])
        self.assertEqual((self.buyer.bag, self.want.bought, self.want.state),
                         ([], 0, machine.COMMITTING))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        with capturedLogs() as events:
            store.finish()
        lines = [formatEvent(event) for event in events]
        self.assertIn("bought apple from 6 (1 of 1)", lines[0])
        self.assertIn("all wants met", lines[-1])
        self.assertEqual([p.buy_id for p in self.buyer.bag], [buy.id])
        self.assertTrue(self.buyer.satisfied)
        feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
        self.assertEqual(store.writes, ["addPending", "commitPurchase"])

    def test_refusedCommitIsAskedAgain(self):
        """The store refuses the purchase: the buy stays pending and is
        sent again; the next buyOK is committed."""
        store = SlowStore()
        store.failing["commitPurchase"] = 1
        self.offered(NEAR, store=store)
        [buy] = sent(self.relay)
        feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
        self.assertEqual((self.buyer.bag, self.want.state), ([], machine.BUYING))
        self.assertEqual([p.buy_id for p in store.pending()], [buy.id])
        self.nextCall()
        self.assertEqual(sent(self.relay), [buy])
        feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
        self.assertEqual([p.buy_id for p in self.buyer.bag], [buy.id])
        self.assertEqual(store.pending(), [])


class BoundedTests(_BuyerCase):
    def test_buyIdsGoWhenResolved(self):
        """Only a buy still out maps to its want: bought, soldout and given
        up on buys are gone from the map."""
        self.offered(FAR, NEAR, quantity=2)
        [first] = sent(self.relay)
        self.assertEqual(list(self.buyer._by_buy), [first.id])
        feed(self.relay, wire.Error("soldout", "none", first.id, NEAR))
        [second] = sent(self.relay)
        self.assertEqual(list(self.buyer._by_buy), [second.id])
        for _ in range(machine.BUY_ATTEMPTS):
            self.nextCall()
        self.assertEqual(list(self.buyer.unresolved), [second.id])
        self.assertEqual(self.buyer._by_buy, {})
        # The buy in doubt asked for both units: nothing else is bought.
        self.assertEqual({m.id for m in sent(self.relay)}, {second.id})
        feed(self.relay, trade.BuyOK(second.id, "apple", FAR, count=2))
        self.assertTrue(self.buyer.satisfied)
        self.assertEqual((self.buyer._by_buy, self.buyer.unresolved), ({}, {}))


class TableTests(SynchronousTestCase):
    def test_everyNameExists(self):
        """Each state in the table is a known state; each input is a method
        of Want, and each guard and output one of Want's own functions (a
        misspelt name fails at import)."""
        states = {machine.WAITING, machine.BACKOFF, machine.SEARCHING, machine.SAVING,
                  machine.RETRY_SAVE, machine.RESUMING, machine.BUYING,
                  machine.COMMITTING, machine.DOUBTING, machine.DONE, machine.STOPPED}
        for (state, name), rows in machine.TRANSITIONS.items():
            self.assertIn(state, states)
            self.assertTrue(callable(getattr(machine.Want, name)), name)
            for guards, target, outputs in rows:
                self.assertIn(target, states)
                for function in guards + outputs:
                    self.assertIs(getattr(machine.Want, function.__name__), function)

    def test_stopIsFinal(self):
        """Nothing leads out of stopped."""
        for (state, name), rows in machine.TRANSITIONS.items():
            if state == machine.STOPPED:
                self.assertEqual([target for _, target, _ in rows], [machine.STOPPED])


class QuantityTests(_BuyerCase):
    """A want asks each seller for all the units it still wants, and
    takes what comes: N units from one seller in one buy, the rest of a
    partial fill from the next offer, a file as one unit."""

    def test_oneBuyForAll(self):
        self.offered(NEAR, FAR, store=MemoryStore(), quantity=10)
        [buy] = sent(self.relay)
        self.assertEqual((buy.path, buy.quantity), ((1, 2, 6), 10))
        feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR, count=10))
        self.assertTrue(self.buyer.satisfied)
        self.assertEqual([(p.buy_id, p.units) for p in self.buyer.bag], [(buy.id, 10)])
        self.assertEqual(self.store.bag(), self.buyer.bag)

    def test_partialFillThenNextOffer(self):
        """A seller with fewer sells what it has; the rest is asked of the
        next offer at once, without a new search."""
        self.offered(NEAR, FAR, store=MemoryStore(), quantity=10)
        [first] = sent(self.relay)
        with capturedLogs() as events:
            feed(self.relay, trade.BuyOK(first.id, "apple", NEAR, count=4))
        self.assertIn("bought apple x4 from 6 (4 of 10)", formatEvent(events[0]))
        [second] = sent(self.relay)
        self.assertEqual((type(second), second.path, second.quantity),
                         (trade.Buy, (1, 2, 3, 5), 6))
        self.assertNotEqual(second.id, first.id)
        feed(self.relay, trade.BuyOK(second.id, "apple", FAR, count=6))
        self.assertTrue(self.buyer.satisfied)
        self.assertEqual([p.units for p in self.buyer.bag], [4, 6])
        self.assertEqual(self.store.pending(), [])

    def test_partialFillWithoutOffersSearchesAgain(self):
        self.offered(NEAR, store=MemoryStore(), quantity=10)
        [first] = sent(self.relay)
        feed(self.relay, trade.BuyOK(first.id, "apple", NEAR, count=4))
        [search] = sent(self.relay)
        self.assertEqual((type(search), self.want.state),
                         (floodmsg.Search, machine.SEARCHING))
        self.assertEqual(self.want.remainder(), 6)

    def test_resendOfAPartialFill(self):
        """The buyOK is lost: the same id and quantity go again, and the
        seller's repeated answer (the same count) is counted once."""
        self.offered(NEAR, store=MemoryStore(), quantity=10)
        [first] = sent(self.relay)
        self.nextCall()
        self.assertEqual(sent(self.relay), [first])
        ok = trade.BuyOK(first.id, "apple", NEAR, count=4)
        feed(self.relay, ok, ok)
        self.assertEqual([p.units for p in self.buyer.bag], [4])
        self.assertEqual(self.want.bought, 4)

    def test_moreThanAskedIsNoAnswer(self):
        self.offered(NEAR, store=MemoryStore(), quantity=3)
        [first] = sent(self.relay)
        feed(self.relay, trade.BuyOK(first.id, "apple", NEAR, count=4))
        self.assertEqual((self.buyer.bag, self.want.state), ([], machine.BUYING))

    def test_aWantMetLetsItsOffersGo(self):
        """Met, a want holds no offer it will never try."""
        self.offered(NEAR, FAR, store=MemoryStore(), quantity=1)
        [buy] = sent(self.relay)
        self.assertEqual(len(self.want.offers), 1)
        feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR))
        self.assertEqual((self.want.state, self.want.offers), (machine.DONE, []))

    def test_aFileWantMetKeepsItsOffers(self):
        """A file's want keeps the offers left: if the file cannot be
        fetched, it is reopened and buys from them."""
        self.start(store=MemoryStore(), quantity=1)
        sha256 = "ab" * 32
        other = Offer(5, FAR, size=6, sha256="cd" * 32)
        self.want.found([Offer(6, (1, 2, 6), size=5, sha256=sha256), other])
        [buy] = sent(self.relay)
        feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR, sha256=sha256, size=5))
        self.assertEqual((self.want.state, self.want.offers), (machine.DONE, [other]))

    def test_aFileIsOneUnit(self):
        """A quantity never multiplies a file: its buy names none, and the
        file bought meets the want."""
        self.start(store=MemoryStore(), quantity=3)
        sha256 = "ab" * 32
        self.want.found([Offer(6, (1, 2, 6), size=5, sha256=sha256)])
        [buy] = sent(self.relay)
        self.assertEqual((buy.quantity, buy.sha256), (None, sha256))
        feed(self.relay, trade.BuyOK(buy.id, "apple", NEAR, sha256=sha256, size=5))
        self.assertTrue(self.buyer.satisfied)
        self.assertEqual((self.want.bought, self.want.quantity), (1, 1))
        restarted = Buyer(flooded(self.node), ["apple"], quantity=3)
        self.assertTrue(restarted.satisfied)


class StrandedTests(_BuyerCase):
    """A buy that could not leave (nothing listens at its seller's
    address): said with why, that nothing was sold, and what comes next
    (it said "seller 6 is unreachable; trying the next offer", even with
    no other offer, as it searched again)."""

    def test_saysWhyAndWhatNext(self):
        self.offered(NEAR, FAR, store=MemoryStore())
        first = self.want.buy_id
        with capturedLogs() as events:
            self.want.unreachable(first, "10.0.0.6:5006: nothing listens there")
        self.assertEqual(
            [formatEvent(event) for event in events if "cannot be reached" in
             formatEvent(event)],
            [f"buy {first} of apple: seller 6 cannot be reached now (10.0.0.6:5006: "
             "nothing listens there); the buy never left this node, so nothing was "
             "sold: trying the next offer"])
        second = self.want.buy_id
        self.assertEqual(self.want.offer.seller, 5)
        with capturedLogs() as events:
            self.want.unreachable(second, "no address, and no link along the path")
        lines = [formatEvent(event) for event in events]
        self.assertEqual(lines[0], f"buy {second} of apple: seller 5 cannot be reached "
                         "now (no address, and no link along the path); the buy never "
                         "left this node, so nothing was sold: no other offer")
        self.assertRegex(lines[1], r"^no offer for apple yet; searching again in ")
        self.assertEqual(self.want.state, machine.BACKOFF)

    def test_noRouteNamesTheWayAcross(self):
        """A buy that found no route to its seller's address (of the
        other family) and had no search's path to go along never left:
        its line says why, and the way across (a flood search's path
        through a node on both families), in one line.  Before, a dial
        with no route was taken for a dead address, and said no way."""
        self.offered(NEAR, store=MemoryStore())
        first = self.want.buy_id
        self.buyer.book.record(first).routed = False
        with capturedLogs() as events:
            self.buyer.wantRefused(first, Failure(NoRoute(
                "10.0.0.6:5006: the network is unreachable (this machine has no "
                "route to it)")))
        [line] = [formatEvent(event) for event in events
                  if "cannot be reached" in formatEvent(event)]
        self.assertIn("(10.0.0.6:5006: the network is unreachable (this machine has no "
                      "route to it); this node has no route to that address (of the "
                      "other address family, say), and this offer has no path through "
                      "another node (a flood search's has one, through a node on both "
                      "families linked to each side: --discovery flood)); the buy never "
                      "left this node", line)
        self.assertNotEqual(self.want.buy_id, first)

    def test_noRouteToAFilesSellerSaysSo(self):
        """The same for a shared file, whose bytes come only over a
        connection to its seller: its line says that, not a path."""
        self.start(store=MemoryStore())
        self.want.found([Offer(6, (1, 2, 6), size=5, sha256="ab" * 32)])
        first = self.want.buy_id
        self.buyer.book.record(first).routed = False
        with capturedLogs() as events:
            self.buyer.wantRefused(first, Failure(NoRoute("10.0.0.6:5006: no route")))
        [line] = [formatEvent(event) for event in events
                  if "cannot be reached" in formatEvent(event)]
        self.assertIn("(10.0.0.6:5006: no route; this node has no route to that address "
                      "(of the other address family, say), and a shared file's bytes "
                      "come only over a connection to its seller)", line)

    def test_aSilentSellerSaysWhatComesNext(self):
        """A seller that never answers is given up on, saying what the
        want does then: it said "trying the next offer" with none left, as
        its buy in doubt held the want back."""
        self.offered(NEAR, store=MemoryStore(), quantity=2)
        with capturedLogs() as events:
            for _ in range(12):
                self.nextCall()
        [line] = [formatEvent(event) for event in events
                  if "seller 6 is" in formatEvent(event)]
        self.assertEqual(line, "seller 6 is silent; waiting on the buys in doubt, which "
                         "may fill the want")


class RetryLinesTests(_BuyerCase):
    """
    A want that retries says each retry's line once while it says the
    same, again when it changes, and as a reminder every 10 minutes with
    the tries unsaid (issue 96: a seller unreachable, or no offer, was
    the same line at info at every try, for as long as the node ran).
    """

    def lines(self, events, start):
        return [formatEvent(event) for event in events
                if formatEvent(event).startswith(start)]

    def strandedAgain(self, why):
        """The want's next search finds the same seller, whose buy cannot
        leave, for why."""
        self.nextCall()
        [search] = [message for message in sent(self.relay)
                    if isinstance(message, floodmsg.Search)]
        feed(self.relay, floodmsg.Reply(search.id, "apple", NEAR, NEAR[0], "", 0))
        self.clock.advance(WINDOW)
        self.want.unreachable(self.want.buy_id, why)

    def test_aSellerUnreachableSaidOnce(self):
        self.offered(NEAR, store=MemoryStore())
        with capturedLogs() as events:
            self.want.unreachable(self.want.buy_id, "nothing listens there")
            for _ in range(5):
                self.strandedAgain("nothing listens there")
        self.assertEqual(len(self.lines(events, "buy ")), 1)
        self.assertEqual(len(self.lines(events, "no offer for apple yet")), 1)
        with capturedLogs() as events:
            self.strandedAgain("the connection was refused")
        [line] = self.lines(events, "buy ")
        self.assertIn("(the connection was refused)", line)
        self.assertTrue(line.endswith("nothing was sold: no other offer"), line)
        with capturedLogs() as events:
            start = self.clock.seconds()
            while self.clock.seconds() - start < AGAIN + 10:
                self.strandedAgain("the connection was refused")
        [line] = self.lines(events, "buy ")
        self.assertRegex(line, r"nothing was sold: no other offer \(the same \d+ more "
                               r"times since this was said\)$")
        [line] = self.lines(events, "no offer for apple yet")
        self.assertRegex(line, r"\(\d+ more searches found none since this was said\)$")

    def test_noOfferSaidOnceThenAsAReminder(self):
        self.start(store=MemoryStore())
        with capturedLogs() as events:
            for _ in range(8):
                self.clock.advance(WINDOW)
                self.nextCall()
        self.assertEqual(len(self.lines(events, "no offer for apple yet")), 1)
        with capturedLogs() as events:
            start = self.clock.seconds()
            while self.clock.seconds() - start < AGAIN:
                self.clock.advance(WINDOW)
                self.nextCall()
        [line] = self.lines(events, "no offer for apple yet")
        self.assertRegex(line, r"^no offer for apple yet; searching again in [0-9.]+ s "
                               r"\(\d+ more searches found none since this was said\)$")


class NoSlotTests(_BuyerCase):
    """A buy that could not leave for want of a direct slot of the
    buyer's own (all hold buys still out) is no attempt of its seller's:
    the want sends it again at each timeout, never giving up on a seller
    it never reached (before L{Want.noSlot}, every such send was one of
    its attempts, and the want gave up on the seller as silent)."""

    def test_notCountedAsAnAttempt(self):
        self.offered(NEAR, FAR, store=MemoryStore())
        buy_id = self.want.buy_id
        for _ in range(machine.BUY_ATTEMPTS + 2):
            self.want.noSlot(buy_id)
            self.nextCall()
        self.assertEqual((self.want.state, self.want.buy_id, self.want.offer.seller),
                         (machine.BUYING, buy_id, 6))
        self.assertEqual(self.want.attempts, 1)

    def test_aSlotFreedSendsItAgainAtOnce(self):
        """A buy waiting for a direct slot is sent again as soon as one may
        be free (L{Want.slotFreed}), not at its timer (2 s, for each buy
        waiting); a wake for a buy the want no longer holds sends
        nothing."""
        self.offered(NEAR, FAR, store=MemoryStore())
        buy_id = self.want.buy_id
        sent(self.relay)
        self.want.noSlot(buy_id)
        self.want.slotFreed(buy_id + 1)
        self.assertEqual(sent(self.relay), [])
        self.want.slotFreed(buy_id)
        self.assertEqual([buy.id for buy in sent(self.relay)], [buy_id])
        self.assertEqual(self.want.attempts, 1)


class CountedNameTests(_BuyerCase):
    """A want named ITEM=N (``--want apple=2``, as --sell writes a
    count) found nothing and searched on for ever, its lines saying only
    "no offer for apple=2 yet": the way out was said at a give-up alone,
    and a daemon without --give-up-after never gives up."""

    def test_theFirstEmptySearchSaysWhatItMeant(self):
        self.start(store=MemoryStore(), wants=("apple=2",))
        with capturedLogs() as events:
            for _ in range(3):
                self.clock.advance(WINDOW)
                self.nextCall()
            self.clock.advance(AGAIN)
            self.nextCall()
        lines = [formatEvent(event) for event in events
                 if formatEvent(event).startswith("no offer for")]
        self.assertEqual(len(lines), 2)
        self.assertRegex(lines[0], r"^no offer for apple=2 yet; searching again in "
                         r"[0-9.]+ s \(for 2 units of apple, name the item alone: "
                         r"--quantity 2\)$")
        self.assertNotIn("--quantity", lines[1])

    def test_otherNamesAsBefore(self):
        self.start(store=MemoryStore(), wants=("apple",))
        with capturedLogs() as events:
            self.clock.advance(WINDOW)
        [line] = [formatEvent(event) for event in events]
        self.assertRegex(line, r"^no offer for apple yet; searching again in [0-9.]+ s$")

    def test_troubleshootingQuotesIt(self):
        docs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "docs", "running.md")
        with open(docs, encoding="utf-8") as f:
            text = " ".join(f.read().split())
        self.assertIn("no offer for apple=2 yet; searching again in 0.6 s"
                      + machine.countedHint("apple=2"), text)
