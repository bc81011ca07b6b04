"""
The examples of docs/protocol.md (§5, §11, §12, §12a, §16) checked against the
code: every frame's length is its payload's, every payload is exactly what
the codec makes of the message it decodes to, the signature of §16 holds,
and the node-to-node exchanges of §16 are what a seller and a relay say,
byte for byte.  A black-box client is written from these examples.
"""

import hashlib
import json
import os
import random
import re

import attr

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.wire.ids import wireId
from twisted_bazaar import wire
from twisted_bazaar.wire import canonical
from twisted_bazaar.identity.keys import Identity, encode, keyOwns, signedBy, verify
from twisted_bazaar.wire.trade import BuyOK
from twisted_bazaar.identity.proofs import CHECK, LINK, REGISTER, proofText
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.roles.seller import Seller
from twisted_bazaar.daemon.registry import buildScheme
# The modules that declare the examples' messages.
from twisted_bazaar.wire import trade  # noqa: F401
from twisted_bazaar.schemes.flood import messages as flood  # noqa: F401
from twisted_bazaar.schemes.index import messages as index  # noqa: F401
from twisted_bazaar.status import messages as status  # noqa: F401

from tests.helpers import (flooded, closeLink, jsonNetstring, makeNode, openLink,
                           provenLink)

#: When §16 happens, in seconds since the epoch.
EXAMPLE_TIME = 1_700_000_000
#: One example line: who to whom, then the frame.
FRAME = re.compile(r"^[ \t]*(\S+) → (\S+)\s+(\d+):(\{.*\}),\s*$", re.M)


def section(number):
    """The text of one section of docs/protocol.md."""
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "protocol.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text.split(f"\n## {number} ")[1].split("\n## ")[0]


def frames(number):
    """(sender, receiver, length, payload bytes) of each example frame."""
    return [(sender, receiver, int(length), payload.encode("utf-8"))
            for sender, receiver, length, payload in FRAME.findall(section(number))]


def hello(peer):
    """The thisisme frame of a keyless peer at port 9000 + its id."""
    return jsonNetstring({"type": "thisisme", "id": str(peer), "port": 9000 + peer,
                          "host": ""})


class FramesTests(SynchronousTestCase):
    """Every example frame is a valid message, as the codec writes it."""

    def test_framesAreExact(self):
        """Every frame shown is its length and its message's encoding, to
        the byte; a batch-signed buyOK, which its seller writes in
        another order of fields (test_batchSignature checks its bytes),
        is the same JSON object as its encoding."""
        count = 0
        for number in ("5.", "11.", "12.", "12a.", "16."):
            for sender, receiver, length, payload in frames(number):
                self.assertEqual(length, len(payload), payload)
                encoded = wire.encode(wire.decode(payload))
                if "proof" in json.loads(payload):
                    self.assertEqual(json.loads(encoded), json.loads(payload))
                else:
                    self.assertEqual(encoded, payload)
                count += 1
        self.assertGreater(count, 40)

    def test_handshakeProofs(self):
        """
        §16's keyed handshakes hold: the seller's key has the id it says;
        its registration proof, its answer to the address check, its
        proof on the buyer's direct link and the buyer's are each the
        proof §3 describes, for that context, verifier and nonces (and
        for nothing else); the texts §3 and §16 show are the ones signed.
        """
        [hello, you, proof, check, answer, opener, acceptor, last] = [
            wire.decode(payload) for *_, payload in frames("16.")[:8]]
        self.assertTrue(keyOwns(hello.key, you.id))
        self.assertEqual(wireId(you.id), "94b669f0ef53731170c99189d94c8647")
        self.assertTrue(keyOwns(opener.key, opener.id))
        texts = {
            "register": proofText(REGISTER, hello.key, you.key, hello.nonce, you.nonce),
            "check": proofText(CHECK, answer.key, check.key, answer.nonce, check.nonce),
            "acceptor": proofText(LINK, acceptor.key, opener.key, acceptor.nonce,
                                  opener.nonce, opener.purpose),
            "opener": proofText(LINK, opener.key, acceptor.key, opener.nonce,
                                acceptor.nonce, opener.purpose),
        }
        sigs = {"register": (hello.key, proof.sig), "check": (answer.key, answer.sig),
                "acceptor": (acceptor.key, acceptor.sig), "opener": (opener.key, last.sig)}
        for name, (key, sig) in sigs.items():
            for other, text in texts.items():
                self.assertEqual(verify(key, sig, text), name == other, (name, other))
        doc = section("3.") + section("16.")
        for name in ("register", "opener", "check", "acceptor"):
            self.assertIn(texts[name].decode("utf-8"), doc, name)


class ReplayTests(SynchronousTestCase):
    """
    §16 replayed: what B and the tracker say is fed to a seller S (17,
    `--sell apple=1`) and to a relay R (5); what the example says S and R
    answer is what they send.
    """

    def node(self, node_id, host, identity=None):
        """A node whose clock says the example's time (its buys expire
        five minutes later)."""
        clock = task.Clock()
        # The example's time, wherever the suite starts its clocks.
        clock.rightNow = float(EXAMPLE_TIME)
        node = makeNode(node_id, link=LinkSettings(), identity=identity, clock=clock)
        node.setAddress(host, 9001)
        buildScheme(node, "flood")
        return node

    def exchange(self, lines, links, ping=None):
        """
        Feed each frame sent to a node (keyed in ``links`` by its name in
        the example) on its link, and check the frames it sends, in order.
        ``ping``: the node's clock, advanced by one ping interval before
        the node's keepalive ping is due.
        """
        for sender, receiver, payload in lines:
            if sender in links:
                link = links[sender]
                if wire.decode(payload).TYPE == "ping":
                    ping.advance(10)
                self.assertEqual(link.transport.value(), b"%d:%s," % (len(payload), payload))
                link.transport.clear()
            else:
                links[receiver].dataReceived(b"%d:%s," % (len(payload), payload))
        for link in links.values():
            self.assertEqual(link.transport.value(), b"")

    def test_sellerS(self):
        """B's link to S, its trades, the keepalive and B's dc."""
        node = self.node(17, "127.0.0.1")
        Seller(flooded(node), {"apple": 1})
        link = openLink(node, host="127.0.0.1", port=9002)
        text = section("16.")
        start = text.index("B links to S")
        lines = [(sender, receiver, payload.encode("utf-8")) for sender, receiver, _, payload
                 in FRAME.findall(text[start:text.index("Through a relay")])]
        self.assertEqual(len(lines), 19)
        self.exchange(lines[:-1], {"S": link}, ping=node.clock)
        self.assertEqual(lines[-1][2], b'{"type":"dc"}')
        link.dataReceived(b"13:" + lines[-1][2] + b",")
        self.assertTrue(link.transport.disconnecting)

    def test_quantities(self):
        """§11's example of a buy of several units: seller 17 (with 4
        apples) answers buyer 42's buys and ask as the example says."""
        node = self.node(17, "127.0.0.1")
        Seller(flooded(node), {"apple": 4})
        link = openLink(node, host="127.0.0.1", port=9002)
        hello = b'{"type":"thisisme","id":"42","port":9002,"host":"127.0.0.1"}'
        link.dataReceived(b"%d:%s," % (len(hello), hello))
        link.transport.clear()
        lines = [(sender, receiver, payload.encode("utf-8"))
                 for sender, receiver, _, payload in FRAME.findall(section("11."))
                 if "buy" in payload or "ask" in payload or "soldout" in payload]
        self.assertEqual(len(lines), 8)
        self.exchange(lines, {"17": link})

    def test_signedTrade(self):
        """
        §16's signed trade: buyer B2's frames fed to seller S2 (whose key
        is drawn from a seed here, as the example's was) get S2's answers
        byte for byte, and each signed text the example lists is the
        canonical form of a frame, which its signature signs.
        """
        buyer = Identity.fromRandom(random.Random("bazaar example buyer"))
        identity = Identity.fromRandom(random.Random("bazaar example seller"))
        node = self.node(identity.id, "127.0.0.1", identity)
        Seller(flooded(node), {"apple": 1})
        # B2 links to S2 as a node with a key does (§6).
        link = provenLink(node, buyer, host="127.0.0.1")
        text = section("16.")
        signed = text[text.index("Signed trade."):text.index("A batch signature.")]
        lines = [(sender, receiver, payload.encode("utf-8")) for sender, receiver, _, payload
                 in FRAME.findall(signed)]
        self.assertEqual(len(lines), 4)
        self.exchange(lines, {"S2": link})
        texts = re.findall(r"^(bazaar-sig:\{.*\})$", signed, re.M)
        messages = [wire.decode(payload) for *_, payload in lines]
        self.assertEqual([text.encode("utf-8") for text in texts],
                         [canonical(message) for message in messages])
        for message in messages:
            self.assertTrue(verify(message.key, message.sig, canonical(message)))
        self.assertEqual([(m.key, m.path[0]) for m in messages[::2]],
                         [(buyer.key, buyer.id)] * 2)
        self.assertEqual([(m.key, m.buyer_key) for m in messages[1::2]],
                         [(identity.key, buyer.key)] * 2)

    def test_batchSignature(self):
        """
        §16's batch signature: seller S2 (its key drawn from a seed, as
        for the signed trade) signs the three buyOKs as the example
        shows, byte for byte, as a seller sends them; the texts listed
        are their leaves' bytes, the hashes listed are the leaves, the parent and the root of §3's
        tree, the one signature signs ``bazaar-batch:`` and the root, and
        each buyOK checks alone.
        """
        buyer = Identity.fromRandom(random.Random("bazaar example buyer"))
        seller = Identity.fromRandom(random.Random("bazaar example seller"))
        text = section("16.")
        example = text[text.index("A batch signature."):text.index("Bad input:")]
        payloads = [payload.encode("utf-8") for *_, payload in FRAME.findall(example)]
        oks = [BuyOK(buy_id, "apple", (seller.id, buyer.id), buyer_key=buyer.key)
               for buy_id in (557, 558, 559)]
        self.assertEqual(seller.batchPayloads(oks), payloads)
        self.assertEqual(seller.signedBatch(oks),
                         [wire.decode(payload) for payload in payloads])
        messages = [wire.decode(payload) for payload in payloads]
        leafTexts = re.findall(r"^(bazaar-sig:\{.*\})$", example, re.M)
        self.assertEqual([t.encode("utf-8") for t in leafTexts],
                         [canonical(attr.evolve(m, proof=None)) for m in messages])
        hashes = dict(re.findall(r"^(leaf \d+|parent|root) +([0-9a-f]{64})$", example, re.M))
        leaves = [hashlib.sha256(b"\x00" + t.encode("utf-8")).digest() for t in leafTexts]
        self.assertEqual([hashes[f"leaf {n}"] for n in (557, 558, 559)],
                         [leaf.hex() for leaf in leaves])
        parent = hashlib.sha256(b"\x01" + min(leaves[:2]) + max(leaves[:2])).digest()
        root = hashlib.sha256(b"\x01" + min(parent, leaves[2]) + max(parent, leaves[2])
                              ).digest()
        self.assertEqual((hashes["parent"], hashes["root"]), (parent.hex(), root.hex()))
        self.assertEqual([m.proof for m in messages],
                         [(encode(leaves[1]), encode(leaves[2])),
                          (encode(leaves[0]), encode(leaves[2])), (encode(parent),)])
        self.assertTrue(verify(seller.key, messages[0].sig, b"bazaar-batch:" + root))
        for message in messages:
            self.assertTrue(signedBy(message, seller.id))

    def test_badInput(self):
        """The last lines of §16: bad JSON is answered, a bad frame closes."""
        node = self.node(17, "127.0.0.1")
        link = openLink(node, host="127.0.0.1", port=9002)
        link.dataReceived(b'60:{"type":"thisisme","id":"42","port":9002,"host":"127.0.0.1"},')
        link.transport.clear()
        text = section("16.")
        bad = text[text.index("Bad input:"):]
        [garbage, answer, broken] = re.findall(r"^\S → \S\s+(\d+:.*?,)(?:\s+\(.*\))?$",
                                               bad, re.M)
        link.dataReceived(garbage.encode("utf-8"))
        self.assertEqual(link.transport.value(), answer.encode("utf-8"))
        self.assertFalse(link.transport.disconnecting)
        link.transport.clear()
        link.dataReceived(broken.encode("utf-8"))
        self.assertEqual(link.transport.value(), b"")
        self.assertTrue(link.transport.disconnecting)

    def test_relay(self):
        """R re-encodes the search it floods, and passes the routed
        messages on as the bytes it got."""
        text = section("16.")
        relayed = text[text.index("Through a relay"):text.index("This implementation's buyer")]
        relay = self.node(5, "10.0.0.2")
        seller = self.node(17, "10.0.0.3")
        Seller(seller, {"pear": 1})
        links = {}
        for peer in (42, 17):
            links[peer] = openLink(relay, host=f"10.0.0.{peer}", port=9000 + peer)
            links[peer].dataReceived(hello(peer))
            links[peer].transport.clear()
        toSeller = openLink(seller, host="10.0.0.2", port=9005)
        toSeller.dataReceived(hello(5))
        toSeller.transport.clear()
        lines = re.findall(r"^(\S) → (\S)\s+(?:(\d+):(\{.*\}),|\(the same (\d+) bytes\))",
                           relayed, re.M)
        self.assertEqual(len(lines), 8)
        last = None
        for sender, receiver, _, payload, same in lines:
            data = last if same else b"%d:%s," % (len(payload), payload.encode("utf-8"))
            last = data
            if sender == "B":
                links[42].dataReceived(data)
            elif sender == "R" and receiver == "S":
                self.assertEqual(links[17].transport.value(), data)
                links[17].transport.clear()
                toSeller.dataReceived(data)
            elif sender == "S":
                self.assertEqual(toSeller.transport.value(), data)
                toSeller.transport.clear()
                links[17].dataReceived(data)
            else:
                self.assertEqual(links[42].transport.value(), data)
                links[42].transport.clear()
        for link in (links[42], links[17], toSeller):
            self.assertEqual(link.transport.value(), b"")
            closeLink(link)

