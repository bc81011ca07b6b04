"""
Tests of L{twisted_bazaar.daemon.control}: the owner's restock requests,
answered on a fake transport, and the control socket's service on a
memory reactor.
"""

import json
import os
import shutil
import socket
import tempfile

from twisted.internet import defer
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.control import (
    ControlFactory,
    ControlService,
    RequestError,
    parseRequest,
    socketPath,
)
from twisted_bazaar.store import StoreError


def netstring(obj):
    data = json.dumps(obj).encode("utf-8")
    return b"%d:%s," % (len(data), data)


def answerOf(transport):
    data = transport.value()
    length, _, rest = data.partition(b":")
    assert rest.endswith(b","), data
    return json.loads(rest[:int(length)])


class _Seller:
    """Restocks as the seller does, recording what it was asked."""

    def __init__(self, stock, result=None, shared=()):
        self.stock = dict(stock)
        self.asked = []
        self.result = result
        self.shared = shared

    def describe(self, item):
        return {"size": 1} if item in self.shared else None

    def restock(self, stock, add=False):
        self.asked.append((stock, add))
        if self.result is not None:
            return self.result
        was = {item: self.stock.get(item, 0) for item in stock}
        return defer.succeed(was)


class ParseRequestTests(SynchronousTestCase):
    def test_good(self):
        self.assertEqual(parseRequest(b'{"restock": {"apple": 5}}'), ({"apple": 5}, False))
        self.assertEqual(parseRequest(b'{"restock": {"a": 0}, "add": true}'),
                         ({"a": 0}, True))

    def test_bad(self):
        cases = [
            (b"nope", "the request is not JSON"),
            (b"\xff", "the request is not JSON"),
            (b"[1]", 'the request names no "restock" object'),
            (b'{"restock": {}}', "a restock names 1 to 1000 items"),
            (b'{"restock": {"a": 1}, "add": 1}', '"add" wants true or false'),
            (b'{"restock": {"a": -1}}', "a: wants a whole number of units from 0 to "
             "1000000000, not -1"),
            (b'{"restock": {"a": "5"}}', "a: wants a whole number of units from 0 to "
             "1000000000, not '5'"),
            (b'{"restock": {"a": true}}', "a: wants a whole number of units from 0 "
             "to 1000000000, not True"),
            (b'{"restock": {"": 1}}', "item '' is not a name of 1 to 256 bytes"),
            # Raised UnicodeEncodeError, unanswered (issue 96).
            (b'{"restock": {"a\\ud800b": 1}}', "item 'a?b' is not Unicode text (its "
             "character 2 is a lone surrogate, U+D800, which no text may hold)"),
        ]
        for data, why in cases:
            error = self.assertRaises(RequestError, parseRequest, data)
            self.assertEqual(str(error), why, data)


class ControlProtocolTests(SynchronousTestCase):
    def connect(self, seller):
        protocol = ControlFactory(seller).buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def test_restock(self):
        seller = _Seller({"apple": 1})
        protocol, transport = self.connect(seller)
        protocol.dataReceived(netstring({"restock": {"apple": 5, "pear": 2}}))
        self.assertEqual(seller.asked, [({"apple": 5, "pear": 2}, False)])
        self.assertEqual(answerOf(transport), {"was": {"apple": 1, "pear": 0}})
        self.assertTrue(transport.disconnecting)

    def test_answersOnceOnDisk(self):
        written = defer.Deferred()
        protocol, transport = self.connect(_Seller({}, result=written))
        protocol.dataReceived(netstring({"restock": {"apple": 3}, "add": True}))
        self.assertEqual(transport.value(), b"")
        written.callback({"apple": 2})
        self.assertEqual(answerOf(transport), {"was": {"apple": 2}})

    def test_storeRefuses(self):
        protocol, transport = self.connect(
            _Seller({}, result=defer.fail(StoreError("disk full"))))
        protocol.dataReceived(netstring({"restock": {"apple": 3}}))
        self.assertEqual(answerOf(transport),
                         {"error": "not recorded, nothing changed: disk full"})

    def test_notASeller(self):
        protocol, transport = self.connect(None)
        protocol.dataReceived(netstring({"restock": {"apple": 3}}))
        self.assertEqual(answerOf(transport),
                         {"error": "this node is not a seller (no --role seller)"})

    def test_sharedFile(self):
        seller = _Seller({}, shared=("song.ogg",))
        protocol, transport = self.connect(seller)
        protocol.dataReceived(netstring({"restock": {"song.ogg": 3, "apple": 1}}))
        self.assertEqual(answerOf(transport), {"error": "song.ogg: a shared file of "
                                               "--share, offered while it is in the "
                                               "folder"})
        self.assertEqual(seller.asked, [])

    def test_addingPastTheBound(self):
        """--add that would take an item past the most one buy can name,
        as --sell's bound, is refused, nothing changed (issue 96: 1 apple
        and --add apple=1000000000 made 1,000,000,001)."""
        seller = _Seller({"apple": 1, "pear": 0})
        protocol, transport = self.connect(seller)
        protocol.dataReceived(netstring({"restock": {"apple": 10**9, "pear": 10**9},
                                         "add": True}))
        self.assertEqual(answerOf(transport), {"error": "apple: 1 in stock and "
                                               "1000000000 more is past the most an "
                                               "item holds, 1,000,000,000"})
        self.assertEqual(seller.asked, [])
        protocol, transport = self.connect(seller)
        protocol.dataReceived(netstring({"restock": {"apple": 10**9}}))
        self.assertEqual(seller.asked, [({"apple": 10**9}, False)])

    def test_aNewItemOfNoUnits(self):
        """An item this seller never held, given 0 units (set or added),
        is refused, nothing changed: it would be a new item with nothing
        to offer, most likely a mistyped name (issue 96: mango=0 printed
        "restocked mango=0 (was 0)"). A held item may be set to 0."""
        seller = _Seller({"apple": 1, "pear": 0})
        for add in (False, True):
            protocol, transport = self.connect(seller)
            protocol.dataReceived(netstring({"restock": {"apple": 5, "appel": 0,
                                                         "mango": 0}, "add": add}))
            self.assertEqual(answerOf(transport), {"error": (
                "appel=0: this seller holds no appel, and a new item needs 1 unit or "
                "more (did you mean apple?); mango=0: this seller holds no mango, and "
                "a new item needs 1 unit or more")})
        self.assertEqual(seller.asked, [])
        protocol, transport = self.connect(seller)
        protocol.dataReceived(netstring({"restock": {"apple": 0, "pear": 0, "fig": 2}}))
        self.assertEqual(seller.asked, [({"apple": 0, "pear": 0, "fig": 2}, False)])

    def test_badRequest(self):
        seller = _Seller({})
        protocol, transport = self.connect(seller)
        protocol.dataReceived(netstring({"restock": {"apple": -3}}))
        self.assertIn("wants a whole number", answerOf(transport)["error"])
        self.assertEqual(seller.asked, [])

    def test_tooLong(self):
        protocol, transport = self.connect(_Seller({}))
        protocol.dataReceived(b"99999999:")
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)

    def test_leadingZero(self):
        """A request behind a length with a leading zero is no netstring
        (docs/protocol.md §2): closed unanswered, nothing restocked."""
        seller = _Seller({})
        protocol, transport = self.connect(seller)
        protocol.dataReceived(b"0" + netstring({"restock": {"apple": 3}}))
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(seller.asked, [])


class ControlServiceTests(SynchronousTestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="bazaar-control-")
        self.addCleanup(shutil.rmtree, self.data, True)
        self.reactor = MemoryReactor()

    def test_listensOwnerOnly(self):
        service = ControlService(self.reactor, self.data, None)
        service.startService()
        [(path, factory, _, mode)] = [call[:4] for call in self.reactor.unixServers]
        self.assertEqual((path, mode), (socketPath(self.data), 0o600))
        self.assertEqual(path, os.path.join(self.data, "control.sock"))
        self.assertIsInstance(factory, ControlFactory)
        self.assertIsNotNone(service.port)
        service.stopService()
        self.assertIsNone(service.port)

    def test_staleSocketRemoved(self):
        """A socket left by a crashed run (the node holds the data dir's
        lock, so it is no live node's) is removed before listening."""
        path = socketPath(self.data)
        stale = socket.socket(socket.AF_UNIX)
        self.addCleanup(stale.close)
        stale.bind(path)
        ControlService(self.reactor, self.data, None).startService()
        self.assertFalse(os.path.exists(path))
        self.assertEqual(len(self.reactor.unixServers), 1)

    def test_otherFileKept(self):
        """A file there that is no socket is left alone."""
        path = socketPath(self.data)
        with open(path, "w") as f:
            f.write("mine")
        ControlService(self.reactor, self.data, None).startService()
        with open(path) as f:
            self.assertEqual(f.read(), "mine")
