"""Tests for L{twisted_bazaar.net.fitting}: messages fitted to one frame."""

from types import SimpleNamespace

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import wire
from twisted_bazaar.net import fitting
from twisted_bazaar.net.limits import DEFAULT_FRAME_LIMIT
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.status.messages import MemberList
from twisted_bazaar.wire.ids import KEYED


def _size(message):
    return len(wire.encode(message))


def _exclude(count):
    """A nodereq that excludes count keyed ids (34 bytes each on the wire)."""
    return wire.NodeReq(tuple(KEYED | index for index in range(count)))


class FrameLimitTests(SynchronousTestCase):
    """L{fitting.frameLimit} is the sender's frame limit."""

    def test_settings(self):
        """A link's (or a tracker's) settings say it."""
        sender = SimpleNamespace(settings=LinkSettings(frame_limit=1234))
        self.assertEqual(fitting.frameLimit(sender), 1234)

    def test_none(self):
        """A message that leaves on no link keeps to the default."""
        self.assertEqual(fitting.frameLimit(None), DEFAULT_FRAME_LIMIT)


class CountFittingTests(SynchronousTestCase):
    """L{fitting.countFitting} counts the first entries that fit."""

    def test_upToTheLimit(self):
        """Entries fit while their bytes and the envelope are within the
        limit; the first over ends the count, later ones are not read."""
        limit = fitting.ENVELOPE + 10

        def costs():
            yield from (4, 6, 1)
            raise AssertionError("read past the first entry over")

        self.assertEqual(fitting.countFitting(costs(), limit), 2)
        self.assertEqual(fitting.countFitting([4, 6], limit), 2)
        self.assertEqual(fitting.countFitting([11], limit), 0)
        self.assertEqual(fitting.countFitting([], limit), 0)

    def test_envelope(self):
        """The envelope holds the largest a memberlist is without its
        entries: a total of 19 digits."""
        self.assertLessEqual(_size(MemberList((), 2**63 - 1)), fitting.ENVELOPE)


class PackedTests(SynchronousTestCase):
    """L{fitting.packed} splits entries into parts that each fit."""

    def test_parts(self):
        """Each part fits, put in the empty message; entries keep their
        order; one too big alone is left out, and the rest go on."""
        empty = wire.Error("wtf", "")
        limit = _size(empty) + 10
        entries = ["aaaa", "bbbb", "cc", "d" * 11, "eeeeeeeeee", "f"]
        parts, over = fitting.packed(entries, len, empty, limit)
        self.assertEqual(parts, [["aaaa", "bbbb", "cc"], ["eeeeeeeeee"], ["f"]])
        self.assertEqual(over, ["d" * 11])

    def test_none(self):
        """No entries make one empty part."""
        self.assertEqual(fitting.packed([], len, wire.Dc(), 100), ([[]], []))


class CutToFitTests(SynchronousTestCase):
    """L{fitting.cutToFit} keeps the most first entries that fit."""

    def test_cut(self):
        """The message cut fits, and one more entry would not."""
        message = _exclude(40)
        limit = _size(_exclude(25)) + 10
        cut = fitting.cutToFit(message, "exclude", limit, bound=10**6)
        self.assertEqual(cut.exclude, message.exclude[:25])
        self.assertLessEqual(_size(cut), limit)
        self.assertGreater(_size(_exclude(26)), limit)

    def test_withinBound(self):
        """A message whose bound is within the limit is not encoded: it is
        returned as it is, even if (its bound being wrong) it is over."""
        message = _exclude(40)
        self.assertIs(fitting.cutToFit(message, "exclude", 100, bound=100), message)

    def test_fits(self):
        """A message that fits is returned as it is."""
        message = _exclude(3)
        self.assertIs(fitting.cutToFit(message, "exclude", _size(message), 10**6),
                      message)


class HalvedToFitTests(SynchronousTestCase):
    """L{fitting.halvedToFit} halves what it keeps until the message fits."""

    def test_halved(self):
        """Each step keeps half as much as the one before."""
        kept = []

        def shorten(message, keep):
            kept.append(keep)
            return wire.NodeReq(message.exclude[:keep])

        limit = _size(_exclude(5))
        fitted = fitting.halvedToFit(_exclude(40), limit, shorten, 40)
        self.assertEqual(kept, [20, 10, 5])
        self.assertEqual(len(fitted.exclude), 5)
        self.assertIs(fitting.halvedToFit(fitted, limit, shorten, 40), fitted)

    def test_toNothing(self):
        """Halving stops at nothing kept, fitting or not."""
        fitted = fitting.halvedToFit(_exclude(4), 1, lambda message, keep: message, 4)
        self.assertEqual(len(fitted.exclude), 4)


class SplitToFitTests(SynchronousTestCase):
    """L{fitting.splitToFit} halves a chunk whose message is over."""

    def test_split(self):
        """A chunk over the limit is built again from each half, in order;
        a single entry goes as it is, even over the limit."""
        built = []

        def build(chunk):
            built.append(len(chunk))
            return wire.NodeReq(tuple(chunk))

        ids = [KEYED | index for index in range(8)]
        limit = _size(_exclude(3))
        sent = list(fitting.splitToFit([ids[:6], ids[6:]], build, limit))
        self.assertEqual([message.exclude for message, _ in sent],
                         [tuple(ids[0:3]), tuple(ids[3:6]), tuple(ids[6:8])])
        self.assertEqual([payload for _, payload in sent],
                         [wire.encode(message) for message, _ in sent])
        self.assertEqual(built, [6, 3, 3, 2])
        alone = list(fitting.splitToFit([ids[:1]], build, 1))
        self.assertEqual([message.exclude for message, _ in alone], [(ids[0],)])
