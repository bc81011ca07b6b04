"""
End to end: relayed handshake proofs (issue 21, item 1) against live
daemons.  A raw client with a key of its own, written from
docs/protocol.md alone (tests/e2e/test_raw_client.py), tries to be seller
S at buyer B's node by forwarding B's nonce to S and S's answer to B, and
to register as S at the tracker with what S signs for it.  Both are
refused, S stays registered where it is, and B buys nothing from the
attacker.
"""

import json
import socket
import threading
import time

from tests.e2e.helpers import nodeAddress, startMarket, startSeller
from tests.e2e.test_raw_client import Keys, LiveSellerCase, netstring, nonce, proofText

#: Seconds any one expected log line may take.
TIMEOUT = 30.0


def hello(node_id, key, mine, port=0):
    return {"type": "thisisme", "id": node_id, "port": port, "host": "", "key": key,
            "nonce": mine}


class RelayedProofTests(LiveSellerCase):
    """A live tracker, a seller S of apples and a buyer B of pears
    (nobody sells pears); the attacker A, a raw client with a key."""

    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)
        self.seller, self.seller_id, self.seller_port = startSeller(
            self.market, "apple=2", TIMEOUT)
        self.buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "pear")
        self.buyer_id, self.buyer_port = nodeAddress(self.buyer, TIMEOUT)
        self.attacker = Keys()

    def sellerSays(self, **fields):
        """S's answer to A's first message on a new connection."""
        link = self.connect(self.seller_port)
        link.sendObject(fields)
        answer = link.receive()
        self.assertEqual((answer["type"], answer["id"]), ("thisisme", self.seller_id))
        return answer

    def assertRefused(self, link):
        answer = link.receive()
        self.assertEqual((answer["type"], answer.get("code")), ("error", "wtf"), answer)
        self.assertEqual(link.outcome(), "closed")

    def test_relayedLinkAndRegistrationAreRefused(self):
        s_key = self.sellerSays(type="whoareyou")["key"]

        # At the buyer: A says it is S, and hands B S's answer to B's nonce.
        toB = self.connect(self.buyer_port)
        toB.sendObject(hello(self.seller_id, s_key, nonce()))
        b_answer = toB.receive()
        self.assertEqual((b_answer["type"], b_answer["id"]), ("thisisme", self.buyer_id))
        relayed = self.sellerSays(**hello(self.attacker.id, self.attacker.key,
                                          b_answer["nonce"]))
        toB.send("proof", sig=relayed["sig"])
        self.assertRefused(toB)
        self.buyer.waitFor(r"wtf: that proof does not prove your key to me", TIMEOUT)

        # At the tracker: A registers with S's key, and hands the tracker
        # S's proof on a link and S's answer to a whoareyou, each made
        # with the tracker's nonce (and key).
        for ask in ({"type": "thisisme", "id": self.attacker.id, "port": 0, "host": "",
                     "key": self.attacker.key},
                    {"type": "whoareyou"}):
            evil = self.connect(self.market.tracker_port)
            evil.sendObject(hello("", s_key, nonce(), port=self.seller_port + 1))
            you = evil.receive()
            self.assertEqual((you["type"], you["id"]), ("thisisyou", self.seller_id))
            if ask["type"] == "thisisme":
                answer = self.sellerSays(**dict(ask, nonce=you["nonce"]))
            else:
                answer = self.sellerSays(**dict(ask, key=you["key"], nonce=you["nonce"]))
            evil.send("proof", sig=answer["sig"])
            self.assertRefused(evil)

        # S is still registered at its own address, and was never
        # displaced; B bought nothing.
        tracker, _ = self.register()
        tracker.send("whereis", id=self.seller_id)
        self.assertEqual(tracker.receive(), {"type": "nodereply", "id": self.seller_id,
                                             "host": "127.0.0.1",
                                             "port": self.seller_port})
        self.assertEqual(self.tracker.matches(r"proved its key on another connection"), [])
        self.assertEqual(self.seller.matches(r"tracker says"), [])
        self.assertEqual(self.buyer.matches(r"bought"), [])
        for daemon in (self.tracker, self.seller, self.buyer):
            self.assertIsNone(daemon.process.poll(), daemon.tail())


class _Relay:
    """
    The attacker A's listening socket: it answers the tracker's address
    check as itself (so A is introduced at its own address), and passes
    every byte of any other connection to the seller S and back,
    unchanged, keeping the frames each dialler sent.
    """

    def __init__(self, keys, seller_port):
        self.keys = keys
        self.seller_port = seller_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        #: One list per connection relayed: the frames its dialler sent.
        self.dials = []
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        for sock in self.sockets:
            sock.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self._relay(conn)
        except OSError:  # closed at the test's end
            conn.close()

    def _relay(self, conn):
        frames = _Frames(conn)
        first = frames.next()
        if first is None:
            return
        if first.get("type") == "whoareyou":
            mine = nonce()
            answer = {"type": "thisisme", "id": self.keys.id, "port": self.port,
                      "host": "127.0.0.1", "key": self.keys.key, "nonce": mine,
                      "sig": self.keys.sign(proofText("check", self.keys.key,
                                                      first["key"], mine,
                                                      first["nonce"]))}
            conn.sendall(netstring(json.dumps(answer).encode("utf-8")))
            conn.close()
            return
        sent = [first]
        self.dials.append(sent)
        seller = socket.create_connection(("127.0.0.1", self.seller_port))
        self.sockets.append(seller)
        seller.sendall(frames.raw_first)
        threading.Thread(target=self._pipe, args=(seller, conn), daemon=True).start()
        while True:
            message = frames.next(relay_to=seller)
            if message is None:
                seller.close()
                return
            sent.append(message)

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        sink.close()


class _Frames:
    """Netstring frames read off a socket, each relayed as read."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.raw_first = None

    def next(self, relay_to=None):
        while True:
            head, colon, rest = self.buffer.partition(b":")
            if colon and len(rest) > int(head):
                size = len(head) + 1 + int(head) + 1
                raw, self.buffer = self.buffer[:size], self.buffer[size:]
                if self.raw_first is None:
                    self.raw_first = raw
                elif relay_to is not None:
                    relay_to.sendall(raw)
                return json.loads(rest[:int(head)])
            try:
                data = self.sock.recv(65536)
            except OSError:
                return None
            if not data:
                return None
            self.buffer += data


class WholeRelayTests(LiveSellerCase):
    """
    A, a registered stranger with its own key and listening port, passes
    the bytes of the whole handshake between a buyer B that dials it (by
    A's id: the tracker introduced A to B) and the seller S.  S's answer
    is genuine, but S is not the node B dialled: B refuses it before any
    proof (issue 34).
    """

    def test_answerOfAnotherNodeIsRefused(self):
        attacker = Keys()
        relay = _Relay(attacker, self.seller_port)
        self.addCleanup(relay.close)
        mine = nonce()
        tracker = self.connect(self.market.tracker_port)
        tracker.send("thisisme", id="", port=relay.port, host="127.0.0.1",
                     key=attacker.key, nonce=mine, scheme="flood")
        you = tracker.receive()
        tracker.send("proof", sig=attacker.sign(proofText("register", attacker.key,
                                                          you["key"], mine,
                                                          you["nonce"])))
        self.market.waitIntroduced(attacker.id, TIMEOUT)

        # (S may dial A too, as a flood neighbour: A then hands S its own
        # handshake, which S refuses as its own id.)
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "pear")
        buyer_id, _ = nodeAddress(buyer, TIMEOUT)
        buyer.waitFor(rf"dialled node {attacker.id}, not {self.seller_id}", TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            from_b = [sent for sent in relay.dials if sent[0].get("id") == buyer_id]
            if from_b and from_b[0][-1].get("type") == "error":
                break
            time.sleep(0.05)
        self.assertEqual([m.get("type") for m in from_b[0]], ["thisisme", "error"],
                         from_b)
        self.assertIn(f"dialled node {attacker.id}, not {self.seller_id}",
                      from_b[0][-1]["info"])
        self.assertIsNone(buyer.process.poll(), buyer.tail())
