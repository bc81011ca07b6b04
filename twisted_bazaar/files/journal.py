"""
What a buyer must remember across a crash to fetch a file it paid for:
for each wanted file name, the content (identity and size) each seller
offered under it.  A purchase in the bag names its seller; this says what
that seller sold.  The record goes once the file is in place.

One small JSON file per name (``NAME.json``, or ``.NAMEHASH.json`` when
that and its temporary ``.new`` would be too long for a file name), in
the buyer's private folder of the
downloads folder (L{twisted_bazaar.files.downloads.privateFolder}: only
this user writes there, and nothing is written through a link), replaced
atomically and durably: the record is fsynced before it
replaces the old one, and the folder after, because the purchase it
explains is committed to the bag before the file is fetched: a record
lost in a crash would leave a paid file that is never fetched.

Nothing here says which pieces are in: after a crash the part file's
pieces are checked again against their hashes (L{PartFile.verifyPieces}),
so a piece whose bytes had not reached the disk is fetched again.

A record names at most L{MOST_SELLERS} sellers: keys are free, and a
stranger answering each search with offers from fresh keys would
otherwise grow it (and the cost of rewriting it) without bound.  Once
full, it takes no new seller and keeps those it names; what a purchase
paid for does not depend on it, since its ``buyOK`` names the content
(the record only explains purchases from before buyOKs named it).
"""

import errno
import json
import os
import re

from twisted_bazaar.files.downloads import PRIVATE, DownloadError, privateFolder, syncFolder
from twisted_bazaar.files.names import fitted
from twisted_bazaar.wire import checkSha256, checkSize
from twisted_bazaar.wire import ProtocolError
from twisted_bazaar.wire.ids import KEYED, KEYLESS_LIMIT

#: The folder of the records: the buyer's private folder.
JOURNAL = PRIVATE
#: A seller's id, in decimal, as a process holds it: a keyed node's (bit
#: 128 set above its 128 bits) has 39 digits.
_SELLER = re.compile(r"[0-9]{1,39}\Z")
#: What a record's temporary copy adds to its name.
NEW = ".new"
#: Sellers one name's record names at most.
MOST_SELLERS = 64


class RecordFault(Exception):
    """
    A name's record cannot be used.  Its text says why, in words that
    follow "the record is": C{missing}, C{unreadable (...)}, C{not valid
    JSON}, or C{of the wrong fields (...)}.

    @ivar missing: True when there is no record at all.
    """

    def __init__(self, why, missing=False):
        super().__init__(why)
        self.missing = missing


class Journal:
    def __init__(self, folder):
        self.downloads = folder
        self.folder = os.path.join(folder, JOURNAL)

    def path(self, name):
        """Where the record of name is kept (its temporary copy at the
        same path plus L{NEW})."""
        hashed = fitted(name + ".json" + NEW, name, ".{}.json" + NEW)
        return os.path.join(self.folder, hashed[:-len(NEW)])

    def load(self, name):
        """
        seller id -> (sha256, size) recorded for name.  Never trusts the
        file: it may have been damaged or edited by hand, and what it says
        decides which file is fetched.

        @raise RecordFault: if there is no record, or it cannot be used.
        """
        try:
            with open(self.path(name), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise RecordFault("missing", missing=True)
        except OSError as e:
            raise RecordFault(f"unreadable ({e.strerror or e})")
        try:
            record = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):
            raise RecordFault("not valid JSON")
        try:
            return _sellers(record, name)
        except ProtocolError as e:
            raise RecordFault(f"of the wrong fields ({e.info})")

    def read(self, name):
        """seller id -> (sha256, size) recorded for name, or None when
        there is no usable record."""
        try:
            return self.load(name)
        except RecordFault:
            return None

    def note(self, name, offers, tries=3):
        """Remember the content each of these offers names (merged with
        what is known already; a seller not yet named only while fewer
        than L{MOST_SELLERS} are).

        Two buyers given one downloads folder note one name's record
        under one temporary name: the other's rename can take it away
        before this one's (the rename then finds no file).  The record it
        wrote is read and this one's offers merged again, up to ``tries``
        times: a buyer said "cannot record the offers" though nothing was
        lost but a moment.
        """
        for tried in range(tries):
            try:
                return self._note(name, offers)
            except FileNotFoundError:
                if tried == tries - 1 or not os.path.isdir(self.folder):
                    raise

    def _note(self, name, offers):
        sellers = self.read(name) or {}
        changed = False
        for offer in offers:
            entry = (offer.sha256, offer.size)
            if sellers.get(offer.seller) != entry and (
                    offer.seller in sellers or len(sellers) < MOST_SELLERS):
                sellers[offer.seller] = entry
                changed = True
        if changed:
            self._write(name, sellers, self.paidFor(name))

    def notePaid(self, name, seller, sha256, size):
        """Remember that content sha256 of size bytes was bought from
        seller under name, and is being fetched: a buyer that keeps no bag
        (``bazaar buy``) started again resumes it rather than buying it
        again (L{paidFor}).  Written and fsynced as the offers are."""
        if self.paidFor(name) != (seller, sha256, size):
            self._write(name, self.read(name) or {}, (seller, sha256, size))

    def paidFor(self, name):
        """(seller, sha256, size) of the purchase under name that
        L{notePaid} recorded, or None (none, or not usable)."""
        try:
            with open(self.path(name), "rb") as f:
                paid = json.loads(f.read().decode("utf-8")).get("paid")
            seller = paid["seller"]
            if not _SELLER.match(seller) or not _isId(int(seller)):
                return None
            return (int(seller), checkSha256(paid.get("sha256"), "paid.sha256"),
                    checkSize(paid.get("size"), "paid.size"))
        except (OSError, ValueError, RecursionError, AttributeError, TypeError,
                KeyError, ProtocolError):
            return None

    def _write(self, name, sellers, paid):
        made = not os.path.isdir(self.folder)
        try:
            privateFolder(self.downloads)
        except DownloadError as e:
            raise OSError(errno.EPERM, str(e)) from None
        if made:
            syncFolder(self.downloads)
        path = self.path(name)
        temporary = path + NEW
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                     0o600)
        record = {"name": name, "sellers": {
            str(seller): {"sha256": sha, "size": size}
            for seller, (sha, size) in sorted(sellers.items())}}
        if paid is not None:
            seller, sha, size = paid
            record["paid"] = {"seller": str(seller), "sha256": sha, "size": size}
        try:
            with open(fd, "w", encoding="utf-8") as f:
                json.dump(record, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            # A full disk refused the copy: the record stays as it was,
            # and no half-written copy beside it, which nothing would
            # ever read or remove.
            _removeQuietly(temporary)
            raise
        syncFolder(self.folder)

    def remove(self, name):
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            pass


def _removeQuietly(path):
    """Remove path, if it can be: a failure of its own would hide the
    error being raised."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _sellers(record, name):
    """The sellers of a decoded record, each checked as an offer's fields
    are (L{twisted_bazaar.files.messages}).

    @raise ProtocolError: naming the first field that is wrong."""
    if type(record) is not dict or record.get("name") != name:
        raise ProtocolError(f"not an object with name {name!r}")
    sellers = record.get("sellers")
    if type(sellers) is not dict:
        raise ProtocolError("sellers is not an object")
    found = {}
    for seller, entry in sellers.items():
        if not _SELLER.match(seller) or not _isId(int(seller)) or type(entry) is not dict:
            raise ProtocolError(f"seller {seller[:20]!r} is not an id with an object")
        found[int(seller)] = (checkSha256(entry.get("sha256"), f"sellers.{seller}.sha256"),
                              checkSize(entry.get("size"), f"sellers.{seller}.size"))
    return found


def _isId(node_id):
    """Whether node_id is a keyless or a keyed node's id (as an int)."""
    return node_id < KEYLESS_LIMIT or KEYED <= node_id < 2 * KEYED
