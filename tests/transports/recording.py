"""
A transport of one kind for tests of who dials what (L{Recording}):
it records each dial and connects at once.
"""

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar.transports.interface import ITransport


@implementer(ITransport)
class Recording:
    """A transport of one kind that records its dials; each connects at
    once, or fails at once with L{refusing} when set."""

    def __init__(self, kind):
        self.kind = kind
        self.dials = []
        #: The protocol each dial built, in order.
        self.built = []
        #: An exception each dial fails with from now on (nothing
        #: built), or None: each connects.
        self.refusing = None

    def canDial(self, path):
        return path.kind == self.kind and bool(path.host)

    def dial(self, path, expectedKey, protocolFactory, options=None):
        self.dials.append((path, expectedKey, options))
        if self.refusing is not None:
            return defer.fail(self.refusing)
        self.built.append(protocolFactory())
        return defer.succeed(self.built[-1])

    def listen(self, factory):
        return defer.succeed(None)
