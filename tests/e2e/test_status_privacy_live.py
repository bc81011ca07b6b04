"""
End to end: what a node tells strangers.  A keyless stranger asked the
tracker ``members``, then every node ``state``, and learned a buyer's bag,
its buys and their sellers and a file's copies sold.  Now ``bazaar node``
run by anyone gets a node's public facts and says what is withheld; run
by the node's operator, with the node's ``--data-dir`` (whose key proves
it), it gets the whole state.
"""

import json
import os
import shutil
import tempfile
import time
import urllib.request

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import listeningPort, waitWantsMet
from tests.e2e.test_bazaar_live import bazaar
from twisted_bazaar.testing.daemons import JSON, LiveMarket, nodeId
from twisted_bazaar.wire.ids import wireId

TIMEOUT = 30.0



class WhatANodeTellsStrangersTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-privacy-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)
        tracker = self.market.startTracker("tracker", TIMEOUT, "--web", "tcp:0",
                                           "--web-poll", "0.5")
        self.web = listeningPort(tracker, "web view", TIMEOUT)
        self.tracker = f"127.0.0.1:{self.market.tracker_port}"
        seller = self.market.startNode("seller", "--role", "seller", "--sell", "apple=3")
        self.seller_id = wireId(nodeId(seller, TIMEOUT))
        self.buyer_dir = os.path.join(folder, "buyer-data")
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                      "--data-dir", self.buyer_dir)
        self.buyer_id = wireId(nodeId(buyer, TIMEOUT))
        waitWantsMet(buyer, TIMEOUT)

    def ask(self, *args):
        result = bazaar("--tracker", self.tracker, "--json", "node", *args)
        self.assertEqual((result.returncode, result.stderr), (0, ""), result.stdout)
        return json.loads(result.stdout)

    def test_aStrangerGetsThePublicFacts(self):
        """The attack as it was made: the members from the tracker, then
        each node's state, with no key of any node."""
        members = json.loads(bazaar("--tracker", self.tracker, "--json",
                                    "status").stdout)
        self.assertEqual({node["id"] for node in members["nodes"]},
                         {self.seller_id, self.buyer_id})
        buyer = self.ask(self.buyer_id)
        self.assertEqual((buyer["id"], buyer["operator"]), (self.buyer_id, False))
        for withheld in ("bag", "pending", "recent", "downloads"):
            self.assertNotIn(withheld, buyer)
        self.assertEqual({link["purpose"] for link in buyer["links"]} - {"overlay"},
                         set())
        self.assertIn("bag", buyer["withheld"])
        seller = self.ask(self.seller_id[:8])
        self.assertEqual((seller["stock"], seller["operator"]), ({"apple": 2}, False))
        self.assertNotIn("recent", seller)
        text = bazaar("--tracker", self.tracker, "node", self.buyer_id).stdout
        self.assertNotIn("bag:", text)
        self.assertIn("withheld (its operator's, told to --data-dir of the node): ", text)

    def test_theWebViewIsAStranger(self):
        """The tracker's web view holds no node's key: its pages show the
        buyer's public facts, and no bag, pending buys or messages."""
        deadline = time.monotonic() + TIMEOUT
        page = {}
        while not page.get("known") and time.monotonic() < deadline:
            time.sleep(0.2)
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/api/node/"
                                        f"{self.buyer_id}", timeout=TIMEOUT) as answer:
                page = json.load(answer)
        self.assertTrue(page.get("known"), page)
        self.assertIs(page["operator"], False)
        for withheld in ("bag", "pending", "messages", "downloads"):
            self.assertNotIn(withheld, page)

    def test_theOperatorGetsTheWholeState(self):
        whole = self.ask("--data-dir", self.buyer_dir)
        self.assertEqual((whole["id"], whole["operator"], whole["bag"]),
                         (self.buyer_id, True, {"apple": 1}))
        self.assertIn(("out", self.seller_id, "buy"),
                      {(m["dir"], m["peer"], m["type"]) for m in whole["recent"]})
        # Its own link took one of the operator's slots: its thisisme
        # proved the node's key once the channel was up.
        self.assertIn("operator", [link["purpose"] for link in whole["links"]])
        self.assertEqual(self.ask(self.buyer_id[:8], "--data-dir", self.buyer_dir)["bag"],
                         {"apple": 1})
        text = bazaar("--tracker", self.tracker, "node", "--data-dir",
                      self.buyer_dir).stdout
        self.assertIn("bag: apple 1", text)
        self.assertIn(f"-> to   node {self.seller_id[:8]}  buy", text)

    def test_anotherNodesDataDir(self):
        """The buyer's key does not make its holder the seller's operator:
        refused, saying why, before anything is asked."""
        result = bazaar("--tracker", self.tracker, "node", self.seller_id,
                        "--data-dir", self.buyer_dir)
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        self.assertEqual(result.stderr, f"bazaar: error: the key in {self.buyer_dir} is "
                         f"node {self.buyer_id}'s, not that of {self.seller_id}\n")
