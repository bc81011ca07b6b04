"""
The seller's side of files as goods (``--share DIR``): every file on offer
in the shared folder is an item of the seller's stock, named by its file
name, and its offers carry its size, identity (C{sha256}) and the port
its bytes are served on (L{TransferService}).

A file is sold like any item (one sale per buy id, exactly once), under
its name and under its content (the item C{sha256:HEX}, see
L{twisted_bazaar.files.names.hashItem}), but it is not counted stock: a
buy gets one copy whatever its quantity, and a copy never runs out.  So
files live here, not in the seller's stock or the store's inventory
(which hold counted goods only, and survive restarts as such): what a
restarted seller shares is what its folder holds.  Discovery sees each
file with L{FILE_UNITS} units (L{offered}); a node's state lists it
once, by name, with its size, hash and copies sold (L{sharedFiles}).  A
file that changes is withdrawn and offered again (an index scheme
unregisters and registers it, with its new hash); one that goes is
withdrawn.
"""

from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.files.hashing import Hasher
from twisted_bazaar.files.names import hashItem, itemHash
from twisted_bazaar.files.server import DEFAULT_TRANSFER_SLOTS, TransferService
from twisted_bazaar.files.share import DEFAULT_POLL, DEFAULT_SETTLE, SharedFolder
from twisted_bazaar.roles import Role

#: Units discovery sees of a shared file: copies do not run out.
FILE_UNITS = 10**9


class FileShop(Role):
    """
    Shares a folder for a seller.

    @ivar share: the L{SharedFolder}.
    @ivar server: the L{TransferService}.
    """

    log = Logger()

    def __init__(self, node, seller, folder, transfer_port=0,
                 transfer_slots=DEFAULT_TRANSFER_SLOTS, transfer_rate=0,
                 settle=DEFAULT_SETTLE, poll=DEFAULT_POLL, useInotify=True, unshared=()):
        super().__init__(node)
        self.seller = seller
        self.hasher = Hasher(node.clock)
        self.share = SharedFolder(node.clock, folder, self.hasher, self, settle, poll,
                                  useInotify, unshared)
        self.server = TransferService(node, self.share, transfer_port, transfer_slots,
                                      transfer_rate)
        #: item -> FILE_UNITS, for each file on offer by name and by
        #: content: what discovery sees of them.
        self.offered = {}
        #: item -> copies sold under it: those the ledger still holds,
        #: and those the store counts only.
        self._copies = seller.store.copiesSold()
        self.sold(sale for sale in seller.ledger.values() if sale.copy)
        seller.files = self

    def sold(self, sales):
        """Count copies sold (sales committed, or in the ledger)."""
        for sale in sales:
            self._copies[sale.item] = self._copies.get(sale.item, 0) + 1

    def describe(self, item):
        """The offer fields of a shared file (by name or by content): size,
        sha256, transfer port; None for anything else (or before the port
        is known)."""
        sha256 = itemHash(item)
        if sha256 is not None:
            found = self.share.byHash(sha256)
            digest = found[1] if found else None
        else:
            digest = None if item in self.seller.stock else self.share.files.get(item)
        if digest is None or not self.server.port:
            return None
        return {"size": digest.size, "sha256": digest.sha256,
                "transfer": self.server.port}

    # -- what the node's state shows -----------------------------------------------

    def sharedFiles(self):
        """(name, size, sha256, sold) of each file offered by its name:
        sold, the copies sold under its name or its content."""
        copies = self._copies
        return [(name, digest.size, digest.sha256,
                 copies.get(name, 0) + copies.get(hashItem(digest.sha256), 0))
                for name, digest in sorted(self.share.files.items())
                if name in self.offered]

    # -- what the shared folder tells us --------------------------------------------

    def fileAdded(self, name, digest):
        """Offer the file by its name, and by its content."""
        content = hashItem(digest.sha256)
        if content not in self.offered:
            self._offer(content, FILE_UNITS)
        if name in self.seller.stock:
            self.log.warn("not offering shared file {name} by name: the seller's "
                          "stock (--sell, or a restock) has an item of that name",
                          name=name)
            return
        self._offer(name, FILE_UNITS)

    def fileRemoved(self, name, digest):
        if self.share.byHash(digest.sha256) is None:
            self._offer(hashItem(digest.sha256), 0)
        if name in self.offered:
            self._offer(name, 0)

    def _offer(self, item, units):
        """Offer a file's item (units), or withdraw it (0)."""
        if units:
            self.offered[item] = units
        else:
            self.offered.pop(item, None)
        self.seller.discovery.stockChanged(item, units)

    # -- lifecycle -------------------------------------------------------------------

    def startService(self):
        super().startService()
        self.hasher.startService()
        d = self.server.startService()
        # Files are offered once their offers can name the transfer port.
        d.addCallback(lambda _: self.running and self.share.startService())
        d.addErrback(lambda _: None)

    def stopService(self):
        super().stopService()
        if self.share.running:
            self.share.stopService()
        d = defer.maybeDeferred(self.server.stopService)
        if self.hasher.running:
            self.hasher.stopService()
        return d
