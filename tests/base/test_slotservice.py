"""
Tests for L{twisted_bazaar.base.slotservice}: a service in slots does
what Twisted's C{Service} does in a C{MultiService}, and holds no dict.
"""

from twisted.application.service import IService, MultiService
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_bazaar.base.slotservice import SlotService


class _Part(SlotService):
    __slots__ = ("started",)
    name = "part"

    def __init__(self):
        SlotService.__init__(self)
        self.started = 0

    def startService(self):
        SlotService.startService(self)
        self.started += 1


class SlotServiceTests(SynchronousTestCase):
    def test_isAService(self):
        part = _Part()
        verifyObject(IService, part)
        self.assertFalse(hasattr(part, "__dict__"))
        self.assertEqual((part.parent, part.running, part.name), (None, 0, "part"))

    def test_inAMultiService(self):
        """Started, stopped and let go of by its parent, as a Service is;
        named by its class's name."""
        parent = MultiService()
        part = _Part()
        part.setServiceParent(parent)
        self.assertIs(part.parent, parent)
        self.assertIs(parent.getServiceNamed("part"), part)
        parent.startService()
        self.assertEqual((part.running, part.started), (1, 1))
        self.successResultOf(parent.stopService())
        self.assertEqual(part.running, 0)
        part.disownServiceParent()
        self.assertIsNone(part.parent)
        self.assertEqual(list(parent), [])

    def test_startedWithARunningParent(self):
        parent = MultiService()
        parent.startService()
        part = _Part()
        part.setServiceParent(parent)
        self.assertEqual((part.running, part.started), (1, 1))

    def test_anotherParent(self):
        """Given another parent, it leaves the first."""
        first, second = MultiService(), MultiService()
        part = _Part()
        part.setServiceParent(first)
        part.setServiceParent(second)
        self.assertEqual((list(first), list(second)), ([], [part]))

    def test_nameIsTheClasss(self):
        with self.assertRaises(TypeError) as raised:
            _Part().setName("other")
        self.assertEqual(str(raised.exception),
                         "a _Part's name is its class's ('part'), not 'other'")
