"""
Which pieces one download asks of whom, and what becomes of each: every
seller offering the file's proven identity is given pieces at once
(L{PieceSchedule}), DEPTH at a time over its own transfer connection;
each piece is checked once as it comes, off the reactor thread
(L{Assembly}), which proves the whole file.  Disk is reserved for the
file in step with its verified bytes (L{Pieces.reserve}): an offer's
size alone, which anyone can make up, reserves nothing, and a stranger's
verified pieces reserve no more than twice their bytes.
"""

from twisted.logger import Logger

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.files.assembly import Assembly
from twisted_bazaar.files.downloads import DownloadError
from twisted_bazaar.files.schedule import PieceSchedule
from twisted_bazaar.roles.files.moves import TASTE

#: Pieces asked of one seller at once: the next request is on its way
#: while a piece arrives, so no round trip is wasted between pieces.
DEPTH = 4
#: Bytes a transfer connection must have brought before its seller's
#: close is taken for a handover (a relay's circuit that carried all it
#: may: 16 MiB at a public node's relay) rather than a failure: a
#: seller that brings less and hangs up is down, as before, so it cannot
#: make this buyer dial it again and again for a few bytes each time.
HANDOVER_BYTES = 1024 * 1024


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
        #: piece -> (seller, its L{PieceSink}) of a piece whose connection
        #: closed under it after bringing some of its bytes: the rest is
        #: asked of the same seller on its next connection.
        self.partial = {}
        #: Transfer clients whose pieces go back to their sellers as their
        #: requests fail, not to another seller (L{_movedOff}).
        self.handingOver = set()
        #: Relayed transfer clients that were given their taste
        #: (L{twisted_bazaar.roles.files.moves.Moves.holds}).
        self.tasted = set()

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
                                 download.fetcher.hasher.run, have,
                                 received=download.watch.received)
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
        moves = self.download.moves
        if moves.holds(seller, client):
            if client not in self.tasted:
                self.tasted.add(client)
                piece = self.schedule.assign(seller, now)
                if piece is not None:
                    self._fetch(seller, client, piece, TASTE)
            return
        piece = self.schedule.assign(seller, now)
        while piece is not None:
            self._fetch(seller, client, piece)
            if clients.get(seller) is not client:
                # It failed at once, and was dropped.
                break
            piece = self.schedule.assign(seller, now)

    def _fetch(self, seller, client, piece, most=None):
        """Ask client for piece (its first ``most`` bytes, if given: a
        taste, after which the piece goes back among the missing, what
        came of it kept)."""
        kept = self.partial.pop(piece, None)
        if kept is not None and kept[0] == seller:
            # The rest of it, from where the last connection stopped.
            sink = kept[1]
            sink.moveTo(client)
            offset, length = sink.position, sink.left
        else:
            if kept is not None:
                # Another seller takes it: from its start, so that a wrong
                # piece is one seller's.
                kept[1].abandon()
            offset, length = self.assembly.pieceRange(piece)
            sink = self.assembly.sink(piece, client)
        if most is not None:
            length = min(length, most)
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
        if sink.left:
            # A taste: the rest is asked once its seller is no longer held.
            self._handBack(seller, piece, sink)
            download.pump()
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
            length = self.assembly.pieceRange(piece)[1]
            if not self.reserve(length):
                return
            self.schedule.completed(piece, seller)
            download.fetcher.proven.add(seller)
            download.sellers.resetSearch()
            download.watch.verified(length)
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
        download = self.download
        if download.stopped:
            sink.abandon()
            return
        if reason.check(DownloadError):
            sink.abandon()
            download.fail(reason.value)
            return
        if self._movedOff(seller, piece, sink, client) or self._handOver(
                seller, piece, sink, client):
            download.pump()
            return
        sink.abandon()
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
        sellers.noLongerShared(seller, reason)
        download.pump()

    def _handOver(self, seller, piece, sink, client):
        """
        The seller closed the connection under ``piece`` after bringing at
        least HANDOVER_BYTES on it, and nothing else is wrong with it (this
        buyer closed it for none of its reasons: a stall, a broken answer,
        a slow or bad seller, L{TransferClient.hungUp}): a relay's circuit
        that carried all it may, or stayed open all it may.  The
        piece goes back in its order, what came of it kept (``sink``), and
        the seller is asked again at once, for the rest only, on a new
        connection: no stall, nothing fetched twice.

        @return: whether it was handed over (else it failed).
        """
        sellers, schedule = self.download.sellers, self.schedule
        if (not client.hungUp or client.received < HANDOVER_BYTES
                or seller in schedule.bad or schedule.inflight.get(piece) != seller):
            return False
        self._handBack(seller, piece, sink)
        if sellers.clients.get(seller) is client:
            sellers.drop(seller)
            self.log.info("{name}: seller {seller} closed its connection after "
                          "{n} bytes (it stopped, or a relay's circuit carrying it "
                          "ran out); asking it again at once", name=self.download.name,
                          seller=shortId(seller), n=client.received)
        return True

    def _movedOff(self, seller, piece, sink, client):
        """
        The piece was on a connection whose pieces go back to its seller:
        a relayed one the download moved off (to a direct one:
        L{twisted_bazaar.roles.files.moves.Moves.move}), or a direct one
        it moved to, which failed (L{Moves.lost}: the seller is asked
        again at once, whichever way its next connection goes).

        @return: whether it was handed back (else it failed).
        """
        sellers = self.download.sellers
        if client not in self.handingOver:
            if sellers.clients.get(seller) is not client or not (
                    self.download.moves.lost(seller)):
                return False
            self.log.info("{name}: the direct connection to seller {seller} failed "
                          "after the move; asking it again at once",
                          name=self.download.name, seller=shortId(seller))
            self.handingOver.add(client)
            sellers.drop(seller)
        if self.schedule.inflight.get(piece) == seller:
            self._handBack(seller, piece, sink)
        else:
            sink.abandon()
        return True

    def _handBack(self, seller, piece, sink):
        """The piece goes back among the missing, in its order, and what
        came of it (``sink``) is kept for seller's next connection."""
        self.schedule.handedOver(piece)
        started = sink.position != self.assembly.pieceRange(piece)[0]
        if started and not sink.abandoned:
            self.partial[piece] = (seller, sink)
        else:
            sink.abandon()

    def reserve(self, verified=0):
        """Room for twice the bytes verified (``verified`` of them not yet
        counted; see L{PartFile.reserve}), once a piece is verified: not
        the whole size, which a stranger's one piece of a made-up
        terabyte would buy, but in step with the bytes proven, so that a
        full disk is still found once about half of its room is written.
        False when the disk has none (the download fails)."""
        download = self.download
        try:
            download.part.reserve(2 * (download.watch.have + verified))
        except DownloadError as e:
            download.fail(e)
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
        self.partial.clear()
        self.handingOver.clear()
        self.tasted.clear()
        if self.assembly is not None:
            self.assembly.stop()
