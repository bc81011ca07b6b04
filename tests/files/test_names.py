"""Tests for L{twisted_bazaar.files.names}."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.names import hashItem, isPlainName, itemHash, nameFault
from twisted_bazaar.wire import MAX_ITEM_BYTES

GOOD = ["song.ogg", "a", "Ünïcode name.txt", "with space", "x" * MAX_ITEM_BYTES,
        "dots.in.the..middle", "no-break\xa0space", "\x7e tilde"]
BAD = {
    "": "1 to",
    ".": "start with .",
    "..": "start with .",
    ".hidden": "start with .",
    "a/b": "no /",
    "../etc/passwd": "no /",
    "/etc/passwd": "no /",
    "a\\b": "no /",
    "nul\x00byte": "control",
    "new\nline": "control",
    "del\x7f": "control",
    "c1\x80start": "control",
    "next\x85line": "control",
    "csi\x9b2J": "control",
    "x" * (MAX_ITEM_BYTES + 1): "1 to",
    "\ud800": "valid Unicode",
    b"bytes": "must be text",
}


class NameTests(SynchronousTestCase):
    def test_plainNamesPass(self):
        for name in GOOD:
            self.assertIsNone(nameFault(name), name)
            self.assertTrue(isPlainName(name))

    def test_unsafeNamesGiveAReason(self):
        for name, reason in BAD.items():
            fault = nameFault(name)
            self.assertIsNotNone(fault, repr(name))
            self.assertIn(reason, fault, repr(name))
            self.assertFalse(isPlainName(name))


class HashItemTests(SynchronousTestCase):
    def test_roundTrip(self):
        item = hashItem("ab" * 32)
        self.assertEqual(item, "sha256:" + "ab" * 32)
        self.assertTrue(isPlainName(item))
        self.assertEqual(itemHash(item), "ab" * 32)

    def test_namesAreNotHashes(self):
        for item in ["song.ogg", "sha256:", "sha256:" + "AB" * 32, "sha256:" + "a" * 63,
                     "sha256:" + "a" * 65]:
            self.assertIsNone(itemHash(item), item)
