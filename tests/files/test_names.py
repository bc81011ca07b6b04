"""Tests for L{twisted_bazaar.files.names}."""

import hashlib
import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import names
from twisted_bazaar.files.names import (NAME_MAX, TAG_DIGITS, fits, fitted, hashItem,
                                        holdable, isPlainName, itemHash, nameFault,
                                        tagged)
from tests.files.helpers import fileId, scratchDir
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


class LocaleTests(SynchronousTestCase):
    """A buyer whose locale reads file names in an encoding that lacks
    some characters (Latin-1: ``LANG=en_US.ISO-8859-1``; ASCII) writes a
    name it cannot hold under a stand-in: its part file and record by
    the name's hash, the file with ``_`` for each character the encoding
    lacks, and its content's digits.  (Under Latin-1 a buyer of
    ``😀 café.txt`` logged a UnicodeEncodeError traceback, fetched
    nothing, and gave up naming an HTTP-only network.)"""

    def latin1(self):
        self.patch(names, "fileSystemEncoding", lambda: "iso8859-1")

    def test_fitsInTheEncoding(self):
        self.latin1()
        self.assertTrue(fits("café.txt"))
        self.assertTrue(fits("é" * NAME_MAX))  # one byte each in Latin-1
        self.assertFalse(fits("\U0001f600 café.txt"))
        self.assertFalse(fits("日本.txt"))

    def test_standInHoldsWhatTheEncodingHas(self):
        self.latin1()
        self.assertEqual(holdable("\U0001f600 café 日本.txt"), "_ café __.txt")
        self.assertEqual(holdable("café.txt"), "café.txt")

    def test_everyNameHasAPlaceOnDisk(self):
        """Each of the names a file may be put in place under, its part
        file's and its record's are names this encoding holds."""
        from twisted_bazaar.files.downloads import finalNames, partName
        from twisted_bazaar.files.journal import Journal

        self.latin1()
        for name in ["\U0001f600 café.txt", "日本", "café.txt", "x" * 200 + "日本.ogg"]:
            made = finalNames(name, SHA)
            for each in made + [partName(name, SHA),
                                os.path.basename(Journal("/d").path(name))]:
                each.encode("iso8859-1")
                self.assertLessEqual(len(each.encode("iso8859-1")), NAME_MAX)
        self.assertEqual(finalNames("\U0001f600 café.txt", SHA),
                         ["_ café.0123456789ab.txt"])
        self.assertEqual(finalNames("café.txt", SHA),
                         ["café.txt", "café.0123456789ab.txt"])

    def test_underUTF8NothingChanges(self):
        self.assertEqual(names.fileSystemEncoding(), "utf-8")
        self.assertEqual(holdable("\U0001f600 café.txt"), "\U0001f600 café.txt")
        self.assertTrue(fits("\U0001f600 café.txt"))


class AsciiDiskTests(SynchronousTestCase):
    """The same on a real disk, in a Python whose file names are ASCII
    (the C locale without its UTF-8 mode): the file is put in place under
    its stand-in, where os.open raised UnicodeEncodeError."""

    def test_putInPlace(self):
        import subprocess
        import sys

        folder = scratchDir(self)
        checkout = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        if not all(path.isascii() for path in (sys.executable, checkout, folder)):
            self.skipTest("a Python whose file names are ASCII cannot start from "
                          "this checkout's or interpreter's non-ASCII path")
        script = (
            "import sys\n"
            "from twisted_bazaar.files.downloads import PartFile\n"
            "from tests.files.helpers import fileId\n"
            "data = b'x' * 10\n"
            "part = PartFile(sys.argv[1], '\\U0001f600 caf\\xe9.txt', fileId(data), 10)\n"
            "part.open(); part.writeAt(data, 0)\n"
            "print(sys.getfilesystemencoding(), part.complete()); part.close()\n")
        env = dict(os.environ, LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
        result = subprocess.run([sys.executable, "-c", script, folder], env=env,
                                capture_output=True, text=True, timeout=60,
                                cwd=checkout)
        self.assertEqual(result.stderr, "")
        self.assertEqual(result.stdout.split()[0], "ascii")
        self.assertEqual(sorted(os.listdir(folder)),
                         [".bazaar-downloads", f"_ caf_.{fileId(b'x' * 10)[:12]}.txt"])
