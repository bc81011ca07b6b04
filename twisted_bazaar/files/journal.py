"""
What a buyer must remember across a crash to fetch a file it paid for:
for each wanted file name, the content (SHA-256 and size) each seller
offered under it.  A purchase in the bag names its seller; this says what
that seller sold.  The record goes once the file is in place.

One small JSON file per name, in a hidden folder of the downloads folder,
replaced atomically and durably: the record is fsynced before it
replaces the old one, and the folder after, because the purchase it
explains is committed to the bag before the file is fetched: a record
lost in a crash would leave a paid file that is never fetched.

Nothing here says which pieces are in: after a crash the part file's
pieces are checked again against their hashes (L{PartFile.verifyPieces}),
so a piece whose bytes had not reached the disk is fetched again.
"""

import json
import os

JOURNAL = ".bazaar-downloads"


class Journal:
    def __init__(self, folder):
        self.folder = os.path.join(folder, JOURNAL)

    def _path(self, name):
        return os.path.join(self.folder, name + ".json")

    def read(self, name):
        """seller id -> (sha256, size) recorded for name, or None."""
        try:
            with open(self._path(name), encoding="utf-8") as f:
                record = json.load(f)
            return {int(seller): (entry["sha256"], int(entry["size"]))
                    for seller, entry in record["sellers"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def note(self, name, offers):
        """Remember the content each of these offers names (merged with
        what is known already)."""
        sellers = self.read(name) or {}
        changed = False
        for offer in offers:
            entry = (offer.sha256, offer.size)
            if sellers.get(offer.seller) != entry:
                sellers[offer.seller] = entry
                changed = True
        if not changed:
            return
        if not os.path.isdir(self.folder):
            os.makedirs(self.folder, exist_ok=True)
            _syncFolder(os.path.dirname(self.folder))
        path = self._path(name)
        temporary = path + ".new"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump({"name": name, "sellers": {
                str(seller): {"sha256": sha, "size": size}
                for seller, (sha, size) in sorted(sellers.items())}}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
        _syncFolder(self.folder)

    def remove(self, name):
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            pass


def _syncFolder(folder):
    """Make the names in folder durable (a rename, a new entry)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
