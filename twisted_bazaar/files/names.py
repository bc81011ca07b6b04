"""
Safe plain file names: what a shared file may be called, on the wire and
on disk.
"""

import re

from twisted_bazaar.wire import MAX_ITEM_BYTES

#: A file is also sold by its content: the item ``sha256:`` + its identity
#: (see L{twisted_bazaar.files.tree}).
HASH_PREFIX = "sha256:"
_HASH_ITEM = re.compile(r"sha256:([0-9a-f]{64})\Z")


def nameFault(name):
    """
    Why ``name`` is not a plain file name that may be shared or written,
    or None when it is one.

    A plain name is 1 to L{MAX_ITEM_BYTES} UTF-8 bytes, holds no C{/}, no
    backslash and no control character (Unicode's: U+0000 to U+001F, NUL
    included, and U+007F to U+009F, whose C1 codes some terminals obey
    when a name is printed), is not C{.} or C{..}, and does not start with
    C{.} (hidden files, and the downloads folder's own temporary files,
    are never shared).
    """
    if type(name) is not str:
        return "a file name must be text"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "a file name must be valid Unicode"
    if not 1 <= size <= MAX_ITEM_BYTES:
        return f"a file name is 1 to {MAX_ITEM_BYTES} bytes, not {size}"
    if "/" in name or "\\" in name:
        return "a file name holds no / or \\"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name):
        return "a file name holds no control characters (NUL, newline...)"
    if name.startswith("."):
        return "a file name does not start with . (no ., .. or hidden files)"
    return None


def isPlainName(name):
    """True when L{nameFault} finds nothing wrong with ``name``."""
    return nameFault(name) is None


def hashItem(sha256):
    """The item that names a file by its content."""
    return HASH_PREFIX + sha256


def itemHash(item):
    """The file identity an item names (``sha256:HEX``), or None for a name."""
    match = _HASH_ITEM.match(item)
    return match.group(1) if match else None
