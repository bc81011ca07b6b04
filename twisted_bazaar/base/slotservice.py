"""
A Twisted service whose fields are slots (L{SlotService}).

A C{twisted.application.service.Service} keeps its fields in a dict: a
simulated node holds several (its tracker session, its discovery, its
reservations), and a dict of a part's fields takes 30 to 40 bytes more
than its slots, in each of a million nodes.
"""

from twisted.application.service import IService, IServiceCollection
from zope.interface import implementer


@implementer(IService)
class SlotService:
    """
    C{Service}'s book-keeping (its parent, whether it runs) in two slots,
    with the same methods.  A subclass lists its own fields in
    C{__slots__} and calls L{SlotService.__init__}; any base it mixes in
    has empty slots.  Its name is its class's (C{name}: None unless the
    subclass names itself), so that no node holds one.
    """

    __slots__ = ("parent", "running")

    name = None

    def __init__(self):
        self.parent = None
        self.running = 0

    def setName(self, name):
        """A part's name is its class's: naming one instance is refused,
        where a C{Service} would keep it."""
        raise TypeError(f"a {type(self).__name__}'s name is its class's "
                        f"({self.name!r}), not {name!r}")

    def setServiceParent(self, parent):
        if self.parent is not None:
            self.disownServiceParent()
        parent = IServiceCollection(parent, parent)
        self.parent = parent
        parent.addService(self)

    def disownServiceParent(self):
        d = self.parent.removeService(self)
        self.parent = None
        return d

    def privilegedStartService(self):
        pass

    def startService(self):
        self.running = 1

    def stopService(self):
        self.running = 0
