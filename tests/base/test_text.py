"""
Tests for L{twisted_bazaar.base.text}: a peer's text as a reader may see
it.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.text import (
    CUT,
    jsonText,
    shown,
    shownData,
    shownLines,
    unicodeFault,
)


class ShownTests(SynchronousTestCase):
    def test_printableUnchanged(self):
        for text in ("apple", "", "pommes frites à 2 €", "日本語", "a\\x1b b"):
            self.assertEqual(shown(text), text)

    def test_controlsEscaped(self):
        """C0, C1, DEL, escape sequences, line ends, bidi overrides, other
        format characters and spaces: escaped as Python writes them."""
        cases = {"\x1b]52;c;aGk=\x07": "\\x1b]52;c;aGk=\\x07",
                 "\x1b[2J": "\\x1b[2J", "a\rb\nc\td": "a\\rb\\nc\\td",
                 "\x00\x7f": "\\x00\\x7f", "\x9b2J\x85": "\\x9b2J\\x85",
                 "\u202egnp.exe": "\\u202egnp.exe", "\u2066\u2028\u200b": "\\u2066\\u2028\\u200b",
                 "a\u00a0b": "a\\xa0b", "\U000e0041": "\\U000e0041", "\ud800": "\\ud800"}
        for text, expected in cases.items():
            self.assertEqual(shown(text), expected)
            self.assertTrue(shown(text).isprintable())

    def test_idempotent(self):
        text = "\x1b]52;c;aGk=\x07 \u202e"
        self.assertEqual(shown(shown(text)), shown(text))

    def test_cut(self):
        """With a limit: at most that many characters, escapes counted,
        the cut marked."""
        self.assertEqual(shown("abcdef", 6), "abcdef")
        self.assertEqual(shown("abcdefg", 6), "abcde" + CUT)
        self.assertEqual(shown("\x1b" * 100, 9), "\\x1b\\x1b" + CUT)
        self.assertEqual(len(shown("x" * 10**6, 200)), 200)


class ShownDataTests(SynchronousTestCase):
    def test_everyString(self):
        data = {"\x1bkey": ["\r", ("\n", 1)], "n": 2, "none": None, "ok": True}
        self.assertEqual(shownData(data), {"\\x1bkey": ["\\r", ("\\n", 1)], "n": 2,
                                           "none": None, "ok": True})


class ShownLinesTests(SynchronousTestCase):
    def test_layoutKept(self):
        self.assertEqual(shownLines("a line\n\tits traceback\x1b[2J\r"),
                         "a line\n\tits traceback\\x1b[2J\\r")


class JSONTextTests(SynchronousTestCase):
    def test_noControlCharacter(self):
        value = {"item": "\x7f\x1b\u202e\n"}
        text = jsonText(value)
        self.assertTrue(text.isprintable() and text.isascii(), text)
        self.assertEqual(json.loads(text), value)


class UnicodeFaultTests(SynchronousTestCase):
    """An argument that is not UTF-8 is told by its byte, not by Python's
    "surrogates not allowed" (issue 96)."""

    def test_text(self):
        self.assertIsNone(unicodeFault("äpple"))
        self.assertIsNone(unicodeFault(""))

    def test_notUtf8(self):
        """A byte the locale could not read (a surrogate escape) is named
        with its place in bytes, and the name is quoted with it as
        ``\\xff``."""
        self.assertEqual(unicodeFault("ä\udcffb"),
                         "'ä\\xffb' is not UTF-8 text (its byte 3 is 0xff): write "
                         "the name in UTF-8")

    def test_loneSurrogate(self):
        self.assertEqual(unicodeFault("a\ud800"),
                         "'a?' is not Unicode text (its character 2 is a lone "
                         "surrogate, U+D800, which no text may hold)")

    def test_controlsShown(self):
        """The quoted name is shown: a control character in it is
        escaped, not obeyed."""
        self.assertIn("'\\x1b\\xff'", unicodeFault("\x1b\udcff"))
