"""
Tests for L{twisted_bazaar.net.handlers}: one node's handlers, and the
tables nodes with the same parts share.
"""

from twisted.logger import LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.handlers import Handlers
from twisted_bazaar.wire import Dc, Ping


class Part:
    """A node's part that takes two message types and notes what came."""

    def __init__(self):
        self.seen = []

    def pinged(self, link, message):
        self.seen.append(("ping", link, message))

    def left(self, link, message):
        self.seen.append(("dc", link, message))


def registered(part):
    handlers = Handlers()
    handlers.add(Ping, part.pinged)
    handlers.add(Dc, part.left)
    return handlers


def test_eachNodesOwnPartIsCalled():
    first, second = Part(), Part()
    ones, twos = registered(first), registered(second)
    assert ones.dispatch(Ping, "link-1", "m1")
    assert twos.dispatch(Dc, "link-2", "m2")
    assert first.seen == [("ping", "link-1", "m1")]
    assert second.seen == [("dc", "link-2", "m2")]


def test_theSameRegistrationsShareATable():
    ones, twos = registered(Part()), registered(Part())
    assert ones.table is twos.table
    assert ones.parts != twos.parts


def test_aTypeWithoutAHandler():
    handlers = Handlers()
    handlers.add(Ping, Part().pinged)
    assert not handlers.dispatch(Dc, "link", "message")
    assert Dc not in handlers
    assert Ping in handlers


def test_aSecondHandlerIsRefused():
    handlers = registered(Part())
    try:
        handlers.add(Ping, Part().pinged)
    except ValueError as e:
        assert "ping has a handler already" in str(e)
    else:
        raise AssertionError("a second handler for ping was taken")


def test_replacingChangesOneNodeOnly():
    first, second = Part(), Part()
    ones, twos = registered(first), registered(second)
    taken = []
    ones.add(Ping, lambda link, message: taken.append(message), replace=True)
    ones.dispatch(Ping, "link", "m1")
    twos.dispatch(Ping, "link", "m2")
    assert taken == ["m1"]
    assert first.seen == []
    assert second.seen == [("ping", "link", "m2")]
    assert registered(Part()).table is twos.table


def test_aClosureIsCalledAsItIs():
    seen = []
    handlers = Handlers()
    handlers.add(Ping, lambda link, message: seen.append((link, message)))
    assert handlers.dispatch(Ping, "link", "m")
    assert seen == [("link", "m")]


def test_onePartHeldOnce():
    handlers = registered(Part())
    assert len(handlers.parts) == 1


class TablePart(Part):
    """A part that declares what it takes in its class (L{Handlers.addPart})."""

    takes = {Ping: Part.pinged, Dc: Part.left}


def test_aPartsTableIsAddedWhole():
    part, handlers = TablePart(), Handlers()
    handlers.addPart(part)
    assert handlers.dispatch(Ping, "link", "m1")
    assert handlers.dispatch(Dc, "link", "m2")
    assert part.seen == [("ping", "link", "m1"), ("dc", "link", "m2")]
    assert handlers.parts == (part,)


def test_nodesOfTheSamePartsShareOneTable():
    """The class's table, added by every node, is one table for all."""
    ones, twos = Handlers(), Handlers()
    ones.addPart(TablePart())
    twos.addPart(TablePart())
    assert ones.table is twos.table


def test_aPartClashingWithAHandlerAddsNothing():
    handlers = Handlers()
    handlers.add(Dc, Part().left)
    try:
        handlers.addPart(TablePart())
    except ValueError as e:
        assert "dc has a handler already" in str(e)
    else:
        raise AssertionError("added a part whose type has a handler")
    assert Ping not in handlers


class Raising:
    """A plugin's part whose handler raises."""

    def pinged(self, link, message):
        raise ValueError("a bug in pinged")


class PeerLink:
    """A link that notes the lines its peer caused."""

    def __init__(self):
        self.lines = []

    def peerLine(self, level, format, logger=None, latest=False, **fields):
        self.lines.append((level, formatEvent(dict(fields, log_format=format,
                                                   peer="node 00000009"))))


class RaisingHandlerTests(SynchronousTestCase):
    def test_aHandlerThatRaisesIsSaidInOneLine(self):
        """A handler that raises is the handler's fault, said in one line
        through the link's peer log (bounded like every line a peer
        causes), naming the handler and its file; the exception goes no
        further.  Before, it went up through the link and the transport,
        which logged an unhandled error and closed the connection, as if
        its peer had sent something wrong."""
        handlers = Handlers()
        handlers.add(Ping, Raising().pinged)
        link = PeerLink()
        self.assertTrue(handlers.dispatch(Ping, link, Ping(1)))
        [(level, line)] = link.lines
        self.assertEqual(level, LogLevel.error)
        self.assertEqual(
            line, f"Raising.pinged ({__file__}) raised on a ping from node 00000009: "
            "ValueError: a bug in pinged; the message is dropped, the link kept "
            "(-v logs its traceback)")
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
