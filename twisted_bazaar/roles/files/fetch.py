"""
The buyer's side of files as goods: once a file is bought (one sale,
exactly once, by the buyer role), fetch it.

L{Fetcher} watches the buyer: it records the content each offer of a
wanted file names (L{Journal}), and when a purchase is committed (or, after
a restart, found in the bag with its file not yet in place) it starts a
L{Download} of that content from every seller offering it, unless the
file is in place already, its content id checked (an earlier run put it
there: L{Fetcher.present}): that one is done, seller or no seller.
Before a want buys, it looks the same way (L{Fetcher.look}): a file the
offers found name that is in place already is not paid for again.

A want for a file is met once the verified file is in the downloads
folder (L{Fetcher.settled}); a download that brings no verified piece for
C{give_up} seconds gives up, says why (L{Download.status}, the node's
state), and keeps the verified part of its part file for a later run to
resume.  A download that gave up while other content is offered under the
name (a stranger's phantom offer beside an honest seller's, say) does not
meet its want: the content is not bought again, and the want buys from
the other offers (L{Fetcher.unfetchable}).
"""

import os

from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.lately import Recent
from twisted_bazaar.base.words import plural
from twisted_bazaar.core.finding import find
from twisted_bazaar.files.client import DEFAULT_STALL
from twisted_bazaar.files.downloads import NoSpace, PartFile, inPlace, leaveNoEmptyFolder
from twisted_bazaar.files.hashing import ContentIds, Hasher
from twisted_bazaar.files.journal import Journal, RecordFault
from twisted_bazaar.files.names import isPlainName, itemHash
from twisted_bazaar.roles.files.download import Download
from twisted_bazaar.roles.files.options import DEFAULT_GIVE_UP
from twisted_bazaar.roles.files.outofreach import OutOfReach
from twisted_bazaar.roles.files.sellers import fileOffers
from twisted_bazaar.roles.files.watch import FAILED, GaveUp
from twisted_bazaar.roles import Role
from twisted_bazaar.roles.want import DONE, contentOf

#: Sellers a buyer remembers as having delivered verified pieces (of any
#: file): asked before other sellers it does not know.
PROVEN_KEPT = 1024
#: Contents a buyer remembers as offered under one name.
CONTENTS_KEPT = 16
#: Worker threads of a buyer's file work: checking pieces and writing
#: back to disk can run at once.
WORKERS = 3


class Fetcher(Role):
    """
    The buyer's file fetching (``--downloads DIR``).

    @ivar downloads: file name -> L{Download} in progress.
    @ivar failed: file name -> why its download gave up (or failed).
    @ivar bad: sha256 -> sellers that sent wrong bytes of it.
    @ivar onGaveUp: called with the reason, in words, when a download
        ends without its file, or when the offers found cannot be recorded
        in the folder (before anything is bought); a one-shot buy ends on
        it, a daemon told to exit when done exits with it; or None.
    """

    log = Logger()

    @classmethod
    def fromSettings(cls, node, buyer, downloads, download_give_up=DEFAULT_GIVE_UP):
        """The Fetcher of a buyer built with these settings (see
        L{twisted_bazaar.roles.files.options.fetchSettings})."""
        return cls(node, buyer, downloads, search_window=buyer.search_window,
                   give_up=download_give_up)

    def __init__(self, node, buyer, folder, stall=DEFAULT_STALL,
                 search_window=1.0, give_up=DEFAULT_GIVE_UP):
        super().__init__(node)
        self.buyer = buyer
        self.folder = folder
        self.stall = stall
        self.search_window = search_window
        self.give_up = give_up
        self.failed = {}
        self.onGaveUp = None
        #: Why a file may not be fetched into the folder at all, or None
        #: (L{refuseFiles}).
        self._refused = None
        #: Told (name, seller) as a file an earlier run paid for is
        #: resumed (L{tellResumed}), or None.
        self._onResumed = None
        #: Whether the downloads owed since before a restart are started
        #: (L{nodeReady}): until then no want is known to be met.
        self._ready = False
        self.rng = node.rng
        self.hasher = Hasher(node.clock, WORKERS)
        #: What files in the folder were read to look for a purchase in
        #: place: one of other bytes is read again only once it changed.
        self.contentIds = ContentIds()
        self.journal = Journal(folder)
        self.downloads = {}
        #: file name -> (path, seller -> pieces it served) of the files
        #: fetched since start.
        self.fetched = {}
        #: file name -> path of a file bought that was found in place
        #: with the content paid for (put there by an earlier run): done,
        #: not fetched again.
        self.present = {}
        #: file name -> the check (a Deferred) of whether it is in place,
        #: before its download starts.
        self.checks = {}
        #: file name -> seller -> (bytes that came from it through a relay,
        #: seconds after the start that its pieces moved to a direct
        #: connection or None), of the files fetched since start.
        self.paths = {}
        self.bad = {}
        #: Sellers that delivered verified pieces, of any file: asked
        #: before others not known (L{Sources}).
        self.proven = Recent(PROVEN_KEPT)
        #: Sellers that refused to switch a transfer connection's cipher
        #: (docs/protocol.md §19.1): their next connections keep the
        #: channel's.
        self.unswitched = Recent(PROVEN_KEPT)
        #: file name -> the offers of it seen last.
        self.offers = {}
        #: file name -> the contents (sha256) offered under it, in any
        #: offer seen (an offer's, or a download's search): the last
        #: CONTENTS_KEPT of them (L{Recent}), however many keys offer.
        self.contents = {}
        #: Contents whose download gave up while another content was
        #: offered under their name: not bought again in this run.
        self.unfetchable = set()
        #: The sellers this node has no way to fetch a file from (L{fetchable}).
        self.outOfReach = OutOfReach(node)
        #: file name -> those contents given up on under it, whose part
        #: files go once the name is in place (L{_dropAbandoned}).
        self.abandoned = {}
        #: wanted item -> the sellers whose offers of it named no file:
        #: counted items, whose purchases have nothing to fetch.
        self.counted = {}
        self._finds = set()
        self._stopped = False
        buyer.fetcher = self
        for want in buyer.wants:
            if not isPlainName(want.item):
                self.log.warn("--want {item} is not a plain file name: it can be "
                              "bought, but not fetched into {folder}", item=want.item,
                              folder=folder)
        counted = max((want.quantity for want in buyer.wants), default=1)
        if counted > 1:
            self.log.warn("--quantity {n} applies to counted items: a want that is a "
                          "shared file is bought once and fetched once", n=counted)

    def settled(self):
        """Is every file bought in the downloads folder, verified?  (A
        want for a file is met only then.)"""
        return (self._ready and not self.downloads and not self.failed
                and not self.checks)

    def unfinished(self, hints=()):
        """Why the files bought are not all in place, one phrase each: a
        look for one in place under way, a download under way, or one
        given up on; one of which no byte came, with the ways out
        ``hints`` names (the transport plugins': a network that lets
        only HTTP(S) out reaches no seller by TCP)."""
        phrases = [f"{name} being checked in {self.folder}" for name in self.checks]
        for row in self.downloadsHeld():
            if row["state"] == FAILED:
                phrase = f"cannot download {row['name']}: {row['why']}"
            else:
                phrase = (f"{row['name']} not downloaded yet ({row['have']} of "
                          f"{row['size']} bytes, {row['state']}"
                          + (f": {row['why']})" if row["why"] else ")"))
            if hints and not row["have"]:
                phrase += f" ({'; '.join(hints)})"
            phrases.append(phrase)
        return phrases

    def downloadsHeld(self):
        """The downloads under way and given up on, as
        L{Download.status} says them, by name; one given up on has
        (``have``) the verified bytes its part file keeps."""
        rows = [download.status() for download in self.downloads.values()]
        for name, (size, sha256, kept, why) in self.failed.items():
            rows.append({"name": name, "size": size, "sha256": sha256, "have": kept,
                         "rate": 0, "sellers": 0, "state": FAILED, "why": why})
        return sorted(rows, key=lambda row: row["name"])

    def _wanted(self, item):
        """Is item still to be bought (so its offers are worth noting)?"""
        return any(want.item == item and want.state != DONE for want in self.buyer.wants)

    def avoid(self, sha256, seller):
        """seller sent wrong bytes (or a wrong description) of sha256."""
        self.bad.setdefault(sha256, set()).add(seller)

    def otherContents(self, name, sha256):
        """The content ids other than sha256 seen offered under name, and
        not given up on."""
        return set(self.contents.get(name, ())) - self.unfetchable - {sha256}

    def fetchable(self, offers):
        """The offers a want may buy from: none of a content that could
        not be fetched (L{unfetchable}), none of a seller this node has
        no way to fetch from (L{OutOfReach})."""
        if self.unfetchable:
            offers = [offer for offer in offers if offer.sha256 not in self.unfetchable]
        return self.outOfReach.reachable(offers)

    def _seen(self, name, offers):
        seen = self.contents.setdefault(name, Recent(CONTENTS_KEPT))
        for offer in offers:
            seen.add(offer.sha256)

    # -- what the buyer's node tells us -----------------------------------------------

    def offersFound(self, item, offers):
        if self._stopped or not self._wanted(item) or not isPlainName(item):
            return
        # Wanted by content: only offers of that content count.
        found = fileOffers(offers, itemHash(item))
        counted = {offer.seller for offer in offers if offer.sha256 is None}
        if counted:
            self.counted.setdefault(item, set()).update(counted)
        if not found:
            return
        self._seen(item, found)
        self.offers[item] = found
        why = self._refused or self._noted(item, found)
        if why is None:
            return
        if self.onGaveUp is None:
            self.log.critical("cannot record the offers of {item} in {folder}: {why}",
                              item=item, folder=self.folder, why=why)
            return
        # A folder that takes no writes now would fail the file once it is
        # paid for: its owner ends before anything is bought.
        self.unfetchable.update(offer.sha256 for offer in found)
        self.onGaveUp(f"cannot download {item}: {why}; nothing bought")

    def _noted(self, item, offers):
        """Note a file's offers in the folder (L{Journal.note}): None, or
        the disk's reason it could not."""
        try:
            self.journal.note(item, offers)
        except OSError as e:
            return e.strerror
        return None

    def refuseFiles(self, why):
        """
        Refuse every file found, for why, before it is bought: its owner
        ends on it (L{onGaveUp}).  ``bazaar buy`` without --downloads in a
        folder of a daemon's state: a counted item needs no folder, so
        only a file's offers found tell that the buy would write there.
        """
        self._refused = why

    def bought(self, purchase):
        """
        The buyer committed a purchase (its buyOK checked against the buy:
        see L{twisted_bazaar.roles.buyer}): fetch the file it paid for.
        """
        item, seller = purchase.item, purchase.seller
        if self._stopped or item in self.fetched or item in self.present or not any(
                want.item == item for want in self.buyer.wants):
            return
        if purchase.sha256 is None and seller in self.counted.get(item, ()):
            if item in self.offers:
                self.log.warn("bought {item} from {seller} as a counted item (its offer "
                              "named no file), though a file of that name is offered "
                              "too: nothing to fetch into {folder}", item=item,
                              seller=shortId(seller), folder=self.folder)
            return
        fault = self._bought(purchase)
        if fault is None:
            return
        if not fault.missing:
            self._notFetched(item, [seller], fault)
        elif item in self.offers:
            self._notFetched(item, [seller], RecordFault(
                "missing: it could not be written when the offers were found"))
        elif item not in self.counted:
            self.log.warn("bought {item} from {seller}, but its offer named no "
                          "shared file to fetch (a plain item, or a discovery "
                          "scheme that does not carry file offers)",
                          item=item, seller=shortId(seller))

    def nodeReady(self):
        """
        After a restart: files bought but not yet in place are fetched.
        One whose record cannot say which content its seller offered is
        said so and left alone: fetching whatever is offered under its
        name now could bring another file than the one paid for.  A file
        already in place lost its record when it was put there: that is
        no fault.  A plain item never had one, and cannot be told from a
        file whose record was lost: the warning says so.
        """
        bought = {}
        for purchase in reversed(self.buyer.bag):
            # The latest purchase of a name first: an earlier one may be of
            # content that could not be fetched.
            bought.setdefault(purchase.item, []).append(purchase)
        for item, purchases in bought.items():
            if not isPlainName(item):
                continue
            sellers = [purchase.seller for purchase in purchases]
            for purchase in purchases:
                fault = self._bought(purchase)
                if fault is None:
                    break
            else:
                if not (fault.missing and os.path.lexists(os.path.join(self.folder,
                                                                       item))):
                    self._notFetched(item, sellers, fault)
        self._ready = True
        # The buyer found its wants met before this: say it once the
        # files are known to be in place.
        self.buyer.wantDone()

    def _notFetched(self, item, sellers, fault):
        extra = " (a plain item has none)" if fault.missing else ""
        self.log.warn("not fetching {item}, bought from seller {sellers}: its offers "
                      "record {path} is {why}{extra}, so which content was paid for "
                      "is unknown", item=item,
                      sellers=", ".join(dict.fromkeys(map(shortId, sellers))),
                      path=self.journal.path(item), why=fault, extra=extra)

    def _bought(self, purchase):
        """Fetch the file a purchase paid for: the content its buyOK
        confirmed, or for a purchase from before buyOKs named it, the one
        its seller's offer named.
        @return: None if it is being fetched, else the L{RecordFault} that
            says why not."""
        item, seller = purchase.item, purchase.seller
        if item in self.downloads or item in self.checks:
            return None
        if not isPlainName(item):
            return RecordFault("missing", missing=True)
        if purchase.sha256 is not None and purchase.size is not None:
            sha256, size = purchase.sha256, purchase.size
        else:
            try:
                sellers = self.journal.load(item)
            except RecordFault as fault:
                return fault
            if seller not in sellers:
                return RecordFault(f"without an offer from seller {shortId(seller)}")
            sha256, size = sellers[seller]
        try:
            self.journal.notePaid(item, seller, sha256, size)
        except OSError as e:
            # The fetch goes on: only a later run without a bag would buy
            # it again.
            self.log.warn("cannot record the purchase of {item} in {folder}: {why}",
                          item=item, folder=self.folder, why=e.strerror or e)
        self._check(item, sha256, size, seller)
        return None

    def tellResumed(self, listener):
        """Have ``listener(name, seller)`` told as a file an earlier run paid
        for is resumed rather than bought: a one-shot buy says so, where it
        says a purchase."""
        self._onResumed = listener

    def look(self, item, offers):
        """
        Before item is bought from offers (in the order the want tries
        them): is a file of a content they name in the folder already,
        verified (L{inPlace}: its name or the tagged one, size, content
        id)?  The user holds it; it is not paid for twice.  Read off the
        reactor, as L{_check} does.

        A content they name that an earlier run bought and did not see
        in place (its offers record says so: L{Journal.paidFor}) is not
        bought either: its fetch resumes (L{_paidBefore}).

        @return: None when the offers name no file (a counted item) or
            item is no plain name; else a Deferred of the path of the file
            in place (it is then L{present}, and said so) or being
            resumed, or of None (a fault of the look's own reads as not in
            place).  A cancel (the want left its search) goes through as a
            failure.
        """
        contents = list(dict.fromkeys(contentOf(offer) for offer in offers))
        contents = [content for content in contents if content != (None, None)]
        if not contents or not isPlainName(item) or self._stopped:
            return None
        paid = self.journal.paidFor(item)
        if paid is not None and paid[1:] in contents:
            return defer.succeed(self._paidBefore(item, *paid))
        d = self.hasher.run(_firstInPlace, self.folder, item, contents, self.contentIds)

        def looked(found):
            if found is None:
                return None
            path, sha256 = found
            self.journal.remove(item)
            self.present[item] = path
            self.log.info("{name} is in place already ({path}, content id {sha} "
                          "verified): nothing bought", name=item, path=path, sha=sha256)
            return path

        def unread(reason):
            return reason if reason.check(defer.CancelledError) else None

        return d.addCallbacks(looked, unread)

    def _paidBefore(self, item, seller, sha256, size):
        """An earlier run bought content sha256 of item from seller and did
        not see it in place (a ``bazaar buy`` stopped with Ctrl-C, which
        keeps no bag): it is fetched, or found in place, as that purchase
        would be (L{_check}), not bought again.  The path it goes to."""
        self.log.info("{name}: bought from seller {seller} in an earlier run (content "
                      "id {sha}, its offers record says): resuming it, not buying it "
                      "again", name=item, seller=shortId(seller), sha=sha256)
        if self._onResumed is not None:
            self._onResumed(item, seller)
        self._check(item, sha256, size, seller)
        return os.path.join(self.folder, item)

    def _check(self, item, sha256, size, seller):
        """
        Fetch item as content sha256 of size bytes (paid to seller), unless
        a file of that content is in place under its name already (or the
        name tagged with its content id, where another file had the name:
        L{inPlace}): an earlier run fetched it, and its record went with
        it.  It is then done, whether a seller offers it now or not.  A
        file of other content under the name is left alone either way.
        """
        d = self.hasher.run(inPlace, self.folder, item, sha256, size, self.contentIds)
        self.checks[item] = d

        def checked(path):
            self.checks.pop(item, None)
            if self._stopped:
                return
            if path is None:
                self._fetch(item, sha256, size, seller)
                return
            self.journal.remove(item)
            self.present[item] = path
            self.log.info("{name} is in place already ({path}, content id {sha} "
                          "verified): not fetched again", name=item, path=path,
                          sha=sha256)
            self.buyer.wantDone()

        def failed(reason):
            # A stop (its cancel, the worker threads stopped), or a fault
            # of the check's own: inPlace says None for a file it cannot
            # read.  Fetching is never wrong.
            self.checks.pop(item, None)
            if not self._stopped:
                self._fetch(item, sha256, size, seller)

        d.addCallbacks(checked, failed)

    def _fetch(self, item, sha256, size, seller):
        """Start the download of item as content sha256."""
        download = self.downloads[item] = Download(self, item, sha256, size, seller)
        download.finished.addCallbacks(self._downloaded, self._failed,
                                       callbackArgs=(download,),
                                       errbackArgs=(download,))
        self.log.info("fetching {name} ({size} bytes, content id {sha})", name=item,
                      size=size, sha=sha256)
        download.start(self.offers.get(item, ()))

    def findSources(self, name):
        """Offers of ``name`` found now (a Deferred list, never failing)."""
        d = find(self.node, name, self.search_window)
        self._finds.add(d)

        def done(offers):
            self._finds.discard(d)
            found = fileOffers(offers, itemHash(name))
            self._seen(name, found)
            return found

        return d.addCallback(done)

    def _downloaded(self, path, download):
        self.downloads.pop(download.name, None)
        self.journal.remove(download.name)
        if download.inPlaceBy:
            # Another buyer of the same folder fetched it: nothing came here.
            self.present[download.name] = path
            self.log.info("{name} is in place already ({path}, content id {sha} "
                          "verified): another buyer fetched it into this folder",
                          name=download.name, path=path, sha=download.sha256)
            self.buyer.wantDone()
            return
        served = download.schedule.served if download.schedule else {}
        self.fetched[download.name] = (path, dict(served))
        self._dropAbandoned(download.name)
        moves = download.moves
        self.paths[download.name] = {seller: (moves.relayedBytes(seller),
                                              moves.movedAfter.get(seller))
                                     for seller in served}
        # A part file whose every piece was on disk already (a resume of
        # one all fetched before a crash) had none from a seller: said
        # so, not as "()".
        self.log.info("downloaded {name} into {path}, content id verified ({sellers})",
                      name=download.name, path=path,
                      sellers=", ".join(f"{plural(n, 'piece')} from {shortId(seller)}"
                                        for seller, n in sorted(served.items()))
                      or "every piece on disk already")
        self.buyer.wantDone()

    def _dropAbandoned(self, name):
        """name is in place as other content than the ones given up on
        under it: their part files, kept for a resume that will not come
        (a restart fetches the latest purchase of a name), go."""
        for sha256 in sorted(self.abandoned.pop(name, ())):
            part = PartFile(self.folder, name, sha256, 0)
            if part.discardUnheld():
                self.log.info("{name}: removed the part file of content id {sha}, "
                              "given up on for the content in place", name=name,
                              sha=sha256)

    def _failed(self, reason, download):
        self.downloads.pop(download.name, None)
        why = reason.getErrorMessage()
        if reason.check(GaveUp) and self.otherContents(download.name, download.sha256):
            # Not a file: the want is not met by it, and buys another
            # content offered under the name.
            self.unfetchable.add(download.sha256)
            self.abandoned.setdefault(download.name, set()).add(download.sha256)
            self.log.warn("cannot download {name} as content id {sha}: {why}; buying "
                          "it from the sellers of other content", name=download.name,
                          sha=download.sha256, why=why)
            self.buyer.unfetched(download.name)
            return
        if reason.check(NoSpace):
            why += self._nextRun(download)
        self.failed[download.name] = (download.size, download.sha256, download.kept, why)
        if self.onGaveUp is None:
            self.log.critical("cannot download {name}: {why}", name=download.name,
                              why=why)
            return
        # Its owner ends with the reason, and says it where it says its end
        # (the daemon's error line, in its log too when that is elsewhere):
        # not here as well, or a terminal shows it twice.
        self.onGaveUp(f"cannot download {download.name}: {why}")

    def _nextRun(self, download):
        """What a run again does with a download a full disk ended, in
        words that follow its reason: the purchase kept (a bag with
        --data-dir, or its offers record) fetches it without buying it
        again; one the full disk kept from being recorded is bought
        again by a buyer without a bag, and its record (the offers
        alone, if any) says nothing else."""
        name = download.name
        if self.buyer.store.durable:
            return ("; the purchase is kept (--data-dir): run again once there is "
                    "room, it is fetched without being bought again")
        paid = self.journal.paidFor(name)
        if paid is not None and paid[1:] == (download.sha256, download.size):
            return (f"; the purchase is recorded in {self.journal.path(name)}: run "
                    "again once there is room, it is fetched without being bought again")
        return ("; the full disk kept the purchase from being recorded: run again, "
                "it is bought again")

    # -- lifecycle ---------------------------------------------------------------------

    def startService(self):
        super().startService()
        self.hasher.startService()

    def nodeStopping(self):
        self._stop()

    def stopService(self):
        """Stop every download and check (their worker threads joined),
        and leave no empty private folder behind (L{leaveNoEmptyFolder})."""
        super().stopService()
        self._stop()
        if self.hasher.running:
            self.hasher.stopService()
        leaveNoEmptyFolder(self.folder)

    def _stop(self):
        self._stopped = True
        self.outOfReach.stop()
        for download in list(self.downloads.values()):
            download.stop()
        for check in list(self.checks.values()):
            check.cancel()
        while self._finds:
            self._finds.pop().cancel()


def _firstInPlace(folder, name, contents, ids):
    """(path, sha256) of the first of contents, (sha256, size) pairs, with
    a file in place in folder under name (L{inPlace}, reading through
    ids), or None.  Blocking: it may read whole files."""
    for sha256, size in contents:
        path = inPlace(folder, name, sha256, size, ids)
        if path is not None:
            return path, sha256
    return None
