"""
The buyer's side of files as goods: once a file is bought (one sale,
exactly once, by the buyer role), fetch it.

L{Fetcher} watches the buyer: it records the content each offer of a
wanted file names (L{Journal}), and when a purchase is committed (or, after
a restart, found in the bag with its file not yet in place) it starts a
L{Download}.  A download asks up to MAX_SOURCES sellers at once to
describe the file, checks the piece hashes the first of them describes
against the file's identity (the C{sha256} offered, the root of their hash
tree: L{twisted_bazaar.files.tree}), fetches the pieces from every seller
offering the same identity at once (L{PieceSchedule}), each over its own
transfer connection, verifies each piece once as it comes, off the
reactor thread (L{Assembly}), which proves the whole file.  It keeps
looking for more sellers while it fetches (every LOOK_INTERVAL, while it
has fewer than MAX_SOURCES), gives the fastest sellers pieces first and
drops one much slower than the fastest, as soon as it is.  Nothing here
pays again: sellers of the same content serve pieces to anyone who asks.

Any key can offer a file's real content at a port that never answers, so
the seller paid is asked first, sellers that delivered verified pieces
before next, a seller that failed the download only when no other is
left, and a download keeps a bounded table of sellers (L{Sources}).

A want for a file is met once the verified file is in the downloads
folder (L{Fetcher.settled}); a download that brings no verified piece for
C{give_up} seconds gives up, says why (L{Download.status}, the node's
state), and keeps the verified part of its part file for a later run to
resume.  Disk is reserved for a file only once its description checked
out and a first piece was verified: an offer's size alone, which anyone
can make up, reserves nothing.  A download that gave up while other
content is offered under the name (a stranger's phantom offer beside an
honest seller's, say) does not meet its want: the content is not bought
again, and the want buys from the other offers (L{Fetcher.unfetchable}).
"""

import collections
import os

from twisted.internet import defer
from twisted.logger import Logger

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.backoff import Backoff
from twisted_bazaar.base.deferreds import Outstanding, ignoreCancelled
from twisted_bazaar.base.lately import Recent
from twisted_bazaar.base.words import plural
from twisted_bazaar.files.assembly import Assembly
from twisted_bazaar.files.client import DEFAULT_STALL, TransferClient
from twisted_bazaar.files.downloads import DownloadError, PartFile
from twisted_bazaar.files.hashing import Hasher, pieceCount, pieceSize
from twisted_bazaar.files.journal import Journal, RecordFault
from twisted_bazaar.files.names import isPlainName, itemHash
from twisted_bazaar.files.schedule import PieceSchedule
from twisted_bazaar.files.sources import Sources
from twisted_bazaar.roles.files.options import DEFAULT_GIVE_UP
from twisted_bazaar.core.market import signedFile
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.files.tree import fileIdentity
from twisted_bazaar.roles import Role
from twisted_bazaar.roles.want import DONE
from twisted_bazaar.net.eviction import addressGroup

#: Most sellers one download takes pieces from (or asks to describe the
#: file) at once.
MAX_SOURCES = 4
#: Sellers a buyer remembers as having delivered verified pieces (of any
#: file): asked before other sellers it does not know.
PROVEN_KEPT = 1024
#: Contents a buyer remembers as offered under one name.
CONTENTS_KEPT = 16
#: Pieces asked of one seller at once: the next request is on its way
#: while a piece arrives, so no round trip is wasted between pieces.
DEPTH = 2
#: Seconds a download with no usable seller (all gone, bad, or busy)
#: waits before searching again (doubling up to SEARCH_MAX, with jitter).
SEARCH_MIN = 1.0
SEARCH_MAX = 30.0
#: Worker threads of a buyer's file work: checking pieces and writing
#: back to disk can run at once.
WORKERS = 3
#: Seconds between searches for more sellers while a download has fewer
#: than MAX_SOURCES.
LOOK_INTERVAL = 10.0
#: Seconds without a verified piece after which a download is stalled.
STALLED = DEFAULT_STALL
#: Seconds the download rate is measured over.
RATE_WINDOW = 5.0

#: What a download is doing, as the node's state says it.
DESCRIBING, FETCHING, STALLED_STATE, FAILED = "describing", "fetching", "stalled", "failed"


class GaveUp(Exception):
    """A download brought no verified piece for as long as it may."""


def fileOffers(offers, sha256=None):
    """The offers that name a file's content (and can be fetched from),
    only those of ``sha256`` if given: each described by its seller's own
    signed record (L{signedFile}), so that what a buyer pays one seller
    for is the content that seller described, never what another said."""
    return [offer for offer in offers
            if offer.sha256 is not None and offer.size is not None and offer.transfer
            and offer.host and (sha256 is None or offer.sha256 == sha256)
            and signedFile(offer)]


class Download:
    """
    One file being fetched, from every seller offering its content, the
    one paid first (L{Sources}).

    @ivar sources: the L{Sources}: seller id -> its L{Offer}, bounded.
    @ivar schedule: the L{PieceSchedule}, once the file is described.
    @ivar assembly: the L{Assembly} of the verified pieces, with it.
    """

    log = Logger()

    def __init__(self, fetcher, name, sha256, size, paid=None):
        self.fetcher = fetcher
        self.clock = fetcher.node.clock
        self.name = name
        self.sha256 = sha256
        self.size = size
        self.part = PartFile(fetcher.folder, name, sha256, size)
        self.sources = Sources(paid, fetcher.proven)
        self.clients = {}
        self.schedule = None
        self.assembly = None
        self.about = None
        self.resumed = False
        #: Sellers asked for the file's description, at most MAX_SOURCES
        #: at once: one that never answers holds up only its own slot.
        self._asking = set()
        self._completing = False
        self._connecting = {}
        self._work = Outstanding()
        #: When to search for sellers again.
        self._search = Backoff(self.clock, fetcher.rng, SEARCH_MIN, SEARCH_MAX)
        #: The search for more sellers while fetching, waiting or out.
        self._look = None
        self._looking = False
        self._quarter = 0
        self.finished = defer.Deferred()
        self.stopped = False
        #: Drops the sellers that became slow (L{PieceSchedule.slowAt}).
        self._slowCheck = None
        #: Bytes verified, and (when, bytes) of each piece verified in
        #: the last RATE_WINDOW, oldest first.
        self.have = 0
        self._recent = collections.deque()
        self.started = self.clock.seconds()
        self.progressAt = self.started
        #: Why no piece is coming, in words, until one does.
        self.problem = None
        self._patience = None
        #: Says, once, that the download stalled: STALLED seconds after
        #: the last verified piece (or the start).
        self._stall = None

    # -- starting ------------------------------------------------------------------

    def start(self, offers):
        """Open the part file and start fetching from these offers (more
        are searched for when they run out)."""
        try:
            self.resumed = self.part.open()
        except DownloadError as e:
            self._fail(e)
            return
        if self.resumed:
            self.log.info("resuming the download of {name}", name=self.name)
        self._patience = self.clock.callLater(self.fetcher.give_up, self._giveUp)
        self._watchStall()
        self.addSources(offers)

    def addSources(self, offers):
        """Keep these offers' sellers (as many as L{Sources} keeps), and
        ask them."""
        busy = set(self.clients) | set(self._connecting) | self._asking
        for offer in fileOffers(offers, self.sha256):
            if offer.size != self.size or offer.seller == self.fetcher.node.id:
                continue
            new = offer.seller not in self.sources
            if not self.sources.add(offer.seller, offer, addressGroup(offer.host),
                                    busy):
                continue
            if new and self.schedule is not None:
                self.log.info("{name}: seller {seller} offers it too; fetching from "
                              "it as well", name=self.name, seller=shortId(offer.seller))
            if self.schedule is not None:
                self.schedule.down.discard(offer.seller)
        self._pump()

    # -- the loop ------------------------------------------------------------------

    def _usable(self):
        """Sellers that may be asked, in the order to ask them
        (L{Sources.order}, then the fastest first once measured)."""
        bad = self.schedule.bad if self.schedule else self.fetcher.bad.get(self.sha256,
                                                                           set())
        down = self.schedule.down if self.schedule else set()
        sellers = self.sources.order([seller for seller in sorted(self.sources)
                                      if seller not in bad and seller not in down],
                                     self.fetcher.rng)
        if self.schedule is not None:
            return self.schedule.fastestFirst(sellers)
        return sellers

    def _pump(self):
        """Give every idle usable seller work; search for more sellers when
        none is left; finish once every piece is in."""
        if self.stopped:
            return
        if self.schedule is None:
            if self.about is None:
                self._askDescriptions()
            return
        if self.schedule.finished:
            if not self._work:
                self._complete()
            return
        for seller in self._usable():
            if self.stopped:
                return
            if seller not in self.sources or seller in self._asking:
                # Gone meanwhile, or still to describe the file.
                continue
            if len(self.clients) + len(self._connecting) >= MAX_SOURCES and (
                    seller not in self.clients):
                continue
            if self.schedule.busy(seller) or seller in self._connecting:
                continue
            client = self.clients.get(seller)
            if client is None:
                self._connect(seller).addCallback(lambda _: self._pump())
                continue
            now = self.clock.seconds()
            piece = self.schedule.assign(seller, now)
            while piece is not None:
                self._fetch(seller, client, piece)
                if self.clients.get(seller) is not client:
                    # It failed at once, and was dropped.
                    break
                piece = self.schedule.assign(seller, now)
        if self.stopped or self.schedule.finished:
            return
        self._watchSlow()
        if not self.schedule.inflight and not self._connecting and self.schedule.missing:
            self.problem = self.problem or "no seller to fetch it from"
            self._needSources()
        else:
            self._lookLater()

    def _askDescriptions(self):
        """Ask sellers, in order, for the file's description, up to
        MAX_SOURCES at once; search for more when none is left."""
        while not self.stopped and self.about is None and len(
                self._asking) < MAX_SOURCES:
            waiting = [seller for seller in self._usable() if seller not in self._asking]
            if not waiting:
                break
            self._describe(waiting[0])
        if not self.stopped and self.about is None and not self._asking:
            self._needSources()

    def _connect(self, seller):
        """
        A Deferred firing with a connected client to seller, or None.

        Whoever answers at the offer's address must prove the key of the
        seller's signed record in the channel's handshake: a proxy there
        that ends the channel itself is refused before a request goes out,
        and its seller counts as failed (protocol.md §19).
        """
        offer = self.sources[seller]
        client = TransferClient(self.clock, self.fetcher.stall)
        d = self.fetcher.node.connector.connect(offer.host, offer.transfer, client,
                                                expected=decode(offer.record.key))
        self._connecting[seller] = d

        def connected(protocol):
            del self._connecting[seller]
            if self.stopped:
                protocol.close()
                return None
            self.clients[seller] = protocol
            return protocol

        def failed(reason):
            self._connecting.pop(seller, None)
            if not self.stopped:
                self.log.info("cannot reach seller {seller} for {name}: {why}",
                              seller=shortId(seller), name=self.name,
                              why=reason.getErrorMessage())
                self.problem = (f"cannot reach seller {shortId(seller)}: "
                                f"{reason.getErrorMessage()}")
                self._markDown(seller)
            return None

        return d.addCallbacks(connected, failed)

    def _markDown(self, seller):
        """seller failed this download: not asked again before the next
        search finds it, and then only when no other seller is left."""
        self.sources.fail(seller)
        if self.schedule is not None:
            self.schedule.down.add(seller)
        else:
            self.sources.discard(seller)

    def _drop(self, seller):
        client = self.clients.pop(seller, None)
        if client is not None:
            client.close()

    # -- describing ----------------------------------------------------------------

    def _describe(self, seller):
        self._asking.add(seller)

        def ask(client):
            if client is None:
                return None
            return client.head(self.sha256).addCallback(self._described, seller)

        def failed(reason):
            if reason.check(DownloadError):
                # The part file could not be read back: no fault of the
                # seller's.
                self._fail(reason)
            elif not self.stopped:
                self.log.info("seller {seller} could not describe {name}: {why}",
                              seller=shortId(seller), name=self.name,
                              why=reason.getErrorMessage())
                self._drop(seller)
                self._markDown(seller)

        def done(_):
            self._asking.discard(seller)
            self._pump()

        d = self._work.own(self._connect(seller))
        d.addCallback(ask).addErrback(failed).addBoth(done)

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
            fault = "with piece hashes whose tree is not the sha256 it offered"
        if fault is not None:
            self.log.warn("seller {seller} describes {name} {fault}; avoiding it",
                          seller=shortId(seller), name=self.name, fault=fault)
            self.fetcher.avoid(self.sha256, seller)
            self._drop(seller)
            self.sources.discard(seller)
            return None
        self.about = about
        if not self.resumed:
            self._scheduled([])
            return None
        d = self.fetcher.hasher.run(self.part.verifyPieces, about.piece_size,
                                    about.pieces)
        return d.addCallback(self._scheduled)

    def _scheduled(self, have):
        if self.stopped:
            return
        if have:
            self.log.info("{name}: {n} of {total} pieces already on disk",
                          name=self.name, n=len(have), total=len(self.about.pieces))
        self.schedule = PieceSchedule(len(self.about.pieces), have, DEPTH)
        self.assembly = Assembly(self.part, self.about.piece_size, self.about.pieces,
                                 self.fetcher.hasher.run, have)
        self.have = sum(self.assembly.pieceRange(piece)[1] for piece in have)
        if have and not self._reserve():
            return
        for seller in self.fetcher.bad.get(self.sha256, ()):
            self.schedule.bad.add(seller)
        # Described only now: a stall while describing is said from now on.
        self._watchStall()

    # -- pieces ---------------------------------------------------------------------

    def _fetch(self, seller, client, piece):
        offset, length = self.assembly.pieceRange(piece)
        sink = self.assembly.sink(piece, client)
        d = self._work.own(client.get(self.sha256, offset, length, sink))
        d.addCallbacks(self._arrived, self._notArrived,
                       callbackArgs=(seller, piece, sink),
                       errbackArgs=(seller, piece, sink, client))

    def _arrived(self, _, seller, piece, sink):
        """Every byte of the piece is written: its hash is being finished
        off the reactor; meanwhile its seller fetches the next one."""
        if self.stopped:
            return
        now = self.clock.seconds()
        self.schedule.arrived(piece, now)
        d = self._work.own(sink.checked())
        d.addCallbacks(self._checked, self._fail, callbackArgs=(seller, piece))
        self._dropSlow(now)
        self._pump()

    def _dropSlow(self, now):
        """Drop the sellers much slower than the fastest (see
        L{PieceSchedule.slowSellers}), while another seller is at hand:
        their pieces go back to the others."""
        for seller in sorted(self.schedule.slowSellers(now)):
            others = [each for each in self.clients if each != seller
                      and each not in self.sources.failed]
            if not others:
                return
            self.log.info("{name}: seller {seller} is much slower than the others; "
                          "dropping it", name=self.name, seller=shortId(seller))
            self.sources.fail(seller)
            self._drop(seller)

    def _watchSlow(self):
        """Drop sellers as they become slow, not only as another piece
        arrives: one holding the last pieces (a seller that never answers,
        say) would keep them for a whole stall."""
        if self._slowCheck is not None and self._slowCheck.active():
            self._slowCheck.cancel()
        self._slowCheck = None
        now = self.clock.seconds()
        at = self.schedule.slowAt(now)
        if at is not None:
            self._slowCheck = self.clock.callLater(at - now, self._slowNow)

    def _slowNow(self):
        self._slowCheck = None
        if not self.stopped:
            self._dropSlow(self.clock.seconds())
            self._pump()

    def _checked(self, right, seller, piece):
        if self.stopped:
            return
        if right:
            if not self._reserve():
                return
            self.schedule.completed(piece, seller)
            self.fetcher.proven.add(seller)
            self._search.reset()
            self._verified(piece)
            self._progress()
        else:
            self.log.warn("seller {seller} sent a wrong piece {piece} of {name}; "
                          "avoiding it", seller=shortId(seller), piece=piece, name=self.name)
            self.schedule.corrupt(piece, seller)
            self.fetcher.avoid(self.sha256, seller)
            self._drop(seller)
        self._pump()

    def _reserve(self):
        """Room for the whole file, once a piece is verified (see
        L{PartFile.reserve}); False when the disk has none (the download
        fails)."""
        try:
            self.part.reserve()
        except DownloadError as e:
            self._fail(e)
            return False
        return True

    def _verifiedBytes(self):
        """Bytes of the part file up to the end of its last verified
        piece: what a later run can resume from."""
        if self.schedule is None or not self.schedule.done:
            return 0
        offset, length = self.assembly.pieceRange(max(self.schedule.done))
        return offset + length

    def _notArrived(self, reason, seller, piece, sink, client):
        sink.abandon()
        if self.stopped:
            return
        if reason.check(DownloadError):
            self._fail(reason.value)
            return
        if seller not in self.sources.failed:
            # Said once; one dropped for being slow was said so.
            self.log.info("seller {seller} did not deliver piece {piece} of {name}: "
                          "{why}", seller=shortId(seller), piece=piece, name=self.name,
                          why=reason.getErrorMessage())
            self.problem = (f"seller {shortId(seller)} did not deliver: "
                            f"{reason.getErrorMessage()}")
        self.schedule.failed(piece, seller)
        if self.clients.get(seller) is client:
            self._drop(seller)
        self._markDown(seller)
        self._pump()

    def _verified(self, piece):
        """A piece is in: the download is making progress."""
        now = self.clock.seconds()
        length = self.assembly.pieceRange(piece)[1]
        self.have += length
        recent = self._recent
        # Only the oldest can have left the window: one look a piece, not
        # a pass over every piece of the window (all of a fast download's).
        while recent and now - recent[0][0] >= RATE_WINDOW:
            recent.popleft()
        recent.append((now, length))
        self.progressAt = now
        self.problem = None
        if self._patience is not None and self._patience.active():
            self._patience.reset(self.fetcher.give_up)
        self._watchStall()

    def _watchStall(self):
        """Say when the download stalls (its state becomes ``stalled``):
        STALLED seconds after the last verified piece, or at once if that
        time has passed."""
        if self._stall is not None and self._stall.active():
            self._stall.cancel()
        delay = max(0.0, self.progressAt + STALLED - self.clock.seconds())
        self._stall = self.clock.callLater(delay, self._stalled)

    def _stalled(self):
        self._stall = None
        if self.stopped or self.schedule is None or self.schedule.finished:
            # Still describing (said once it is described, if no piece
            # came by then), or every piece is in.
            return
        self.log.info("{name}: stalled, no piece for {s:g} s{why}", name=self.name,
                      s=STALLED, why=f": {self.problem}" if self.problem else "")

    def status(self):
        """
        Where this download stands, for the node's state and ``bazaar
        buy``: a dict of ``name``, ``size``, ``sha256``, ``have`` (bytes
        verified), ``rate`` (bytes per second over the last RATE_WINDOW
        seconds), ``sellers`` (connected now), ``state`` (describing,
        fetching, stalled) and ``why`` (what keeps pieces from coming, or
        "").
        """
        now = self.clock.seconds()
        recent = sum(n for at, n in self._recent if now - at < RATE_WINDOW)
        span = min(RATE_WINDOW, max(now - self.started, 1e-3))
        if self.schedule is None:
            state = DESCRIBING
        elif now - self.progressAt >= STALLED:
            state = STALLED_STATE
        else:
            state = FETCHING
        why = self.problem or ""
        if state == STALLED_STATE and not why:
            why = f"no piece for {now - self.progressAt:.0f} s"
        return {"name": self.name, "size": self.size, "sha256": self.sha256,
                "have": self.have, "rate": int(recent / span),
                "sellers": len(self.clients), "state": state, "why": why}

    def _giveUp(self):
        self._patience = None
        why = self.problem or "no seller offered it"
        self._fail(GaveUp(f"no piece came for {self.fetcher.give_up:g} s "
                          f"(--download-give-up): {why}"), discard=False)

    def _progress(self):
        """Log each quarter of the pieces as it is passed."""
        total = self.schedule.count
        quarter = 4 * len(self.schedule.done) // total
        if 0 < quarter < 4 and quarter > self._quarter:
            self._quarter = quarter
            self.log.info("{name}: {percent}% ({done} of {total} pieces)",
                          name=self.name, percent=25 * quarter,
                          done=len(self.schedule.done), total=total)

    # -- more sellers ----------------------------------------------------------------

    def _needSources(self):
        if self.stopped:
            return
        delay = self._search.schedule(self._searchNow)
        if delay is not None:
            self.log.info("{name}: no seller to fetch it from; searching again in "
                          "{delay:.1f} s", name=self.name, delay=delay)

    def _searchNow(self):
        self._work.own(self.fetcher.findSources(self.name)).addCallbacks(
            self._found, ignoreCancelled)

    def _found(self, offers):
        if self.stopped:
            return
        if self.schedule is not None:
            self.schedule.down.clear()
        if not offers and self.problem == "no seller to fetch it from":
            self.problem = "no seller offers it any more"
        self.addSources(offers)

    def _lookLater(self):
        """While fetching from fewer than MAX_SOURCES sellers, search for
        more every LOOK_INTERVAL (one search at a time)."""
        if (self._look is not None or self._looking or self._search.pending
                or len(self._usable()) >= MAX_SOURCES or not self.schedule.missing):
            return
        self._look = self.clock.callLater(LOOK_INTERVAL, self._lookNow)

    def _lookNow(self):
        self._look = None
        self._looking = True

        def found(offers):
            self._looking = False
            if not self.stopped:
                self.addSources(offers)

        self._work.own(self.fetcher.findSources(self.name)).addCallbacks(
            found, ignoreCancelled)

    # -- the end ---------------------------------------------------------------------

    def _complete(self):
        if self._completing or self.stopped:
            return
        self._completing = True  # nothing else starts now
        for seller in list(self.clients):
            self._drop(seller)
        # Every piece matched a hash of the proven tree: that is the whole
        # file, with no second pass over its bytes.
        d = self._work.own(self.fetcher.hasher.run(self.part.complete))
        d.addCallbacks(self._done, self._fail)

    def _done(self, path):
        self.stop()
        self.finished.callback(path)

    def _fail(self, reason, discard=True):
        """End the download with an error; the part file goes, unless the
        download only gave up waiting: then its verified pieces stay (a
        later run may resume them), and the room reserved past them is
        given back."""
        error = getattr(reason, "value", reason)
        if self.stopped:
            return
        self.part.release(0 if discard else self._verifiedBytes())
        self.stop()
        self.finished.errback(error)

    def stop(self):
        """Stop fetching: close connections, cancel timers and work; the
        part file stays for a later resume."""
        self.stopped = True
        self._search.cancel()
        for call in (self._look, self._patience, self._stall, self._slowCheck):
            if call is not None and call.active():
                call.cancel()
        self._look = self._patience = self._stall = self._slowCheck = None
        for d in list(self._connecting.values()) + list(self._work):
            d.cancel()
        for seller in list(self.clients):
            self._drop(seller)
        if self.assembly is not None:
            self.assembly.stop()
        self.part.close()


class Fetcher(Role):
    """
    The buyer's file fetching (``--downloads DIR``).

    @ivar downloads: file name -> L{Download} in progress.
    @ivar failed: file name -> why its download gave up (or failed).
    @ivar bad: sha256 -> sellers that sent wrong bytes of it.
    @ivar onGaveUp: called with the reason, in words, when a download
        ends without its file (a one-shot buy ends on it; a daemon told
        to exit when done exits with it), or None.
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
        #: Whether the downloads owed since before a restart are started
        #: (L{nodeReady}): until then no want is known to be met.
        self._ready = False
        self.rng = node.rng
        self.hasher = Hasher(node.clock, WORKERS)
        self.journal = Journal(folder)
        self.downloads = {}
        #: file name -> (path, seller -> pieces it served) of the files
        #: fetched since start.
        self.fetched = {}
        self.bad = {}
        #: Sellers that delivered verified pieces, of any file: asked
        #: before others not known (L{Sources}).
        self.proven = Recent(PROVEN_KEPT)
        #: file name -> the offers of it seen last.
        self.offers = {}
        #: file name -> the contents (sha256) offered under it, in any
        #: offer seen (an offer's, or a download's search): the last
        #: CONTENTS_KEPT of them (L{Recent}), however many keys offer.
        self.contents = {}
        #: Contents whose download gave up while another content was
        #: offered under their name: not bought again in this run.
        self.unfetchable = set()
        #: Wanted items whose offers named no file: counted items, whose
        #: purchases have nothing to fetch.
        self.counted = set()
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
        return self._ready and not self.downloads and not self.failed

    def unfinished(self):
        """Why the files bought are not all in place, one phrase each: a
        download under way, or given up on."""
        phrases = []
        for row in self.downloadsHeld():
            if row["state"] == FAILED:
                phrases.append(f"cannot download {row['name']}: {row['why']}")
            else:
                phrases.append(f"{row['name']} not downloaded yet ({row['have']} of "
                               f"{row['size']} bytes, {row['state']}"
                               + (f": {row['why']})" if row["why"] else ")"))
        return phrases

    def downloadsHeld(self):
        """The downloads under way and given up on, as
        L{Download.status} says them, by name."""
        rows = [download.status() for download in self.downloads.values()]
        for name, (size, sha256, why) in self.failed.items():
            rows.append({"name": name, "size": size, "sha256": sha256, "have": 0,
                         "rate": 0, "sellers": 0, "state": FAILED, "why": why})
        return sorted(rows, key=lambda row: row["name"])

    def _wanted(self, item):
        """Is item still to be bought (so its offers are worth noting)?"""
        return any(want.item == item and want.state != DONE for want in self.buyer.wants)

    def avoid(self, sha256, seller):
        """seller sent wrong bytes (or a wrong description) of sha256."""
        self.bad.setdefault(sha256, set()).add(seller)

    def fetchable(self, offers):
        """The offers a want may buy from: none of a content that could
        not be fetched (L{unfetchable})."""
        if not self.unfetchable:
            return offers
        return [offer for offer in offers if offer.sha256 not in self.unfetchable]

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
        if not found:
            if offers:
                self.counted.add(item)
            return
        self.counted.discard(item)
        self._seen(item, found)
        self.offers[item] = found
        try:
            self.journal.note(item, found)
        except OSError as e:
            self.log.critical("cannot record the offers of {item} in {folder}: {why}",
                              item=item, folder=self.folder, why=e.strerror)

    def bought(self, purchase):
        """
        The buyer committed a purchase (its buyOK checked against the buy:
        see L{twisted_bazaar.roles.buyer}): fetch the file it paid for.
        """
        item, seller = purchase.item, purchase.seller
        if self._stopped or item in self.fetched or not any(
                want.item == item for want in self.buyer.wants):
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
                      sellers=", ".join(map(str, dict.fromkeys(sellers))),
                      path=self.journal.path(item), why=fault, extra=extra)

    def _bought(self, purchase):
        """Fetch the file a purchase paid for: the content its buyOK
        confirmed, or for a purchase from before buyOKs named it, the one
        its seller's offer named.
        @return: None if it is being fetched, else the L{RecordFault} that
            says why not."""
        item, seller = purchase.item, purchase.seller
        if item in self.downloads:
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
                return RecordFault(f"without an offer from seller {seller}")
            sha256, size = sellers[seller]
        download = self.downloads[item] = Download(self, item, sha256, size, seller)
        download.finished.addCallbacks(self._downloaded, self._failed,
                                       callbackArgs=(download,),
                                       errbackArgs=(download,))
        self.log.info("fetching {name} ({size} bytes, sha256 {sha})", name=item,
                      size=size, sha=sha256)
        download.start(self.offers.get(item, ()))
        return None

    def findSources(self, name):
        """Offers of ``name`` found now (a Deferred list, never failing)."""
        d = self.node.discovery.find(name, self.search_window)
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
        served = download.schedule.served if download.schedule else {}
        self.fetched[download.name] = (path, dict(served))
        self.log.info("downloaded {name} into {path}, sha256 verified ({sellers})",
                      name=download.name, path=path,
                      sellers=", ".join(f"{plural(n, 'piece')} from {shortId(seller)}"
                                        for seller, n in sorted(served.items())))
        self.buyer.wantDone()

    def _failed(self, reason, download):
        self.downloads.pop(download.name, None)
        why = reason.getErrorMessage()
        others = set(self.contents.get(download.name, ())) - self.unfetchable - {
            download.sha256}
        if reason.check(GaveUp) and others:
            # Not a file: the want is not met by it, and buys another
            # content offered under the name.
            self.unfetchable.add(download.sha256)
            self.log.warn("cannot download {name} as content {sha}: {why}; buying "
                          "it from the sellers of other content", name=download.name,
                          sha=download.sha256, why=why)
            self.buyer.unfetched(download.name)
            return
        self.failed[download.name] = (download.size, download.sha256, why)
        if self.onGaveUp is None:
            self.log.critical("cannot download {name}: {why}", name=download.name,
                              why=why)
            return
        # Its owner ends with the reason, and says it where it says its end.
        self.log.error("cannot download {name}: {why}", name=download.name, why=why)
        self.onGaveUp(f"cannot download {download.name}: {why}")

    # -- lifecycle ---------------------------------------------------------------------

    def startService(self):
        super().startService()
        self.hasher.startService()

    def nodeStopping(self):
        self._stop()

    def stopService(self):
        super().stopService()
        self._stop()
        if self.hasher.running:
            self.hasher.stopService()

    def _stop(self):
        self._stopped = True
        for download in list(self.downloads.values()):
            download.stop()
        while self._finds:
            self._finds.pop().cancel()
