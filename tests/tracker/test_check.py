"""
The tracker's connect-back check dials by its transports
(L{twisted_bazaar.transports.table.Transports}), as a node's dials do:
the transport of the direct kind it was built with is the one that dials
the node, and a check it connects passes as any.
"""

import random

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import FakeConnector, WiredLink, feed, sent
from tests.transports.relay.helpers import RecordingTransport
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.identity.proofs import CHECK, REGISTER, Handshake
from twisted_bazaar.net.link import Link, LinkSettings
from twisted_bazaar.reach.peerhosts import HostRefused
from twisted_bazaar.tracker import Tracker, TrackerFactory
from twisted_bazaar.tracker.check import AddressCheck
from twisted_bazaar.transports.path import DIRECT
from twisted_bazaar.transports.table import Transports


class CheckThroughTheTransportsTests(SynchronousTestCase):
    def setUp(self):
        self.connector = FakeConnector()
        self.direct = RecordingTransport(DIRECT)
        self.tracker = Tracker(Clock(), random.Random(4), LinkSettings(ping_interval=0),
                               connector=self.connector,
                               transports=Transports([self.direct]))
        self.identity = Identity.fromRandom(random.Random(9))

    def register(self):
        """A node with a key registers from 203.0.113.5, port 4001: its
        link to the tracker."""
        handshake = Handshake(self.identity, REGISTER)
        peer = WiredLink(TrackerFactory(self.tracker), "203.0.113.5")
        peer.say({"type": "thisisme", "id": "", "port": 4001, "host": "",
                  "key": self.identity.key, "nonce": handshake.nonce, "reach": True})
        [you] = peer.heard()
        peer.say({"type": "proof", "sig": handshake.prove(you["key"], you["nonce"])})
        return peer

    def test_dialledByTheDirectTransport(self):
        """The check of a node's address is the direct transport's dial,
        at the address registered; the connector under it dials nothing."""
        self.register()
        [dial] = self.direct.dials
        self.assertEqual((dial.host, dial.port, dial.relay), ("203.0.113.5", 4001, None))
        self.assertIsInstance(dial.protocol, Link)
        self.assertEqual(self.connector.requests, [])

    def test_passesOverIt(self):
        """The node answers on the connection the transport made, proving
        its key: the check passes, and the node is told it is reachable."""
        peer = self.register()
        [dial] = self.direct.dials
        link = dial.protocol
        link.makeConnection(StringTransport())
        dial.deferred.callback(link)
        [ask] = sent(link)
        answer = Handshake(self.identity, CHECK)
        feed(link, wire.ThisIsMe(self.identity.id, 4001, key=self.identity.key,
                                 nonce=answer.nonce, sig=answer.prove(ask.key, ask.nonce)))
        self.assertTrue(peer.heard()[0]["reachable"])

    def test_failsOverIt(self):
        """The transport fails to connect: the check fails, and the node
        is told it is not reachable."""
        peer = self.register()
        [dial] = self.direct.dials
        dial.deferred.errback(ConnectionRefusedError())
        self.assertFalse(peer.heard()[0]["reachable"])


class HeldFailureTests(SynchronousTestCase):
    """
    A check that dials another address than the node's own fails exactly
    ``holdFailure`` seconds after it began, whatever ended its dial: a
    registrant learns nothing of a neighbour's port from when it is told
    (docs/protocol.md §5, "The address check").  A pass, a refusal that
    dialled nothing, and a failure at the node's own address are told at
    once.
    """

    def setUp(self):
        self.clock = Clock()
        self.dials = []

    def dial(self, path, key, protocol):
        """The check's dial: recorded, ended by the test."""
        self.dials.append((path.host, defer.Deferred()))
        return self.dials[-1][1]

    def start(self, *addresses, seen="2001:db8:1:200::9"):
        check = AddressCheck(5, None, None, self.clock, LinkSettings(ping_interval=0))
        self.clock.advance(3)
        told = []
        check.start(self.dial, addresses[0], 4001, hosts=defer.succeed(list(addresses)),
                    seen=seen, holdFailure=10).addCallback(told.append)
        return check, told

    def test_aNeighboursRefusalAtTheTimeout(self):
        check, told = self.start("2001:db8:1:200::2")
        self.clock.advance(1)
        self.dials[0][1].errback(ConnectionRefusedError())
        self.clock.advance(8.999)
        self.assertEqual(told, [])
        self.clock.advance(0.001)
        self.assertEqual(told, [False])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_aSilentNeighbourGivenUpAtTheTimeout(self):
        check, told = self.start("2001:db8:1:200::2")
        self.clock.advance(10)
        self.assertEqual(told, [False])
        self.assertTrue(self.dials[0][1].called)

    def test_itsOwnAddressAtOnce(self):
        """Of the addresses a name resolves to, the node's own first, then
        a neighbour's: held once the neighbour's is dialled."""
        check, told = self.start("2001:db8:1:200::9")
        self.dials[0][1].errback(ConnectionRefusedError())
        self.assertEqual(told, [False])
        check, told = self.start("2001:db8:1:200::9", "2001:db8:1:200::2")
        self.dials[1][1].errback(ConnectionRefusedError())
        self.dials[2][1].errback(ConnectionRefusedError())
        self.assertEqual(told, [])
        self.clock.advance(10)
        self.assertEqual(told, [False])

    def test_cancelledWhileHeld(self):
        """The hold's timer is the check's: cancel() ends it and tells."""
        check, told = self.start("2001:db8:1:200::2")
        self.dials[0][1].errback(ConnectionRefusedError())
        check.cancel()
        self.assertEqual((told, self.clock.getDelayedCalls()), ([False], []))

    def test_startByHoldsAnyDialledFailure(self):
        """A super-peer's check of a leaf elsewhere than its link's host:
        held from the start; a refusal that dialled nothing is not."""
        for failure, at in ((ConnectionRefusedError(), 10), (HostRefused("no"), 0)):
            check = AddressCheck(5, None, None, self.clock, LinkSettings(ping_interval=0))
            told = []
            check.startBy(lambda protocol: defer.fail(failure), True,
                          holdFailure=10).addCallback(told.append)
            self.assertEqual(told, [] if at else [False])
            self.clock.advance(at)
            self.assertEqual(told, [False])
            self.assertEqual(self.clock.getDelayedCalls(), [])
