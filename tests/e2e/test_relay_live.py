"""
End to end: relayed handshake proofs (issue 21, item 1) against live
daemons.  A raw client with a key of its own, written from
docs/protocol.md alone (tests/e2e/test_raw_client.py), tries to be seller
S at buyer B's node by forwarding B's nonce to S and S's answer to B, and
to register as S at the tracker with what S signs for it.  Both are
refused, S stays registered where it is, and B buys nothing from the
attacker.
"""

import socket
import threading

from tests.e2e.helpers import nodeAddress, startMarket, startSeller
from tests.e2e.helpers import withoutUdp
from tests.contract.channel import ChannelBroken
from tests.e2e.test_raw_client import Keys, LiveSellerCase, RawClient, nonce, proofText

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

        # A says it is S, with S's key, at the buyer and at the tracker,
        # over a channel that proved A's own key, or none: refused at that
        # first thisisme, before any nonce of B's or the tracker's is out
        # to be relayed (the channel proves the key, protocol.md §2.1).
        refusals = (r"(the key is not the one this connection's channel proved|"
                    r"a key in a thisisme on a connection whose channel proved no key)")
        for channel_keys in (self.attacker, None):
            toB = self.connect(self.buyer_port, channel_keys)
            toB.sendObject(hello(self.seller_id, s_key, nonce()))
            self.assertRefused(toB)
            evil = self.connect(self.market.tracker_port, channel_keys)
            evil.sendObject(hello("", s_key, nonce(), port=self.seller_port + 1))
            self.assertRefused(evil)
        self.assertEqual(len(self.buyer.matches(refusals)), 2, self.buyer.tail())

        # S is still registered at its own address, and was never
        # displaced; B bought nothing.
        tracker, _ = self.register()
        tracker.send("whereis", id=self.seller_id)
        self.assertEqual(withoutUdp(tracker.receive(), self), {"type": "nodereply", "id": self.seller_id,
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
    check (the first connection) as itself, inside the channel with its
    own key, so that A is introduced at its own address; every later
    connection it passes to the seller S and back, byte for byte, keeping
    what each dialler sent.
    """

    def __init__(self, keys, seller_port):
        self.keys = keys
        self.seller_port = seller_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        #: One bytearray per connection relayed: what its dialler sent.
        self.dials = []
        self.sockets = [self.listener]
        self.checked = False
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
            if not self.checked:
                self.checked = True
                self._answerCheck(conn)
            else:
                self._relay(conn)
        except (OSError, ChannelBroken):  # closed at the test's end
            conn.close()

    def _answerCheck(self, conn):
        client = RawClient.accepted(conn, self.keys)
        first = client.receive()
        mine = nonce()
        client.send("thisisme", id=self.keys.id, port=self.port, host="127.0.0.1",
                    key=self.keys.key, nonce=mine,
                    sig=self.keys.sign(proofText("check", self.keys.key, first["key"],
                                                 mine, first["nonce"])))
        conn.close()

    def _relay(self, conn):
        sent = bytearray()
        self.dials.append(sent)
        seller = socket.create_connection(("127.0.0.1", self.seller_port))
        self.sockets.append(seller)
        threading.Thread(target=self._pipe, args=(seller, conn), daemon=True).start()
        while data := conn.recv(65536):
            sent += data
            seller.sendall(data)
        seller.close()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        sink.close()


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
        # A passed the channel's bytes and saw none of what they carried.
        self.assertTrue(relay.dials)
        for sent in relay.dials:
            self.assertNotIn(b"thisisme", bytes(sent))
            self.assertNotIn(buyer_id.encode(), bytes(sent))
        self.assertIsNone(buyer.process.poll(), buyer.tail())
