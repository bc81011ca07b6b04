"""
End to end: a client built from the standard library (a socket, json and
netstrings) and the ``cryptography`` package's Ed25519, speaking only the
documented protocol (docs/protocol.md), against a live tracker and a live
seller.

This is the interoperability check: nothing of twisted_bazaar is used to
talk to the daemons, only to start them.  The encrypted channel (§2.1)
is the contract suite's own implementation (tests/contract/channel.py),
written from the document too.
"""

import base64
import hashlib
import json
import os
import random
import shutil
import socket
import sqlite3
import tempfile
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from twisted.trial.unittest import SynchronousTestCase

from tests.contract.channel import ChannelBroken, accept_channel, open_channel
from tests.e2e.helpers import startMarket, startSeller, waitSharing, waitSold
from tests.e2e.helpers import withoutUdp
from tests.e2e.helpers import short

#: Seconds any one expected log line may take.
TIMEOUT = 30.0
#: Seconds any one socket read may take.
READ_TIMEOUT = 10.0
#: Longest netstring header this client reads before giving up on a peer.
MAX_HEADER = 20
#: The errors that answer a buy or an ask (docs/protocol.md §11).
TRADE_ERRORS = ("soldout", "unsold", "expired", "notyet")


class Closed(Exception):
    """The peer closed the connection."""


def netstring(payload):
    """Frame bytes as one netstring: ``LENGTH:PAYLOAD,``."""
    return b"%d:%s," % (len(payload), payload)


#: Private keys of this process's L{Keys}, by their key text: a client
#: whose first message is a thisisme with one of them proves it in the
#: channel's handshake too.
PRIVATE_KEYS = {}


class RawClient:
    """
    One TCP connection carrying netstrings of UTF-8 JSON objects, inside
    the encrypted channel (§2.1).  The channel's handshake runs at the
    first message sent or read: with the key a thisisme names, when it is
    one of this process's L{Keys}, else keyless.
    """

    def __init__(self, port, keys=None, source="127.0.0.1"):
        """
        @param keys: the L{Keys} the channel proves, whatever the first
            message says; by default, as said above.
        @param source: the loopback address the connection comes from
            (127.x.0.1 for another address group than 127.0.0.1's).
        """
        self.tcp = socket.create_connection(("127.0.0.1", port),
                                            timeout=READ_TIMEOUT,
                                            source_address=(source, 0))
        self.sock = None
        self.keys = keys
        self.buffer = b""

    @classmethod
    def accepted(cls, sock, keys):
        """A client over a connection this side accepted: the channel's
        acceptor, proving keys."""
        client = cls.__new__(cls)
        sock.settimeout(READ_TIMEOUT)
        client.tcp, client.keys, client.buffer = sock, keys, b""
        client.sock = accept_channel(sock, keys.private)
        return client

    def close(self):
        (self.sock or self.tcp).close()

    def _channel(self, first=None):
        if self.sock is None:
            if self.keys is not None:
                private = self.keys.private
            else:
                key = first.get("key") if first and first.get("type") == "thisisme" else None
                private = PRIVATE_KEYS.get(key)
            self.sock = open_channel(self.tcp, private)
        return self.sock

    def sendRaw(self, data):
        self._channel().sendall(data)

    def send(self, kind, **fields):
        self.sendObject(dict(fields, type=kind))

    def sendObject(self, obj):
        self._channel(obj).sendall(netstring(json.dumps(obj).encode("utf-8")))

    def _readMore(self):
        try:
            data = self._channel().recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            raise Closed()
        self.buffer += data

    def _frame(self):
        """Read one netstring; return its payload."""
        while b":" not in self.buffer:
            if len(self.buffer) > MAX_HEADER:
                raise ValueError(f"not a netstring: {self.buffer[:40]!r}")
            self._readMore()
        header = self.buffer.partition(b":")[0]
        start = len(header) + 1
        end = start + int(header)
        while len(self.buffer) <= end:
            self._readMore()
        if self.buffer[end:end + 1] != b",":
            raise ValueError("netstring without its trailing comma")
        payload, self.buffer = self.buffer[start:end], self.buffer[end + 1:]
        return payload

    def receive(self):
        """The next message as a dict; pings from the peer are answered
        with pongs on the way, as the protocol asks."""
        while True:
            message = json.loads(self._frame().decode("utf-8"))
            if message.get("type") != "ping":
                return message
            self.send("pong", nonce=message["nonce"])

    def outcome(self):
        """The next message, or "closed" if the peer hangs up first."""
        try:
            return self.receive()
        except Closed:
            return "closed"


def untilPast(expires):
    """Block until this machine's clock, in ms since the epoch as a seller
    reads it, has reached expires: a buy expiring then has expired."""
    while int(time.time() * 1000) < expires:
        time.sleep(max(expires / 1000 - time.time(), 0.001))


def newId():
    return random.randrange(1, 2**62)


def b64(data):
    """Bytes as base64url text without padding (protocol §3, keys)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def id_of(public):
    """The node id of a raw public key (protocol: keys and signatures)."""
    digest = hashlib.sha256(b"bazaar-id:" + public).digest()
    return digest[:16].hex()


def nonce():
    """A fresh handshake nonce: 16 random bytes, as base64url."""
    return b64(os.urandom(16))


def proofText(context, signer, verifier, signer_nonce, verifier_nonce, purpose=None):
    """What a handshake proof signs (protocol: keys and signatures): the
    prefix, then the canonical object of the context, both keys, both
    nonces and, for a link, its purpose."""
    fields = {"context": context, "signer": signer, "verifier": verifier,
              "signerNonce": signer_nonce, "verifierNonce": verifier_nonce}
    if purpose is not None:
        fields["purpose"] = purpose
    return b"bazaar-proof:" + json.dumps(fields, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode("utf-8")


def proves(key, sig, text):
    """Whether sig is key's signature of text."""
    try:
        Ed25519PublicKey.from_public_bytes(unb64(key)).verify(unb64(sig), text)
    except InvalidSignature:
        return False
    return True


def canonical(fields):
    """What a trade message's signature signs (protocol: keys and
    signatures): the object without sig, keys sorted, compact."""
    fields = {name: value for name, value in fields.items() if name != "sig"}
    return b"bazaar-sig:" + json.dumps(fields, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode("utf-8")


def verified(fields, author):
    """Whether a message carries author's key and its valid signature."""
    public = unb64(fields["key"])
    if id_of(public) != author:
        return False
    Ed25519PublicKey.from_public_bytes(public).verify(unb64(fields["sig"]),
                                                      canonical(fields))
    return True


class Keys:
    """This client's Ed25519 key pair, and the node id it owns."""

    def __init__(self):
        self.private = Ed25519PrivateKey.generate()
        public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key = b64(public)
        self.id = id_of(public)
        PRIVATE_KEYS[self.key] = self.private

    def sign(self, data):
        return b64(self.private.sign(data))

    def signed(self, kind, **fields):
        """A trade message's fields, with this key and its signature."""
        fields = dict(fields, type=kind, key=self.key)
        return dict(fields, sig=self.sign(canonical(fields)))


def linkedStranger(case, tracker_port, port, purpose=None, source="127.0.0.1"):
    """
    A keyed stranger registered with the tracker and linked to the node
    listening on port, each side proving its key (with purpose, a link
    for it: §6), the link from the address source; its connections close
    when case ends.  Returns (keys, link).
    """
    keys, mine = Keys(), nonce()
    tracker = RawClient(tracker_port)
    case.addCleanup(tracker.close)
    tracker.send("thisisme", id="", port=0, host="", key=keys.key, nonce=mine)
    you = tracker.receive()
    case.assertEqual(you["type"], "thisisyou")
    tracker.send("proof", sig=keys.sign(proofText("register", keys.key, you["key"],
                                                  mine, you["nonce"])))
    mine = nonce()
    link = RawClient(port, source=source)
    case.addCleanup(link.close)
    hello = {"purpose": purpose} if purpose else {}
    link.send("thisisme", id=keys.id, port=0, host="", key=keys.key, nonce=mine, **hello)
    answer = link.receive()
    case.assertEqual(answer["type"], "thisisme")
    link.send("proof", sig=keys.sign(proofText("link", keys.key, answer["key"], mine,
                                               answer["nonce"], purpose or "overlay")))
    return keys, link


class CheckedStranger:
    """
    A keyed stranger that listens on a port of its own and registers there
    with the tracker (with any more fields of its thisisme), answering the
    tracker's address check (§5, step 3) so that the tracker gives its
    address out; whoever else connects gets L{serveLink}, on a thread of
    its own.  L{checked} is set once a check was answered.
    """

    def __init__(self, tracker_port, **thisisme):
        self.keys = keys = Keys()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.checked = threading.Event()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()
        mine = nonce()
        self.tracker = RawClient(tracker_port)
        self.tracker.send("thisisme", id="", port=self.port, host="", key=keys.key,
                          nonce=mine, **thisisme)
        you = self.tracker.receive()
        self.tracker.send("proof", sig=keys.sign(proofText(
            "register", keys.key, you["key"], mine, you["nonce"])))

    def close(self):
        self._stopped = True
        self.listener.close()
        self.tracker.close()

    def _accept(self):
        while not self._stopped:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        keys = self.keys
        try:
            peer = RawClient.accepted(sock, keys)
        except (OSError, ChannelBroken):
            sock.close()
            return
        try:
            first = peer.receive()
            if first["type"] == "whoareyou":
                mine = nonce()
                peer.send("thisisme", id=keys.id, port=self.port, host="", key=keys.key,
                          nonce=mine, sig=keys.sign(proofText(
                              "check", keys.key, first["key"], mine, first["nonce"])))
                self.checked.set()
            else:
                self.serveLink(peer, first)
        except (Closed, OSError, KeyError, ValueError):
            pass
        finally:
            sock.close()

    def serveLink(self, peer, first):
        """Serve a connection whose first message, first, was not a
        whoareyou; by default, hang up."""


class LiveSellerCase(SynchronousTestCase):
    """A live tracker and a seller of two apples, in a scratch folder."""

    #: More options for the seller.
    SELLER_OPTIONS = ()

    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)
        # Every raw client here comes from 127.0.0.1, and the bad-input test
        # keeps its connections open before any thisisme: lift the limit on
        # such connections per address (tested on its own in test_node).
        self.seller, self.seller_id, self.seller_port = startSeller(
            self.market, "apple=2", TIMEOUT, "--handshake-limit", "100",
            *self.SELLER_OPTIONS)

    def connect(self, port, keys=None):
        client = RawClient(port, keys)
        self.addCleanup(client.close)
        return client

    def register(self):
        """Join the tracker as a new node with a key of its own, and prove
        it to the tracker's key; return (tracker link, our id)."""
        keys, mine = Keys(), nonce()
        tracker = self.connect(self.market.tracker_port)
        tracker.send("thisisme", id="", port=0, host="", key=keys.key, nonce=mine)
        you = tracker.receive()
        self.assertEqual((you["type"], you["id"], you["port"]),
                         ("thisisyou", keys.id, 0))
        self.assertEqual(len(unb64(you["key"])), 32)
        tracker.send("proof", sig=keys.sign(proofText("register", keys.key, you["key"],
                                                      mine, you["nonce"])))
        self.keys = getattr(self, "keys", {})
        self.keys[keys.id] = keys
        return tracker, keys.id

    def handshake(self, me, port=None):
        """Link to the seller as node ``me``, each side proving its key to
        the other; return the link.  port: where to connect for it (a
        proxy), the seller's own by default."""
        keys, mine = self.keys[me], nonce()
        link = self.connect(port or self.seller_port)
        link.send("thisisme", id=me, port=0, host="", key=keys.key, nonce=mine)
        answer = link.receive()
        self.assertEqual({name: answer[name] for name in ("type", "id", "port", "host")},
                         {"type": "thisisme", "id": self.seller_id,
                          "port": self.seller_port, "host": "127.0.0.1"})
        self.assertEqual(id_of(unb64(answer["key"])), self.seller_id)
        self.assertTrue(proves(answer["key"], answer["sig"], proofText(
            "link", answer["key"], keys.key, answer["nonce"], mine, "overlay")))
        link.send("proof", sig=keys.sign(proofText("link", keys.key, answer["key"], mine,
                                                   answer["nonce"], "overlay")))
        return link

    def assertPong(self, link):
        nonce = newId()
        link.send("ping", nonce=nonce)
        self.assertEqual(link.receive(), {"type": "pong", "nonce": nonce})

    def assertCleanLogs(self):
        for daemon in (self.tracker, self.seller):
            self.assertEqual(daemon.problems(), [])
            self.assertIsNone(daemon.process.poll(), daemon.tail())


class TrackerTests(LiveSellerCase):

    def test_registerAskForANodeAndPingIt(self):
        tracker, me = self.register()
        self.assertNotEqual(me, self.seller_id)
        self.tracker.waitFor(rf"node {short(me)} joined from 127\.0\.0\.1:0", TIMEOUT)
        self.assertPong(tracker)

        tracker.send("nodereq")
        self.assertEqual(withoutUdp(tracker.receive(), self), {"type": "nodereply", "id": self.seller_id,
                                             "host": "127.0.0.1",
                                             "port": self.seller_port})
        self.assertPong(self.handshake(me))
        self.assertCleanLogs()


class _TradeCase(LiveSellerCase):
    """A raw client registered and linked to the seller, both keys proven."""

    def setUp(self):
        super().setUp()
        self.tracker_link, self.me = self.register()
        self.link = self.handshake(self.me)

    def trade(self, kind, buy_id, path=None, expires=None, item="apple", **more):
        """Send a signed buy or ask of item, expiring in a minute unless
        told (with any more fields, and without an expiry if expires is
        False); return the answer, whose signature must be the seller's,
        and which must name our key (both taken out of what is returned)."""
        if expires is not False:
            more["expires"] = expires or int((time.time() + 60) * 1000)
        message = self.keys[self.me].signed(
            kind, id=buy_id, item=item, path=path or [self.me, self.seller_id], **more)
        self.link.sendObject(message)
        return self.answer()

    def answer(self):
        """The next answer: checked as trade() says."""
        answer = self.link.receive()
        if answer["type"] == "buyOK" or answer.get("code") in TRADE_ERRORS:
            self.assertTrue(verified(answer, self.seller_id), answer)
            self.assertEqual(answer["buyerKey"], self.keys[self.me].key)
            del answer["key"], answer["sig"], answer["buyerKey"]
        return answer

    def buy(self, buy_id, path=None, expires=None):
        return self.trade("buy", buy_id, path, expires)


class TradeTests(_TradeCase):

    def test_searchBuyRepeatAndSellOut(self):
        me, seller = self.me, self.seller_id
        self.assertPong(self.link)

        search_id = newId()
        self.link.send("search", id=search_id, item="apple", returnPath=[me], ttl=7)
        reply = self.link.receive()
        self.assertTrue(verified(reply, seller), reply)
        del reply["key"], reply["sig"]
        self.assertEqual(reply, {
            "type": "reply", "id": search_id, "item": "apple", "path": [seller, me],
            "seller": seller, "host": "127.0.0.1", "port": self.seller_port})

        first, second, third = newId(), newId(), newId()
        ok = {"type": "buyOK", "id": first, "item": "apple", "path": [seller, me]}
        self.assertEqual(self.buy(first), ok)
        waitSold(self.seller, "apple", TIMEOUT, buyer=me, left=1)
        self.assertEqual(self.buy(first), ok)
        # The repeat took nothing: the second unit is still there to buy.
        self.assertEqual(self.buy(second), dict(ok, id=second))
        waitSold(self.seller, "apple", TIMEOUT, buyer=me, left=0)
        self.assertEqual(len(self.seller.matches(r"sold apple")), 2)

        soldout = self.buy(third)
        self.assertEqual((soldout["type"], soldout["code"], soldout["id"],
                          soldout["path"]), ("error", "soldout", third, [seller, me]))
        self.assertIsInstance(soldout["info"], str)

        # Asking never buys: a sold id gets its buyOK, an unknown one is
        # closed (unsold), and a buy under it later is soldout.
        self.assertEqual(self.trade("ask", first), ok)
        fourth = newId()
        unsold = self.trade("ask", fourth)
        self.assertEqual((unsold["type"], unsold["code"], unsold["id"], unsold["path"]),
                         ("error", "unsold", fourth, [seller, me]))
        self.assertEqual(self.buy(fourth)["code"], "soldout")

        astray = self.buy(newId(), path=[me, "1999999999"])
        self.assertEqual((set(astray), astray["type"], astray["code"]),
                         ({"type", "code", "info"}, "error", "wrongway"))

        self.assertPong(self.link)
        self.assertEqual(len(self.seller.matches(r"sold apple")), 2)
        self.assertCleanLogs()


class AskWithoutAValidExpiryTests(_TradeCase):
    """Issue 34, class 6, live: an ask naming an expiry long past, or none,
    is answered expired (never sold), and closes the buy: the buy under
    its id, signed with a valid expiry, is soldout, and nothing is sold
    (before, nothing was recorded, and the buy sold afterwards)."""

    def assertClosedBy(self, expires):
        buy_id = newId()
        self.assertEqual(self.trade("ask", buy_id, expires=expires)["code"], "expired")
        self.assertEqual(self.buy(buy_id)["code"], "soldout")
        self.assertEqual(self.seller.matches(r"sold apple"), [])
        self.assertCleanLogs()

    def test_askWithAPastExpiryClosesTheBuy(self):
        self.assertClosedBy(1)

    def test_askWithoutAnExpiryClosesTheBuy(self):
        self.assertClosedBy(False)


class CopiesTests(_TradeCase):
    """
    Copies of a shared file, live (docs/protocol.md §11, step 7): the
    seller remembers each copy it sells as it does a close, charged to
    the address group of this client's link, which may hold half of
    --closed-limit 8: 4 copies are sold (a repeat gets the same buyOK),
    then buys are answered notyet, and nothing is sold or recorded for
    them.  (Before: every buy sold a copy, a ledger line kept for good.)
    """

    def setUp(self):
        self.shared = tempfile.mkdtemp(prefix="bazaar-shared-")
        self.addCleanup(shutil.rmtree, self.shared, True)
        with open(os.path.join(self.shared, "song.ogg"), "wb") as f:
            f.write(b"la" * 3000)
        self.SELLER_OPTIONS = ("--closed-limit", "8", "--share", self.shared,
                               "--data-dir", "seller-data")
        super().setUp()
        waitSharing(self.seller, "song.ogg", TIMEOUT)

    def test_copiesHeldToTheGroupsShare(self):
        ids = [newId() for _ in range(6)]
        codes = [self.trade("buy", buy_id, item="song.ogg").get("code", "buyOK")
                 for buy_id in ids]
        self.assertEqual(codes, ["buyOK"] * 4 + ["notyet"] * 2)
        self.assertEqual(self.trade("buy", ids[0], item="song.ogg"),
                         {"type": "buyOK", "id": ids[0], "item": "song.ogg",
                          "path": [self.seller_id, self.me]})
        self.assertEqual(self.soldIds(), sorted(ids[:4]))
        self.assertCleanLogs()

    def soldIds(self):
        """The buy ids of the sales in the seller's data dir, in order."""
        ledger = os.path.join(self.market.cwd, "seller-data", "bazaar.sqlite")
        db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
        self.addCleanup(db.close)
        return sorted(row[0] for row in db.execute("SELECT buy_id FROM sales"))

    def test_hugeQuantitiesDrainNothing(self):
        """
        Issue 34, files drained by quantity: two signed buys of 10^9
        copies each sell one copy each (their buyOK names no count), and
        the seller still offers the file to a search after them (before,
        they sold 2*10^9 copies and the file was offered to nobody).
        """
        ids = [newId(), newId()]
        for buy_id in ids:
            self.assertEqual(self.trade("buy", buy_id, item="song.ogg", quantity=10**9),
                             {"type": "buyOK", "id": buy_id, "item": "song.ogg",
                              "path": [self.seller_id, self.me]})
        self.assertEqual(self.soldIds(), sorted(ids))
        search_id = newId()
        self.link.send("search", id=search_id, item="song.ogg", returnPath=[self.me],
                       ttl=7)
        reply = self.link.receive()
        self.assertEqual((reply["type"], reply["id"], reply["seller"]),
                         ("reply", search_id, self.seller_id))
        self.assertCleanLogs()


class ReplayTests(_TradeCase):
    """
    Issue 21's replay against the live seller, its window made small
    (--closed-limit 8, of which one address group, this client's, may
    hold half): a buy that never reached the seller is asked
    about (unsold); made-up asks then try to push it out of the seller's
    memory; the buy's signed bytes, replayed before and after it expired,
    sell nothing.  Expired (closed, so notyet at the limit) and far-ahead
    buys sell nothing either.
    """

    SELLER_OPTIONS = ("--closed-limit", "8", "--data-dir", "seller-data")
    #: Milliseconds the lost buy lives: the ask that closes it, the 8
    #: made-up asks and the first replay must all reach the seller before
    #: it expires (they took 50 to 80 ms here, beside other e2e runs;
    #: 386, 1,107 and 1,629 ms under nice at load 20, where 1,000 failed
    #: two runs of three), and the test then waits out the rest of it.
    LOST_LIFETIME = 5000

    def test_replayAfterUnsoldSellsNothing(self):
        keys, seller = self.keys[self.me], self.seller_id
        lost = keys.signed("buy", id=newId(), item="apple", path=[self.me, seller],
                           expires=int(time.time() * 1000) + self.LOST_LIFETIME)
        self.assertEqual(self.trade("ask", lost["id"], expires=lost["expires"])["code"],
                         "unsold")
        codes = [self.trade("ask", newId())["code"] for _ in range(8)]
        self.assertEqual(codes, ["unsold"] * 3 + ["notyet"] * 5)
        self.link.sendObject(lost)
        self.assertEqual(self.answer()["code"], "soldout")
        # Answered by now, so judged before the buy expired: the replay
        # that would sell, were the buy forgotten.
        self.assertLess(int(time.time() * 1000), lost["expires"],
                        "LOST_LIFETIME is too short for this machine: the replay "
                        "reached the seller after the buy expired")
        # The seller judges expiry by its clock, the machine's: the
        # deadline itself is the event (nothing happens then, so no line
        # says it), so this waits for it, to the millisecond.
        untilPast(lost["expires"])
        self.link.sendObject(lost)
        self.assertEqual(self.answer()["code"], "soldout")
        # An expired buy is closed before it is answered expired: with the
        # closed buys at their limit, it is answered notyet instead.
        self.assertEqual(self.buy(newId(), expires=int(time.time() * 1000) - 1)["code"],
                         "notyet")
        self.assertEqual(self.buy(newId(), expires=int((time.time() + 3600) * 1000))["code"],
                         "notyet")
        self.assertEqual(self.seller.matches(r"sold apple"), [])
        # Both apples are still there to sell.
        for left in (1, 0):
            self.assertEqual(self.buy(newId())["type"], "buyOK")
            waitSold(self.seller, "apple", TIMEOUT, buyer=self.me, left=left)
        self.assertCleanLogs()


class BadInputTests(LiveSellerCase):
    """Each kind of bad input, on a connection of its own: the seller hangs
    up on it or answers error{wtf}, and keeps serving everyone else."""

    BAD_INPUT = {
        "garbage bytes": b"\x00\xffGET / HTTP/1.0\r\n\r\n",
        "an over-long netstring": b"%d:" % 10**9 + b"x" * 1000,
        "invalid JSON": netstring(b"{not json"),
        "invalid UTF-8": netstring(b'{"type": "\xff"}'),
        "a JSON array": netstring(b"[1, 2]"),
        "an unknown type": netstring(b'{"type": "florp"}'),
    }

    def test_badInputIsRefusedAndOthersStillServed(self):
        _, me = self.register()
        established = self.handshake(me)

        for what, data in self.BAD_INPUT.items():
            bad = self.connect(self.seller_port)
            bad.sendRaw(data)
            answer = bad.outcome()
            if answer != "closed":
                self.assertEqual((answer["type"], answer["code"]), ("error", "wtf"),
                                 f"{what}: {answer}")

        self.assertPong(established)
        _, other = self.register()
        self.assertPong(self.handshake(other))
        self.assertCleanLogs()

    def test_unknownTypeOnAnEstablishedLink(self):
        _, me = self.register()
        link = self.handshake(me)
        link.send("florp", id=1)
        answer = link.receive()
        self.assertEqual((answer["type"], answer["code"]), ("error", "wtf"))
        self.assertPong(link)
        self.assertCleanLogs()


class ConformanceTests(LiveSellerCase):
    """Cases a black-box client of docs/protocol.md tries, where the
    daemons once disagreed with it."""

    def test_malformedKeyAndMessagesInTheReceiversName(self):
        """
        A key that is not base64url gets error{wtf} and a close from the
        tracker (it once raised out of it: a traceback, no answer); a
        routed message whose path starts with the seller, sent to the
        seller, is answered wrongway (it was relayed in the seller's name);
        memberlist names the seller, whose address was checked.
        """
        for wanted in (-1, 5):
            bad = self.connect(self.market.tracker_port)
            bad.send("thisisme", id=wanted, port=0, host="", key="A" * 42 + "!")
            answer = bad.receive()
            self.assertEqual((answer["type"], answer["code"]), ("error", "wtf"))
            self.assertEqual(bad.outcome(), "closed")

        tracker, me = self.register()
        link = self.handshake(me)
        seller = self.seller_id
        for path in ([seller, me], [seller]):
            link.send("buyOK", id=newId(), item="apple", path=path)
            answer = link.receive()
            self.assertEqual((answer["type"], answer["code"]), ("error", "wrongway"))
        self.assertPong(link)

        tracker.send("members")
        members = tracker.receive()
        self.assertEqual(members["type"], "memberlist")
        self.assertIn({"id": seller, "host": "127.0.0.1", "port": self.seller_port,
                       "scheme": "flood"}, members["nodes"])
        self.assertCleanLogs()
