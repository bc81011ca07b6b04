"""
End to end over QUIC: real ``twistd`` daemons on loopback.  A seller
serves QUIC on a UDP port (``--quic-port``); a buyer told to reach it
there (``--quic-peer``) links to it and fetches its file over QUIC (its
log says so of both), the file arriving whole with its identity.  With
default flags, a node serves QUIC on a free UDP port, which the
tracker's UDP reach check sees once the tracker dialled the node.  Every wait is on a log line,
bounded by a timeout; nothing sleeps.
"""

import os
import re

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import nodeId
from twisted_bazaar.wire.ids import wireId
from tests.e2e.helpers import startMarket, waitDownloaded
from tests.e2e.test_files_live import sha256Of, writeRandom

#: Seconds any one expected log line may take.
TIMEOUT = 60.0
SIZE = 8 * 1024 * 1024


class QuicLiveTests(SynchronousTestCase):
    def test_linkedAndFetchedOverQuic(self):
        market, _ = startMarket(self, TIMEOUT)
        shared = os.path.join(market.cwd, "shared")
        downloads = os.path.join(market.cwd, "downloads")
        os.makedirs(shared)
        os.makedirs(downloads)
        identity = writeRandom(os.path.join(shared, "song.bin"), SIZE, 7)
        seller = market.startNode("seller", "--role", "seller", "--share", shared,
                                  "--quic-port", "0")
        seller_id = wireId(nodeId(seller, TIMEOUT))
        port = int(seller.waitFor(r"QUIC listening on 127\.0\.0\.1:(\d+) \(udp\)",
                                  TIMEOUT)[1])
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "song.bin",
                                 "--downloads", downloads, "--quic-port", "0",
                                 "--quic-peer", f"{seller_id}=127.0.0.1:{port}")
        where = re.escape(f"over QUIC at 127.0.0.1:{port}")
        # Its link to the seller (a neighbour's or a buyer's own), and the
        # transfer's connection.
        buyer.waitFor(rf"reached node \w+ {where} \((?!files)[\w-]+\)", TIMEOUT)
        buyer.waitFor(rf"reached node \w+ {where} \(files\)", TIMEOUT)
        waitDownloaded(buyer, "song.bin", TIMEOUT)
        self.assertEqual(sha256Of(os.path.join(downloads, "song.bin")), identity)

    def test_theTrackerSeesAPublicNodesQuicPort(self):
        """Default flags (the tracker's UDP reach check on, the node's QUIC
        on a free port): once the tracker dialled the node, the node
        checks its UDP mapping, and the tracker sees its datagrams come
        from its QUIC port itself, the port it then names to peers
        (docs/protocol.md §5, "A node's QUIC port")."""
        market, tracker = startMarket(self, TIMEOUT)
        tracker.waitFor(r"UDP reach listening on ports \d+ and \d+", TIMEOUT)
        seller = market.startNode("seller", "--role", "seller", "--sell", "apple=1")
        port = seller.waitFor(r"QUIC listening on 127\.0\.0\.1:(\d+) \(udp\)",
                              TIMEOUT)[1]
        seller.waitFor(r"this node's UDP datagrams leave its router from "
                       rf"127\.0\.0\.1:{port} \(\w+ mapping\)", TIMEOUT)
