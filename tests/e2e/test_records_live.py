"""
End to end: records are owned (issue 21), against live chord daemons.

A ring of three ``twistd`` nodes, one of which, S, sells ``apple`` and
shares ``song.ogg``.  An attacker with a key of its own, built from the
standard library and ``cryptography`` as in L{tests.e2e.test_raw_client},
registers with the tracker, links to the nodes that hold the two items'
keys and tries what issue 21 did: 64 made-up records with day-long
lifetimes and a lifetime-0 record in S's name, and S's song.ogg record
rewritten to the attacker's hash, size and transfer port; first in the
old record format, then as signed records (made up, forged, or S's own
rewritten).  Every lookup still names S alone, and a buyer that joins
buys both items from S and downloads S's file.
"""

import copy
import hashlib
import json
import os
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, short, startMarket, waitDownloaded, waitOnRing
from tests.e2e.test_chord_live import FAST, holderOf
from tests.files.helpers import fileId
from tests.e2e.test_raw_client import (
    Keys,
    RawClient,
    id_of,
    newId,
    nonce,
    proofText,
    unb64,
)

#: Seconds any one expected log line may take.
TIMEOUT = 60.0
#: The longest lifetime a record may travel with (a day), in ms.
DAY_MS = 86_400_000
SONG = b"the song S shares\n" * 1000


def recordText(record):
    """What a record's signature signs (docs/protocol.md §11a)."""
    fields = {key: value for key, value in record.items() if key != "sig"}
    return b"bazaar-record:" + json.dumps(fields, sort_keys=True, separators=(",", ":"),
                                          ensure_ascii=False).encode("utf-8")


def recordVerified(record):
    """Whether a record (a dict) is signed by the key of its seller."""
    public = unb64(record["key"])
    if id_of(public) != record["seller"]:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(unb64(record["sig"]),
                                                          recordText(record))
    except InvalidSignature:
        return False
    return True


class LiveRecordTests(SynchronousTestCase):
    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)

    def connect(self, port):
        client = RawClient(port)
        self.addCleanup(client.close)
        return client

    def attacker(self):
        """Register with the tracker as a chord node with a key, but take
        no place on the ring; return (keys, tracker link)."""
        keys, mine = Keys(), nonce()
        tracker = self.connect(self.market.tracker_port)
        tracker.send("thisisme", id="", port=0, host="", key=keys.key, nonce=mine)
        you = tracker.receive()
        tracker.send("proof", sig=keys.sign(proofText("register", keys.key, you["key"],
                                                      mine, you["nonce"])))
        return keys, tracker

    def ringLink(self, keys, port):
        """A ring link (purpose chord) to the node at port, both sides
        proving their keys."""
        link = self.connect(port)
        mine = nonce()
        link.send("thisisme", id=keys.id, port=0, host="", purpose="chord", key=keys.key,
                  nonce=mine)
        answer = link.receive()
        self.assertEqual(answer["type"], "thisisme", answer)
        link.send("proof", sig=keys.sign(proofText("link", keys.key, answer["key"], mine,
                                                   answer["nonce"], "chord")))
        return link

    def request(self, link, keys, item):
        """Ask the node at the other end of link who sells item (it holds
        its key): the sellers of its chordRecords."""
        request_id = newId()
        link.send("chordRequest", id=request_id, item=item, returnPath=[keys.id])
        while True:
            answer = link.receive()
            if answer["type"] == "chordRecords" and answer["id"] == request_id:
                return answer["sellers"]

    def sellers(self, link, keys, item):
        """The ids of the sellers a holder names (a seller of the record
        format of old was a list starting with its id)."""
        return [seller["seller"] if type(seller) is dict else seller[0]
                for seller in self.request(link, keys, item)]

    def test_nobodyButTheSellerWritesItsRecords(self):
        market = self.market
        folder = os.path.join(market.cwd, "share")
        os.mkdir(folder)
        with open(os.path.join(folder, "song.ogg"), "wb") as f:
            f.write(SONG)
        seller = market.startNode("seller", *FAST, "--role", "seller", "--sell", "apple=3",
                                  "--share", folder)
        others = [market.startNode(f"node{n}", *FAST) for n in range(2)]
        addresses = {}
        for daemon in [seller] + others:
            node_id, port = nodeAddress(daemon, TIMEOUT)
            addresses[node_id] = (daemon, port)
            waitOnRing(daemon, TIMEOUT)
        s_id = nodeAddress(seller, TIMEOUT)[0]
        # The holder the ring arithmetic names holds S's record once S
        # says it stored it there: S may have stored it elsewhere before
        # the ring took its last node in (nodes only join here, so the
        # last holder keeps it), and says so again when its holder changes.
        for item in ("apple", "song.ogg"):
            holder = short(holderOf(set(addresses), item))
            seller.waitFor(rf"stored {re.escape(item)} at node {holder} ", TIMEOUT)

        keys, _ = self.attacker()
        links = {}
        for item in ("apple", "song.ogg"):
            holder = holderOf(set(addresses), item)
            if holder not in links:
                links[holder] = self.ringLink(keys, addresses[holder][1])
        apple = links[holderOf(set(addresses), "apple")]
        song = links[holderOf(set(addresses), "song.ogg")]
        fake_sha = hashlib.sha256(b"the attacker's file").hexdigest()
        self.assertEqual(self.sellers(apple, keys, "apple"), [s_id])
        self.assertEqual(self.sellers(song, keys, "song.ogg"), [s_id])

        # The attack of issue 21, in the record format of old: 64 made-up
        # sellers and a lifetime-0 record in S's name; S's song.ogg
        # description rewritten.
        made_up = [["apple", 1000 + n, "127.0.0.1", 9, DAY_MS] for n in range(63)]
        apple.send("chordTransfer", records=made_up + [["apple", s_id, "127.0.0.1", 1, 0]])
        song.send("chordTransfer", records=[["song.ogg", s_id, "127.0.0.1", 1, DAY_MS,
                                             {"size": 19, "sha256": fake_sha,
                                              "transfer": 9}]])
        self.assertEqual(self.sellers(apple, keys, "apple"), [s_id])
        [genuine] = self.request(song, keys, "song.ogg")
        self.assertEqual((genuine["seller"], genuine["sha256"]),
                         (s_id, fileId(SONG)))

        # The same as signed records: signed by the attacker for others'
        # ids, a withdrawal in S's name, S's own record rewritten.
        def mine(**fields):
            record = dict(dict(item="apple", seller=keys.id, host="127.0.0.1", port=9,
                               issued=genuine["issued"],
                               expires=genuine["issued"] + 600_000, key=keys.key),
                          **fields)
            return dict(record, sig=keys.sign(recordText(record)))

        forged = [mine(seller=1000 + n) for n in range(63)]
        forged.append(mine(seller=s_id, issued=genuine["issued"] + 1,
                           expires=genuine["issued"] + 1))
        apple.send("chordTransfer", records=[[DAY_MS, record] for record in forged])
        rewritten = copy.deepcopy(genuine)
        rewritten.update(sha256=fake_sha, size=19, transfer=9, issued=genuine["issued"] + 1)
        song.send("chordTransfer", records=[[DAY_MS, rewritten]])
        song.send("chordStore", id=newId(), item="song.ogg", lifetime=DAY_MS,
                  returnPath=[s_id, keys.id], record=rewritten)

        self.assertEqual(self.sellers(apple, keys, "apple"), [s_id])
        self.assertEqual(self.request(song, keys, "song.ogg"), [genuine])
        self.assertTrue(recordVerified(genuine))

        downloads = os.path.join(market.cwd, "downloads")
        os.mkdir(downloads)
        buyer = market.startNode("buyer", *FAST, "--role", "buyer", "--want", "apple",
                                 "--want", "song.ogg", "--downloads", downloads)
        buyer.waitFor(rf"bought apple from {s_id[:8]} \(1 of 1\)", TIMEOUT)
        buyer.waitFor(rf"bought song\.ogg from {s_id[:8]} \(1 of 1\)", TIMEOUT)
        waitDownloaded(buyer, "song.ogg", TIMEOUT)
        with open(os.path.join(downloads, "song.ogg"), "rb") as f:
            self.assertEqual(f.read(), SONG)
        market.stop()
        for daemon in market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
