"""
Tests for twisted_bazaar.status.node: ``state`` answered with
``nodestate``, spoken to over links on fake transports.
"""

import json

from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.core.node import OVERLAY
from twisted_bazaar.reach.reachable.reachability import PRIVATE, PUBLIC, Reachability
from twisted_bazaar.net.capabilities import IRelayedTransport
from twisted_bazaar.transports.relay.limits import NODE_LIMITS, RelayLimits
from twisted_bazaar.transports.relay.relay import Relay
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.status import node as status_node
from twisted_bazaar.status.messages import NodeState, State
from twisted_bazaar.identity.operator import operatorProof
from twisted_bazaar.testing import Market
from twisted_bazaar.testing.capabilities import overQuic

from tests import records
from tests.helpers import feed, provenLink, sent
from tests.status.helpers import CHANNEL_HASH, askAsOperator, onChannel


class StateRateTests(SynchronousTestCase):
    """
    A node answered ``state`` at each link's search rate (200 a second),
    and a state cut to a frame can cost it milliseconds to build and
    encode (a seller of a thousand long names): a stranger's few links
    asking could take the node's time.  The questions of one address
    group's links together now have a rate of their own; another group's
    are answered as before.
    """

    def setUp(self):
        self.market = Market(seed=3)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3}})
        self.market.run(5)
        self.node = self.market.services[self.seller].node

    def answered(self, link, count):
        feed(link, *[State()] * count)
        return len([m for m in sent(link) if type(m) is NodeState])

    def test_oneGroupsLinksShareOneRate(self):
        burst = 20  # STATE_RATE, 10 a second, bursts of twice that
        self.assertEqual(status_node.STATE_RATE * 2, burst)
        askers = [provenLink(self.node, records.identity(100 + n),
                             purpose=STATUS if n < 1 else None, host=f"10.9.0.{n + 1}")
                  for n in range(3)]
        answered = sum(self.answered(link, burst) for link in askers)
        self.assertEqual(answered, burst)
        other = provenLink(self.node, records.identity(200), purpose=STATUS,
                           host="10.1.0.1")
        self.assertEqual(self.answered(other, 3), 3)

    def test_pastTheRateIsAnsweredBusy(self):
        """A state over the rate was dropped unsaid; it is now answered
        busy, with the milliseconds until a state would be answered (a
        tenth of a second at 10 a second), and is, then."""
        link = provenLink(self.node, records.identity(100), purpose=STATUS,
                          host="10.9.0.1")
        self.assertEqual(self.answered(link, 20), 20)
        feed(link, State())
        [answer] = sent(link)
        self.assertEqual((answer.code, answer.retry_after), ("busy", 100))
        self.assertLess(len(wire.encode(answer)), 128, "no frame for a state")
        self.market.clock.advance(0.1)
        self.assertEqual(self.answered(link, 1), 1)


class StateBytesTests(SynchronousTestCase):
    """
    A ``state`` is a few bytes and its answer up to a frame: a stranger's
    small questions, 10 a second per address group answered before, had a
    node at home send 22 frames in a second, 1.47 MB for 1.6 KB asked.  Now
    each answer is charged its share of a frame to its group, which is
    sent STATE_FRAMES a second, in bursts of twice that; a small state is
    still answered at STATE_RATE.
    """

    def setUp(self):
        stock = {f"{'apple' * 40}-{number:04}": 1 for number in range(1000)}
        self.market = Market(seed=3)
        self.seller = self.market.addNode(seller={"stock": stock})
        self.market.run(5)
        self.node = self.market.services[self.seller].node

    def test_aGroupIsSentAFewFramesASecond(self):
        link = provenLink(self.node, records.identity(100), purpose=STATUS,
                          host="10.9.0.1")
        asked = told = 0
        for _ in range(10):
            for _ in range(10):
                feed(link, State())
                asked += len(wire.encode(State()))
            told += sum(len(wire.encode(m)) for m in sent(link) if type(m) is NodeState)
            self.market.clock.advance(0.1)
        self.assertGreater(told, 60_000)
        self.assertLessEqual(told, 3 * status_node.STATE_FRAMES * 65536)
        self.assertLessEqual(told / asked, 250)
        other = provenLink(self.node, records.identity(200), purpose=STATUS,
                           host="10.1.0.1")
        feed(other, State())
        self.assertEqual([type(m) for m in sent(other)], [NodeState])

    def test_framesSpentAreAnsweredBusy(self):
        """A state whose frames are spent is answered busy, with the wait
        until its group may be sent a frame again, never dropped unsaid."""
        link = provenLink(self.node, records.identity(100), purpose=STATUS,
                          host="10.9.0.1")
        answers = []
        for _ in range(6):
            feed(link, State())
            answers += sent(link)
        busy = [m for m in answers if type(m) is wire.Error]
        self.assertEqual(len(answers), 6)
        self.assertTrue(busy)
        self.assertEqual({m.code for m in busy}, {"busy"})
        self.assertTrue(all(0 < m.retry_after <= 500 for m in busy), busy)
        self.market.clock.advance(busy[-1].retry_after / 1000)
        feed(link, State())
        self.assertEqual([type(m) for m in sent(link)], [NodeState])


class StrangerTests(SynchronousTestCase):
    """
    A keyless stranger asked the tracker ``members``, then every node
    ``state``, and learned a buyer's bag, its buys and their sellers (its
    direct links, its recent messages) and a file's copies sold.  A node
    now tells its whole state only to its operator, who proves the node's
    own key for the connection; anyone else gets its public facts.
    """

    def setUp(self):
        self.market = Market(seed=4)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3}})
        self.buyer = self.market.addNode(buyer={"wants": ["apple"], "quantity": 2})
        self.market.run(20)
        self.node = self.market.services[self.buyer].node
        whole = self.market.services[self.buyer].status.state()
        # The buyer bought, and holds a link to its seller.
        self.assertEqual(whole.bag, {"apple": 2})
        self.assertIn(self.seller.id, [link[0] for link in whole.links])

    def statusLink(self):
        return onChannel(provenLink(self.node, records.identity(300), purpose=STATUS,
                                    host="10.7.0.1"))

    def assertPublic(self, answer):
        self.assertIsInstance(answer, NodeState)
        self.assertTrue(answer.public)
        self.assertEqual((answer.bag, answer.pending, answer.recent, answer.downloads,
                          answer.limits, answer.trades, answer.roles),
                         (None, None, (), (), (), (), None))
        self.assertEqual({link[3] for link in answer.links} - {OVERLAY}, set())
        encoded = wire.encode(answer)
        for withheld in (b'"bag"', b'"pending"', b'"recent"', b'"downloads"', b"buy",
                         b'"limits"', b'"trades"', b'"roles"'):
            self.assertNotIn(withheld, encoded)

    def test_strangerGetsPublicFacts(self):
        link = self.statusLink()
        feed(link, State())
        answer = sent(link)[-1]
        self.assertPublic(answer)
        self.assertEqual((answer.id, answer.host, answer.port, answer.scheme),
                         (self.buyer.id, self.buyer.host, self.buyer.port, "flood"))

    def test_operatorGetsTheWholeState(self):
        answer = askAsOperator(self.node, self.statusLink())
        self.assertFalse(answer.public)
        self.assertEqual(answer.bag, {"apple": 2})
        self.assertIn(("out", self.seller.id, "buy"),
                      {entry[1:] for entry in answer.recent})
        self.assertEqual(answer, self.market.services[self.buyer].status.state())

    def test_tradesWithTheirPaths(self):
        """Each side tells its operator its trades, with the path the buy
        took (buyer first): here straight from buyer to seller."""
        answer = askAsOperator(self.node, self.statusLink())
        route = (self.buyer.id, self.seller.id)
        self.assertEqual([(item, units, path) for _, _, item, units, path in answer.trades],
                         [("apple", 2, route)])
        sold = self.market.services[self.seller].status.state().trades
        self.assertEqual([(row[1:], row[0] >= 0) for row in sold],
                         [(answer.trades[0][1:], True)])
        self.assertEqual(wire.decode(wire.encode(answer)), answer)

    def test_anotherKeysProof(self):
        """A proof by any key but the node's own is a stranger's."""
        self.assertPublic(askAsOperator(self.node, self.statusLink(),
                                        identity=records.identity(301)))

    def test_proofForAnotherConnection(self):
        """The operator's proof for one connection, passed on by whoever
        stands between (a proxy with a channel of its own), proves nothing
        on another."""
        link = self.statusLink()
        self.assertPublic(askAsOperator(self.node, link, binding=b"\x01" * 32))

    def test_noChannelNoOperator(self):
        """A connection without the encrypted channel binds no proof: its
        asker is a stranger."""
        link = provenLink(self.node, records.identity(302), purpose=STATUS)
        proof = operatorProof(self.node.identity, CHANNEL_HASH)
        feed(link, State(operator=proof))
        self.assertPublic(sent(link)[-1])

    def test_filesSoldWithheld(self):
        """A file's copies sold are the operator's; its name, size and
        content id are offered to anyone."""
        service = self.market.services[self.buyer]
        shared = ("song.ogg", 5, "ab" * 32, 3)
        role = self.node.roles[0]
        self.patch(role, "sharedFiles", lambda: [shared])
        self.assertEqual(service.status.state().files, (shared,))
        link = self.statusLink()
        feed(link, State())
        answer = sent(link)[-1]
        self.assertEqual(answer.files, (shared[:3] + (None,),))
        self.assertNotIn(b'"sold"', wire.encode(answer))
        self.assertEqual(wire.decode(wire.encode(answer)), answer)


class RolesTests(SynchronousTestCase):
    """
    The web view coloured a node by what it held: a buyer that had not
    bought yet (its bag empty) was grey, as a node without a role.  A
    node now tells its operator its roles' names (``roles``); a stranger
    is not told them, as it is not told the bag.
    """

    def setUp(self):
        self.market = Market(seed=5)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3}})
        # It wants what nobody sells: it never buys.
        self.buyer = self.market.addNode(buyer={"wants": ["pear"]})
        self.idle = self.market.addNode()
        self.market.run(10)

    def ask(self, node, operator=True):
        link = onChannel(provenLink(node, records.identity(310), purpose=STATUS,
                                    host="10.7.0.1"))
        if operator:
            return askAsOperator(node, link)
        feed(link, State())
        return sent(link)[-1]

    def test_operatorToldTheRoles(self):
        """A buyer that has bought nothing is told a buyer, a seller a
        seller, a node without a role none; on the wire as a list."""
        answers = {node: self.ask(node) for node in (self.buyer, self.seller, self.idle)}
        self.assertEqual(answers[self.buyer].bag, {})
        self.assertEqual({node: answer.roles for node, answer in answers.items()},
                         {self.buyer: ("buyer",), self.seller: ("seller",), self.idle: ()})
        encoded = json.loads(wire.encode(answers[self.buyer]))
        self.assertEqual(encoded["roles"], ["buyer"])
        self.assertEqual(json.loads(wire.encode(answers[self.idle]))["roles"], [])
        self.assertEqual(wire.decode(wire.encode(answers[self.buyer])), answers[self.buyer])

    def test_strangerNotTold(self):
        answer = self.ask(self.buyer, operator=False)
        self.assertTrue(answer.public)
        self.assertIsNone(answer.roles)
        self.assertNotIn(b'"roles"', wire.encode(answer))

    def test_anOlderNodesAnswer(self):
        """An operator's answer without roles (a node of before) decodes,
        roles None; roles that are no list of names are refused, saying
        so."""
        old = {"type": "nodestate", "id": "1", "host": "h", "port": 1, "scheme": "flood",
               "links": [], "stock": {}, "bag": {}, "pending": 0}
        self.assertIsNone(wire.decode(json.dumps(old).encode()).roles)
        for roles, why in (("buyer", "nodestate.roles must be a list of at most 16 names"),
                           (["x"] * 17, "nodestate.roles must be a list of at most 16 names"),
                           ([""], "nodestate.roles[] must be 1 to 32 bytes, not 0")):
            with self.assertRaises(wire.ProtocolError) as caught:
                wire.decode(json.dumps(dict(old, roles=roles)).encode())
            self.assertEqual(str(caught.exception), why)


class RestoredBagTests(SynchronousTestCase):
    """
    A buyer's data dir started again as a seller (``--role seller``, no
    buyer role) restored its bag, ``bag: 2 (apple x2)`` in its start's
    line and in ``bazaar-ledger``, while ``bazaar node --data-dir`` told
    its operator ``bag: -``: the bag came from the buyer role alone.  The
    bag is the node's store's, whatever roles it runs now.
    """

    def test_aBagKeptWithoutTheBuyerRole(self):
        from twisted_bazaar.store import MemoryStore, Purchase

        store = MemoryStore()
        store.commitPurchase(Purchase(1, "apple", 5, 0.0, units=2))
        store.commitPurchase(Purchase(2, "fig", 5, 0.0))
        market = Market(seed=6)
        node = market.addNode(store=store, seller={"stock": {"pear": 1}})
        market.run(5)
        state = market.services[node].status.state()
        self.assertEqual((state.bag, state.bag_items), ({"apple": 2, "fig": 1}, 2))


class LimitsTests(SynchronousTestCase):
    """
    The operator sees each pool of the registry of limits against its
    bound (protocol.md §12a): nobody could see what a peer may make the
    node hold, nor how full it was.
    """

    def setUp(self):
        self.market = Market(seed=5)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3}})
        self.market.run(5)
        self.service = self.market.services[self.seller]

    def limits(self):
        return {row[0]: row[1:] for row in self.service.status.state().limits}

    def test_eachPoolAgainstItsBound(self):
        """What the node's process holds: a daemon's one node (the markets
        of a test run's earlier tests are summed in here)."""
        unsent = self.seller.config.link.unsent
        accounts = LIMITS.accounts("link.unsent")
        self.assertIn(unsent, accounts)
        self.assertEqual(self.limits()["link.unsent"],
                         ("bytes", sum(account.used for account in accounts),
                          sum(account.capacity for account in accounts),
                          unsent.group_limit))
        before = self.limits()["link.unsent"][1]
        unsent.hold("a link", "10.1.0.0/16", 1000)
        self.addCleanup(unsent.release, "a link")
        self.assertEqual(self.limits()["link.unsent"][1], before + 1000)
        self.assertEqual(self.limits()["seller.remembered"][0], "closes")
        # The tracker shares the market's process: its pools are there too,
        # those with no bound of their own as None.
        self.assertEqual(self.limits()["tracker.pending"][2], None)

    def test_onTheWire(self):
        """Each as {name, unit, used, limit, group}, null where none."""
        state = self.service.status.state()
        wired = {row["name"]: row for row in json.loads(wire.encode(state))["limits"]}
        pending = wired["tracker.pending"]
        # The market's tracker has no bound of its own: the sum has none.
        self.assertEqual((pending["unit"], pending["limit"]), ("connections", None))
        self.assertIn(pending["group"], (64, None))
        self.assertEqual(sorted(pending), ["group", "limit", "name", "unit", "used"])
        self.assertEqual(wire.decode(wire.encode(state)), state)

    def test_leftOutFirstWhenTooLong(self):
        state = self.service.status.state()
        cut = status_node.fitted(state, len(wire.encode(state)) - 1)
        self.assertEqual((cut.limits, cut.recent, cut.trades), ((), (), ()))
        self.assertEqual(cut.stock, state.stock)


class ReachTests(StrangerTests):
    """
    Whether other nodes can dial a node is a public fact (a stranger who
    reached it can tell that much anyway); where the tracker saw its
    connection come from (behind NAT, its router's public address) is
    its operator's.
    """

    def setUp(self):
        super().setUp()
        self.node.reach = Reachability(PRIVATE, "198.51.100.9", 4100, "198.51.100.9",
                                       40123, "192.168.1.5")

    def test_strangerToldTheReachOnly(self):
        link = self.statusLink()
        feed(link, State())
        answer = sent(link)[-1]
        self.assertEqual((answer.reach, answer.seen_host, answer.seen_port,
                          answer.local_host), (PRIVATE, None, None, None))
        self.assertNotIn(b'"seenHost"', wire.encode(answer))
        self.assertNotIn(b'"localHost"', wire.encode(answer))
        self.assertEqual(wire.decode(wire.encode(answer)), answer)
        public = self.market.services[self.buyer].status.publicState()
        self.assertEqual((public.reach, public.seen_host), (PRIVATE, None))

    def test_operatorToldWhereItWasSeen(self):
        """And where its connection to the tracker leaves from, which
        bazaar node compares with the address seen, as the node's log
        does, to say "behind a firewall?" or "behind NAT?"."""
        answer = askAsOperator(self.node, self.statusLink())
        self.assertEqual((answer.reach, answer.seen_host, answer.seen_port,
                          answer.local_host), (PRIVATE, "198.51.100.9", 40123, "192.168.1.5"))
        self.assertIn(b'"localHost":"192.168.1.5"', wire.encode(answer))
        self.assertEqual(wire.decode(wire.encode(answer)), answer)

    def test_relayIsPublic(self):
        """The relay a node is reached through is told to strangers too
        (it advertises it anyway); a node without one names none."""
        self.assertNotIn(b'"relay"', wire.encode(
            self.market.services[self.buyer].status.publicState()))
        self.node.setRelay("203.0.113.1:7701")
        link = self.statusLink()
        feed(link, State())
        answer = sent(link)[-1]
        self.assertEqual(answer.relay, "203.0.113.1:7701")
        self.assertEqual(wire.decode(wire.encode(answer)), answer)

    def test_toldByTheTracker(self):
        """On the in-memory network the tracker checks each node's address
        too: the seller answered there, and was seen from its own host."""
        other = self.market.services[self.seller].status.state()
        self.assertEqual((other.reach, other.seen_host), (PUBLIC, self.seller.host))

    def test_anOldNodesAnswer(self):
        """An answer without reach (a node of before) decodes, as None."""
        old = {"type": "nodestate", "id": "1", "host": "h", "port": 1, "scheme": "flood",
               "links": [], "stock": {}}
        self.assertIsNone(wire.decode(json.dumps(old).encode()).reach)
        old["reach"] = "sideways"
        with self.assertRaises(wire.ProtocolError) as caught:
            wire.decode(json.dumps(old).encode())
        self.assertEqual(str(caught.exception),
                         "nodestate.reach must be one of public, private, unknown")


class RelayedLinkTests(StrangerTests):
    """
    The web view drew every link with an end at home dashed, as if through
    its relay, though two homes that punched through hold a direct link.
    Each link now says whether it runs through a relay's circuit (a fact
    the node has: its transport is a circuit's); where the relay saw the
    peer come from is not told.
    """

    def test_aCircuitsLinkSaysSo(self):
        overlay = [peer for peer, link in self.node.links.items()
                   if (link.purpose or OVERLAY) == OVERLAY]
        self.assertTrue(overlay, "the buyer has an overlay link")
        circuit = self.node.links[overlay[0]]
        direct = circuit.transport
        circuit.transport = _CircuitTransport(direct, "198.51.100.7")
        self.addCleanup(setattr, circuit, "transport", direct)
        link = self.statusLink()
        feed(link, State())
        answer = sent(link)[-1]
        self.assertPublic(answer)
        flags = {row[0]: row[4] for row in answer.links}
        self.assertEqual(flags.pop(overlay[0]), True)
        self.assertEqual(set(flags.values()) - {False}, set())
        encoded = wire.encode(answer)
        self.assertNotIn(b"198.51.100.7", encoded)
        self.assertEqual(encoded.count(b'"relayed":true'), 1)
        self.assertEqual(wire.decode(encoded), answer)
        whole = askAsOperator(self.node, self.statusLink())
        self.assertIn((overlay[0], True), {(row[0], row[4]) for row in whole.links})

    def test_theFlagOnTheWire(self):
        """Optional, a boolean: left out, a link is direct; anything but a
        boolean is refused, saying which field."""
        def answer(**more):
            return json.dumps({"type": "nodestate", "id": "1", "host": "h", "port": 1,
                               "scheme": "flood", "stock": {}, "links": [
                                   {"id": "2", "host": "h", "port": 2,
                                    "purpose": "overlay", **more}]}).encode()
        self.assertEqual(wire.decode(answer()).links,
                         ((2, "h", 2, "overlay", False, False),))
        self.assertEqual(wire.decode(answer(relayed=True)).links[0][4:], (True, False))
        self.assertEqual(wire.decode(answer(quic=True)).links[0][4:], (False, True))
        for flag in ("relayed", "quic"):
            with self.assertRaises(wire.ProtocolError) as raised:
                wire.decode(answer(**{flag: "yes"}))
            self.assertIn(f"links.{flag}", str(raised.exception))

    def test_aQuicLinkSaysSo(self):
        """A link whose connection runs over QUIC (its transport says so,
        L{IQuicTransport}) is ``quic: true``, to a stranger and to the
        operator; every other link leaves it out."""
        overlay = [peer for peer, link in self.node.links.items()
                   if (link.purpose or OVERLAY) == OVERLAY]
        self.assertTrue(overlay, "the buyer has an overlay link")
        quic = self.node.links[overlay[0]]
        direct = quic.transport
        quic.transport = overQuic(direct)
        self.addCleanup(setattr, quic, "transport", direct)
        link = self.statusLink()
        feed(link, State())
        answer = sent(link)[-1]
        self.assertPublic(answer)
        flags = {row[0]: row[4:] for row in answer.links}
        self.assertEqual(flags.pop(overlay[0]), (False, True))
        self.assertEqual(set(flags.values()) - {(False, False)}, set())
        encoded = wire.encode(answer)
        self.assertEqual(encoded.count(b'"quic":true'), 1)
        self.assertEqual(encoded.count(b'"quic"'), 1)
        self.assertEqual(wire.decode(encoded), answer)
        whole = askAsOperator(self.node, self.statusLink())
        self.assertIn((overlay[0], False, True), {row[:1] + row[4:] for row in whole.links})


@implementer(IRelayedTransport)
class _CircuitTransport:
    """A transport as a relay's circuit's looks: where the relay saw the
    peer come from (``relayedFrom``, declared as a circuit's transport
    declares it), the rest its own."""

    def __init__(self, transport, relayedFrom):
        self._transport = transport
        self.relayedFrom = relayedFrom
        self.relayAt = ""

    def __getattr__(self, name):
        return getattr(self._transport, name)
