"""
One file being fetched: asked of sellers of its content, described by
the first that can, and fetched in pieces from every one of them at once.

A download asks up to MAX_SOURCES sellers at once to describe the file,
checks the piece hashes the first of them describes against the file's
identity (the C{sha256} offered, the root of their hash tree:
L{twisted_bazaar.files.tree}), then fetches the pieces from every seller
offering the same identity.  L{Download} wires four parts: whom it asks
(L{Sellers}), which pieces of whom (L{Pieces}), how it is doing
(L{Watch}), and the moves of a seller's pieces from its relay to a
direct connection once one comes up (L{Moves}).  Nothing here pays again: sellers of the same content serve
pieces to anyone who asks.
"""

from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.deferreds import Outstanding
from twisted_bazaar.files.client import Stalled
from twisted_bazaar.files.downloads import DownloadError, PartBusy, PartFile, inPlace
from twisted_bazaar.files.hashing import pieceCount, pieceSize
from twisted_bazaar.files.share import SAY_HASHING
from twisted_bazaar.files.tree import fileIdentity
from twisted_bazaar.roles.files.moves import Moves
from twisted_bazaar.roles.files.pieces import Pieces
from twisted_bazaar.roles.files.sellers import MAX_SOURCES, NO_SELLER, Sellers
from twisted_bazaar.roles.files.watch import Watch

#: Seconds between two looks, while another buyer holds the part file
#: (the same downloads folder, the same content), at whether it put the
#: file in place or let the part file go.
OTHER_WAIT = 2.0


class Download:
    """
    One file being fetched, from every seller offering its content, the
    one paid first.

    @ivar sellers: the L{Sellers} it asks.
    @ivar pieces: the L{Pieces} it fetches, once the file is described.
    @ivar watch: the L{Watch} of its progress.
    @ivar moves: the L{Moves} of its sellers to direct connections.
    @ivar about: the file's description, once a seller gave one that
        proves its identity.
    @ivar work: the L{Outstanding} Deferreds it owns.
    @ivar finished: fires with the file's path, or fails with why not.
    """

    log = Logger()

    def __init__(self, fetcher, name, sha256, size, paid=None):
        self.fetcher = fetcher
        self.clock = fetcher.node.clock
        self.name = name
        self.sha256 = sha256
        self.size = size
        self.part = PartFile(fetcher.folder, name, sha256, size)
        self.about = None
        self.resumed = False
        #: Sellers asked for the file's description, at most MAX_SOURCES
        #: at once: one that never answers holds up only its own slot.
        self.asking = set()
        self._completing = False
        self.work = Outstanding()
        self.finished = defer.Deferred()
        self.stopped = False
        #: None until the part file is opened (or the download ends); False
        #: while another buyer holds it (L{_waitForOther}); True once that
        #: one put the file in place: done, with nothing fetched here.
        self.inPlaceBy = None
        self._otherLook = None
        #: Bytes of verified pieces its part file keeps once it failed,
        #: for a later run to resume (0: the part file went).
        self.kept = 0
        self.sellers = Sellers(self, paid)
        self.pieces = Pieces(self)
        self.watch = Watch(self)
        self.moves = Moves(self)

    @property
    def sources(self):
        """The L{Sources} of its sellers."""
        return self.sellers.sources

    @property
    def schedule(self):
        """The L{PieceSchedule}, once the file is described, or None."""
        return self.pieces.schedule

    @property
    def have(self):
        """Bytes verified."""
        return self.watch.have

    @property
    def progressAt(self):
        """When the last piece was verified (or the download started)."""
        return self.watch.progressAt

    def status(self):
        """Where this download stands (L{Watch.status})."""
        return self.watch.status()

    # -- starting ------------------------------------------------------------------

    def start(self, offers):
        """Open the part file and start fetching from these offers (more
        are searched for when they run out); while another buyer holds
        it, wait for that one (L{_waitForOther})."""
        try:
            self.resumed = self.part.open()
        except PartBusy as e:
            self._waitForOther(offers, e)
            return
        except DownloadError as e:
            self.fail(e)
            return
        if self.inPlaceBy is False:
            # The other buyer let it go: this one fetches from here.
            self.watch.problem = None
        self.inPlaceBy = None
        if self.resumed:
            self.log.info("resuming the download of {name}", name=self.name)
        self.watch.start()
        self.addSources(offers)

    def _waitForOther(self, offers, busy):
        """
        Another buyer, given the same downloads folder, holds the part
        file of this content: it fetches the same file.  Writing it at
        once would fetch it twice, and the second to finish found its
        part file gone (put in place by the first) and failed.  Every
        OTHER_WAIT seconds this looks whether the file is in place (then
        it is done: L{inPlaceBy}), else takes the part file if the other
        let it go (stopped or died: its verified pieces are resumed).
        No patience runs meanwhile: the other buyer's progress is not
        seen from here.
        """
        if self.inPlaceBy is None:
            self.log.info("{name}: {busy}; waiting for it", name=self.name, busy=busy)
        self.inPlaceBy = False
        self.watch.problem = f"{busy}: waiting for it"

        def look():
            self._otherLook = None
            fetcher = self.fetcher
            d = self.work.own(fetcher.hasher.run(inPlace, fetcher.folder, self.name,
                                                 self.sha256, self.size,
                                                 fetcher.contentIds))
            d.addCallback(looked)

        def looked(path):
            if self.stopped:
                return
            if path is None:
                self.start(offers)
                return
            self.inPlaceBy = True
            self.stop()
            self.finished.callback(path)

        self._otherLook = self.clock.callLater(OTHER_WAIT, look)

    def addSources(self, offers):
        """Keep these offers' sellers (as many as L{Sources} keeps), and
        ask them."""
        self.sellers.add(offers)
        self.pump()

    # -- the loop ------------------------------------------------------------------

    def pump(self):
        """Give every idle usable seller work; search for more sellers when
        none is left; finish once every piece is in."""
        if self.stopped:
            return
        sellers, schedule = self.sellers, self.pieces.schedule
        if schedule is None:
            if self.about is None:
                self._askDescriptions()
            return
        if schedule.finished:
            if not self.work:
                self._complete()
            return
        for seller in sellers.usable():
            if self.stopped:
                return
            if seller not in sellers.sources or seller in self.asking:
                # Gone meanwhile, or still to describe the file.
                continue
            if len(sellers.clients) + len(sellers.connecting) >= MAX_SOURCES and (
                    seller not in sellers.clients):
                continue
            if schedule.busy(seller) or seller in sellers.connecting:
                continue
            client = sellers.clients.get(seller)
            if client is None:
                sellers.connect(seller).addCallback(lambda _: self.pump())
                continue
            self.pieces.give(seller, client)
        if self.stopped or schedule.finished:
            return
        sellers.watchSlow()
        if (not schedule.inflight and not sellers.connecting and schedule.missing
                and not self.moves.holding()):
            self.watch.problem = self.watch.problem or NO_SELLER
            sellers.needSources()
        else:
            sellers.lookLater()

    def _askDescriptions(self):
        """Ask sellers, in order, for the file's description, up to
        MAX_SOURCES at once; search for more when none is left."""
        while not self.stopped and self.about is None and len(
                self.asking) < MAX_SOURCES:
            waiting = [seller for seller in self.sellers.usable()
                       if seller not in self.asking]
            if not waiting:
                break
            self._describe(waiting[0])
        if not self.stopped and self.about is None and not self.asking:
            self.sellers.needSources()

    # -- describing ----------------------------------------------------------------

    def _describe(self, seller):
        self.asking.add(seller)

        def ask(client):
            if client is None:
                return None
            d = client.head(self.sha256)
            d.addErrback(self._describeMoved, seller, client)
            return d.addCallback(self._described, seller)

        def failed(reason):
            if reason.check(DownloadError):
                # The part file could not be read back: no fault of the
                # seller's.
                self.fail(reason)
            elif not self.stopped and not self._completing:
                # (Completing, this node closed the connection itself: the
                # file is whole, no fault of the seller's.)
                self.log.info("seller {seller} could not describe {name}: {why}",
                              seller=shortId(seller), name=self.name,
                              why=inWords(reason))
                self.sellers.drop(seller)
                if reason.check(Stalled) and seller not in self.sellers.sources.failed:
                    # Its first stall: the stall may be the way, not the
                    # seller (a punched UDP path that died under the
                    # connection, which only a new dial over it finds
                    # silent, and drops with its link).  Forgotten, it was
                    # found again only by a search, over that dead link
                    # until its silence closed it 39 s on
                    # (tests/e2e/test_udppunched_live.py test_pathDies).
                    # So it counts as failed (others go first) but its
                    # offer stays: with no other seller it is asked again
                    # at once, on a new connection.  A second stall
                    # forgets it: a key that never answers costs two.
                    self.sellers.sources.fail(seller)
                else:
                    self.sellers.markDown(seller)
                self.sellers.noLongerShared(seller, reason)

        def done(_):
            self.asking.discard(seller)
            self.pump()

        d = self.work.own(self.sellers.connect(seller))
        d.addCallback(ask).addErrback(failed).addBoth(done)

    def _describeMoved(self, reason, seller, client):
        """The description asked on client failed: if the download moved
        seller off it meanwhile (to a direct connection, L{Moves.move
        <twisted_bazaar.roles.files.moves.Moves.move>}, which closes it),
        it is asked again on the one it moved to, at once.  Before, the
        seller was dropped as down and searched for again 1.5 s later: 3
        of 10 `bazaar buy`s (natbed --buy-alone) moved 0.1 to 0.2 s in,
        while describing, and had their first byte 2 s later."""
        moved = self.sellers.clients.get(seller)
        if (self.stopped or client not in self.pieces.handingOver or moved is None
                or moved is client):
            return reason
        return moved.head(self.sha256)

    def _described(self, about, seller):
        if self.about is not None:
            # Another seller described it first: this one's connection
            # stays, for pieces (each checked against the proven hashes).
            return None
        fault = None
        if about.size != self.size:
            fault = f"as {about.size} bytes, not the {self.size} it offered"
        elif about.piece_size != pieceSize(about.size):
            # Bytes are written as they come and checked a piece at a
            # time: a piece larger than the rule's would have this buyer
            # write that much of a stranger's bytes before checking one.
            fault = (f"with pieces of {about.piece_size} bytes, not the "
                     f"{pieceSize(about.size)} its size gives")
        elif len(about.pieces) != pieceCount(about.size, about.piece_size):
            fault = (f"with {len(about.pieces)} pieces of {about.piece_size} bytes for "
                     f"{about.size} bytes")
        elif fileIdentity(about.size, about.piece_size, about.pieces) != self.sha256:
            # Checked before any piece is asked for: every piece is then
            # checked against hashes that are proven to be the file's.
            fault = "with piece hashes whose tree is not the content id it offered"
        if fault is not None:
            self.log.warn("seller {seller} describes {name} {fault}; avoiding it",
                          seller=shortId(seller), name=self.name, fault=fault)
            self.fetcher.avoid(self.sha256, seller)
            self.sellers.drop(seller)
            self.sellers.sources.discard(seller)
            return None
        self.about = about
        if not self.resumed:
            self.pieces.scheduled([])
            return None
        if self.part.held >= SAY_HASHING:
            # Gigabytes take seconds to read back (30 s for 5 GB), and
            # the buyer said nothing meanwhile.
            self.log.info("{name}: checking the {size} bytes its part file holds "
                          "against the file's piece hashes: fetching resumes once "
                          "they are read", name=self.name, size=self.part.held)
        d = self.fetcher.hasher.run(self.part.verifyPieces, about.piece_size,
                                    about.pieces)
        return d.addCallback(self.pieces.scheduled)

    # -- the end ---------------------------------------------------------------------

    def _complete(self):
        if self._completing or self.stopped:
            return
        self._completing = True  # nothing else starts now
        self.sellers.dropAll()
        # Every piece matched a hash of the proven tree: that is the whole
        # file, with no second pass over its bytes.
        d = self.work.own(self.fetcher.hasher.run(self.part.complete))
        # Whole and verified, a file that cannot be put in place (its
        # folder made unwritable as it finished) keeps its part file: the
        # next run puts it there, with or without a seller online.
        d.addCallbacks(self._done, self.fail, errbackKeywords={"discard": False})

    def _done(self, path):
        self.stop()
        self.finished.callback(path)

    def fail(self, reason, discard=True):
        """End the download with an error; the part file goes, unless the
        download only gave up waiting: then its verified pieces stay (a
        later run may resume them), and the room reserved past them is
        given back."""
        error = getattr(reason, "value", reason)
        if self.stopped:
            return
        self.part.release(0 if discard else self.pieces.verifiedBytes())
        self.kept = 0 if discard else self.have
        self.stop()
        self.finished.errback(error)

    def stop(self):
        """Stop fetching: close connections, cancel timers and work; the
        part file stays for a later resume."""
        self.stopped = True
        if self._otherLook is not None and self._otherLook.active():
            self._otherLook.cancel()
        self._otherLook = None
        self.sellers.stopTimers()
        self.watch.stop()
        for d in list(self.sellers.connecting.values()) + list(self.work):
            d.cancel()
        self.sellers.dropAll()
        self.pieces.stop()
        self.moves.stop()
        self.part.close()
