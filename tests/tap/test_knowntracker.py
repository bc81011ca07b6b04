"""Tests for L{twisted_bazaar.tap.knowntracker}: the tracker's key a node
keeps in its data dir, pinned or remembered on first contact."""

import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.base.address import parseAddress
from twisted_bazaar.tap.knowntracker import (
    KNOWN_TRACKER,
    knownFile,
    readKnown,
    trackerPin,
    trackerPins,
)
from tests.files.helpers import scratchDir


class KnownTrackerTests(SynchronousTestCase):

    def setUp(self):
        self.dir = scratchDir(self)
        self.path = os.path.join(self.dir, KNOWN_TRACKER)
        self.tracker = decode(Identity.generate().key)
        self.other = decode(Identity.generate().key)

    def test_rememberedAcrossRestarts(self):
        """The first key proven is written; the next run's pin holds it."""
        pin = trackerPin(self.dir, None)
        self.assertIsNone(pin.key)
        self.assertFalse(os.path.exists(self.path))
        pin.proved(self.tracker)
        self.assertEqual(readKnown(self.path), self.tracker)
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        self.assertEqual(os.listdir(self.dir), [KNOWN_TRACKER])
        again = trackerPin(self.dir, None)
        self.assertEqual(again.key, self.tracker)
        again.proved(self.other)
        self.assertEqual(readKnown(self.path), self.tracker)
        why = again.refusal(self.other)
        self.assertIn(f"remembered in {self.path}", why)
        self.assertIn(f"remove {self.path} or pass --tracker-key", why)

    def test_aNodeMovedToAnotherTracker(self):
        """A node of one tracker keeps one key, whatever the tracker's
        address: started with --tracker naming another market's, it is
        refused, and told that this too is a way to the refusal (it said
        only 'If its key changed on purpose', which a user who moved the
        node to another tracker does not take for theirs).  A node of
        several keeps one file per address, so no other tracker is taken
        for its own: it is not said there."""
        trackerPin(self.dir, None).proved(self.tracker)
        why = trackerPin(self.dir, None).refusal(self.other)
        self.assertIn("If its key changed on purpose, or this node moved to another "
                      "tracker (its data dir keeps the key of the first tracker it "
                      f"reached), remove {self.path} or pass --tracker-key", why)
        _, several = trackerPins(self.dir, [], [parseAddress("tcp:127.0.0.1:7700"),
                                                parseAddress("tcp:127.0.0.1:7702")])
        several.proved(self.tracker)
        self.assertNotIn("moved", several.refusal(self.other))

    def test_pinnedReplacesTheRemembered(self):
        """--tracker-key wins, and is what the data dir remembers after."""
        trackerPin(self.dir, None).proved(self.tracker)
        pin = trackerPin(self.dir, self.other)
        self.assertEqual(pin.key, self.other)
        self.assertEqual(readKnown(self.path), self.other)
        self.assertIn("pinned by --tracker-key", pin.refusal(self.tracker))
        self.assertEqual(trackerPin(self.dir, None).key, self.other)

    def test_withoutADataDir(self):
        pin = trackerPin(None, None)
        pin.proved(self.tracker)
        self.assertEqual(pin.key, self.tracker)
        self.assertIn("since this node started", pin.refusal(self.other))
        self.assertTrue(pin.refusal(self.other).endswith(", or restart this node."))
        pinned = trackerPin(None, self.other)
        self.assertEqual(pinned.key, self.other)
        # A restart with the same --tracker-key refuses the tracker again:
        # not offered as a way out (issue 96).
        self.assertTrue(pinned.refusal(self.tracker).endswith(
            "If its key changed on purpose, pass --tracker-key with the key the "
            "tracker logs when it starts."), pinned.refusal(self.tracker))

    def test_aFileWithoutAKey(self):
        """A damaged file is refused with what to do; a pin overwrites it."""
        with open(self.path, "w") as f:
            f.write("not a key\n")
        error = self.assertRaises(ValueError, trackerPin, self.dir, None)
        self.assertEqual(str(error), f"{self.path} holds no tracker's key (remove it: "
                         "the tracker's key is then remembered again at the next "
                         "contact, or pass --tracker-key with the key the tracker "
                         "logs when it starts)")
        self.assertEqual(trackerPin(self.dir, self.tracker).key, self.tracker)
        self.assertEqual(readKnown(self.path), self.tracker)


class SeveralTrackersTests(SynchronousTestCase):
    """A node of several trackers keeps each one's key in a file of its
    own, named by its address, so the keys do not depend on the order."""

    def setUp(self):
        self.dir = scratchDir(self)
        self.a = parseAddress("tcp:127.0.0.1:7700")
        self.b = parseAddress("tcp:127.0.0.1:7701")

    def test_knownFile(self):
        self.assertEqual(knownFile("127.0.0.1:7700", False), KNOWN_TRACKER)
        self.assertEqual(knownFile("127.0.0.1:7700", True),
                         "known_tracker-127.0.0.1_7700")
        self.assertEqual(knownFile("[::1]:7700", True), "known_tracker-_1_7700")

    def test_eachTrackerItsOwnKey(self):
        first, second = (decode(Identity.generate().key) for _ in range(2))
        pinA, pinB = trackerPins(self.dir, [], [self.a, self.b])
        pinA.proved(first)
        pinB.proved(second)
        self.assertEqual(readKnown(os.path.join(self.dir, "known_tracker-127.0.0.1_7700")),
                         first)
        self.assertEqual(readKnown(os.path.join(self.dir, "known_tracker-127.0.0.1_7701")),
                         second)
        # Named the other way round, each tracker keeps its own key.
        againB, againA = trackerPins(self.dir, [], [self.b, self.a])
        self.assertEqual((againA.key, againB.key), (first, second))
        self.assertIn("the tracker at 127.0.0.1:7701 proved", againB.refusal(first))

    def test_aTransportsTrackerNamedWithItsKind(self):
        """A tracker reached at a transport's port (ws:) is named so in
        its key's lines, as in the node's other lines of it (`registered
        ... at ws:127.0.0.1:7702`); it was `the tracker at
        127.0.0.1:7702's key`.  Its file keeps its name."""
        ws = parseAddress("ws:127.0.0.1:7702", ("ws",))
        _, pin = trackerPins(self.dir, [], [self.a, ws])
        self.assertEqual(pin.what, "the tracker at ws:127.0.0.1:7702")
        pin.proved(decode(Identity.generate().key))
        self.assertTrue(os.path.exists(os.path.join(self.dir,
                                                    "known_tracker-127.0.0.1_7702")))

    def test_pinnedInOrder(self):
        first, second = (decode(Identity.generate().key) for _ in range(2))
        pinA, pinB = trackerPins(None, [first, second], [self.a, self.b])
        self.assertEqual((pinA.key, pinB.key), (first, second))
        self.assertEqual(pinB.pinnedBy, "--tracker-key")

    def test_oneTrackerKeepsItsFile(self):
        """One tracker: known_tracker, as before there could be several."""
        [pin] = trackerPins(self.dir, [], [self.a])
        pin.proved(decode(Identity.generate().key))
        self.assertEqual(os.listdir(self.dir), [KNOWN_TRACKER])
        self.assertEqual(pin.what, "the tracker")


class TrackersAddedOrLeftTests(SynchronousTestCase):
    """
    A data dir keeps its trackers' keys in ``known_tracker`` for a node of
    one, ``known_tracker-HOST_PORT`` for a node of several.  A node of two
    started again with one of them took that tracker's first key again,
    its own file unread; a node of one given a second ``--tracker`` (for
    failover, as the README says) took each tracker's first key, its
    ``known_tracker`` unread and unsaid: a stranger at the old tracker's
    address was then taken.
    """

    def setUp(self):
        self.dir = scratchDir(self)
        self.a = parseAddress("tcp:127.0.0.1:7700")
        self.b = parseAddress("tcp:127.0.0.1:7701")
        self.key, self.other = (decode(Identity.generate().key) for _ in range(2))

    def test_oneOfSeveralLeftKeepsItsKey(self):
        pinA, _ = trackerPins(self.dir, [], [self.a, self.b])
        pinA.proved(self.key)
        [alone] = trackerPins(self.dir, [], [self.a])
        self.assertEqual(alone.key, self.key)
        self.assertIn("known_tracker-127.0.0.1_7700", alone.refusal(self.other))
        [other] = trackerPins(self.dir, [], [self.b])
        self.assertIsNone(other.key)

    def test_aTrackerAddedSaysTheKeyIsNotChecked(self):
        trackerPins(self.dir, [], [self.a])[0].proved(self.key)
        said = []
        pins = trackerPins(self.dir, [], [self.a, self.b], said)
        self.assertEqual([pin.key for pin in pins], [None, None])
        logged = []
        from twisted.logger import globalLogPublisher
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        [tell] = said
        tell()
        [event] = logged
        self.assertEqual(event["log_level"].name, "warn")
        line = event["line"]
        self.assertIn(os.path.join(self.dir, KNOWN_TRACKER) + " keeps the key of the one "
                      "tracker this node had before", line)
        self.assertIn("127.0.0.1:7700, 127.0.0.1:7701 will each be taken with the first "
                      "key it proves; to pin them, pass --tracker-key once per --tracker",
                      line)

    def test_nothingSaidOncePinned(self):
        trackerPins(self.dir, [], [self.a])[0].proved(self.key)
        said = []
        trackerPins(self.dir, [self.key, self.other], [self.a, self.b], said)
        self.assertEqual(said, [])
        for pin in trackerPins(self.dir, [], [self.a, self.b], said):
            pin.proved(self.key)
        said = []
        trackerPins(self.dir, [], [self.a, self.b], said)
        self.assertEqual(said, [])
