"""
Tests for twisted_bazaar.roles.files.download: a seller whose
connection stalls while it describes the file.  The stall may be the
way, not the seller (a punched UDP path that died under the
connection): the seller is asked again at once, once, on a new
connection; a second stall forgets it, as any failure does.  In a
L{Market} (the in-memory network, a fake clock); which connections hear
nothing is the test's word (L{TransferClient.dataReceived} patched).
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.client import DEFAULT_STALL, TransferClient
from tests.files.helpers import fileId
from tests.roles.files.helpers import TransferWatch, runUntil, songMarket

PIECE = 4096


class DescribeStallTests(SynchronousTestCase):
    def setUp(self):
        songMarket(self, PIECE)
        #: The transfer connections the buyer made, in order.
        self.clients = []
        #: How many of the first connections hear nothing.
        self.deaf = 0
        made, received = TransferClient.connectionMade, TransferClient.dataReceived

        def connectionMade(client):
            self.clients.append((client, self.market.clock.seconds()))
            return made(client)

        def dataReceived(client, data):
            if [each for each, _ in self.clients].index(client) >= self.deaf:
                return received(client, data)

        self.patch(TransferClient, "connectionMade", connectionMade)
        self.patch(TransferClient, "dataReceived", dataReceived)
        self.watch = TransferWatch(self)

    def test_askedAgainAtOnce(self):
        """The first connection hears nothing: after its stall the seller
        is asked again at once on a second, which describes the file, and
        it comes whole; no search for another seller."""
        self.deaf = 1
        runUntil(self.market, lambda: "song.ogg" in self.fetcher.fetched, 3 * DEFAULT_STALL)
        self.assertIn("song.ogg", self.fetcher.fetched)
        with open(os.path.join(self.downloads, "song.ogg"), "rb") as f:
            self.assertEqual(fileId(f.read(), PIECE), fileId(self.data, PIECE))
        [(first, opened), (_, again)] = self.clients
        [line] = self.watch.saying("could not describe")
        self.assertIn("nothing came from the seller", line)
        # Dialled again as soon as the stall said so (one dial's latency).
        self.assertLess(again - opened, DEFAULT_STALL + 0.5)
        self.assertEqual(self.watch.saying("no seller to fetch it from"), [])

    def test_aSecondStallForgetsIt(self):
        """Two connections hear nothing: after the second stall the seller
        is forgotten and searched for again, as any failure is."""
        self.deaf = 2
        runUntil(self.market, lambda: self.watch.saying("no seller to fetch it from"),
                      3 * DEFAULT_STALL)
        self.assertEqual(len(self.watch.saying("could not describe")), 2)
        self.assertEqual(len(self.clients), 2)
        self.assertNotEqual(self.watch.saying("no seller to fetch it from"), [])
