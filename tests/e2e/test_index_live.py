"""
End to end: the index scheme with real ``twistd`` daemons on loopback.

A tracker, two sellers started with ``--discovery index`` and a client
that speaks the documented protocol with a plain socket (the RawClient of
test_raw_client): the client sees both sellers in ``found`` and every item
in ``listing``; a buyer buys three pears from both sellers; a seller killed
with ``kill -9`` drops out of the index at once.

Each question to the tracker is asked once, after the log line that makes
its answer ready: the tracker checked a seller's address, a seller's items
are listed or no longer (its register or unregister acknowledged), a
seller left.  The one wait on the clock is the tracker's own: it answers
``list`` from a listing built up to LISTING_TTL ago.
"""

import time

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, short, startMarket, waitWantsMet
from tests.e2e.test_raw_client import RawClient
from tests.e2e.test_records_live import recordVerified
from twisted_bazaar.schemes.index.tracker import LISTING_TTL
from twisted_bazaar.testing.daemons import waitForAny

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
LISTS = r"the tracker's index lists {}$"
NO_LONGER_LISTS = r"the tracker's index no longer lists {}$"


class LiveIndexTests(SynchronousTestCase):

    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)

    def startSeller(self, name, *sell):
        """Start an index seller; return (daemon, its found entry)."""
        args = ["--discovery", "index", "--role", "seller"]
        for each in sell:
            args += ["--sell", each]
        return self.market.startNode(name, *args)

    def foundEntry(self, daemon):
        """What the tracker should say about a node, once it has checked
        its address: {id, host, port}."""
        ident, port = nodeAddress(daemon, TIMEOUT)
        self.market.waitIntroduced(ident, TIMEOUT)
        return {"id": ident, "host": "127.0.0.1", "port": port}

    def joinTracker(self):
        client = RawClient(self.market.tracker_port)
        self.addCleanup(client.close)
        client.send("thisisme", id="", port=0, host="")
        you = client.receive()
        self.assertEqual((you["type"], you["port"]), ("thisisyou", 0))
        self.listed_at = None
        return client

    def lookup(self, client, item):
        """The {id, host, port} of each seller found, once its record is
        checked: its own, of item, signed with its key."""
        client.send("lookup", item=item)
        found = client.receive()
        self.assertEqual((found["type"], found["item"]), ("found", item), found)
        sellers = []
        for seller in found["sellers"]:
            record = seller.pop("record")
            self.assertEqual((record["seller"], record["item"]), (seller["id"], item))
            self.assertTrue(recordVerified(record), record)
            sellers.append(seller)
        return sellers

    def listing(self, client):
        """What is on offer now.  The tracker answers ``list`` from a
        listing it built up to LISTING_TTL seconds ago by its clock (the
        machine's, as here), and no line says when one is built anew: a
        deadline the tracker judges, so this waits for it, for at most
        LISTING_TTL and only when a listing was received within it."""
        if self.listed_at is not None:
            left = self.listed_at + LISTING_TTL - time.time()
            while left > 0:
                time.sleep(left)
                left = self.listed_at + LISTING_TTL - time.time()
        client.send("list")
        answer = client.receive()
        self.listed_at = time.time()
        self.assertEqual(answer["type"], "listing", answer)
        return answer["items"]

    def test_findBuyAndForget(self):
        pears = self.startSeller("seller-pears", "pear=2")
        figs = self.startSeller("seller-figs", "pear=2", "fig=1")
        entries = {pears: self.foundEntry(pears), figs: self.foundEntry(figs)}
        for daemon, item in ((pears, "pear"), (figs, "pear"), (figs, "fig")):
            daemon.waitFor(LISTS.format(item), TIMEOUT)
        client = self.joinTracker()

        # Both sellers, with id, host and port, and every item on offer.
        sellers = self.lookup(client, "pear")
        self.assertEqual(sorted(sellers, key=lambda s: s["id"]),
                         sorted(entries.values(), key=lambda s: s["id"]))
        self.assertEqual(self.listing(client), {"fig": 1, "pear": 2})
        self.assertEqual(self.lookup(client, "plum"), [])

        # Three pears, bought from both sellers.
        buyer = self.market.startNode("buyer", "--discovery", "index", "--role",
                                       "buyer", "--want", "pear", "--quantity", "3")
        waitWantsMet(buyer, TIMEOUT)
        bought = [(int(m[1] or 1), m[2]) for m in
                  buyer.matches(r"bought pear(?: x(\d+))? from (\w+) \(\d of 3\)")]
        self.assertEqual(sum(units for units, _ in bought), 3, buyer.tail())
        self.assertEqual({seller for _, seller in bought},
                         {short(entries[pears]["id"]), short(entries[figs]["id"])})

        # One seller is out of pears and withdrew them; kill -9 the other.
        soldout, _ = waitForAny([pears, figs], NO_LONGER_LISTS.format("pear"), TIMEOUT)
        [victim] = {pears, figs} - {soldout}
        self.assertEqual(self.lookup(client, "pear"), [entries[victim]])
        self.assertEqual(self.listing(client), {"fig": 1, "pear": 1})
        victim.process.kill()
        self.tracker.waitFor(rf"node {short(entries[victim]['id'])} left", TIMEOUT)
        self.assertEqual(self.lookup(client, "pear"), [])
        self.assertNotIn("pear", self.listing(client))

        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.tail())
        self.assertIsNone(self.tracker.process.poll(), self.tracker.tail())
