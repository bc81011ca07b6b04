"""
Tests for L{twisted_bazaar.net.link}'s writing: what a link sends, and the
writes it coalesces during a burst of reads.
"""

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IReactorFDSet
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import alsoProvides, directlyProvides

from tests.helpers import RecordingOwner
from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from twisted_bazaar import wire
from twisted_bazaar.net.capabilities import IHeldWrites
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.link import FLUSH_BYTES, Link, LinkSettings
from tests.net.links import LinkTestCase, frame, sentMessages


class SendTests(LinkTestCase):
    """Sending frames messages and respects the frame limit."""

    def test_send(self):
        self.connect()
        self.link.send(trade.Buy(1, "apple", (1, 2)))
        self.assertEqual(self.transport.value(),
                         frame(b'{"type":"buy","id":1,"item":"apple","path":["1","2"]}'))

    def test_overFrameLimit(self):
        """A message one byte over the frame limit is not written at all,
        and the refusal is logged as an error; one at the limit is sent."""
        message = floodmsg.Search(1, "apple", (1,), 7)
        size = len(wire.encode(message))
        self.connect(frame_limit=size - 1)
        self.link.send(message)
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual([e["log_level"].name for e in self.events], ["error"])
        self.connect(frame_limit=size)
        self.link.send(message)
        self.assertEqual(self.sent(), [message])


class RecordingTransport(StringTransport):
    """A StringTransport that records each write and hang-up, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def write(self, data):
        self.calls.append(("write", data))
        super().write(data)

    def loseConnection(self):
        self.calls.append(("lose", None))
        super().loseConnection()

    def abortConnection(self):
        self.calls.append(("abort", None))
        super().loseConnection()

    def writes(self):
        return [data for call, data in self.calls if call == "write"]


class ActingOwner(RecordingOwner):
    """A link owner that runs ``act(link, message)`` on each message."""

    def __init__(self, act):
        super().__init__()
        self.act = act

    def messageReceived(self, link, message):
        super().messageReceived(link, message)
        self.act(link, message)


class CoalescingTests(SynchronousTestCase):
    """
    With C{coalesce}, what links send while one of them reads a burst
    reaches each transport in one write when the burst is done, in order;
    a hang-up or the write limit still sees every frame.
    """

    def connect(self, act=lambda link, message: None, **settings):
        """A link with its own owner, sharing the settings given (a
        L{LinkSettings}, coalescing, if none)."""
        settings = settings.pop("settings", None) or LinkSettings(
            coalesce=True, ping_rate=1000, **settings)
        link = Link(ActingOwner(act), Clock(), settings, True)
        link.makeConnection(RecordingTransport())
        link.identified(len(link.transport.calls) + 2)
        return link

    def test_burstIsOneWrite(self):
        """Five pings read at once: five pongs, in one write, in order."""
        link = self.connect()
        link.dataReceived(b"".join(frame(wire.encode(wire.Ping(n))) for n in range(5)))
        self.assertEqual(link.transport.writes(), [b"".join(
            frame(wire.encode(wire.Pong(n))) for n in range(5))])

    def test_sendsOutsideABurstGoAtOnce(self):
        """A send that no read is under is written at once."""
        link = self.connect()
        link.send(wire.Ping(1))
        link.send(wire.Ping(2))
        self.assertEqual(len(link.transport.writes()), 2)

    def test_otherLinksWaitForTheBurst(self):
        """Frames one link's read sends on another link reach it when the
        read is done, in one write; nothing is written before."""
        settings = LinkSettings(coalesce=True)
        seen = []
        target = self.connect(settings=settings)

        def relay(link, message):
            target.send(message)
            seen.append(len(target.transport.writes()))

        source = self.connect(relay, settings=settings)
        buys = [trade.Buy(n, "apple", (2, 1, 3)) for n in range(3)]
        source.dataReceived(b"".join(frame(wire.encode(buy)) for buy in buys))
        self.assertEqual(seen, [0, 0, 0])
        self.assertEqual(target.transport.writes(),
                         [b"".join(frame(wire.encode(buy)) for buy in buys)])

    def test_heldBackAtMostFlushBytes(self):
        """A long burst is handed over every FLUSH_BYTES, whole frames
        only, so the transport sees it fill up."""
        link = self.connect()
        pings = [wire.Ping(n) for n in range(1000)]
        link.dataReceived(b"".join(frame(wire.encode(ping)) for ping in pings))
        writes = link.transport.writes()
        self.assertGreater(len(writes), 1)
        for data in writes[:-1]:
            self.assertGreaterEqual(len(data), FLUSH_BYTES)
            self.assertLess(len(data), FLUSH_BYTES + 40)
        self.assertEqual([message.nonce for message in sentMessages(link.transport)],
                         list(range(1000)))

    def test_heldBackBytesInABurstAreLeftToTheTransportsBuffer(self):
        """Handed over in the middle of a burst, the frames go to a
        transport's C{writeLater} (an encrypted one leaves them in its
        buffer: more follows on this turn); the last, once the burst is
        read, to its C{write} (sent at once if nothing waits)."""
        link = self.connect()
        later = []
        link.transport.writeLater = later.append
        alsoProvides(link.transport, IHeldWrites)
        pings = [wire.Ping(n) for n in range(1000)]
        link.dataReceived(b"".join(frame(wire.encode(ping)) for ping in pings))
        [last] = link.transport.writes()
        self.assertGreater(len(later), 1)
        for data in later:
            self.assertGreaterEqual(len(data), FLUSH_BYTES)
        self.assertEqual(b"".join(later) + last,
                         b"".join(frame(wire.encode(wire.Pong(n))) for n in range(1000)))

    def test_aWriteLaterNotDeclaredIsNotCalled(self):
        """A transport's C{writeLater} counts only if it declares it
        (L{IHeldWrites}): a wrapper forwarding every attribute (as four did)
        showed the one under it, and a probe took it for its own."""
        link = self.connect()
        later = []
        link.transport.writeLater = later.append
        pings = [wire.Ping(n) for n in range(1000)]
        link.dataReceived(b"".join(frame(wire.encode(ping)) for ping in pings))
        self.assertEqual(later, [])
        self.assertEqual(b"".join(link.transport.writes()),
                         b"".join(frame(wire.encode(wire.Pong(n))) for n in range(1000)))

    def test_closeHandsOverFirst(self):
        """A link closed during a burst writes what it holds, then hangs
        up: a refusal's error is not lost."""
        link = self.connect(lambda link, message: link.refuse("wtf", "go away"))
        link.dataReceived(frame(wire.encode(trade.Buy(1, "apple", (2, 1)))))
        self.assertEqual([call for call, _ in link.transport.calls], ["write", "lose"])
        self.assertEqual([(m.code, m.info) for m in sentMessages(link.transport)],
                         [("wtf", "go away")])

    def test_writeLimitCountsHeldFrames(self):
        """A paused link counts what it holds back like what it writes:
        past the write limit it is aborted, and what it held is dropped."""
        link = self.connect(write_limit=200)
        link.pauseProducing()
        pings = b"".join(frame(wire.encode(wire.Ping(n))) for n in range(100))
        link.dataReceived(pings)
        self.assertEqual([call for call, _ in link.transport.calls], ["abort"])
        self.assertTrue(link.closing)

    def test_lostLinkDropsWhatItHeld(self):
        """A connection lost during a burst writes nothing afterwards."""
        link = self.connect(lambda link, message: link.connectionLost(
            Failure(ConnectionDone())))
        burst = [wire.Ping(1), trade.Buy(1, "apple", (2, 1)), wire.Ping(2)]
        link.dataReceived(b"".join(frame(wire.encode(message)) for message in burst))
        self.assertEqual(link.transport.calls, [])
        self.assertEqual(len(link.owner.messages), 1)

    def test_byClock(self):
        """Left to the settings (None), a link coalesces on a reactor with
        file descriptors, not on a plain clock (tests, the simulator)."""
        settings = LinkSettings()
        plain = Link(RecordingOwner(), Clock(), settings, True)
        reactorLike = Clock()
        directlyProvides(reactorLike, IReactorFDSet)
        real = Link(RecordingOwner(), reactorLike, settings, True)
        self.assertIsNone(plain._context.batch)
        self.assertIs(real._context.batch, settings.writes)
        self.assertIsNone(Link(RecordingOwner(), reactorLike, LinkSettings(coalesce=False),
                               True)._context.batch)


class QueuedBesideTests(LinkTestCase):
    """Bytes the transport queues for the peer of its own accord (a
    WebSocket pong) wait in the link's account as its own writes do."""

    def test_notPausedTheyAreTheTransports(self):
        link = self.connect(write_limit=200)
        self.assertTrue(link.queuedBeside(1000))
        self.assertEqual(link.settings.unsent.used, 0)

    def test_pausedTheyCountAgainstTheWriteLimit(self):
        link = self.connect(write_limit=200)
        link.pauseProducing()
        self.assertTrue(all(link.queuedBeside(50) for _ in range(4)))
        self.assertGreater(link.settings.unsent.held(groupOf(link)), 0)
        self.assertFalse(link.queuedBeside(50))
        self.assertTrue(link.closing)
        self.assertEqual(link.settings.unsent.used, 0)
        self.assertIn("is not reading: over 200 bytes waiting",
                      [e["log_format"].format(**e) for e in self.events
                       if "not reading" in e["log_format"]][0])

    def test_theyShareTheCountWithWrites(self):
        """A pong and the link's own frames fill one count."""
        link = self.connect(write_limit=200)
        link.pauseProducing()
        link.send(wire.Ping(1))
        waiting = link._seldom.waiting
        self.assertTrue(link.queuedBeside(200 - waiting))
        link.send(wire.Ping(2))
        self.assertTrue(link.closing)

    def test_aClosingLinkTakesNone(self):
        link = self.connect()
        link.close("bye")
        self.assertFalse(link.queuedBeside(10))

    def test_resumedTheCountStartsAgain(self):
        link = self.connect(write_limit=200)
        link.pauseProducing()
        self.assertTrue(link.queuedBeside(150))
        link.resumeProducing()
        link.pauseProducing()
        self.assertTrue(link.queuedBeside(150))
        self.assertFalse(link.closing)
