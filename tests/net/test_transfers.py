"""
A node's file transfers served on another port (L{NodeTransfers}): the
node's transfer factory's protocols once it has one, none before.
"""

from types import SimpleNamespace

from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.transfers import NodeTransfers


class NodeTransfersTests(SynchronousTestCase):

    def test_noneBeforeTheNodeServesTransfers(self):
        self.assertIsNone(NodeTransfers(SimpleNamespace(transferFactory=None))
                          .buildProtocol(None))

    def test_theNodesTransferProtocolOnceItServes(self):
        node = SimpleNamespace(transferFactory=None)
        transfers = NodeTransfers(node)
        node.transferFactory = Factory.forProtocol(Protocol)
        self.assertIsInstance(transfers.buildProtocol(None), Protocol)
