"""One question to a router over UDP: sent again on a doubling wait, the
first answer taken, a silent or hostile router given up with a reason;
the socket and timers go with it."""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.reach.reachable.portmap.fakes import FakeSockets
from twisted_bazaar.reach.reachable.portmap.errors import MappingFailed
from twisted_bazaar.reach.reachable.portmap.exchange import LARGEST_DATAGRAM, Datagrams, ask

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
        self.datagrams = self.sockets.datagrams(self.clock)
        self.d = ask(self.clock, self.datagrams, SERVER, b"q", parse, "test")
        self.socket = self.sockets.last

    def test_answered(self):
        """Sent to the server; a datagram from elsewhere, or that answers
        another question, is ignored; the answer ends it: no timer, and
        the socket, which nothing else uses, closed."""
        self.assertEqual(self.socket.sent, [(b"q", SERVER)])
        self.socket.answer(b"other", SERVER)
        self.socket.answer(b"yes", ("10.9.0.7", 5351))
        self.assertNoResult(self.d)
        self.socket.answer(b"yes", SERVER)
        self.assertEqual(self.successResultOf(self.d), b"yes")
        self.assertTrue(self.socket.listening)
        self.clock.advance(0)
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
        self.clock.advance(0)
        self.assertFalse(self.socket.listening)

    def test_hostileAnswers(self):
        """An answer the parser refuses fails it at once with its reason;
        one larger than any answer is dropped unread."""
        self.socket.answer(b"x" * (LARGEST_DATAGRAM + 1), SERVER)
        self.assertNoResult(self.d)
        self.socket.answer(b"bad", SERVER)
        self.assertEqual(str(self.failureResultOf(self.d, MappingFailed).value),
                         "test: a bad answer")
        self.clock.advance(0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_oneSocket(self):
        """Two questions at once share one socket; one asked as the last
        ends (the next protocol tried) keeps it; it closes once nothing
        used it for a turn of the reactor, and the next opens another."""
        other = ask(self.clock, self.datagrams, ("10.9.0.1", 5352), b"r", parse, "test")
        self.assertEqual(len(self.sockets.opened), 1)
        self.socket.answer(b"yes", SERVER)
        other.cancel()
        self.failureResultOf(other, defer.CancelledError)
        third = ask(self.clock, self.datagrams, SERVER, b"q", parse, "test")
        self.clock.advance(0)
        self.assertEqual(len(self.sockets.opened), 1)
        self.assertTrue(self.socket.listening)
        third.cancel()
        self.failureResultOf(third, defer.CancelledError)
        self.clock.advance(0)
        self.assertFalse(self.socket.listening)
        ask(self.clock, self.datagrams, SERVER, b"q", parse, "test")
        self.assertEqual(len(self.sockets.opened), 2)

    def test_noSocket(self):
        """A socket that cannot be had fails the question, saying why."""
        def refuse(protocol):
            raise OSError("no descriptors")
        d = ask(self.clock, Datagrams(self.clock, refuse), SERVER, b"q", parse, "test")
        self.assertEqual(str(self.failureResultOf(d, MappingFailed).value),
                         "test: no UDP socket: no descriptors")

    def test_cancelled(self):
        """Cancelling ends the timer and the socket."""
        self.d.cancel()
        self.failureResultOf(self.d, defer.CancelledError)
        self.clock.advance(0)
        self.assertFalse(self.socket.listening)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.socket.answer(b"late", SERVER)
