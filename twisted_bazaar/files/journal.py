"""
What a buyer must remember across a crash to fetch a file it paid for:
for each wanted file name, the content (SHA-256 and size) each seller
offered under it.  A purchase in the bag names its seller; this says what
that seller sold.  The record goes once the file is in place.

One small JSON file per name, in a hidden folder of the downloads folder,
replaced atomically.
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
        os.makedirs(self.folder, exist_ok=True)
        path = self._path(name)
        temporary = path + ".new"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump({"name": name, "sellers": {
                str(seller): {"sha256": sha, "size": size}
                for seller, (sha, size) in sorted(sellers.items())}}, f)
        os.replace(temporary, path)

    def remove(self, name):
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            pass
