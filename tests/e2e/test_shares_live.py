"""
End to end: shares charged to whom they belong (docs/reliability.md,
"Shares spent through a relay").  A stranger from 127.9.0.1, linked to
an honest relay, finds a seller's shared file with a search through the
relay and sends signed buys of it along the reply's path [stranger,
relay, seller].  The seller charges their copies to the relays' share
(the relay's address group there), never to what the relay's own address
group may hold: an honest buyer of that group (127.0.0.1) then still
buys the file straight from the seller, and fetches it.  (Before: the
copies were charged to the relay's group, and that group's buys were
answered notyet for 15 minutes.)

Every wait is bounded: on a log line with a timeout, or on a socket with
one; nothing sleeps.
"""

import os
import socket
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, startMarket, waitDownloaded, waitSharing
from tests.e2e.test_raw_client import linkedStranger, newId

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: The seller's --closed-limit: the relays' share is half of it, and one
#: relay's address group alone holds a quarter.
LIMIT = 20
#: Searches the stranger sends before it gives up on a reply.
SEARCHES = 3


class SharesLiveTests(SynchronousTestCase):
    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)
        self.shared = os.path.join(self.market.cwd, "shared")
        os.makedirs(self.shared)
        with open(os.path.join(self.shared, "song.ogg"), "wb") as f:
            f.write(b"la" * 3000)

    def reply(self, link, me, seller_id):
        """The seller's reply to the stranger's search for song.ogg,
        through the relay (searched again while the relay is not yet
        linked to the seller)."""
        for _ in range(SEARCHES):
            link.send("search", id=newId(), item="song.ogg", returnPath=[me], ttl=3)
            try:
                while True:
                    message = link.receive()
                    if message["type"] == "reply" and message["seller"] == seller_id:
                        return message
            except socket.timeout:
                continue
        self.fail(f"no reply from the seller to {SEARCHES} searches")

    def test_relayedBuysLeaveTheRelaysGroupItsCopies(self):
        seller = self.market.startNode("seller", "--role", "seller", "--share",
                                       self.shared, "--closed-limit", str(LIMIT))
        seller_id, _ = nodeAddress(seller, TIMEOUT)
        waitSharing(seller, "song.ogg", TIMEOUT)
        self.market.waitIntroduced(seller_id, TIMEOUT)
        relay = self.market.startNode("relay", "--role", "seller", "--sell", "pear=1")
        _, relay_port = nodeAddress(relay, TIMEOUT)
        keys, link = linkedStranger(self, self.market.tracker_port, relay_port,
                                    source="127.9.0.1")
        reply = self.reply(link, keys.id, seller_id)
        path = reply["path"][::-1]
        self.assertEqual((len(path), path[0], path[-1]), (3, keys.id, seller_id))
        record = reply["record"]
        expires = int((time.time() + 120) * 1000)
        for _ in range(LIMIT):
            link.sendObject(keys.signed("buy", id=newId(), item="song.ogg", path=path,
                                        expires=expires, sha256=record["sha256"],
                                        size=record["size"]))
        answers = []
        while len(answers) < LIMIT:
            message = link.receive()
            if message["type"] in ("buyOK", "error"):
                answers.append(message.get("code", "buyOK"))
        self.assertEqual(sorted(answers), ["buyOK"] * (LIMIT // 4)
                         + ["notyet"] * (LIMIT - LIMIT // 4))

        downloads = os.path.join(self.market.cwd, "downloads")
        os.makedirs(downloads)
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "song.ogg",
                                      "--downloads", downloads)
        waitDownloaded(buyer, "song.ogg", TIMEOUT)
        with open(os.path.join(downloads, "song.ogg"), "rb") as f:
            self.assertEqual(f.read(), b"la" * 3000)
        self.assertEqual(buyer.matches(r"notyet"), [])
        for daemon in (seller, relay, buyer):
            self.assertEqual(daemon.problems(), [], daemon.tail())
