"""
The trackers a node knows: each one's key, pinned with ``--tracker-key``
or remembered from its first contact, in the node's ``--data-dir``
(L{KNOWN_TRACKER} for a node of one tracker; one file per tracker,
L{knownFile}, for a node of several) across restarts, in memory without
one (see L{twisted_bazaar.net.pin}).
"""

import os
import re

from twisted.logger import Logger

from twisted_bazaar.identity.keys import encode, publicKey
from twisted_bazaar.net.pin import KeyPin

#: File of the tracker's key inside a node's data dir: the key's text and
#: a newline, as the tracker logs it and --tracker-key takes it.
KNOWN_TRACKER = "known_tracker"
log = Logger()

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


def knownFile(address, several):
    """
    The name of the file, in a node's data dir, of the key of the tracker
    at ``address`` (its text, ``HOST:PORT``): L{KNOWN_TRACKER} for a node
    of one tracker, as it always was; ``known_tracker-HOST_PORT`` for each
    of several, so that each tracker's key is its own whatever their order.
    """
    if not several:
        return KNOWN_TRACKER
    return f"{KNOWN_TRACKER}-{re.sub(r'[^A-Za-z0-9.-]+', '_', address)}"


def trackerPins(data_dir, pinned, addresses, said=None):
    """
    The L{KeyPin} of each of a node's trackers (L{trackerPin}).

    A data dir keeps its trackers' keys one way while their number stays
    (L{knownFile}).  A node of several started again with one of them
    reads that one's key from its own file.  A node of one given several
    cannot tell whose key L{KNOWN_TRACKER} holds, so it is not checked: that
    is said (in ``said``, a list given the call that logs it once the
    start succeeded), with how to pin each.

    @param pinned: the keys given with ``--tracker-key``, one per tracker
        in order, or none.
    @param addresses: the trackers' addresses (L{Address}), in order.
    """
    several = len(addresses) > 1
    keys = list(pinned) or [None] * len(addresses)
    names = [keptName(data_dir, str(address), several) for address in addresses]
    if data_dir is not None and not pinned:
        if several and _kept(data_dir, KNOWN_TRACKER) and said is not None:
            loose = [str(address) for address, name in zip(addresses, names)
                     if not _kept(data_dir, name)]
            if loose:
                line = _unchecked(os.path.join(data_dir, KNOWN_TRACKER), loose)
                said.append(lambda: log.warn("{line}", line=line))
    return [trackerPin(data_dir, key, name,
                       f"the tracker at {address.label}" if several else "the tracker")
            for key, name, address in zip(keys, names, addresses)]


def keptName(data_dir, address, several):
    """The file of L{knownFile}, but that a node of one tracker whose data
    dir keeps no L{KNOWN_TRACKER} reads the file it kept for that tracker
    as one of several, if any (data_dir None: L{knownFile}'s)."""
    name = knownFile(address, several)
    if data_dir is None or several or _kept(data_dir, name):
        return name
    ownFile = knownFile(address, True)
    return ownFile if _kept(data_dir, ownFile) else name


def _kept(data_dir, name):
    """Whether the data dir holds a known-tracker file of this name."""
    return os.path.exists(os.path.join(data_dir, name))


def _unchecked(path, addresses):
    """The warning of a node of one tracker started with several."""
    return (f"{path} keeps the key of the one tracker this node had before; with "
            "several --tracker each tracker's key is kept apart (known_tracker-HOST_PORT), "
            f"and which one that key is of is not known, so it is not checked: "
            f"{', '.join(addresses)} will each be taken with the first key it proves; "
            "to pin them, pass --tracker-key once per --tracker")


def trackerPin(data_dir, pinned, name=KNOWN_TRACKER, what="the tracker"):
    """
    The L{KeyPin} of a node's tracker: the key pinned (``--tracker-key``,
    32 raw bytes, kept in the data dir for later runs too), else the one
    its data dir remembers, else none yet (the first one proven is kept).

    @param data_dir: the node's --data-dir, or None.
    @param name: the file of its key in the data dir (L{knownFile}).
    @param what: the tracker, as the log names it.
    @raise ValueError: the data dir's file holds no key (see L{readKnown}).
    @raise OSError: the pinned key cannot be written to the data dir.
    """
    if data_dir is None:
        # A restart forgets a key learnt on first contact, not one pinned:
        # the way out of a pinned key's refusal is another --tracker-key.
        return KeyPin(what, pinned, "--tracker-key" if pinned else None,
                      fix=f"If its key changed on purpose, {_PASS}"
                      + ("." if pinned else ", or restart this node."))
    path = os.path.join(data_dir, name)
    if pinned is not None:
        try:
            known = readKnown(path)
        except ValueError:
            known = None
        if pinned != known:
            writeKnown(path, pinned)
        return KeyPin(what, pinned, "--tracker-key", where=path,
                      fix=f"If its key changed on purpose, {_PASS}.")
    # One file for a node of one tracker, whatever its address: a node
    # moved to another tracker is refused by it too, and told so.
    moved = (", or this node moved to another tracker (its data dir keeps the key "
             "of the first tracker it reached)" if name == KNOWN_TRACKER else "")
    return KeyPin(what, readKnown(path), remember=lambda key: writeKnown(path, key),
                  where=path, fix=f"If its key changed on purpose{moved}, remove "
                  f"{path} or {_PASS}.")
