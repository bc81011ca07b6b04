"""
End to end: the index scheme with real ``twistd`` daemons on loopback.

A tracker, two sellers started with ``--discovery index`` and a client
that speaks the documented protocol with a plain socket (the RawClient of
test_raw_client): the client sees both sellers in ``found`` and every item
in ``listing``; a buyer buys three pears from both sellers; a seller killed
with ``kill -9`` drops out of the index at once.

Waits are on log lines or on the tracker's answers, each bounded; the only
sleep is the short pause between two polling lookups.
"""

import time

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, startMarket
from tests.e2e.test_raw_client import RawClient
from tests.e2e.test_records_live import recordVerified
from tests.e2e.helpers import short

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Seconds the index may take to reflect a change (a registration, a sale,
#: a death), and the pause between two lookups while waiting for it.
SETTLE = 5.0
POLL_INTERVAL = 0.1


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
        """What the tracker should say about a node: {id, host, port}."""
        ident, port = nodeAddress(daemon, TIMEOUT)
        return {"id": ident, "host": "127.0.0.1", "port": port}

    def joinTracker(self):
        client = RawClient(self.market.tracker_port)
        self.addCleanup(client.close)
        client.send("thisisme", id="", port=0, host="")
        you = client.receive()
        self.assertEqual((you["type"], you["port"]), ("thisisyou", 0))
        return client

    def until(self, ask, wanted, what):
        """Ask until wanted(answer) holds, for SETTLE seconds at most (the
        tracker lists only checked sellers, and answers list from a
        listing up to a second old); return the answer."""
        deadline = time.monotonic() + SETTLE
        while True:
            answer = ask()
            if wanted(answer):
                return answer
            if time.monotonic() > deadline:
                self.fail(f"after {SETTLE:g} s the index still says {answer}, "
                          f"not {what}")
            time.sleep(POLL_INTERVAL)

    def lookupUntil(self, client, item, wanted, what):
        """Look item up until wanted(sellers) holds; return the sellers."""
        return self.until(lambda: self.lookup(client, item), wanted, what)

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

    def listingIs(self, client, items):
        """The listing comes to be items."""
        self.until(lambda: self.listing(client), lambda answer: answer == items,
                   items)

    def listing(self, client):
        client.send("list")
        answer = client.receive()
        self.assertEqual(answer["type"], "listing", answer)
        return answer["items"]

    def test_findBuyAndForget(self):
        pears = self.startSeller("seller-pears", "pear=2")
        figs = self.startSeller("seller-figs", "pear=2", "fig=1")
        entries = {"pears": self.foundEntry(pears), "figs": self.foundEntry(figs)}
        client = self.joinTracker()

        # Both sellers, with id, host and port, and every item on offer.
        sellers = self.lookupUntil(client, "pear", lambda s: len(s) == 2,
                                   "both sellers")
        self.assertEqual(sorted(sellers, key=lambda s: s["id"]),
                         sorted(entries.values(), key=lambda s: s["id"]))
        self.listingIs(client, {"fig": 1, "pear": 2})
        self.assertEqual(self.lookupUntil(client, "plum", lambda s: True, "[]"), [])

        # Three pears, bought from both sellers.
        buyer = self.market.startNode("buyer", "--discovery", "index", "--role",
                                       "buyer", "--want", "pear", "--quantity", "3")
        buyer.waitFor(r"all wants met", TIMEOUT)
        bought = [(int(m[1] or 1), m[2]) for m in
                  buyer.matches(r"bought (?:(\d+) )?pear from (\w+) \(\d of 3\)")]
        self.assertEqual(sum(units for units, _ in bought), 3, buyer.tail())
        self.assertEqual({seller for _, seller in bought},
                         {short(entries["pears"]["id"]), short(entries["figs"]["id"])})

        # One seller is out of pears and withdrew them; kill -9 the other.
        [left] = self.lookupUntil(client, "pear", lambda s: len(s) == 1,
                                  "one seller left")
        self.listingIs(client, {"fig": 1, "pear": 1})
        victim = pears if left == entries["pears"] else figs
        self.assertEqual(left, self.foundEntry(victim))
        victim.process.kill()
        self.lookupUntil(client, "pear", lambda s: s == [], "nobody")
        self.until(lambda: self.listing(client), lambda items: "pear" not in items,
                   "no pear")

        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        self.assertIsNone(self.tracker.process.poll(), self.tracker.tail())
