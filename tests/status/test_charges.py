"""
Tests for twisted_bazaar.status.charges: whom a node charges the
``state`` questions it answers, over links on fake transports, some as
a relay's circuits.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.admission import RELAYED_GROUPS
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.status import charges
from twisted_bazaar.status import node as status_node
from twisted_bazaar.status.messages import NodeState, State
from twisted_bazaar.identity.operator import operatorProof
from twisted_bazaar.testing import Market
from twisted_bazaar.testing.capabilities import relayed

from tests import records
from tests.helpers import feed, provenLink, sent
from tests.status.helpers import CHANNEL_HASH, onChannel

#: The address of the home node's relay, where each circuit's link comes from.
RELAY = "203.0.113.1"
BURST = int(status_node.STATE_RATE * 2)


class Asking(SynchronousTestCase):
    """A node at home, and links to it through its relay's circuits."""

    def setUp(self):
        self.market = Market(seed=3)
        self.seller = self.market.addNode(seller={"stock": {"apple": 3}})
        self.market.run(5)
        self.node = self.market.services[self.seller].node
        self.ids = iter(range(100, 10_000))

    def circuit(self, dialler, binding=None):
        """A link through the relay, whose dialler the relay says came
        from ``dialler``; over a channel of handshake hash ``binding``."""
        link = provenLink(self.node, records.identity(next(self.ids)), host=RELAY)
        relayed(link.transport, dialler)
        if binding is not None:
            onChannel(link, binding)
        return link

    def answered(self, link, count, question=State()):
        """How many of count questions on link were answered (the last
        answer kept as self.last)."""
        sent(link)
        feed(link, *[question] * count)
        answers = [m for m in sent(link) if type(m) is NodeState]
        self.last = answers[-1] if answers else None
        return len(answers)

    def asOperator(self, link, binding=CHANNEL_HASH):
        return State(operator=operatorProof(self.node.identity, binding))


class ThroughTheRelayTests(Asking):
    """
    Every status client of a node at home comes from its relay's address:
    charged to that group alone, a stranger asking ``state`` at 180 a
    second through the relay left every other asker unanswered.  Each is
    now charged to the group the relay names for its dialler, within
    RELAYED_GROUPS groups' rate for the relay's whole group.
    """

    def test_aStrangerThroughTheRelayLeavesAnotherDiallerAnswered(self):
        flooder = self.circuit("198.51.100.7")
        self.assertEqual(self.answered(flooder, 180), BURST)
        other = self.circuit("192.0.2.9")
        self.assertEqual(self.answered(other, 5), 5)

    def test_theRelaysWordWidensNothing(self):
        """A relay naming ten dialler groups in turn has them answered
        what RELAYED_GROUPS groups are; a link from another address, as
        before."""
        link = self.circuit("198.0.100.7")
        answered = 0
        for n in range(10):
            link.transport.relayedFrom = f"198.{n}.100.7"
            answered += self.answered(link, BURST)
        self.assertEqual(answered, RELAYED_GROUPS * BURST)
        direct = provenLink(self.node, records.identity(9), host="10.1.0.1")
        self.assertEqual(self.answered(direct, 3), 3)


class OperatorReserveTests(Asking):
    """The operator's questions have a reserve of their own: a stranger
    who spent its group's, from the operator's own dialler group through
    the relay, or directly from its address, leaves the operator answered."""

    def test_theOperatorThroughTheRelayIsAnsweredThroughAFlood(self):
        flooder = self.circuit("198.51.100.7")
        self.answered(flooder, 180)
        operator = self.circuit("198.51.100.8", CHANNEL_HASH)
        question = self.asOperator(operator)
        self.assertEqual(self.answered(operator, 5, question), 5)
        self.assertFalse(self.last.public)

    def test_theOperatorsOwnGroupFloodedDirectly(self):
        flooder = provenLink(self.node, records.identity(8), host="10.9.0.1")
        self.answered(flooder, 180)
        operator = onChannel(provenLink(self.node, records.identity(9), purpose=STATUS,
                                        host="10.9.0.2"))
        self.assertEqual(self.answered(operator, 5, self.asOperator(operator)), 5)

    def test_theReserveIsBounded(self):
        operator = self.circuit("198.51.100.8", CHANNEL_HASH)
        question = self.asOperator(operator)
        self.assertEqual(self.answered(operator, 100, question),
                         int(status_node.OPERATOR_RATE * 2))
        self.market.clock.advance(1.0)
        self.assertEqual(self.answered(operator, 100, question),
                         int(status_node.OPERATOR_RATE))

    def test_aStrangersWrongProofSpendsNoReserve(self):
        stranger = self.circuit("198.51.100.7", CHANNEL_HASH)
        wrong = State(operator=operatorProof(records.identity(5), CHANNEL_HASH))
        self.assertEqual(self.answered(stranger, 180, wrong), BURST)
        self.assertTrue(self.last.public)


class ProofsTests(Asking):
    """A proof is checked once a connection: a stranger sending a wrong
    one with each question costs one check, not one a question."""

    def setUp(self):
        super().setUp()
        self.checks = []
        real = charges.provesOperator

        def counted(*args):
            self.checks.append(args)
            return real(*args)
        self.patch(charges, "provesOperator", counted)

    def test_aWrongProofIsCheckedOnceAConnection(self):
        stranger = self.circuit("198.51.100.7", CHANNEL_HASH)
        wrong = State(operator=operatorProof(records.identity(5), CHANNEL_HASH))
        self.answered(stranger, 50, wrong)
        self.assertEqual(len(self.checks), 1)

    def test_anotherProofAfterTheFirstIsNone(self):
        """The first proof on a connection decides: the right one after a
        wrong one proves nothing, and costs no check."""
        link = self.circuit("198.51.100.7", CHANNEL_HASH)
        self.answered(link, 1, State(operator=operatorProof(records.identity(5),
                                                            CHANNEL_HASH)))
        self.answered(link, 1, self.asOperator(link))
        self.assertTrue(self.last.public)
        self.assertEqual(len(self.checks), 1)

    def test_theRightProofAgainIsTaken(self):
        link = self.circuit("198.51.100.7", CHANNEL_HASH)
        self.assertEqual(self.answered(link, 3, self.asOperator(link)), 3)
        self.assertFalse(self.last.public)
        self.assertEqual(len(self.checks), 1)
        other = self.circuit("198.51.100.7", bytes(32))
        self.answered(other, 1, self.asOperator(other, bytes(32)))
        self.assertFalse(self.last.public)
        self.assertEqual(len(self.checks), 2)
