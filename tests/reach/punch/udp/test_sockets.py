"""
Tests for L{twisted_bazaar.reach.punch.udp.sockets}: the sockets a node's punches
hold beyond its own, a declared pool with one punch's share to an
address group, and the process's last descriptors kept.
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.reach.punch.udp.sockets import ONE_PUNCH, SOCKETS_LIMIT, PunchSockets


class PunchSocketsTests(SynchronousTestCase):
    def setUp(self):
        self.sockets = PunchSockets(descriptors=lambda: (10, 1024))

    def test_declared(self):
        """Two punches' sockets in all, one's to a group."""
        self.assertIs(LIMITS.get("punch.udp-sockets"), SOCKETS_LIMIT)
        self.assertEqual((SOCKETS_LIMIT.default, SOCKETS_LIMIT.group),
                         (2 * ONE_PUNCH, ONE_PUNCH))

    def test_oneGroupOnePunch(self):
        """A group holding one punch's sockets gets no more; another
        group does, and a third none while the two hold theirs."""
        self.assertIsNone(self.sockets.whyNot("first", "g1", ONE_PUNCH))
        self.sockets.hold("first", "g1", ONE_PUNCH)
        self.assertIsNotNone(self.sockets.whyNot("again", "g1", ONE_PUNCH))
        self.assertIsNone(self.sockets.whyNot("second", "g2", ONE_PUNCH))
        self.sockets.hold("second", "g2", ONE_PUNCH)
        why = self.sockets.whyNot("third", "g3", ONE_PUNCH)
        self.assertIn(f"this node's punches hold {2 * ONE_PUNCH} UDP sockets", why)
        self.sockets.release("first")
        self.assertIsNone(self.sockets.whyNot("third", "g3", ONE_PUNCH))

    def test_descriptorsReserved(self):
        """No socket within the reserve of the process's limit; none
        asked for, nothing to refuse."""
        self.sockets.descriptors = lambda: (1024 - 64 - 10, 1024)
        self.assertIsNone(self.sockets.whyNot("run", "g1", 10))
        self.assertIsNotNone(self.sockets.whyNot("run", "g1", 11))
        self.sockets.descriptors = lambda: (1024, 1024)
        self.assertIsNone(self.sockets.whyNot("run", "g1", 0))

    def test_noLimitKnown(self):
        """No limit known (no /proc): only the pool bounds them."""
        self.sockets.descriptors = lambda: None
        self.assertIsNone(self.sockets.whyNot("run", "g1", ONE_PUNCH))
