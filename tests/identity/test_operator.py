"""
Tests for twisted_bazaar.identity.operator: the operator's proof holds for
the node's own key and the connection it was made for, and nothing else.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.operator import operatorProof, provesOperator

from tests import records

NODE = records.identity(71)
OTHER = records.identity(72)
HASH = b"\x05" * 32


class OperatorProofTests(SynchronousTestCase):
    def test_theNodesKeyOnThisConnection(self):
        self.assertTrue(provesOperator(NODE.key, HASH, operatorProof(NODE, HASH)))

    def test_anotherConnection(self):
        self.assertFalse(provesOperator(NODE.key, b"\x06" * 32, operatorProof(NODE, HASH)))

    def test_anotherKey(self):
        self.assertFalse(provesOperator(NODE.key, HASH, operatorProof(OTHER, HASH)))

    def test_nothingToCheck(self):
        """No proof, no key of the node's own, or no channel: no operator."""
        proof = operatorProof(NODE, HASH)
        self.assertFalse(provesOperator(NODE.key, HASH, None))
        self.assertFalse(provesOperator(None, HASH, proof))
        self.assertFalse(provesOperator(NODE.key, None, proof))

    def test_notAnotherSignatureOfTheHash(self):
        """The proof signs its own context: the node's signature of the
        bare hash (made for anything else) proves nothing."""
        self.assertFalse(provesOperator(NODE.key, HASH, NODE.sign(HASH)))
