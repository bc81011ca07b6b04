"""
Safe plain file names: what a shared file may be called, on the wire and
on disk, and how a buyer fits one into the file system's names.

A plain name may be up to L{MAX_ITEM_BYTES} (256) bytes, and the buyer's
own files add to it (a part file's mark and hash, a record's ``.json``);
a file system takes at most L{NAME_MAX} bytes in a name, in the encoding
of the process's locale, which may lack some characters (Latin-1, ASCII).
So a name that would not fit is written otherwise: a private file
(L{fitted}) is named by the name's hash instead, and a downloaded file
(L{tagged}) by the name with its stem cut short, an ``_`` for each
character the encoding lacks (L{holdable}), and the start of the
content's identity added.
"""

import hashlib
import re
import sys

from twisted_bazaar.wire import MAX_ITEM_BYTES

#: A file is also sold by its content: the item ``sha256:`` + its identity
#: (see L{twisted_bazaar.files.tree}).
HASH_PREFIX = "sha256:"
_HASH_ITEM = re.compile(r"sha256:([0-9a-f]{64})\Z")
#: The most bytes in one file name that a file system takes (Linux's
#: NAME_MAX, as ext4, XFS, Btrfs and tmpfs have it).
NAME_MAX = 255
#: Hex digits of a content's identity that tell two files of one name
#: apart in the downloads folder (L{tagged}).
TAG_DIGITS = 12


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


def fileSystemEncoding():
    """How this process writes file names: the locale's encoding (UTF-8,
    unless the locale is another's, Latin-1 under
    ``LANG=en_US.ISO-8859-1``)."""
    return sys.getfilesystemencoding()


def fits(name):
    """Whether a file system takes name as one file name: in this
    process's L{fileSystemEncoding}, which must hold each of its
    characters, in at most L{NAME_MAX} bytes."""
    try:
        return len(name.encode(fileSystemEncoding())) <= NAME_MAX
    except UnicodeEncodeError:
        return False


def holdable(name):
    """name with an ``_`` for each character that this process's
    L{fileSystemEncoding} lacks (none under UTF-8): what a file of that
    name is called on a disk that cannot hold the name."""
    encoding = fileSystemEncoding()

    def held(character):
        try:
            character.encode(encoding)
        except UnicodeEncodeError:
            return "_"
        return character

    return "".join(map(held, name))


def fitted(plain, name, hashed):
    """
    The file name ``plain`` (made from the plain name ``name``) if it
    fits, else ``hashed`` with the name's hash (64 hex digits) put in:
    ``hashed.format(hash)``.  The hashed form should start with what no
    plain form does, so that no name's file is ever another's.
    """
    if fits(plain):
        return plain
    return hashed.format(hashlib.sha256(name.encode("utf-8")).hexdigest())


def tagged(name, sha256):
    """
    ``name`` with the first L{TAG_DIGITS} hex digits of ``sha256`` before
    its extension (``song.ogg`` -> ``song.0123456789ab.ogg``), its stem cut
    short (at a character's end) so that the whole fits in L{NAME_MAX}
    bytes; when even the extension alone leaves no room, the name is cut
    and the digits go at its end.  Still a plain name: it starts as
    ``name`` does.
    """
    tag = sha256[:TAG_DIGITS]
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    room = NAME_MAX - len(f".{tag}{dot}{ext}".encode("utf-8"))
    kept = _cut(stem, room) if room > 0 else ""
    if kept:
        return f"{kept}.{tag}{dot}{ext}"
    return f"{_cut(name, NAME_MAX - 1 - len(tag))}.{tag}"


def _cut(text, most):
    """text cut to at most ``most`` UTF-8 bytes, at a character's end."""
    return text.encode("utf-8")[:most].decode("utf-8", "ignore")
