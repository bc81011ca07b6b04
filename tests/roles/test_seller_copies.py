"""
Copies of a shared file sold (docs/protocol.md §11, step 7 and "Closing
a buy"): a copy takes no unit, so its sale is remembered only as long as
a close is, 15 minutes, charged like a close (to its buyer's address
group, or if relayed, to the relays' share: its relay's group there),
and then kept only in its file's count of copies sold.  Issue 34's "A
seller's record of copies sold grows with every buy
of a shared file": 2,000 buys from one key made 2,000 ledger lines, kept
for good.

A keyed seller sharing song.ogg (and selling apples), fed signed buys
through relay 2 (and, for another address group, relay 3), or straight
from their buyers, on a fake clock.
"""

import gc
import os
import random
import sqlite3

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from tests.files.helpers import scratchDir
from tests.roles.test_seller import DurableSlowStore
from tests.helpers import (
    NODE_HOST,
    NODE_PORT,
    FakeConnector,
    feed,
    flooded,
    linkPeer,
    openLink,
    provenLink,
    sent,
)
from twisted_bazaar import wire
from twisted_bazaar.core.node import Node, NodeConfig
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.connections import GRACE
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.net.overlay import DIRECT
from twisted_bazaar.roles import seller as seller_module
from twisted_bazaar.roles.files.shop import FILE_UNITS
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.store import DB_NAME, MemoryStore, SQLiteStore
from twisted_bazaar.wire.trade import Ask, Buy, BuyOK

SHA = "ab" * 32
SIZE = 5
#: Seconds a copy is remembered: the latest a buy it could sell expires,
#: and the grace for the seller's clock.
WINDOW = seller_module.MAX_EXPIRY_AHEAD + seller_module.CLOSED_GRACE


def keyOf(seed):
    return Identity.fromRandom(random.Random(seed))


class Files:
    """The seller's shared folder, as the seller sees it: song.ogg, and
    the copies sold that it counts."""

    offered = {"song.ogg": FILE_UNITS}

    def __init__(self):
        self.copies = 0

    def describe(self, item):
        if item == "song.ogg":
            return {"sha256": SHA, "size": SIZE, "transfer": 9}
        return None

    def sold(self, sales):
        self.copies += len(list(sales))


class _CopiesCase(SynchronousTestCase):
    def setUp(self):
        self.s_key, self.buyer, self.stranger = keyOf(31), keyOf(32), keyOf(33)
        self.clock = task.Clock()
        self.clock.advance(1_700_000_000)

    def startSeller(self, store=None, **settings):
        self.node = Node(self.clock, random.Random(0), FakeConnector(),
                         # Thousands of buys at one instant on one link:
                         # what is remembered, not a link's rate of buys.
                         NodeConfig(link=LinkSettings(ping_interval=0, search_rate=1e6)),
                         store if store is not None else MemoryStore(),
                         identity=self.s_key)
        self.node.setAddress(NODE_HOST, NODE_PORT)
        self.node.setId(self.s_key.id)
        self.relay = linkPeer(self.node, 2)
        self.seller = Seller(flooded(self.node), {"apple": 2}, **settings)
        self.seller.files = self.files = Files()
        return self.seller

    def dataDir(self):
        """A fresh data dir, and its store."""
        folder = scratchDir(self)
        return folder, self.store(folder)

    def store(self, folder):
        store = SQLiteStore(folder)
        self.addCleanup(store.close)
        return store

    def otherGroup(self):
        """Relay 3, a link from another address group than relay 2's."""
        link = openLink(self.node, host="198.51.100.7")
        feed(link, wire.ThisIsMe(3, 5000, ""))
        link.transport.clear()
        return link

    def ownLink(self, key, host="10.0.0.98"):
        """key's own link to the seller, where it proved its key (from
        relay 2's address group, unless host says another)."""
        return provenLink(self.node, key, host=host)

    def message(self, kind, buy_id, key=None, relay=2, expires=None):
        """A message about a copy of song.ogg signed by key (the buyer's
        by default), through relay (straight from key if None), expiring
        in 5 minutes."""
        key = key or self.buyer
        expires = expires or int((self.clock.seconds() + 300) * 1000)
        fields = {"sha256": SHA, "size": SIZE} if kind is Buy else {}
        path = (key.id,) + (() if relay is None else (relay,)) + (self.s_key.id,)
        return key.signed(kind(buy_id, "song.ogg", path, expires=expires, **fields))

    def send(self, *messages, link=None):
        """Feed messages through a relay (2 unless given), let the
        commits happen; return the answers."""
        link = link or self.relay
        feed(link, *messages)
        self.clock.advance(0)
        return [m for m in sent(link) if type(m) in (BuyOK, wire.Error)]

    def codes(self, *messages, link=None):
        return [getattr(a, "code", a.TYPE) for a in self.send(*messages, link=link)]

    def rows(self, folder):
        """The sales lines and the counts of copies on disk."""
        db = sqlite3.connect(os.path.join(folder, DB_NAME))
        self.addCleanup(db.close)
        return (db.execute("SELECT COUNT(*) FROM sales").fetchone()[0],
                dict(db.execute("SELECT item, sold FROM copies")))


class CopiesRememberedTests(_CopiesCase):

    def test_twoThousandBuysLeaveACount(self):
        """The attack: 2,000 buys of a shared file from one key.  Each
        sells a copy (one address group alone may have half of
        --closed-limit remembered), and once 15 minutes have passed the
        next buy finds none of them remembered, in memory or on disk: the
        count of 2,000 copies sold is what is left.  (Before: 2,000
        ledger lines, kept for good.)"""
        folder, store = self.dataDir()
        seller = self.startSeller(store)
        buys = [self.message(Buy, n) for n in range(2000)]
        self.assertEqual(self.codes(*buys), ["buyOK"] * 2000)
        self.assertEqual(len(seller.ledger), 2000)
        self.clock.advance(WINDOW + 1)
        self.assertEqual(self.codes(self.message(Buy, 5000)), ["buyOK"])
        self.assertEqual(len(seller.ledger), 1)
        self.assertEqual(self.rows(folder), (1, {"song.ogg": 2000}))
        self.assertEqual((len(seller.copies), seller.remembered.used), (1, 1))
        self.assertEqual((store.copiesSold(), self.files.copies),
                         ({"song.ogg": 2000}, 2001))

    def test_oneGroupHoldsItsShare(self):
        """With --closed-limit 1000, one group alone has 500 copies
        remembered at most: the other 1,500 buys are answered notyet,
        and nothing is sold or recorded for them."""
        folder, store = self.dataDir()
        seller = self.startSeller(store, closed_limit=1000)
        link = self.ownLink(self.buyer)
        buys = [self.message(Buy, n, relay=None) for n in range(2000)]
        # The notyets leave at once, the buyOKs once the sales are on disk.
        self.assertEqual(sorted(self.codes(*buys, link=link)),
                         ["buyOK"] * 500 + ["notyet"] * 1500)
        self.assertEqual((len(seller.ledger), self.files.copies), (500, 500))
        self.assertEqual(self.rows(folder), (500, {}))
        self.clock.advance(WINDOW + 1)
        self.assertEqual(self.codes(self.message(Buy, 1999, relay=None), link=link),
                         ["buyOK"])
        self.assertEqual(self.rows(folder), (1, {"song.ogg": 500}))

    def test_oneRelayHoldsAQuarter(self):
        """Relayed, the same 2,000 buys are charged to the relays' share,
        half the account, and within it to relay 2's group: a quarter of
        --closed-limit."""
        seller = self.startSeller(closed_limit=1000)
        buys = [self.message(Buy, n) for n in range(2000)]
        self.assertEqual(sorted(self.codes(*buys)), ["buyOK"] * 250 + ["notyet"] * 1750)
        self.assertEqual(seller.remembered.held("10.0.0.0/16", relayed=True), 250)
        self.assertEqual(seller.remembered.held("10.0.0.0/16"), 0)

    def test_groupOverItsShareGetsNotyet(self):
        """Copies and closes are one account: a group holding as many as
        there is room left (closes of its asks, copies of its buys) gets
        notyet for a copy, and nothing is sold; another group still gets
        its copy, and the first gets copies again once its own are
        forgotten."""
        seller = self.startSeller(closed_limit=10)
        stranger, mine = self.ownLink(self.stranger), self.ownLink(self.buyer)
        self.assertEqual(self.codes(*[self.message(Ask, n, self.stranger, relay=None)
                                      for n in range(3)], link=stranger), ["unsold"] * 3)
        self.assertEqual(self.codes(*[self.message(Buy, n, relay=None) for n in range(4)],
                                    link=mine),
                         ["buyOK"] * 2 + ["notyet"] * 2)
        self.assertEqual(sorted(buy_id for _, buy_id in seller.ledger), [0, 1])
        other = self.ownLink(keyOf(34), host="198.51.100.7")
        ok = self.send(self.message(Buy, 7, keyOf(34), relay=None), link=other)
        self.assertEqual([a.TYPE for a in ok], ["buyOK"])
        self.clock.advance(WINDOW + 1)
        self.assertEqual(self.codes(self.message(Buy, 3, relay=None), link=mine),
                         ["buyOK"])
        self.assertEqual(self.files.copies, 4)

    def test_relayedBuysSpendNoRelaysOwnShare(self):
        """The attack: a stranger with free keys buys copies along
        [stranger, relay 2, seller].  They are charged to the relays'
        share (relay 2's group there), never to what buyers of relay 2's
        own address group may hold: a buyer of that group, straight to the
        seller, still gets its copies, and one through another relay its
        own.  (Before: the stranger's copies were charged to relay 2's
        group, and that group's own buy was answered notyet for
        15 minutes.)"""
        seller = self.startSeller(closed_limit=20)
        flood = [self.message(Buy, n, keyOf(1000 + n)) for n in range(30)]
        self.assertEqual(sorted(self.codes(*flood)), ["buyOK"] * 5 + ["notyet"] * 25)
        mine = self.ownLink(self.buyer)
        own = [self.message(Buy, 100 + n, relay=None) for n in range(3)]
        self.assertEqual(self.codes(*own, link=mine), ["buyOK"] * 3)
        other = self.otherGroup()
        ok = self.send(self.message(Buy, 7, keyOf(35), relay=3), link=other)
        self.assertEqual([a.TYPE for a in ok], ["buyOK"])
        [notyet] = self.send(self.message(Buy, 8, keyOf(999)))
        self.assertIn("relayed to this seller by your last relay's address group "
                      "hold 5", notyet.info)
        self.assertEqual((seller.remembered.held("10.0.0.0/16"),
                          seller.remembered.held("10.0.0.0/16", relayed=True),
                          seller.remembered.held("198.51.0.0/16", relayed=True)),
                         (3, 5, 1))

    def test_linkedBuyerChargedToItsOwnGroup(self):
        """A buyer linked to the seller, its key proven there, whose buy
        comes along a path all the same (a resend, or a fallback) is
        charged to its own link's group, not to the relays' share: a
        stranger gains nothing by it (a key it linked is charged to its
        own group), and a linked buyer is not held back by what others
        relayed."""
        seller = self.startSeller(closed_limit=20)
        self.ownLink(self.buyer, host="203.0.113.9")
        self.assertEqual(self.codes(self.message(Buy, 1)), ["buyOK"])
        self.assertEqual((seller.remembered.held("203.0.0.0/16"),
                          seller.remembered.held("10.0.0.0/16", relayed=True)), (1, 0))


class WindowTests(_CopiesCase):
    """What a repeated buy, or an ask, of a copy gets: the same buyOK for
    15 minutes, expired after."""

    def test_sameBuyOKWithinTheWindow(self):
        self.startSeller()
        buy = self.message(Buy, 5)
        [first] = self.send(buy)
        self.clock.advance(WINDOW - 1)
        self.assertEqual(self.send(buy), [first])
        self.assertEqual(self.send(self.message(Ask, 5, expires=buy.expires)), [first])
        self.assertEqual(self.files.copies, 1)

    def test_expiredAfterTheWindow(self):
        """Once 15 minutes have passed, the same signed buy is answered
        expired, and so is an ask with its expiry: the seller answers for
        that copy no longer, sells nothing more for it, and still counts
        it.  (Before: the same buyOK, from a ledger line kept for good.)"""
        seller = self.startSeller()
        buy = self.message(Buy, 5)
        self.assertEqual(self.codes(buy), ["buyOK"])
        self.clock.advance(WINDOW + 1)
        self.assertEqual(self.codes(buy), ["expired"])
        self.assertEqual(self.codes(self.message(Ask, 5, expires=buy.expires)),
                         ["expired"])
        self.assertEqual((seller.ledger, self.node.store.copiesSold(),
                          self.files.copies), ({}, {"song.ogg": 1}, 1))

    def test_writeSlowerThanTheWindow(self):
        """A copy whose write takes over 15 minutes is forgotten meanwhile
        (its buyOK still waits for the write); the write then failing
        takes nothing more back, and leaves the account right."""
        store = DurableSlowStore()
        seller = self.startSeller(store)
        self.assertEqual(self.send(self.message(Buy, 5)), [])
        self.clock.advance(WINDOW + 1)
        self.assertEqual(self.codes(self.message(Ask, 6)), ["unsold"])
        store.fail()
        gc.collect()  # an error in the undoing would be logged as the write's
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertEqual((seller.ledger, len(seller.copies), seller.remembered.used),
                         ({}, 0, 1))

    def test_restartKeepsCopiesAndTheCount(self):
        """A seller restarted on its data dir answers a copy it still
        remembers with the same buyOK (charged to the restored group
        until forgotten) and keeps the count of those it forgot."""
        folder, store = self.dataDir()
        self.startSeller(store)
        self.assertEqual(self.codes(*[self.message(Buy, n) for n in range(3)]),
                         ["buyOK"] * 3)
        self.clock.advance(WINDOW + 1)
        kept = self.message(Buy, 9)
        [first] = self.send(kept)
        self.successResultOf(store.close())
        seller = self.startSeller(self.store(folder))
        self.assertEqual(self.send(kept), [first])
        self.assertEqual(self.node.store.copiesSold(), {"song.ogg": 3})
        self.assertEqual(seller.remembered.held(seller_module.RESTORED), 1)
        self.clock.advance(WINDOW + 1)
        self.assertEqual(self.codes(kept), ["expired"])
        self.assertEqual(seller.remembered.held(seller_module.RESTORED), 0)


class CopiesMakeNoPartnersTests(_CopiesCase):
    """Issue 55's "8 keys from 8 groups each buy a free copy of a seller's
    shared file over their direct links": each link became a trading
    partner, never evicted, and a newcomer was kept out.  A copy takes
    nothing from the seller, so it makes no trading partner; a unit of
    stock sold still does (docs/protocol.md §6, "Eviction")."""

    def directLink(self, key, group):
        """key's direct link to the seller, proven, from address group
        10.<group>."""
        return provenLink(self.node, key, purpose=DIRECT, host=f"10.{group}.0.5")

    def test_freeCopiesKeepNoSlot(self):
        self.startSeller()
        slots = self.node.overlay.budgets[DIRECT]
        keys = [keyOf(100 + n) for n in range(slots)]
        links = [self.directLink(key, n + 1) for n, key in enumerate(keys)]
        for n, (key, link) in enumerate(zip(keys, links)):
            self.assertEqual(self.codes(self.message(Buy, n, key=key, relay=None),
                                        link=link), ["buyOK"])
        self.assertEqual(self.files.copies, slots)
        self.assertEqual(list(self.node.overlay.partners), [])
        self.clock.advance(GRACE + 1)
        newcomer = keyOf(300)
        link = self.directLink(newcomer, 200)
        self.assertIs(self.node.links.get(newcomer.id), link)
        self.assertEqual(sum(1 for other in links if other.transport.disconnecting), 1)

    def test_aUnitOfStockSoldMakesAPartner(self):
        self.startSeller()
        key = keyOf(100)
        link = self.directLink(key, 1)
        path = (key.id, self.s_key.id)
        buy = key.signed(Buy(1, "apple", path,
                             expires=int((self.clock.seconds() + 300) * 1000)))
        self.assertEqual(self.codes(buy, link=link), ["buyOK"])
        self.assertEqual(list(self.node.overlay.partners), [link])


class UndeliverableTests(_CopiesCase):
    """Issue 92 item 3: a seller whose relay carries no circuit (none
    opened there, several failed: the node's event) could not deliver a
    file, so it sells none: it answers ``notyet``, saying why, and takes
    nothing; its counted items still sell."""

    WHY = "this node could not reach it for the 3 circuits announced there, none opened"

    def test_noCopySoldWhileNoCircuitOpens(self):
        seller = self.startSeller()
        self.node.events.relayCircuits("192.0.2.1:7701", self.WHY)
        [answer] = self.send(self.message(Buy, 1))
        self.assertEqual(answer.code, "notyet")
        self.assertEqual(answer.info, "song.ogg cannot be delivered from here now: no "
                         "circuit through this node's relay at 192.0.2.1:7701 opens "
                         f"({self.WHY}); not sold")
        self.assertEqual((len(seller.ledger), len(seller.copies), self.files.copies),
                         (0, 0, 0))
        apple = self.buyer.signed(Buy(2, "apple", (self.buyer.id, 2, self.s_key.id),
                                      expires=int((self.clock.seconds() + 300) * 1000)))
        self.assertEqual(self.codes(apple), ["buyOK"])

    def test_soldAgainOnceOneOpens(self):
        """The word taken back (a circuit opened), the same buy sells."""
        self.startSeller()
        self.node.events.relayCircuits("192.0.2.1:7701", self.WHY)
        buy = self.message(Buy, 1)
        self.assertEqual(self.codes(buy), ["notyet"])
        self.node.events.relayCircuits("192.0.2.1:7701", None)
        self.assertEqual(self.codes(buy), ["buyOK"])
        self.assertEqual(self.files.copies, 1)
