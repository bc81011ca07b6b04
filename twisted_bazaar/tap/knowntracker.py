"""
The tracker a node knows: its key, pinned with ``--tracker-key`` or
remembered from its first contact, in the node's ``--data-dir``
(L{KNOWN_TRACKER}) across restarts, in memory without one (see
L{twisted_bazaar.net.pin}).
"""

import os

from twisted_bazaar.identity.keys import encode, publicKey
from twisted_bazaar.net.pin import KeyPin

#: File of the tracker's key inside a node's data dir: the key's text and
#: a newline, as the tracker logs it and --tracker-key takes it.
KNOWN_TRACKER = "known_tracker"
#: How a user makes a node take a tracker's new key.
_PASS = "pass --tracker-key with the key the tracker logs when it starts"


def readKnown(path):
    """
    The key in a known-tracker file, or None if there is none.

    @raise ValueError: it cannot be read or holds no key, saying so.
    """
    try:
        with open(path, "rb") as f:
            text = f.read(1024)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}") from None
    try:
        return publicKey(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"{path} holds no tracker's key (remove it: the tracker's "
                         "key is then remembered again at the next contact, or "
                         f"{_PASS})") from None


def writeKnown(path, key):
    """Keep key (32 raw bytes) in path, whole or not at all: written
    aside, flushed to disk, then renamed over it.  @raise OSError."""
    temporary = path + ".new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(encode(key) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def trackerPin(data_dir, pinned):
    """
    The L{KeyPin} of a node's tracker: the key pinned (``--tracker-key``,
    32 raw bytes, kept in the data dir for later runs too), else the one
    its data dir remembers, else none yet (the first one proven is kept).

    @param data_dir: the node's --data-dir, or None.
    @raise ValueError: the data dir's file holds no key (see L{readKnown}).
    @raise OSError: the pinned key cannot be written to the data dir.
    """
    if data_dir is None:
        return KeyPin("the tracker", pinned, "--tracker-key" if pinned else None,
                      fix=f"If its key changed on purpose, {_PASS}, or restart "
                      "this node.")
    path = os.path.join(data_dir, KNOWN_TRACKER)
    if pinned is not None:
        try:
            known = readKnown(path)
        except ValueError:
            known = None
        if pinned != known:
            writeKnown(path, pinned)
        return KeyPin("the tracker", pinned, "--tracker-key", where=path,
                      fix=f"If its key changed on purpose, {_PASS}.")
    return KeyPin("the tracker", readKnown(path), remember=lambda key: writeKnown(path, key),
                  where=path, fix=f"If its key changed on purpose, remove {path} or "
                  f"{_PASS}.")
