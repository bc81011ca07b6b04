"""
A seller that refuses the switch of a transfer connection's cipher
(docs/protocol.md §19.1: one that does not know it answers an error and
closes): the buyer's next connections to it keep the channel's cipher.
L{Sellers.connect} and L{Sellers.drop} with a stub connector.
"""

import random
from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.base.lately import Recent
from twisted_bazaar.files.messages import Cipher
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.roles.files.sellers import Sellers
from tests.files.test_transfer_cipher import SwitchingTransport
from tests.helpers import dialingNode, netstring, parseNetstrings

SELLER = 7


class Connector:
    """Connects each client to a transport that can switch at once."""

    addressed = False
    channel = None
    peerLog = None

    def __init__(self):
        self.clients = []

    def connect(self, host, port, protocol, expected=None):
        protocol.makeConnection(SwitchingTransport())
        self.clients.append(protocol)
        return defer.succeed(protocol)


class RefusedSwitchTests(SynchronousTestCase):
    def setUp(self):
        clock = task.Clock()
        self.connector = Connector()
        fetcher = SimpleNamespace(stall=10.0, proven=Recent(4), unswitched=Recent(4),
                                  rng=random.Random(1),
                                  node=dialingNode(self.connector, clock))
        download = SimpleNamespace(fetcher=fetcher, clock=clock, stopped=False,
                                   moves=SimpleNamespace(started=lambda *_: None,
                                                         connected=lambda *_: None))
        self.sellers = Sellers(download, None)
        offer = SimpleNamespace(host="10.0.0.2", transfer=4000, relay=None, namedBy=None,
                                record=SimpleNamespace(key=Identity.generate().key))
        self.sellers.sources.add(SELLER, offer, "10.0.0.0/16")

    def asked(self, client):
        return parseNetstrings(client.transport.value())[:1] == [
            wire.encode(Cipher("AESGCM"))]

    def test_refusedThenNotAsked(self):
        first = self.successResultOf(self.sellers.connect(SELLER))
        self.assertTrue(self.asked(first))
        first.dataReceived(netstring(wire.Error("wtf", "unknown type cipher")))
        self.sellers.drop(SELLER)
        second = self.successResultOf(self.sellers.connect(SELLER))
        self.assertFalse(self.asked(second))

    def test_agreedStillAsked(self):
        first = self.successResultOf(self.sellers.connect(SELLER))
        first.dataReceived(netstring(Cipher("AESGCM")))
        self.sellers.drop(SELLER)
        second = self.successResultOf(self.sellers.connect(SELLER))
        self.assertTrue(self.asked(second))
