"""
Tests of twisted_bazaar.schemes.superpeer.superpeer: a super-peer's
answers to its leaves, with the leaves played by the test over
StringTransports; and bad input, sent as raw JSON, getting the
documented error and never a traceback.
"""

import os
import random
from types import SimpleNamespace
import re

from twisted.internet import defer, task
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from twisted.logger import capturedLogs, formatEvent

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar import wire
from twisted_bazaar.core import records as recordsModule
from twisted_bazaar.core.records import signRecord
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.identity.proofs import CHECK, LINK, Handshake
from twisted_bazaar.daemon.registry import buildScheme
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF,
    SUPER,
    LeafAck,
    LeafHits,
    LeafQuery,
    LeafRegister,
    LeafUpdate,
)

from tests.helpers import (
    NODE_HOST,
    NODE_PORT,
    clockStartMs,
    closeLink,
    countedCalls,
    feed,
    jsonNetstring,
    linkPeer,
    makeNode,
    nodeReply,
    openLink,
    parseJSONNetstrings,
    provenLink,
    sent,
)
from tests import records
from tests.schemes import StaticShop, answerChecks

ME = records.identity(7).id
#: Leaves' ids: those of their keys.
L11, L12, L13, L99 = (records.identity(n).id for n in (11, 12, 13, 99))
KEYS = {records.identity(n).id: records.identity(n) for n in (11, 12, 13, 17, 18, 99)}


def recordsOf(link, items, host="", port=0):
    """The records a leaf signs of the items it has in stock."""
    who = KEYS[link.peer_id]
    return {item: records.signed(who, item, host, port)
            for item, units in items.items() if units}


def register(link, seq, host, port, items):
    """The leaf's register, with its records."""
    return LeafRegister(seq, host, port, items, recordsOf(link, items, host, port))


def update(link, seq, items):
    """The leaf's update, with its records."""
    return LeafUpdate(seq, items, recordsOf(link, items))


def hits(link):
    """The leafHits the link was sent, as (id, item, sellers (id, host,
    port)), once each seller's record is checked to be its own of that
    item."""
    out = []
    for message in sent(link):
        assert type(message) is LeafHits, message
        for seller, _, _, record in message.sellers:
            assert (record.seller, record.item) == (seller, message.item), message
        out.append((message.id, message.item,
                    tuple(seller[:3] for seller in message.sellers)))
    return out


def lookup(index, item):
    """(leaf, host, port) of the leaves the index names for item now."""
    return [hit[:3] for hit in index.lookup(item, 5, 0.0)]


def superPeer(clock=None, **options):
    """A super-peer (not started: it seeks no links) and its scheme."""
    node = makeNode(ME, identity=records.identity(7), clock=clock)
    scheme = buildScheme(node, "superpeer", super=True, **options)
    return node, scheme


class SuperPeerLeavesTests(SynchronousTestCase):
    def setUp(self):
        self.node, self.scheme = superPeer(leaf_items=3)
        self.index = self.scheme.side.index

    def leaf(self, peer_id, host=""):
        return linkPeer(self.node, peer_id, purpose=LEAF, host=host)

    def test_budgets(self):
        budgets = self.node.overlay.budgets
        self.assertEqual((budgets[LEAF], budgets[SUPER]), (128, 12))
        self.assertIs(self.scheme.superpeer, True)

    def test_registerUpdateAck(self):
        link = self.leaf(L11)
        feed(link, register(link, 1, "", 9011, {"apple": 2, "pear": 0}))
        self.assertEqual(sent(link), [LeafAck(1, 1)])
        # No host said: the address the link comes from.
        self.assertEqual(self.index.address(L11), ("10.0.0.99", 9011))
        feed(link, update(link, 2, {"apple": 0, "fig": 1}))
        self.assertEqual(sent(link), [LeafAck(2, 1)])
        self.assertEqual(self.index.items(L11), {"fig": 1})

    def test_leafGone(self):
        link = self.leaf(L11, host="leaf.example")
        feed(link, register(link, 1, "leaf.example", 9011, {"apple": 2}))
        answerChecks(self.node)
        other = self.leaf(L12)
        feed(other, register(other, 1, "", 9012, {"apple": 1}))
        answerChecks(self.node)
        closeLink(link)
        self.assertNotIn(L11, self.index)
        self.assertEqual(lookup(self.index, "apple"), [(L12, "10.0.0.99", 9012)])

    def test_queryAnsweredFromTheIndex(self):
        """With no super-peer neighbour, the index's answer comes at once;
        the asking leaf is left out."""
        seller = self.leaf(L11)
        feed(seller, register(seller, 1, "", 9011, {"apple": 2}))
        answerChecks(self.node)
        asker = self.leaf(L12)
        feed(asker, register(asker, 1, "", 9012, {"apple": 1}))
        answerChecks(self.node)
        sent(asker)
        feed(asker, LeafQuery(55, "apple"))
        self.assertEqual(hits(asker), [(55, "apple", ((L11, "10.0.0.99", 9011),))])
        feed(asker, LeafQuery(56, "plum"))
        self.assertEqual(hits(asker), [(56, "plum", ())])

    def test_ownShopComesFirst(self):
        self.scheme.advertise(StaticShop(apple=1))
        seller = self.leaf(L11)
        feed(seller, register(seller, 1, "", 9011, {"apple": 2}))
        answerChecks(self.node)
        feed(seller, LeafQuery(55, "apple"))
        sent(seller)
        asker = self.leaf(L12)
        feed(asker, LeafQuery(56, "apple"))
        self.assertEqual(hits(asker), [(56, "apple", (
            (ME, NODE_HOST, NODE_PORT), (L11, "10.0.0.99", 9011)))])

    def test_findOnTheSuperPeer(self):
        seller = self.leaf(L11)
        feed(seller, register(seller, 1, "", 9011, {"apple": 2}))
        answerChecks(self.node)
        offers = []
        self.scheme.find("apple", 1.0).addCallback(offers.extend)
        self.assertEqual([(o.seller, o.route, o.port) for o in offers],
                         [(L11, (ME, L11), 9011)])

    def assertRefusedAndClosed(self, link, code):
        [error] = sent(link)
        self.assertEqual((type(error), error.code), (wire.Error, code))
        self.assertTrue(link.closing)
        return error

    def test_oversizedInventory(self):
        link = self.leaf(L11)
        feed(link, register(link, 1, "", 9011, {f"i{k}": 1 for k in range(4)}))
        error = self.assertRefusedAndClosed(link, "toomany")
        self.assertEqual(error.info, "4 items is over this super-peer's bound of 3 "
                         "per leaf")
        self.assertNotIn(L11, self.index)

    def test_updateOfAnUnknownItem(self):
        link = self.leaf(L11)
        feed(link, register(link, 1, "", 9011, {"apple": 1}))
        sent(link)
        feed(link, update(link, 2, {"plum": 0}))
        self.assertRefusedAndClosed(link, "unknown")

    def test_leafClaimingAnotherLeafsEntries(self):
        """Entries belong to the link that registered them: another leaf
        can neither withdraw them nor take over their address."""
        owner = self.leaf(L11)
        feed(owner, register(owner, 1, "10.0.0.5", 9011, {"apple": 1}))
        answerChecks(self.node)
        thief = self.leaf(L12)
        feed(thief, register(thief, 1, "", 9012, {"fig": 1}))
        answerChecks(self.node)
        sent(thief)
        feed(thief, update(thief, 2, {"apple": 0}))
        error = self.assertRefusedAndClosed(thief, "unknown")
        self.assertEqual(error.info, "you have no 'apple' to withdraw")
        impostor = self.leaf(L13)
        feed(impostor, register(impostor, 1, "10.0.0.5", 9011, {"apple": 1}))
        self.assertRefusedAndClosed(impostor, "claimed")
        self.assertEqual(lookup(self.index, "apple"), [(L11, "10.0.0.5", 9011)])

    def test_totalBound(self):
        node, scheme = superPeer(index_entries=2)
        first = linkPeer(node, L11, purpose=LEAF)
        feed(first, register(first, 1, "", 9011, {"a": 1, "b": 1}))
        second = linkPeer(node, L12, purpose=LEAF)
        feed(second, register(second, 1, "", 9012, {"c": 1}))
        self.assertRefusedAndClosed(second, "full")

    def test_leafMessagesOnOtherLinks(self):
        """A leaf message on a link that is not a leaf link: wtf, kept."""
        for purpose in (None, SUPER):
            link = linkPeer(self.node, 20 if purpose else 21, purpose=purpose)
            feed(link, LeafQuery(5, "apple"))
            [error] = sent(link)
            self.assertEqual(error.code, "wtf")
            self.assertIn("leafQuery is for a leaf link", error.info)
            self.assertFalse(link.closing)


class AddressSquattingTests(SynchronousTestCase):
    """
    Issue 34, "Super-peer address squatting": an empty leafRegister (never
    checked, since it lists nothing) at an honest seller's host:port made
    the super-peer refuse the seller as ``claimed``.  An address is
    claimed only once a check found the leaf there, empty register or
    not.
    """

    ADDRESS = ("10.0.0.5", 9011)

    def setUp(self):
        self.node, self.scheme = superPeer()
        self.index = self.scheme.side.index

    def leaf(self, peer_id, host):
        return linkPeer(self.node, peer_id, purpose=LEAF, host=host)

    def test_emptyRegisterClaimsNothing(self):
        squatter = self.leaf(L13, "10.9.0.1")
        feed(squatter, register(squatter, 1, *self.ADDRESS, {}))
        self.assertEqual(sent(squatter), [LeafAck(1, 0)])
        seller = self.leaf(L11, "10.0.0.5")
        feed(seller, register(seller, 1, *self.ADDRESS, {"apple": 1}))
        self.assertEqual(sent(seller), [LeafAck(1, 1)])
        self.assertEqual(answerChecks(self.node), [L11])
        self.assertEqual(lookup(self.index, "apple"), [(L11,) + self.ADDRESS])
        # Checked, the seller holds its address: now the squatter is the
        # one refused.
        feed(squatter, register(squatter, 2, *self.ADDRESS, {"fig": 1}))
        [error] = sent(squatter)
        self.assertEqual(error.code, "claimed")
        self.assertIn(f"registered by leaf {wireId(L11)}", error.info)

    def test_squatterWithItemsFailsItsCheck(self):
        """A squatter listing items at the seller's address is checked
        there, where the seller answers: it is forgotten, and its line
        names it by its wire id (32 hex digits), not a 39-digit number."""
        squatter = self.leaf(L13, "10.9.0.1")
        feed(squatter, register(squatter, 1, *self.ADDRESS, {"apple": 1}))
        seller = self.leaf(L11, "10.0.0.5")
        feed(seller, register(seller, 1, *self.ADDRESS, {"apple": 1}))
        self.assertEqual(sent(seller), [LeafAck(1, 1)])
        with capturedLogs() as events:
            answerChecks(self.node, answer=lambda leaf: L11)
        lines = "\n".join(formatEvent(event) for event in events)
        self.assertTrue(squatter.closing)
        self.assertIn(f"answers as leaf {wireId(L13)}", lines)
        self.assertNotIn(str(L13), lines)
        self.assertEqual(lookup(self.index, "apple"), [(L11,) + self.ADDRESS])


class UnregisteredLeafTests(SynchronousTestCase):
    """
    A leaf's link serves before (and without) any leafRegister: a leaf
    with nothing to list sends none (docs/protocol.md §18).
    """

    def setUp(self):
        self.node, self.scheme = superPeer(max_leaves=2)
        self.index = self.scheme.side.index

    def test_queriesAnswered(self):
        seller = linkPeer(self.node, L11, purpose=LEAF)
        feed(seller, register(seller, 1, "", 9011, {"apple": 2}))
        answerChecks(self.node)
        asker = linkPeer(self.node, L12, purpose=LEAF)
        feed(asker, LeafQuery(55, "apple"))
        self.assertEqual(hits(asker), [(55, "apple", ((L11, "10.0.0.99", 9011),))])
        self.assertNotIn(L12, self.index)
        self.assertEqual(self.node.connector.requests[1:], [])

    def test_countedAgainstMaxLeaves(self):
        """Its link holds a leaf slot as a registered leaf's does: with
        --max-leaves 2 taken by two leaves that sent nothing, a third is
        refused."""
        for leaf in (L11, L12):
            linkPeer(self.node, leaf, purpose=LEAF, host=f"10.0.0.{leaf % 200}")
        third = openLink(self.node, host="10.0.1.1")
        identity = records.identityOf(L13)
        handshake = Handshake(identity, LINK, LEAF)
        feed(third, wire.ThisIsMe(L13, 5000, "", purpose=LEAF, key=identity.key,
                                  nonce=handshake.nonce))
        [refusal] = sent(third)
        self.assertNotIn(L13, self.node.links)
        self.assertEqual((type(refusal), refusal.code), (wire.Error, "noslots"))

    def test_anUpdateBeforeARegisterRefused(self):
        link = linkPeer(self.node, L11, purpose=LEAF)
        feed(link, update(link, 1, {"apple": 1}))
        [error] = sent(link)
        self.assertEqual((type(error), error.code, error.info),
                         (wire.Error, "unknown", "send leafRegister before leafUpdate"))
        self.assertTrue(link.closing)
        self.assertNotIn(L11, self.index)

    def test_emptyRegisterNotChecked(self):
        """A register listing nothing names nothing: no address check
        until its first entries come (here in an update), and those are
        named once it passes."""
        link = linkPeer(self.node, L11, purpose=LEAF)
        feed(link, register(link, 1, "leaf.example", 9011, {}))
        self.assertEqual(sent(link), [LeafAck(1, 0)])
        self.assertEqual(self.node.connector.requests, [])
        feed(link, LeafUpdate(2, {"apple": 1}, recordsOf(link, {"apple": 1},
                                                         "leaf.example", 9011)))
        self.assertEqual(sent(link), [LeafAck(2, 1)])
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("leaf.example", 9011))
        self.assertFalse(self.index.listed(L11))
        # A second update while the check is in flight starts no other.
        feed(link, LeafUpdate(3, {"pear": 1}, recordsOf(link, {"pear": 1},
                                                        "leaf.example", 9011)))
        self.assertEqual(len(self.node.connector.requests), 1)
        self.assertEqual(answerChecks(self.node), [L11])
        self.assertTrue(self.index.listed(L11))
        self.assertEqual(lookup(self.index, "apple"), [(L11, "leaf.example", 9011)])

    def test_emptyRegisterAtANewAddressEndsTheCheck(self):
        """A check in flight is of an address the leaf no longer lists
        anything at: dropped."""
        link = linkPeer(self.node, L11, purpose=LEAF)
        feed(link, register(link, 1, "leaf.example", 9011, {"apple": 1}))
        [request] = self.node.connector.requests
        feed(link, register(link, 2, "leaf.example", 9012, {}))
        self.assertTrue(request.deferred.called)
        self.assertEqual(answerChecks(self.node), [])
        self.assertIn(L11, self.index)
        self.assertFalse(link.closing)


class OwnedRecordTests(SynchronousTestCase):
    """
    Every entry a leaf registers comes with its own signed record of the
    item; a register or update with one missing, not the leaf's, changed
    after it was signed, of another item or expired is refused whole
    (badrecord, and the link closed), so no leaf registers in another's
    name nor describes another's file.
    """

    def setUp(self):
        self.node, self.scheme = superPeer()
        self.index = self.scheme.side.index
        self.honest = linkPeer(self.node, L11, purpose=LEAF)
        feed(self.honest, register(self.honest, 1, "", 9011, {"song": 1}))
        answerChecks(self.node)
        sent(self.honest)
        self.thief = linkPeer(self.node, L12, purpose=LEAF)

    def assertRefused(self, message, why):
        """The message is refused whole; the thief's entries are as they
        were, and the honest leaf is the one seller of song."""
        held = self.index.items(L12)
        feed(self.thief, message)
        [error] = sent(self.thief)
        self.assertEqual((error.code, error.info), ("badrecord", why))
        self.assertTrue(self.thief.closing)
        self.assertEqual(self.index.items(L12), held)
        self.assertEqual(lookup(self.index, "song"), [(L11, "10.0.0.99", 9011)])

    def test_aRecordInAnotherLeafsName(self):
        stolen = records.signed(KEYS[L11], "song", file=(5, records.SHA, 9012))
        self.assertRefused(
            LeafRegister(1, "", 9012, {"song": 1}, {"song": stolen}),
            f"the record of 'song': it is node {shortId(L11)}'s record, not node {shortId(L12)}'s")

    def test_aRecordChangedAfterItWasSigned(self):
        mine = records.signed(KEYS[L12], "song", file=(5, records.SHA, 9012))
        self.assertRefused(
            LeafRegister(1, "", 9012, {"song": 1},
                         {"song": records.forged(mine, sha256="cd" * 32)}),
            f"the record of 'song': it is not signed by the key of node {shortId(L12)}")

    def test_aRecordMissingOrOfAnotherItem(self):
        self.assertRefused(LeafRegister(1, "", 9012, {"song": 1, "fig": 1}, {
            "song": records.signed(KEYS[L12], "song")}),
            "the record of 'fig': it has none")

    def test_anUpdateIsCheckedToo(self):
        feed(self.thief, register(self.thief, 1, "", 9012, {"fig": 1}))
        answerChecks(self.node)
        sent(self.thief)
        self.assertRefused(LeafUpdate(2, {"song": 1}, {
            "song": records.signed(KEYS[L12], "fig")}),
            "the record of 'song': it is a record of another item")

    def test_anExpiredRecord(self):
        self.node.clock.advance(601)
        feed(self.honest, register(self.honest, 2, "", 9011, {"song": 1}))
        [error] = sent(self.honest)
        self.assertEqual((error.code, error.info),
                         ("badrecord", "the record of 'song': it has expired"))

    def test_aRecordIssuedAheadNamesTheSkew(self):
        """A record issued an hour ahead of the super-peer's clock is
        refused naming how far ahead: its leaf learns what to mend, and
        by how much (issue 96)."""
        ahead = records.signed(KEYS[L12], "song",
                               issued=round(wallSeconds(self.node.clock) * 1000) + 3_600_000)
        self.assertRefused(
            LeafRegister(1, "", 9012, {"song": 1}, {"song": ahead}),
            "the record of 'song': it was issued 3,600 s in the future: its seller's "
            "clock is about that far ahead of the clock that checked it (more than the "
            "60 s allowed)")

    def test_anEntryIsNamedWhileItsRecordLives(self):
        """A leaf that stops sending its records again is named no more
        once they expire."""
        asker = linkPeer(self.node, L13, purpose=LEAF)
        self.node.clock.advance(599)
        feed(asker, LeafQuery(1, "song"))
        self.assertEqual(hits(asker), [(1, "song", ((L11, "10.0.0.99", 9011),))])
        self.node.clock.advance(1)
        feed(asker, LeafQuery(2, "song"))
        self.assertEqual(hits(asker), [(2, "song", ())])


class RawInputTests(SynchronousTestCase):
    """Bad input, byte for byte: the documented answer, no traceback."""

    def setUp(self):
        self.node, self.scheme = superPeer()
        self.logged = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def say(self, link, message):
        link.transport.clear()
        link.dataReceived(jsonNetstring(message))
        return parseJSONNetstrings(link.transport.value())

    def assertNoTraceback(self):
        failures = [event for event in self.logged if "log_failure" in event]
        self.assertEqual(failures, [])

    def test_hugeTtl(self):
        link = linkPeer(self.node, 30, purpose=SUPER)
        answer = self.say(link, {"type": "spQuery", "id": 1, "item": "apple",
                                 "returnPath": ["30"], "ttl": 1000})
        self.assertEqual(answer, [{"type": "error", "code": "wtf",
                                   "info": "spQuery.ttl must be from 0 to 16, not 1000"}])
        self.assertFalse(link.closing)
        self.assertNoTraceback()

    def test_inventoryOverTheWireLimit(self):
        link = linkPeer(self.node, 31, purpose=LEAF)
        answer = self.say(link, {"type": "leafRegister", "seq": 1, "host": "",
                                 "port": 1, "items": {f"i{k}": 1 for k in range(1025)}})
        self.assertEqual(answer, [{"type": "error", "code": "wtf",
                                   "info": "leafRegister.items must be an object of "
                                   "at most 1024 items"}])
        self.assertNotIn(31, self.scheme.side.index)
        self.assertNoTraceback()

    def test_badFields(self):
        link = linkPeer(self.node, 32, purpose=LEAF)
        cases = [
            ({"type": "leafRegister", "seq": -1, "host": "", "port": 1, "items": {}},
             "leafRegister.seq must be a count, not -1"),
            ({"type": "leafUpdate", "seq": 1, "items": {"apple": -2}},
             "leafUpdate.items['apple'] must be a count, not -2"),
            ({"type": "leafUpdate", "seq": 1, "items": []},
             "leafUpdate.items must be an object of at most 1024 items"),
            ({"type": "leafQuery", "id": 1}, "leafQuery lacks the field item"),
        ]
        for message, info in cases:
            self.assertEqual(self.say(link, message),
                             [{"type": "error", "code": "wtf", "info": info}], message)
        self.assertFalse(link.closing)
        self.assertNoTraceback()

    def test_leafMessagesToALeaf(self):
        """A leaf takes no leaf messages and no floods."""
        leaf = makeNode(8)
        buildScheme(leaf, "superpeer")
        link = linkPeer(leaf, 40, purpose=LEAF)
        for message in ({"type": "leafQuery", "id": 1, "item": "a"},
                        {"type": "spQuery", "id": 1, "item": "a", "returnPath": ["40"],
                         "ttl": 3}):
            [answer] = self.say(link, message)
            self.assertEqual(answer["code"], "wtf")
            self.assertIn("this node does not handle", answer["info"])


class DocumentedExampleTests(SynchronousTestCase):
    """The raw leaf session of docs/protocol.md §18, replayed byte for
    byte against a super-peer: what the doc says the super-peer answers is
    what it answers."""

    def exchanges(self):
        path = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                            "protocol.md")
        with open(path, encoding="utf-8") as f:
            section = f.read().split("## 18.")[1]
        return re.findall(r"^(leaf → S|S → leaf)\s+(\d+:\{.*\},)$", section, re.M)

    def test_replay(self):
        """The session's keys are the 32-byte private keys 0x01… (the
        seller) and 0x02… (the leaf), its records signed at
        1700000000000."""
        clock = task.Clock()
        # The doc's moment, wherever the suite starts its clocks.
        clock.rightNow = 1_700_000_000.0
        node, scheme = superPeer(clock)
        seller, leaf = (Identity(Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32))
                        for n in (1, 2))
        seller_link = linkPeer(node, seller, purpose=LEAF)
        feed(seller_link, LeafRegister(1, "127.0.0.1", 9002, {"pear": 1}, {
            "pear": signRecord(seller, "pear", "127.0.0.1", 9002, 1_700_000_000_000,
                               1_700_000_600_000)}))
        answerChecks(node)
        leaf = linkPeer(node, leaf, purpose=LEAF)
        exchanges = self.exchanges()
        self.assertEqual(len(exchanges), 8)
        heard = b""
        for direction, frame in exchanges:
            if direction == "leaf → S":
                self.assertEqual(leaf.transport.value(), heard)
                leaf.transport.clear()
                heard = b""
                leaf.dataReceived(frame.encode("utf-8"))
            else:
                heard += frame.encode("utf-8")
        self.assertEqual(leaf.transport.value(), heard)
        self.assertTrue(leaf.closing)


class AddressCheckTests(SynchronousTestCase):
    """
    A super-peer names a leaf (in leafHits, spHit, its own finds) only
    once it has connected back to the address the leaf registered and
    found that leaf there: the tracker's check (tracker/check.py).
    """

    def setUp(self):
        self.node, self.scheme = superPeer()
        self.index = self.scheme.side.index
        self.asker = linkPeer(self.node, L12, purpose=LEAF)

    def hits(self):
        feed(self.asker, LeafQuery(55, "apple"))
        [(_, _, sellers)] = hits(self.asker)
        return sellers

    def register(self, host="leaf.example", port=9011, leaf_id=L11, link=None):
        link = link or linkPeer(self.node, leaf_id, purpose=LEAF)
        feed(link, register(link, 1, host, port, {"apple": 2}))
        self.assertEqual(sent(link), [LeafAck(1, 1)])
        return link

    def test_listedOnceChecked(self):
        """Registered and acknowledged at once, named only once the node at
        host:port says it is that leaf; a register at the same address
        needs no second check."""
        link = self.register()
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("leaf.example", 9011))
        self.assertEqual(self.hits(), ())
        self.assertEqual(answerChecks(self.node), [L11])
        # The leaf proved its key on its link: the check asks it to prove
        # that key again.
        [ask] = sent(request.link)
        self.assertEqual(ask.key, self.node.identity.key)
        self.assertEqual(self.hits(), ((L11, "leaf.example", 9011),))
        self.register(link=link)
        self.assertEqual(len(self.node.connector.requests), 1)
        self.assertEqual(self.hits(), ((L11, "leaf.example", 9011),))

    def test_newAddressCheckedAgain(self):
        link = self.register()
        answerChecks(self.node)
        self.register(port=9999, link=link)
        self.assertEqual(self.hits(), ())
        self.assertEqual(answerChecks(self.node), [L11])
        self.assertEqual(self.hits(), ((L11, "leaf.example", 9999),))

    def assertForgotten(self, link):
        self.assertNotIn(L11, self.index)
        self.assertEqual(self.hits(), ())
        self.assertTrue(link.closing)
        self.assertEqual([type(m) for m in sent(link)], [wire.Dc])

    def test_someoneElseAnswers(self):
        """Another node listens at the address the leaf gave: the leaf is
        forgotten and its link closed."""
        link = self.register()
        answerChecks(self.node, answer=lambda leaf: L99)
        self.assertForgotten(link)

    def test_nobodyAnswers(self):
        link = self.register()
        answerChecks(self.node, answer=lambda leaf: None)
        self.assertForgotten(link)

    def test_silentAddress(self):
        """A connection that opens but never answers fails the check at
        the handshake timeout."""
        link = self.register()
        [request] = self.node.connector.requests
        request.link.makeConnection(StringTransport())
        request.deferred.callback(request.link)
        self.node.clock.advance(self.node.config.link.handshake_timeout)
        self.assertTrue(request.link.closing)
        closeLink(request.link)
        self.assertForgotten(link)

    def test_aLeafsWordVetted(self):
        """
        On a connector of addresses (TCP's), the host a leaf registers is
        checked as any host a peer names (reach/peerhosts.py): never a
        service of the super-peer's own machine or network (its cloud's
        metadata service among them); the leaf is forgotten, its link
        closed, and the super-peer says why.  A public address is dialled.
        """
        self.node.connector.addressed = True
        with capturedLogs() as events:
            for host, port in (("127.0.0.1", 6379), ("169.254.169.254", 80)):
                link = linkPeer(self.node, L11, purpose=LEAF)
                feed(link, register(link, 1, host, port, {"apple": 2}))
                self.assertEqual(self.node.connector.requests, [])
                self.assertNotIn(L11, self.index)
                self.assertTrue(link.closing)
                self.assertEqual([type(m) for m in sent(link)], [wire.Dc])
        lines = [formatEvent(event) for event in events]
        self.assertIn(f"leaf {shortId(L11)}: not dialling 127.0.0.1:6379 to check it: "
                      "127.0.0.1 is a loopback address, and this node is on no loopback "
                      "network itself (as its tracker connections and the tracker's "
                      "word say); forgetting it", lines)
        self.register(host="198.51.100.9")
        [request] = self.node.connector.requests
        self.assertEqual((request.host, request.port), ("198.51.100.9", 9011))

    def test_elsewhereFailsAtTheHandshakeTimeout(self):
        """
        A leaf (its link from 10.0.0.99) registered at a third party's
        198.51.100.9:22: refused at once, its link closed at once, and a
        silent port's at the handshake timeout (the super-peer a port
        scanner, 32 dials a burst).  Now each failure ends the leaf's link
        exactly at the handshake timeout after the check began.  A leaf
        registered at the host its link comes from is found at once
        (LAN-only, here).
        """
        self.node.connector.addressed = True
        timeout = self.node.config.link.handshake_timeout
        for fail in (lambda request: request.deferred.errback(ConnectionRefusedError()),
                     lambda request: None):
            link = self.register(host="198.51.100.9", port=22)
            request = self.node.connector.requests[-1]
            fail(request)
            self.node.clock.advance(timeout - 0.001)
            self.assertFalse(link.closing)
            self.node.clock.advance(0.001)
            self.assertForgotten(link)
            self.assertTrue(request.deferred.called)
        with capturedLogs() as events:
            self.register(host="10.0.0.99", port=9011)
            self.node.connector.requests[-1].deferred.errback(ConnectionRefusedError())
        self.assertIn("no check reaches 10.0.0.99:9011",
                      "\n".join(formatEvent(event) for event in events))

    def test_aLeafsRelayDialledOnlyAsTheTrackerNamesIt(self):
        """
        The relay a leaf registers is its word too: the check goes through
        it only as the tracker names it for the leaf (docs/protocol.md
        §5a), never at the address the leaf alone named.  With no tracker
        to ask, nothing is dialled: the leaf is forgotten, its link
        closed, and the super-peer says why.  (It used to open a circuit
        at any address a leaf named, ``127.0.0.1:6379`` among them.)
        """
        self.node.connector.addressed = True
        link = linkPeer(self.node, L11, purpose=LEAF)
        items = {"apple": 2}
        with capturedLogs() as events:
            feed(link, LeafRegister(1, "198.51.100.9", 9011, items,
                                    recordsOf(link, items, "198.51.100.9", 9011),
                                    relay="127.0.0.1:6379"))
        self.assertEqual(self.node.connector.requests, [])
        self.assertForgotten(link)
        lines = [formatEvent(event) for event in events]
        self.assertIn(f"leaf {shortId(L11)}: not dialling 198.51.100.9:9011 to check it: "
                      "no tracker to ask about the relay 127.0.0.1:6379 named for node "
                      f"{shortId(L11)}: a relay is dialled only as the tracker names it; "
                      "forgetting it", lines)

    def test_aLeafCheckedThroughItsRelayIsSaidSo(self):
        """A leaf at home, its relay named by the tracker, is checked
        through that relay, and the line says so (issue 96 LOW: it said
        'listens at HOST:PORT as it said', an address never dialled); a
        leaf checked at its address is said as before."""
        self.node.whereabouts.book.trackerNamed(nodeReply(
            L11, "198.51.100.9", 9011, relay="203.0.113.5:7702"))
        link = linkPeer(self.node, L11, purpose=LEAF)
        items = {"apple": 2}
        with capturedLogs() as events:
            feed(link, LeafRegister(1, "198.51.100.9", 9011, items,
                                    recordsOf(link, items, "198.51.100.9", 9011),
                                    relay="203.0.113.5:7702"))
            [request] = self.node.connector.requests
            self.assertEqual((request.host, request.port), ("203.0.113.5", 7702))
            self.assertEqual(answerChecks(self.node), [L11])
            self.register(host="leaf.example", leaf_id=L13)
            self.assertEqual(answerChecks(self.node), [L13])
        lines = [formatEvent(event) for event in events]
        self.assertIn(f"leaf {shortId(L11)} answers through its relay as it said "
                      "(198.51.100.9:9011 not dialled): listing its items", lines)
        self.assertIn(f"leaf {shortId(L13)} listens at leaf.example:9011 as it said: "
                      "listing its items", lines)
        self.assertTrue(self.index.listed(L11))

    def test_aLeafNamingARelayTheTrackerDoesNotIsCheckedAtItsAddress(self):
        """A leaf that registers a relay the tracker names it without is
        dialled at its address (docs/protocol.md §18): the line says it
        listens there."""
        where = self.node.whereabouts
        # A tracker to ask, whose own relay is not the one the leaf named.
        self.patch(where, "session", SimpleNamespace(isTrackerRelay=lambda relay: False))
        self.patch(type(where.book), "ask", lambda book, peer_id: defer.succeed(
            nodeReply(peer_id, "198.51.100.9", 9011)))
        link = linkPeer(self.node, L11, purpose=LEAF)
        items = {"apple": 2}
        with capturedLogs() as events:
            feed(link, LeafRegister(1, "198.51.100.9", 9011, items,
                                    recordsOf(link, items, "198.51.100.9", 9011),
                                    relay="203.0.113.5:7702"))
            [request] = self.node.connector.requests
            self.assertEqual((request.host, request.port), ("198.51.100.9", 9011))
            self.assertEqual(answerChecks(self.node), [L11])
        self.assertIn(f"leaf {shortId(L11)} listens at 198.51.100.9:9011 as it said: "
                      "listing its items", [formatEvent(event) for event in events])

    def test_portZeroNeedsNoCheck(self):
        """A leaf that takes no connections (port 0) impersonates nobody:
        listed without a check, as at the tracker."""
        self.register(port=0)
        self.assertEqual(self.node.connector.requests, [])
        self.assertTrue(self.index.listed(L11))
        self.assertEqual(lookup(self.index, "apple"), [(L11, "leaf.example", 0)])

    def test_leafGoneCancelsItsCheck(self):
        link = self.register()
        [request] = self.node.connector.requests
        closeLink(link)
        self.assertTrue(request.deferred.called)
        self.assertNotIn(L11, self.index)

    def test_stoppingCancelsChecks(self):
        self.register()
        [request] = self.node.connector.requests
        self.node.shutdown()
        self.assertTrue(request.deferred.called)


class KeyedAddressCheckTests(SynchronousTestCase):
    """A leaf that proved its key on its link must prove the same key at
    its address too, to this super-peer, in this check: an id alone, or
    a proof made for anything else, does not pass."""

    def setUp(self):
        self.me, self.leaf_key = (Identity.fromRandom(random.Random(n)) for n in (1, 2))
        self.node = makeNode(self.me.id, identity=self.me)
        self.scheme = buildScheme(self.node, "superpeer", super=True)
        link = provenLink(self.node, self.leaf_key, purpose=LEAF)
        feed(link, LeafRegister(1, "leaf.example", 9011, {"apple": 2}, {
            "apple": records.signed(self.leaf_key, "apple", "leaf.example", 9011)}))
        [self.request] = self.node.connector.requests
        self.request.link.makeConnection(StringTransport())
        self.request.deferred.callback(self.request.link)
        [self.whoareyou] = sent(self.request.link)
        self.index = self.scheme.side.index

    def test_idAloneFails(self):
        feed(self.request.link, wire.ThisIsMe(self.leaf_key.id, 9011))
        self.assertNotIn(self.leaf_key.id, self.index)

    def answer(self, identity, proof):
        """The node at the address answers as identity, with the proof
        that proof(its check handshake, the whoareyou) makes."""
        handshake = Handshake(identity, CHECK)
        feed(self.request.link, wire.ThisIsMe(
            identity.id, 9011, key=identity.key, nonce=handshake.nonce,
            sig=proof(handshake, self.whoareyou)))

    def test_provenPasses(self):
        self.assertEqual(self.whoareyou.key, self.me.key)
        self.answer(self.leaf_key, lambda h, ask: h.prove(ask.key, ask.nonce))
        self.assertTrue(self.index.listed(self.leaf_key.id))

    def assertRefused(self, proof):
        self.answer(self.leaf_key, proof)
        self.assertNotIn(self.leaf_key.id, self.index)

    def test_proofForAnotherCheckerFails(self):
        stranger = Identity.fromRandom(random.Random(3))
        self.assertRefused(lambda h, ask: h.prove(stranger.key, ask.nonce))

    def test_proofForAnotherCheckFails(self):
        self.assertRefused(lambda h, ask: h.prove(ask.key, "an old nonce"))

    def test_linkProofFails(self):
        self.assertRefused(lambda h, ask: Handshake(self.leaf_key, LINK, LEAF).prove(
            ask.key, ask.nonce))


class CostlyRegistersTests(SynchronousTestCase):
    """
    What a leaf's registers and updates cost the super-peer, each a
    message of a few hundred bytes: a signature check for each record it
    does not hold already, and a dial for each address check.  Both are
    rated per address group (``superpeer.records``, ``superpeer.checks``);
    past either the message is refused ``busy`` and the link closed (the
    leaf seeks a super-peer again after its wait), and another group is
    not held back (docs/reliability.md, "The fourteenth round").
    """

    def setUp(self):
        self.node, self.scheme = superPeer()
        self.index = self.scheme.side.index
        self.checks = countedCalls(self, recordsModule, "verify")
        recordsModule.verified.cache_clear()
        self.addCleanup(recordsModule.verified.cache_clear)

    def fresh(self, link, items, seq):
        """Update ``seq`` naming items, each with a record signed anew
        (``seq`` ms after the clocks' start)."""
        who = KEYS[link.peer_id]
        issued = clockStartMs() + seq
        return LeafUpdate(seq, {item: 1 for item in items},
                          {item: records.signed(who, item, "", 0, issued=issued)
                           for item in items})

    def test_newRecordsOfOneGroupAreRated(self):
        """
        A leaf sending update after update, each with 64 records signed
        anew (drawn from a pool larger than the memo of records checked),
        has 2,560 checked where nothing bounded it; now its address group
        gets 512 a second (bursts of 1,024, one message past them), then
        ``busy`` and the link closed; a leaf of another group is served.
        """
        link = linkPeer(self.node, L11, purpose=LEAF)
        items = [f"item{n}" for n in range(64)]
        feed(link, LeafRegister(1, "", 0, {}))
        updates = [self.fresh(link, items, seq) for seq in range(2, 42)]
        del self.checks[:]
        for message in updates:
            feed(link, message)
        answers = sent(link)
        self.assertLessEqual(len(self.checks), 1024 + 64)
        self.assertEqual((type(answers[-1]), answers[-1].code), (wire.Error, "busy"))
        self.assertIn("new records", answers[-1].info)
        self.assertTrue(link.closing)
        other = linkPeer(self.node, L12, purpose=LEAF, source="10.1.0.9")
        feed(other, LeafRegister(1, "", 0, {}))
        feed(other, self.fresh(other, items, 2))
        self.assertEqual(sent(other), [LeafAck(1, 0), LeafAck(2, 64)])

    def test_recordsHeldAreNotCheckedAgain(self):
        """An update repeating the records the leaf's entries hold (a sale
        changes units, not records) checks no signature, however often,
        even once the memo of records checked forgot them."""
        link = linkPeer(self.node, L11, purpose=LEAF)
        update = self.fresh(link, ["apple", "pear"], 1)
        feed(link, LeafRegister(1, "", 0, update.items, update.records))
        del self.checks[:]
        for seq in range(2, 1002):
            recordsModule.verified.cache_clear()
            feed(link, LeafUpdate(seq, {"apple": seq}, {"apple": update.records["apple"]}))
        self.assertEqual(len(self.checks), 0)
        self.assertEqual(sent(link)[-1], LeafAck(1001, 2))

    def test_addressChecksOfOneGroupAreRated(self):
        """
        A leaf registering at another port each time has the super-peer
        dial each (a register cancels the check in flight and starts
        another): 100 registers, 100 dials of a host the leaf chose.  Now
        its address group has 16 checks a second started (bursts of 32),
        then ``busy`` and the link closed; another group's leaf is checked.
        """
        link = linkPeer(self.node, L11, purpose=LEAF)
        for seq in range(1, 101):
            feed(link, register(link, seq, "leaf.example", 9011 + seq % 2, {"apple": 1}))
            if link.closing:
                break
        self.assertLessEqual(len(self.node.connector.requests), 32)
        error = sent(link)[-1]
        self.assertEqual((type(error), error.code), (wire.Error, "busy"))
        self.assertIn("address checks", error.info)
        closeLink(link)
        other = linkPeer(self.node, L12, purpose=LEAF, source="10.1.0.9")
        feed(other, register(other, 1, "other.example", 9011, {"apple": 1}))
        self.assertEqual(sent(other), [LeafAck(1, 1)])
        self.assertEqual(answerChecks(self.node), [L12])

    def test_aGroupsRatesRefill(self):
        """The rates are a second's: past them, the same group is served
        again a few seconds on."""
        link = linkPeer(self.node, L11, purpose=LEAF)
        for seq in range(1, 101):
            feed(link, register(link, seq, "leaf.example", 9011 + seq % 2, {"apple": 1}))
            if link.closing:
                break
        self.node.clock.advance(2)
        again = linkPeer(self.node, L13, purpose=LEAF)
        feed(again, register(again, 1, "leaf.example", 9013, {"apple": 1}))
        self.assertEqual(sent(again), [LeafAck(1, 1)])
