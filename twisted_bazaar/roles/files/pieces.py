"""
Which pieces one download asks of whom, and what becomes of each: every
seller offering the file's proven identity is given pieces at once
(L{PieceSchedule}), DEPTH at a time over its own transfer connection;
each piece is checked once as it comes, off the reactor thread
(L{Assembly}), which proves the whole file.  Disk is reserved for the
file only once a first piece was verified: an offer's size alone, which
anyone can make up, reserves nothing.
"""

from twisted.logger import Logger

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.files.assembly import Assembly
from twisted_bazaar.files.downloads import DownloadError
from twisted_bazaar.files.schedule import PieceSchedule

#: Pieces asked of one seller at once: the next request is on its way
#: while a piece arrives, so no round trip is wasted between pieces.
DEPTH = 4


class Pieces:
    """
    The pieces of one L{Download}, once its file is described.

    @ivar schedule: the L{PieceSchedule}, or None before the description.
    @ivar assembly: the L{Assembly} of the verified pieces, with it.
    """

    log = Logger()

    def __init__(self, download):
        self.download = download
        self.schedule = None
        self.assembly = None

    def scheduled(self, have):
        """The file is described, and the pieces in ``have`` are on disk
        already, verified: schedule the others."""
        download = self.download
        if download.stopped:
            return
        about = download.about
        if have:
            self.log.info("{name}: {n} of {total} pieces already on disk",
                          name=download.name, n=len(have), total=len(about.pieces))
        self.schedule = PieceSchedule(len(about.pieces), have, DEPTH)
        self.assembly = Assembly(download.part, about.piece_size, about.pieces,
                                 download.fetcher.hasher.run, have)
        download.watch.have = sum(self.assembly.pieceRange(piece)[1] for piece in have)
        if have and not self.reserve():
            return
        for seller in download.fetcher.bad.get(download.sha256, ()):
            self.schedule.bad.add(seller)
        # Described only now: a stall while describing is said from now on.
        download.watch.watchStall()

    def give(self, seller, client):
        """Ask seller, connected as client, for as many pieces as it may
        have on the way."""
        clients = self.download.sellers.clients
        now = self.download.clock.seconds()
        piece = self.schedule.assign(seller, now)
        while piece is not None:
            self._fetch(seller, client, piece)
            if clients.get(seller) is not client:
                # It failed at once, and was dropped.
                break
            piece = self.schedule.assign(seller, now)

    def _fetch(self, seller, client, piece):
        offset, length = self.assembly.pieceRange(piece)
        sink = self.assembly.sink(piece, client)
        d = self.download.work.own(client.get(self.download.sha256, offset, length,
                                              sink))
        d.addCallbacks(self._arrived, self._notArrived,
                       callbackArgs=(seller, piece, sink),
                       errbackArgs=(seller, piece, sink, client))

    def _arrived(self, _, seller, piece, sink):
        """Every byte of the piece is written: its hash is being finished
        off the reactor; meanwhile its seller fetches the next one."""
        download = self.download
        if download.stopped:
            return
        now = download.clock.seconds()
        self.schedule.arrived(piece, now)
        d = download.work.own(sink.checked())
        d.addCallbacks(self._checked, download.fail, callbackArgs=(seller, piece))
        download.sellers.dropSlow(now)
        download.pump()

    def _checked(self, right, seller, piece):
        download = self.download
        if download.stopped:
            return
        if right:
            if not self.reserve():
                return
            self.schedule.completed(piece, seller)
            download.fetcher.proven.add(seller)
            download.sellers.resetSearch()
            download.watch.verified(self.assembly.pieceRange(piece)[1])
            download.watch.progress(len(self.schedule.done), self.schedule.count)
        else:
            self.log.warn("seller {seller} sent a wrong piece {piece} of {name}; "
                          "avoiding it", seller=shortId(seller), piece=piece,
                          name=download.name)
            self.schedule.corrupt(piece, seller)
            download.fetcher.avoid(download.sha256, seller)
            download.sellers.drop(seller)
        download.pump()

    def _notArrived(self, reason, seller, piece, sink, client):
        sink.abandon()
        download = self.download
        if download.stopped:
            return
        if reason.check(DownloadError):
            download.fail(reason.value)
            return
        sellers = download.sellers
        if seller not in sellers.sources.failed:
            # Said once; one dropped for being slow was said so.
            self.log.info("seller {seller} did not deliver piece {piece} of {name}: "
                          "{why}", seller=shortId(seller), piece=piece,
                          name=download.name, why=reason.getErrorMessage())
            download.watch.problem = (f"seller {shortId(seller)} did not deliver: "
                                      f"{reason.getErrorMessage()}")
        self.schedule.failed(piece, seller)
        if sellers.clients.get(seller) is client:
            sellers.drop(seller)
        sellers.markDown(seller)
        download.pump()

    def reserve(self):
        """Room for the whole file, once a piece is verified (see
        L{PartFile.reserve}); False when the disk has none (the download
        fails)."""
        try:
            self.download.part.reserve()
        except DownloadError as e:
            self.download.fail(e)
            return False
        return True

    def verifiedBytes(self):
        """Bytes of the part file up to the end of its last verified
        piece: what a later run can resume from."""
        if self.schedule is None or not self.schedule.done:
            return 0
        offset, length = self.assembly.pieceRange(max(self.schedule.done))
        return offset + length

    def stop(self):
        """Stop checking pieces."""
        if self.assembly is not None:
            self.assembly.stop()
