"""One question to a router over UDP: sent again on a doubling wait, the
first answer taken, a silent or hostile router given up with a reason;
the socket and timers go with it."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.traversal.portmap.fakes import FakeSockets
from twisted_bazaar.traversal.portmap.errors import MappingFailed
from twisted_bazaar.traversal.portmap.exchange import LARGEST_ANSWER, ask

SERVER = ("10.9.0.1", 5351)


def parse(data):
    if data == b"other":
        return None
    if data == b"bad":
        raise MappingFailed("test: a bad answer")
    return data


class ExchangeTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.sockets = FakeSockets()
        self.d = ask(self.clock, self.sockets, SERVER, b"q", parse, "test")
        self.socket = self.sockets.last

    def test_answered(self):
        """Sent to the server; a datagram that answers another question is
        ignored, the answer ends it: no timer, no socket."""
        self.assertEqual(self.socket.sent, [(b"q", SERVER)])
        self.socket.answer(b"other")
        self.assertNoResult(self.d)
        self.socket.answer(b"yes")
        self.assertEqual(self.successResultOf(self.d), b"yes")
        self.assertFalse(self.socket.listening)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_resentThenGivenUp(self):
        """Sent again after 0.25, 0.5, 1 s; given up 2 s after the fourth,
        saying where and how often."""
        for wait in (0.25, 0.5, 1):
            self.clock.advance(wait)
        self.assertEqual(len(self.socket.sent), 4)
        self.clock.advance(1.99)
        self.assertNoResult(self.d)
        self.clock.advance(0.01)
        failure = self.failureResultOf(self.d, MappingFailed)
        self.assertEqual(str(failure.value),
                         "test: no answer from 10.9.0.1:5351 after 4 tries")
        self.assertFalse(self.socket.listening)

    def test_hostileAnswers(self):
        """An answer the parser refuses fails it at once with its reason;
        one larger than any answer is refused unparsed."""
        self.socket.answer(b"bad")
        self.assertEqual(str(self.failureResultOf(self.d, MappingFailed).value),
                         "test: a bad answer")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        d = ask(self.clock, self.sockets, SERVER, b"q", parse, "test")
        self.sockets.last.answer(b"x" * (LARGEST_ANSWER + 1))
        self.assertIn("answered 1101 bytes",
                      str(self.failureResultOf(d, MappingFailed).value))

    def test_refused(self):
        """Port unreachable: nothing listens there."""
        self.socket.protocol.connectionRefused()
        self.assertIn("nothing listens at 10.9.0.1:5351",
                      str(self.failureResultOf(self.d, MappingFailed).value))

    def test_cancelled(self):
        """Cancelling ends the timer and the socket."""
        self.d.cancel()
        self.failureResultOf(self.d, defer.CancelledError)
        self.assertFalse(self.socket.listening)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.socket.answer(b"late")
