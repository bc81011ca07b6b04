"""
End to end, phantom files (issue 34): a stranger with a key of its own,
speaking the documented protocol with plain sockets (the helpers of
test_raw_client), registers a signed record of the file a buyer wants,
with a size (a terabyte) and a content of its choosing, and sells it:
it answers the buy with a signed ``buyOK``, and serves no byte.  An honest
``twistd`` seller shares the real file.

``bazaar buy`` (index scheme) buys from the phantom first (the only
seller then), reserves no disk on its word, gives that download up after
``--download-give-up``, keeps nothing of it, and buys and fetches the
real file from the honest seller: it exits 0 with the file in place.
"""

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import freePort, startCommand, startMarket
from tests.e2e.test_raw_client import CheckedStranger, nonce, proofText
from tests.e2e.test_records_live import recordText
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN

TIMEOUT = 30.0
PHANTOM_SIZE = 10**12
PHANTOM_SHA = "ab" * 32
#: The buyer's --download-give-up: the honest seller is started while the
#: phantom's download waits, and must be listed before the buyer gives up
#: on the phantom (else the buyer knows no other content under the name and
#: ends with the phantom's failure).  A twistd seller took more than 5 s to
#: start and register on a machine at load 10; 15 leaves room.
GIVE_UP = 15


class PhantomSeller(CheckedStranger):
    """
    A keyed stranger that says it sells ``item`` as PHANTOM_SIZE bytes of
    PHANTOM_SHA: it registers with the tracker and the index, answers the
    tracker's address check and a buyer's link, and sells every buy; its
    transfer port has nobody behind it.
    """

    def __init__(self, tracker_port, item):
        self.item = item
        self.buys = []
        self.sold = threading.Event()
        super().__init__(tracker_port, scheme="index")
        self.tracker.send("register", item=item, record=self.record())

    def record(self):
        now = int(time.time() * 1000)
        record = {"item": self.item, "seller": self.keys.id, "host": "",
                  "port": self.port, "issued": now, "expires": now + 600_000,
                  "key": self.keys.key, "size": PHANTOM_SIZE, "sha256": PHANTOM_SHA,
                  "transfer": freePort()}
        return dict(record, sig=self.keys.sign(recordText(record)))

    def serveLink(self, peer, first):
        keys, mine = self.keys, nonce()
        purpose = first.get("purpose", "overlay")
        answer = {"id": keys.id, "port": self.port, "host": "", "key": keys.key,
                  "nonce": mine, "sig": keys.sign(proofText(
                      "link", keys.key, first["key"], mine, first["nonce"], purpose))}
        if purpose != "overlay":
            answer["purpose"] = purpose
        peer.send("thisisme", **answer)
        while True:
            message = peer.receive()
            if message["type"] == "ping":
                peer.send("pong", nonce=message["nonce"])
            elif message["type"] == "buy":
                self.buys.append(message)
                peer.sendObject(keys.signed(
                    "buyOK", id=message["id"], item=message["item"],
                    path=message["path"][::-1], buyerKey=message["key"],
                    sha256=message["sha256"], size=message["size"]))
                self.sold.set()


class PhantomFileLiveTests(SynchronousTestCase):
    def test_phantomFileThenTheRealOne(self):
        market, tracker = startMarket(self, TIMEOUT)
        phantom = PhantomSeller(market.tracker_port, "song.ogg")
        self.addCleanup(phantom.close)
        self.assertTrue(phantom.checked.wait(TIMEOUT), "the tracker never checked")

        downloads = os.path.join(market.cwd, "downloads")
        os.makedirs(downloads)
        script = str(Path(sys.executable).with_name("bazaar"))
        buying = startCommand(
            [script, "--tracker", f"127.0.0.1:{market.tracker_port}", "--json", "buy",
             "song.ogg", "--discovery", "index", "--downloads", downloads, "--listen",
             LOOPBACK_LISTEN, "--download-give-up", str(GIVE_UP), "--timeout",
             str(4 * TIMEOUT)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(buying.kill)
        self.assertTrue(phantom.sold.wait(TIMEOUT), "the buyer never bought")
        [buy] = phantom.buys
        self.assertEqual((buy["size"], buy["sha256"]), (PHANTOM_SIZE, PHANTOM_SHA))

        # Bought, and nothing reserved for it on the phantom's word.
        part = os.path.join(downloads, ".bazaar-downloads",
                            f".song.ogg.{PHANTOM_SHA[:16]}.part")
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(part) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertLess(os.stat(part).st_blocks * 512, 1024 * 1024)

        shared = os.path.join(market.cwd, "shared")
        os.makedirs(shared)
        content = random.Random(34).randbytes(200 * 1024)
        with open(os.path.join(shared, "song.ogg"), "wb") as f:
            f.write(content)
        honest = market.startNode("honest", "--discovery", "index", "--role", "seller",
                                  "--share", shared)
        honest.waitFor(r"the tracker's index lists song\.ogg$", TIMEOUT)

        out, err = buying.communicate(timeout=4 * TIMEOUT)
        self.assertEqual((buying.returncode, err), (0, ""), out)
        with open(os.path.join(downloads, "song.ogg"), "rb") as f:
            self.assertEqual(f.read(), content)
        self.assertFalse(os.path.exists(part))
        self.assertEqual(len(phantom.buys), 1)
        self.assertEqual(json.loads(out)["item"], "song.ogg")
        honest.waitFor(r"sold song\.ogg to \w+ \(a copy of a shared file\)", TIMEOUT)
        for daemon in (tracker, honest):
            self.assertEqual(daemon.problems(), [], daemon.tail())
