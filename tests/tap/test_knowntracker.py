"""Tests for L{twisted_bazaar.tap.knowntracker}: the tracker's key a node
keeps in its data dir, pinned or remembered on first contact."""

import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.keys import Identity, decode
from twisted_bazaar.tap.knowntracker import KNOWN_TRACKER, readKnown, trackerPin
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
        self.assertEqual(trackerPin(None, self.other).key, self.other)

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
