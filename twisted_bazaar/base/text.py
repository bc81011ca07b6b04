"""
Text that came from a peer, made fit for a reader: a terminal, a log line,
a web page.

The wire takes any Unicode in an item's name, a host, a scheme's name or
an error's ``info``, so a stranger can put there what a terminal obeys:
an OSC 52 sequence that writes the operator's clipboard, a CSI that
erases the screen, a ``\\r`` or ``\\n`` that forges a log line, a bidi
override that shows a name backwards.  L{shown} is the one function all
such text passes before it is shown; the views call it at their
boundaries (the daemons' log observer, the peer log, ``bazaar``'s
renderer, the web view's JSON), not field by field, so that new fields
and new lines are covered by design.
"""

import json

#: Characters a log line shows of one field a peer sent, at most: a field
#: may be as long as a frame lets it, a line should not be.
FIELD_LIMIT = 200
#: What marks text cut short by L{shown}.
CUT = "…"
#: What L{shownLines} keeps as it is.
_LAYOUT = "\n\t"


def _escaped(char):
    """A character no reader should obey, as Python writes it in a string
    literal: ``\\x1b``, ``\\r``, ``\\u202e``."""
    return char.encode("unicode_escape").decode("ascii")


def shown(text, limit=None):
    """
    ``text`` with every character that is not printable (C0 and C1
    controls, DEL, ESC and so every escape sequence, line and paragraph
    separators, bidi overrides and other format characters, spaces other
    than the plain one: all that C{str.isprintable} refuses) escaped
    visibly as Python writes it (``\\x1b``), and, with ``limit``, cut to
    at most that many characters, ending in L{CUT} when cut.

    Idempotent (a backslash is printable), and cheap for printable text:
    one C{isprintable} scan.
    """
    if limit is not None and len(text) > limit:
        text = text[:limit]
        cut = True
    else:
        cut = False
    if not text.isprintable():
        text = "".join(char if char.isprintable() else _escaped(char) for char in text)
    if limit is not None and (cut or len(text) > limit):
        text = text[:limit - 1] + CUT
    return text


def shownData(value, limit=None):
    """
    A copy of a JSON-like value (dicts, lists, tuples, strings, numbers)
    with every string in it, dict keys too, passed through L{shown}.
    """
    kind = type(value)
    if kind is str:
        return shown(value, limit)
    if kind is dict:
        return {shownData(key, limit): shownData(item, limit)
                for key, item in value.items()}
    if kind is list or kind is tuple:
        return kind(shownData(item, limit) for item in value)
    return value


def shownLines(text):
    """
    Text made of lines, every character escaped as L{shown} does but the
    newlines between them and tabs: for text put together from fields
    already shown (a log line with its traceback), as a last guard.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char in _LAYOUT else _escaped(char)
                   for char in text)


def jsonText(value, **options):
    """
    ``value`` as JSON for a terminal: C{json.dumps} (with its
    C{ensure_ascii}, every control character and all that is not ASCII
    escaped) and DEL, the one control character it leaves, escaped too.
    """
    return json.dumps(value, **options).replace("\x7f", "\\u007f")


def unicodeFault(text):
    """
    Why ``text`` cannot be UTF-8 text, in words that quote it, or None
    when it can.

    An argument that is not UTF-8 (``--want $'\\xff'`` in a UTF-8 locale)
    reaches Python holding a surrogate escape for each byte it could not
    read (U+DC80 to U+DCFF), and JSON's ``\\ud800`` a lone surrogate:
    either made C{str.encode} tell the user "'utf-8' codec can't encode
    character '\\udcff' in position 2: surrogates not allowed".  This
    names the byte (or the character) and where it is, counted from 1,
    and quotes the text with such bytes written ``\\xff``.
    """
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    data = text.encode("utf-8", "surrogateescape" if _escapesOnly(text) else "replace")
    quoted = f"'{shown(data.decode('utf-8', 'backslashreplace'), FIELD_LIMIT)}'"
    for place, char in enumerate(text):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            at = len(text[:place].encode("utf-8", "surrogateescape")) + 1
            return (f"{quoted} is not UTF-8 text (its byte {at} is 0x{code - 0xDC00:02x}): "
                    "write the name in UTF-8")
        if 0xD800 <= code <= 0xDFFF:
            return (f"{quoted} is not Unicode text (its character {place + 1} is a "
                    f"lone surrogate, U+{code:04X}, which no text may hold)")
    return None


def _escapesOnly(text):
    """Whether every surrogate in ``text`` is a byte's escape
    (U+DC80 to U+DCFF), which C{surrogateescape} turns back into it."""
    return not any(0xD800 <= ord(c) <= 0xDFFF and not 0xDC80 <= ord(c) <= 0xDCFF
                   for c in text)
