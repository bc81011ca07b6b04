"""
The seller's side of files as goods (``--share DIR``): every file on offer
in the shared folder is an item of the seller's stock, named by its file
name, and its offers carry its size, identity (C{sha256}) and the port
its bytes are served on (L{TransferService}).

A file is sold like any item (one sale per buy id, exactly once), under
its name and under its content (the item C{sha256:HEX}, see
L{twisted_bazaar.files.names.hashItem}); a copy never runs out, so each
is stocked with L{FILE_UNITS} units.  Those units are how discovery finds
it, and nothing a user sees: a node's state lists a file once, by name,
with its size and hash (L{sharedFiles}), and keeps its items out of the
stock (L{fileItems}).  A file
that changes is withdrawn and offered again (an index scheme unregisters
and registers it, with its new hash); one that goes is withdrawn.
"""

from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.files.hashing import Hasher
from twisted_bazaar.files.names import hashItem, itemHash
from twisted_bazaar.files.server import DEFAULT_TRANSFER_SLOTS, TransferService
from twisted_bazaar.files.share import DEFAULT_POLL, DEFAULT_SETTLE, SharedFolder
from twisted_bazaar.roles import Role

#: Units of a shared file in stock: copies do not run out.
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
                 settle=DEFAULT_SETTLE, poll=DEFAULT_POLL, useInotify=True):
        super().__init__(node)
        self.seller = seller
        self.hasher = Hasher(node.clock)
        self.share = SharedFolder(node.clock, folder, self.hasher, self, settle, poll,
                                  useInotify)
        self.server = TransferService(node, self.share, transfer_port, transfer_slots,
                                      transfer_rate)
        #: Items of the seller's --sell, which a file of the same name
        #: does not replace.
        self._counted = set(seller.store.seededWith() or seller.stock)
        seller.files = self
        for item in sorted(set(seller.stock) - self._counted):
            # A file shared in an earlier run: offered again only once the
            # folder shows it is still there.
            seller.stock[item] = 0
            seller.discovery.stockChanged(item, 0)

    def describe(self, item):
        """The offer fields of a shared file (by name or by content): size,
        sha256, transfer port; None for anything else (or before the port
        is known)."""
        sha256 = itemHash(item)
        if sha256 is not None:
            found = self.share.byHash(sha256)
            digest = found[1] if found else None
        else:
            digest = None if item in self._counted else self.share.files.get(item)
        if digest is None or not self.server.port:
            return None
        return {"size": digest.size, "sha256": digest.sha256,
                "transfer": self.server.port}

    # -- what the node's state shows -----------------------------------------------

    def sharedFiles(self):
        """(name, size, sha256, sold) of each file offered by its name:
        sold, the copies sold (by its name or its content) since it was
        last offered."""
        stock = self.seller.stock
        return [(name, digest.size, digest.sha256,
                 max(0, FILE_UNITS - stock.get(name, FILE_UNITS))
                 + max(0, FILE_UNITS - stock.get(hashItem(digest.sha256), FILE_UNITS)))
                for name, digest in sorted(self.share.files.items())
                if name not in self._counted]

    def fileItems(self):
        """Every item of the seller's stock that is a file (by name, or by
        content): all but the items of --sell."""
        return {item for item in self.seller.stock if item not in self._counted}

    # -- what the shared folder tells us --------------------------------------------

    def fileAdded(self, name, digest):
        """Offer the file by its name, and by its content."""
        content = hashItem(digest.sha256)
        if not self.seller.stock.get(content):
            self._stock(content, FILE_UNITS)
        if name in self._counted:
            self.log.warn("not offering shared file {name} by name: --sell already "
                          "offers an item of that name", name=name)
            return
        self._stock(name, FILE_UNITS)

    def fileRemoved(self, name, digest):
        if self.share.byHash(digest.sha256) is None:
            self._stock(hashItem(digest.sha256), 0)
        if name in self._counted or name not in self.seller.stock:
            return
        self._stock(name, 0)

    def _stock(self, name, units):
        """Set a file's units in the seller's stock and its store (which
        writes in order: a sale of it is committed after this)."""
        self.seller.stock[name] = units
        self.seller.store.stockItem(name, units).addErrback(self._notStocked, name)
        self.seller.discovery.stockChanged(name, units)

    def _notStocked(self, reason, name):
        self.log.critical("cannot record shared file {name} in the inventory: {why}; "
                          "its sales cannot be recorded", name=name,
                          why=reason.getErrorMessage())

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
