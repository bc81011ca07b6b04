"""
What the tests of a L{twisted_bazaar.net.link.Link} and its parts share:
a connected link over a C{StringTransport} on a C{task.Clock}, with a
stub owner that records what the link hands on, and the frames it wrote,
decoded by hand.
"""

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import RecordingOwner
from twisted_bazaar import wire
from twisted_bazaar.net.link import Link, LinkSettings


class CountingTransport(StringTransport):
    """A StringTransport that counts loseConnection calls."""

    closes = 0

    def loseConnection(self):
        self.closes += 1
        super().loseConnection()


def frame(payload):
    """One netstring around C{payload}."""
    return b"%d:%s," % (len(payload), payload)


def sentMessages(transport):
    """Decode every netstring written to C{transport}, checking the framing
    by hand rather than with the code under test."""
    data, messages = transport.value(), []
    while data:
        length, colon, rest = data.partition(b":")
        size = int(length)
        if not colon or rest[size:size + 1] != b",":
            raise AssertionError(f"bad netstring written: {data!r}")
        messages.append(wire.decode(rest[:size]))
        data = rest[size + 1:]
    return messages


class LinkTestCase(SynchronousTestCase):
    """Sets up a connected inbound link; tests tune its settings first."""

    def connect(self, inbound=True, **settings):
        """Connect a fresh link (one the peer opened, unless ``inbound`` is
        False) with the given L{LinkSettings} values."""
        self.clock = Clock()
        self.owner = RecordingOwner()
        self.transport = CountingTransport()
        self.events = []
        self.link = Link(self.owner, self.clock, LinkSettings(**settings), inbound)
        self.patch(Link, "log", Logger(observer=self.events.append))
        self.link.makeConnection(self.transport)
        return self.link

    def receive(self, message):
        """The peer sends one valid message."""
        self.link.dataReceived(frame(wire.encode(message)))

    def sent(self):
        """The messages the link has written so far."""
        return sentMessages(self.transport)
