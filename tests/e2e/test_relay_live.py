"""
End to end: relayed handshake proofs (issue 21, item 1) against live
daemons.  A raw client with a key of its own, written from
docs/protocol.md alone (tests/e2e/test_raw_client.py), tries to be seller
S at buyer B's node by forwarding B's nonce to S and S's answer to B, and
to register as S at the tracker with what S signs for it.  Both are
refused, S stays registered where it is, and B buys nothing from the
attacker.
"""

from tests.e2e.helpers import nodeAddress, startMarket, startSeller
from tests.e2e.test_raw_client import Keys, LiveSellerCase, nonce

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
