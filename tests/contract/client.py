"""
A minimal market client (docs/protocol.md §17) over blocking sockets:
registering with the tracker (§5), linking to a node (§6), searching (§9),
buying and asking (§11), looking items up in the index (§12), and fetching
a file (§19). Standard library and ``cryptography`` only.
"""

import os
import time

from .channel import connect
from .wire import (
    Identity, NetstringReader, ProtocolError, checkRecord, checkSigned, decode, encode,
    keyId, netstring, newNonce, nowMs, proofText, verify)

#: Seconds any one wait for a peer's message lasts at most.
WAIT = 15.0


class Connection:
    """One TCP connection speaking §2/§3 inside the encrypted channel
    (§2.1, proving ``identity``'s key if given), answering ``ping`` (§7)
    itself."""

    def __init__(self, host, port, limit=1 << 20, identity=None):
        self.sock = connect((host, port), identity and identity.private, timeout=WAIT)
        self.reader = NetstringReader(limit)
        self.seen = []

    def send(self, message):
        self.sock.sendall(netstring(encode(message)))

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer in time")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed by the peer; it said: {self.seen[-3:]}")
        self.reader.feed(data)

    def receive(self, deadline):
        """The next message other than ``ping`` (which it answers)."""
        while True:
            payload = self.reader.take()
            if payload is None:
                self._fill(deadline)
                continue
            message = decode(payload)
            self.seen.append(message)
            if message["type"] == "ping":
                self.send({"type": "pong", "nonce": message["nonce"]})
            else:
                return message

    def waitFor(self, wanted, timeout=WAIT):
        """The first message for which wanted(message) holds; an ``error``
        that is not wanted is a failure."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline)
            if wanted(message):
                return message
            if message["type"] == "error" and message.get("path") is None:
                raise ProtocolError(f"peer answered {message}")

    def receiveRaw(self, count, deadline):
        while True:
            raw = self.reader.takeRaw(count)
            if raw is not None:
                return raw
            self._fill(deadline)

    def close(self):
        self.sock.close()


def ofType(kind, **fields):
    return lambda m: m["type"] == kind and all(m.get(k) == v for k, v in fields.items())


class Client:
    """A node with a key, no listening port, one tracker connection and
    links of its own."""

    def __init__(self, trackerPort, scheme):
        self.me = Identity()
        self.scheme = scheme
        self.tracker = Connection("127.0.0.1", trackerPort, identity=self.me)
        self.links = {}

    def register(self, **extra):
        """§5 with a key: thisisme (with any ``extra`` fields a scheme
        wants), thisisyou, proof."""
        nonce = newNonce()
        self.tracker.send({"type": "thisisme", "id": "", "port": 0, "host": "",
                           "scheme": self.scheme, "key": self.me.key, "nonce": nonce,
                           **extra})
        you = self.tracker.waitFor(ofType("thisisyou"))
        assert you["id"] == self.me.id, (you, self.me.id)
        assert you["port"] == 0
        assert keyId(you["key"]) is not None
        self.tracker.send({"type": "proof", "sig": self.me.prove(
            "register", you["key"], nonce, you["nonce"])})

    def nodeOfScheme(self, **extra):
        """§5 step 4: ask the tracker to name a node (it names none until
        it has checked one's address: the launcher's ``market.node`` waits
        for that); ``extra`` fields narrow the request (``super``, §18)."""
        self.tracker.send({"type": "nodereq", "exclude": [],
                           "scheme": self.scheme, **extra})
        reply = self.tracker.waitFor(ofType("nodereply"))
        assert reply["id"] != "", f"the tracker named no node: {reply}"
        return reply

    def lookup(self, item):
        """§12: ask the index which sellers it names for item (the test
        first waits until the seller is listed); each seller's record is
        checked as §11a says. Returns the ``found`` sellers."""
        self.tracker.send({"type": "lookup", "item": item})
        found = self.tracker.waitFor(ofType("found", item=item))
        for seller in found["sellers"]:
            checkRecord(seller["record"], seller["id"], item)
        return found["sellers"]

    def link(self, host, port, purpose=None):
        """§6 with keys, as the opener; returns the peer's id, once a
        ping answered shows the acceptor established the link too."""
        conn = Connection(host, port, identity=self.me)
        nonce = newNonce()
        hello = {"type": "thisisme", "id": self.me.id, "port": 0, "host": "",
                 "key": self.me.key, "nonce": nonce}
        if purpose is not None:
            hello["purpose"] = purpose
        conn.send(hello)
        peer = conn.waitFor(ofType("thisisme"))
        assert keyId(peer["key"]) == peer["id"], peer
        assert verify(peer["key"], peer["sig"], proofText(
            "link", peer["key"], self.me.key, peer["nonce"], nonce,
            purpose or "overlay")), "the acceptor's link proof does not verify"
        conn.send({"type": "proof", "sig": self.me.prove(
            "link", peer["key"], nonce, peer["nonce"], purpose or "overlay")})
        conn.send({"type": "ping", "nonce": 1})
        conn.waitFor(ofType("pong", nonce=1))
        self.links[peer["id"]] = conn
        return peer["id"]

    def search(self, linkId, item, timeout=WAIT):
        """§9: flood a search on one link until a seller's reply comes;
        the reply is checked as §3 and §11 say."""
        deadline = time.monotonic() + timeout
        conn = self.links[linkId]
        while True:
            searchId = int.from_bytes(os.urandom(8), "big") >> 1 or 1
            conn.send({"type": "search", "id": searchId, "item": item,
                       "returnPath": [self.me.id], "ttl": 7})
            try:
                reply = conn.waitFor(ofType("reply", id=searchId), timeout=1.0)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
                continue
            assert reply["item"] == item and reply["path"][-1] == self.me.id
            assert reply["path"][0] == reply["seller"]
            checkSigned(reply, reply["seller"])
            return reply

    def buyMessage(self, kind, path, item, buyId=None, expires=None, **content):
        """A signed ``buy`` or ``ask`` (§11), expiring in 5 minutes."""
        return self.me.signMessage(dict(
            type=kind, id=buyId or (int.from_bytes(os.urandom(8), "big") >> 1 or 1),
            item=item, path=path, expires=expires or nowMs() + 300_000, **content))

    def trade(self, linkId, message):
        """Send a buy or ask on a link; return the seller's answer to it,
        after the checks of §11 "What a buyer checks in an answer"."""
        conn = self.links[linkId]
        conn.send(message)
        answer = conn.waitFor(lambda m: m["type"] in ("buyOK", "error")
                              and m.get("id") == message["id"])
        seller = message["path"][-1]
        assert answer["path"][0] == seller, answer
        assert answer["path"][-1] == self.me.id, answer
        checkSigned(answer, seller)
        assert answer.get("buyerKey") == self.me.key, answer
        if answer["type"] == "buyOK":
            assert answer["item"] == message["item"], answer
            for name in ("sha256", "size"):
                assert answer.get(name) == message.get(name), (name, answer)
        return answer

    def close(self):
        for conn in [self.tracker, *self.links.values()]:
            conn.close()


def fetchFile(host, port, sha256, size, timeout=WAIT):
    """§19: ``head`` then ``get`` each piece; returns (about, bytes)."""
    conn = Connection(host, port)
    try:
        deadline = time.monotonic() + timeout
        conn.send({"type": "head", "sha256": sha256})
        about = conn.receive(deadline)
        if about["type"] != "about":
            raise ProtocolError(f"head answered {about}")
        pieces = []
        piece = about["pieceSize"]
        for index in range(len(about["pieces"])):
            offset = index * piece
            length = max(0, min(piece, size - offset))
            conn.send({"type": "get", "sha256": sha256, "offset": offset,
                       "length": length})
            data = conn.receive(deadline)
            assert data == {"type": "data", "sha256": sha256, "offset": offset,
                            "length": length}, data
            pieces.append(conn.receiveRaw(length, deadline))
        return about, pieces
    finally:
        conn.close()
