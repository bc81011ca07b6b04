"""
A new transport whose addresses travel is one package plus one
registration line (issue 92): a kind declared in a test's own package
(L{tests.transports.fakekind}) goes from a node's ``thisisme`` through
the tracker and its ``nodereply`` into another node's book, and the
dialer's way over an added transport dials it, with no other module
naming it.
"""

import json
import random
from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.reach.book import PathBook
from twisted_bazaar.reach.ownpaths import ownPaths
from twisted_bazaar.reach.ways import Added
from twisted_bazaar.tracker import Tracker, TrackerFactory
from twisted_bazaar.transports.interface import ITransport
from twisted_bazaar.transports.path import NAMED, UDP, Path
from twisted_bazaar.transports.relay.messages import NODE
from twisted_bazaar.transports.table import Transports
from twisted_bazaar.wire.ids import NO_ID

from tests.helpers import WiredLink
from tests.transports.fakekind import FAKE
from tests.reach.test_book import Owner


@implementer(ITransport)
class FakeTransport:
    """The fake kind's transport: it names two ports of its own, and
    records its dials, each connecting at once."""

    kind = FAKE

    def __init__(self):
        self.dials = []

    def advertised(self):
        return Path(FAKE, port=5001)

    def canDial(self, path):
        return path.kind == FAKE and bool(path.host)

    def dial(self, path, expectedKey, protocolFactory, options=None):
        self.dials.append((path, expectedKey))
        return defer.succeed(protocolFactory())

    def listen(self, factory):
        return defer.succeed(None)


class EndToEndTests(SynchronousTestCase):

    def setUp(self):
        self.clock = task.Clock()
        self.factory = TrackerFactory(
            Tracker(self.clock, random.Random(4), LinkSettings(ping_interval=0)))

    def say(self, link, message):
        """link's node sends message, as its wire encodes it."""
        link.say(json.loads(wire.encode(message)))

    def test_thisisme_tracker_nodereply_book(self):
        fake = FakeTransport()
        table = Transports([fake])
        own = ownPaths(udp=9001, more=table.advertised())
        self.assertEqual(own, (Path(UDP, port=9001), Path(FAKE, port=5001)))
        seller = WiredLink(self.factory, "198.51.100.7")
        self.say(seller, wire.ThisIsMe(NO_ID, 9000, "", paths=own))
        [you] = seller.heard()

        buyer = WiredLink(self.factory, "192.0.2.50")
        self.say(buyer, wire.ThisIsMe(NO_ID, 0, ""))
        buyer.heard()
        self.say(buyer, wire.WhereIs(int(you["id"])))
        [raw] = buyer.heard()
        reply = wire.decode(json.dumps(raw).encode())
        # The tracker's word: the node's claim, at the host it names it
        # at; its UDP port is not named, as its reach check saw none.
        self.assertEqual(reply.paths, (Path(FAKE, "198.51.100.7", 5001),))

        book = PathBook(Owner(clock=self.clock))
        book.trackerNamed(reply)
        path = Path(FAKE, "198.51.100.7", 5001, word=NAMED)
        self.assertEqual(book.pathsOf(reply.id, FAKE), (path,))

        dialer = SimpleNamespace(
            whereabouts=SimpleNamespace(book=book), transports=table,
            overlay=SimpleNamespace(
                connectTo=lambda host, port, peer_id, purpose, dial: dial("the link")),
            vetDirect=lambda target, host, port, purpose: defer.succeed([host]))
        peer = SimpleNamespace(id=reply.id, key=None, port=7000)
        self.assertEqual(self.successResultOf(Added().attempt(dialer, peer, NODE, None)),
                         "the link")
        self.assertEqual(fake.dials, [(path, None)])

    def test_refusedAsItsFormSays(self):
        """Its form's checks hold on the wire: a third path of the kind,
        or one without a port, is refused."""
        for paths in ([{"kind": FAKE, "port": port} for port in (1, 2, 3)],
                      [{"kind": FAKE}]):
            link = WiredLink(self.factory, "198.51.100.7")
            link.say({"type": "thisisme", "id": "", "port": 0, "host": "",
                      "paths": paths})
            [error] = link.heard()
            self.assertEqual((error["type"], error["code"]), ("error", "wtf"))
