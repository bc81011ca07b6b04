"""
A node's file transfers as a factory another port serves
(L{NodeTransfers}): a QUIC socket's files service, the files resource
of a transport plugin's port, beside the node's own transfer port.
"""

from twisted.internet.protocol import Factory

__all__ = ["NodeTransfers"]


class NodeTransfers(Factory):
    """The node's transfer port's protocols, once it serves one (a
    seller's: L{twisted_bazaar.files.server}); none before, and a
    connection for one is refused."""

    noisy = False

    def __init__(self, node):
        self.node = node

    def buildProtocol(self, addr):
        factory = self.node.transferFactory
        return None if factory is None else factory.buildProtocol(addr)
