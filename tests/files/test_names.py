"""Tests for L{twisted_bazaar.files.names}."""

import hashlib

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.names import (NAME_MAX, TAG_DIGITS, fits, fitted, hashItem,
                                        isPlainName, itemHash, nameFault, tagged)
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


SHA = "0123456789abcdef" * 4


class FittingTests(SynchronousTestCase):
    """What the file system takes: NAME_MAX bytes of UTF-8 a name."""

    def test_fits(self):
        self.assertTrue(fits("x" * NAME_MAX))
        self.assertFalse(fits("x" * (NAME_MAX + 1)))
        self.assertFalse(fits("é" * 128))  # 256 bytes

    def test_fittedKeepsThePlainFormWhenItFits(self):
        """A name that fits keeps the form earlier versions wrote (so a
        download they began is found again); a longer one is hashed."""
        self.assertEqual(fitted(".a.part", "a", "..{}.part"), ".a.part")
        long = "x" * 250
        hashed = fitted(f".{long}.part", long, "..{}.part")
        digest = hashlib.sha256(long.encode()).hexdigest()
        self.assertEqual(hashed, f"..{digest}.part")
        self.assertNotEqual(hashed, fitted(".%s.part" % ("y" * 250), "y" * 250,
                                           "..{}.part"))

    def test_taggedPutsTheDigitsBeforeTheExtension(self):
        self.assertEqual(tagged("song.ogg", SHA), "song.0123456789ab.ogg")
        self.assertEqual(tagged("README", SHA), "README.0123456789ab")

    def test_taggedFitsEveryPlainName(self):
        """Every plain name up to MAX_ITEM_BYTES, tagged, fits and is still
        a plain name that starts as the name does."""
        for name in ["x" * MAX_ITEM_BYTES, "x" * 240 + ".ogg",
                     "é" * 120 + ".tar.gz", "a." + "e" * 253, "ü" * 128,
                     "\U0001f600" * 64, "x" * 243 + ".ext"]:
            made = tagged(name, SHA)
            self.assertTrue(fits(made), (name, len(made.encode())))
            self.assertIsNone(nameFault(made), name)
            self.assertEqual(made[0], name[0])
            self.assertIn(SHA[:TAG_DIGITS], made)
        self.assertTrue(tagged("x" * 250 + ".ogg", SHA).endswith(f".{SHA[:12]}.ogg"))
