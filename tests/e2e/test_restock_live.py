"""
End to end: ``bazaar restock`` against a live seller daemon with
``--data-dir``, in the index scheme (whose records live at the tracker):
the new stock is sold, survives a restart with the ledger, and each
refusal says why.
"""

import json
import os
import re
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import runCommand, startMarket
from twisted_bazaar.testing.daemons import nodeId
from tests.e2e.helpers import short

TIMEOUT = 30.0
INDEX = ["--discovery", "index"]


def bazaar(*args):
    script = str(Path(sys.executable).with_name("bazaar"))
    return runCommand([script, *args], capture_output=True, text=True,
                      timeout=TIMEOUT)


class RestockLiveTests(SynchronousTestCase):
    def test_restockARunningSeller(self):
        market, _ = startMarket(self, TIMEOUT)
        data = os.path.join(market.cwd, "seller-data")
        seller = market.startNode("seller", *INDEX, "--role", "seller", "--sell",
                                  "apple=1", "--data-dir", data)
        seller_id = nodeId(seller, TIMEOUT)
        market.waitIntroduced(seller_id, TIMEOUT)
        self.assertEqual(os.stat(os.path.join(data, "control.sock")).st_mode & 0o777,
                         0o600)

        done = bazaar("restock", "--data-dir", data, "apple=2", "pear=1")
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        self.assertEqual(done.stdout, "restocked apple=2 (was 1), pear=1 (was 0); the "
                         "ledger is kept\n")
        seller.waitFor(re.escape("restocked by its owner: apple=2 (was 1), pear=1 "
                                 "(was 0); the ledger is kept"), TIMEOUT)

        # The new item is offered (registered at the tracker's index), and
        # every unit set is sold.
        tracker = f"127.0.0.1:{market.tracker_port}"
        for item, quantity in (("pear", "1"), ("apple", "2")):
            bought = bazaar("--tracker", tracker, "buy", item, "--quantity", quantity,
                            "--discovery", "index")
            self.assertEqual(bought.returncode, 0, bought.stderr)
        added = bazaar("restock", "--json", "--data-dir", data, "--add", "apple=4")
        self.assertEqual(added.returncode, 0, added.stderr)
        self.assertEqual(json.loads(added.stdout),
                         {"stock": {"apple": 4}, "was": {"apple": 0}})

        seller.terminate()
        seller.finish()
        self.assertFalse(os.path.exists(os.path.join(data, "control.sock")))
        stopped = bazaar("restock", "--data-dir", data, "apple=1")
        self.assertEqual(stopped.returncode, 1)
        self.assertIn(f"bazaar: error: no node is running with data dir {data}",
                      stopped.stderr)

        # On disk: the stock as restocked and sold, the ledger kept.
        again = market.startNode("seller again", *INDEX, "--role", "seller", "--sell",
                                 "apple=1", "--data-dir", data)
        again.waitFor(re.escape(f"data dir {data}: restored node {short(seller_id)}; stock: "
                                "apple=4, pear=0;"), TIMEOUT)
        ledger = runCommand([str(Path(sys.executable).with_name("bazaar-ledger")),
                             "--json", data], capture_output=True, text=True,
                            timeout=TIMEOUT)
        self.assertEqual(ledger.returncode, 0, ledger.stderr)
        # Two apples in one buy of two units (a bulk trade), one pear.
        self.assertEqual(sorted((sale["item"], sale["units"])
                                for sale in json.loads(ledger.stdout)["sales"]),
                         [("apple", 2), ("pear", 1)])
        self.assertEqual(seller.problems(), [])

    def test_refusals(self):
        market, _ = startMarket(self, TIMEOUT)
        data = os.path.join(market.cwd, "buyer-data")
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                 "--data-dir", data)
        market.waitIntroduced(nodeId(buyer, TIMEOUT), TIMEOUT)
        cases = [
            (["--data-dir", data, "apple=3"], 1,
             "bazaar: error: refused: this node is not a seller (no --role seller)\n"),
            (["--data-dir", data + "-nope", "apple=3"], 1,
             f"bazaar: error: no data dir {data}-nope\n"),
            (["--data-dir", data, "apple=three"], 2, None),
        ]
        for args, status, stderr in cases:
            result = bazaar("restock", *args)
            self.assertEqual(result.returncode, status, args)
            if stderr is not None:
                self.assertEqual(result.stderr, stderr)
            else:
                self.assertIn("apple=three: the count of units must be a whole number, not 'three'",
                              result.stderr)
