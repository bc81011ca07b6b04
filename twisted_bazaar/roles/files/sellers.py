"""
Whom one download asks: the sellers of a file's content, found, ranked,
reached, and dropped when they fail or fall far behind.

Any key can offer a file's real content at a port that never answers, so
the seller paid is asked first, sellers that delivered verified pieces
before next, a seller that failed the download only when no other is
left, and a download keeps a bounded table of sellers (L{Sources}).  It
keeps looking for more sellers while it fetches (every LOOK_INTERVAL,
while it has fewer than MAX_SOURCES), asks the fastest first, and drops
one much slower than the fastest as soon as it is.
"""

from twisted.logger import Logger

from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.backoff import Backoff
from twisted_bazaar.base.saidonce import SaidOnce
from twisted_bazaar.base.words import plural
from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.files.client import TransferClient, refusedAs
from twisted_bazaar.channel.noise import AESGCM_NAME
from twisted_bazaar.files.sources import Sources
from twisted_bazaar.reach.dialer import FILES
from twisted_bazaar.core.market import signedFile
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.roles.files.watch import GaveUp

#: Most sellers one download takes pieces from (or asks to describe the
#: file) at once.
MAX_SOURCES = 4
#: Seconds a download with no usable seller (all gone, bad, or busy)
#: waits before searching again (doubling up to SEARCH_MAX, with jitter).
SEARCH_MIN = 1.0
SEARCH_MAX = 30.0
#: Seconds between searches for more sellers while a download has fewer
#: than MAX_SOURCES.
LOOK_INTERVAL = 10.0
#: What a download says while no seller is at hand.
NO_SELLER = "no seller to fetch it from"


def fileOffers(offers, sha256=None):
    """The offers that name a file's content (and can be fetched from),
    only those of ``sha256`` if given: each described by its seller's own
    signed record (L{signedFile}), so that what a buyer pays one seller
    for is the content that seller described, never what another said."""
    return [offer for offer in offers
            if offer.sha256 is not None and offer.size is not None and offer.transfer
            and offer.host and (sha256 is None or offer.sha256 == sha256)
            and signedFile(offer)]


class Sellers:
    """
    The sellers of one L{Download}: their offers (L{Sources}), the
    transfer connections to them, and the searches for more.

    @ivar sources: the L{Sources}: seller id -> its L{Offer}, bounded.
    @ivar clients: seller id -> its connected L{TransferClient}.
    @ivar connecting: seller id -> the Deferred of a connection under way.
    """

    log = Logger()

    def __init__(self, download, paid):
        self.download = download
        self.fetcher = download.fetcher
        self.clock = download.clock
        self.sources = Sources(paid, self.fetcher.proven)
        self.clients = {}
        self.connecting = {}
        #: When to search for sellers again.
        self._search = Backoff(self.clock, self.fetcher.rng, SEARCH_MIN, SEARCH_MAX)
        #: The search for more sellers while fetching, waiting or out.
        self._look = None
        self._looking = False
        #: Drops the sellers that became slow (L{PieceSchedule.slowAt}).
        self._slowCheck = None
        #: The last seller that answered ``nofile`` (L{noLongerShared}).
        self.noFile = None
        #: The search's retry line, said once until a piece comes (or as
        #: a reminder: L{SaidOnce}); made at the first.
        self._said = None

    def add(self, offers):
        """Keep these offers' sellers (as many as L{Sources} keeps), but
        none this node has no way to fetch from (L{Fetcher.fetchable
        <twisted_bazaar.roles.files.fetch.Fetcher.fetchable>}): the
        buyer's order left them out, and later searches find them too."""
        download = self.download
        schedule = download.pieces.schedule
        busy = set(self.clients) | set(self.connecting) | download.asking
        for offer in self.fetcher.fetchable(fileOffers(offers, download.sha256)):
            if offer.size != download.size or offer.seller == self.fetcher.node.id:
                continue
            new = offer.seller not in self.sources
            if not self.sources.add(offer.seller, offer, addressGroup(offer.host),
                                    busy):
                continue
            if new and schedule is not None:
                self.log.info("{name}: seller {seller} offers it too; fetching from "
                              "it as well", name=download.name,
                              seller=shortId(offer.seller))
            if schedule is not None:
                schedule.down.discard(offer.seller)

    def usable(self):
        """Sellers that may be asked, in the order to ask them
        (L{Sources.order}, then the fastest first once measured)."""
        schedule = self.download.pieces.schedule
        # A seller that answered nofile is the fetcher's to avoid too.
        bad = self.fetcher.bad.get(self.download.sha256, set())
        if schedule is not None:
            bad = bad | schedule.bad
        down = schedule.down if schedule else set()
        sellers = self.sources.order([seller for seller in sorted(self.sources)
                                      if seller not in bad and seller not in down],
                                     self.fetcher.rng)
        if schedule is not None:
            return schedule.fastestFirst(sellers)
        return sellers

    def connect(self, seller):
        """
        A Deferred firing with a connected client to seller, or None.

        The node's dialer finds the way (a seller at home, linked
        directly by a punched link, is punched to the same way; else
        reached through its relay).  Whoever answers must prove the key
        of the seller's signed record in the channel's handshake: a proxy
        that ends the channel itself is refused before a request goes
        out, and its seller counts as failed (protocol.md §19).
        """
        download = self.download
        download.moves.started(seller)
        d = self.connecting[seller] = self.dial(seller)

        def connected(protocol):
            del self.connecting[seller]
            if download.stopped:
                protocol.close()
                return None
            self.clients[seller] = protocol
            download.moves.connected(seller, protocol)
            return protocol

        def failed(reason):
            self.connecting.pop(seller, None)
            if not download.stopped:
                why = inWords(reason)
                self.log.info("cannot reach seller {seller} for {name}: {why}",
                              seller=shortId(seller), name=download.name, why=why)
                download.watch.problem = f"cannot reach seller {shortId(seller)}: {why}"
                self.markDown(seller)
            return None

        return d.addCallbacks(connected, failed)

    def dial(self, seller):
        """A Deferred firing with a new transfer client connected to
        seller, whichever way the node's dialer finds (L{connect}): the
        offer's address, the seller's word, heard into the node's book of
        paths (its transfer port, and its relay if it names one, charged
        to the group of the peer whose reply brought it), then the
        seller dialled by its id, its signed record's key to prove."""
        offer = self.sources[seller]
        node = self.fetcher.node
        node.heard(seller, offer.host, offer.transfer, offer.namedBy, FILES, offer.relay)
        return node.transferTo(seller, offer.record.key, lambda: self._client(seller))

    def _client(self, seller):
        """A transfer client for seller, which asks it to switch to
        AES-256-GCM unless it refused that before."""
        return TransferClient(
            self.clock, self.fetcher.stall,
            cipher=None if seller in self.fetcher.unswitched else AESGCM_NAME)

    def markDown(self, seller):
        """seller failed this download: not asked again before the next
        search finds it, and then only when no other seller is left."""
        self.sources.fail(seller)
        schedule = self.download.pieces.schedule
        if schedule is not None:
            schedule.down.add(seller)
        else:
            self.sources.discard(seller)

    def noLongerShared(self, seller, reason):
        """
        seller answered ``nofile`` (reason): it shares this content no
        more (its file rewritten or removed), so it is not asked for it
        again, and sellers are searched for at once.  A download left
        with no seller of its content while other content is offered
        under its name ends then (L{replaced}), rather than wait out
        ``--download-give-up`` for a seller that said it has nothing.

        @return: whether reason is such an answer.
        """
        if not refusedAs(reason, "nofile"):
            return False
        download = self.download
        self.fetcher.avoid(download.sha256, seller)
        self.sources.discard(seller)
        self.noFile = seller
        if not self.replaced():
            self._search.reset()
        return True

    def replaced(self):
        """
        After a seller's ``nofile``: with no other seller of this content
        known, and other content offered under its name (the file
        rewritten), end the download, saying so; the want then buys that
        content (L{Fetcher._failed}).

        @return: whether it ended.
        """
        download = self.download
        if self.noFile is None or download.stopped:
            return False
        bad = self.fetcher.bad.get(download.sha256, ())
        if ([other for other in self.sources if other not in bad]
                or not self.fetcher.otherContents(download.name, download.sha256)):
            return False
        download.fail(GaveUp(f"seller {shortId(self.noFile)} no longer shares it "
                             "(nofile), and no other seller of it is known"),
                      discard=False)
        return True

    def drop(self, seller):
        """Close the connection to seller, if there is one (a seller that
        refused the cipher switch is not asked it again)."""
        client = self.clients.pop(seller, None)
        if client is not None:
            if client.cipherRefused:
                self.fetcher.unswitched.add(seller)
            client.close()

    def dropAll(self):
        """Close every connection to a seller."""
        for seller in list(self.clients):
            self.drop(seller)

    # -- slow sellers ----------------------------------------------------------------

    def dropSlow(self, now):
        """Drop the sellers much slower than the fastest (see
        L{PieceSchedule.slowSellers}), while another seller is at hand:
        their pieces go back to the others."""
        for seller in sorted(self.download.pieces.schedule.slowSellers(now)):
            others = [each for each in self.clients if each != seller
                      and each not in self.sources.failed]
            if not others:
                return
            self.log.info("{name}: seller {seller} is much slower than the others; "
                          "dropping it", name=self.download.name, seller=shortId(seller))
            self.sources.fail(seller)
            self.drop(seller)

    def watchSlow(self):
        """Drop sellers as they become slow, not only as another piece
        arrives: one holding the last pieces (a seller that never answers,
        say) would keep them for a whole stall."""
        if self._slowCheck is not None and self._slowCheck.active():
            self._slowCheck.cancel()
        self._slowCheck = None
        now = self.clock.seconds()
        at = self.download.pieces.schedule.slowAt(now)
        if at is not None:
            self._slowCheck = self.clock.callLater(at - now, self._slowNow)

    def _slowNow(self):
        self._slowCheck = None
        if not self.download.stopped:
            self.dropSlow(self.clock.seconds())
            self.download.pump()

    # -- more sellers ----------------------------------------------------------------

    def needSources(self):
        """Search again for sellers, after a backoff: none is left."""
        if self.download.stopped:
            return
        delay = self._search.schedule(self._searchNow)
        if delay is None:
            return
        if self._said is None:
            self._said = SaidOnce(self.clock)
        unsaid = self._said.due("search", None)
        if unsaid is not None:
            self.log.info("{name}: no seller to fetch it from; searching again in "
                          "{delay:.1f} s{more}", name=self.download.name, delay=delay,
                          more=f" ({plural(unsaid, 'more search', 'more searches')} "
                               "found none since this was said)" if unsaid else "")

    def resetSearch(self):
        """A piece was verified: the next search for sellers, if one is
        needed, is after the shortest wait again, and said."""
        self._search.reset()
        if self._said is not None:
            self._said.forget()

    def _searchNow(self):
        self.download.work.own(self.fetcher.findSources(self.download.name)).addCallbacks(
            self._found, ignoreCancelled)

    def _found(self, offers):
        download = self.download
        if download.stopped:
            return
        if download.pieces.schedule is not None:
            download.pieces.schedule.down.clear()
        if not offers and download.watch.problem == NO_SELLER:
            download.watch.problem = "no seller offers it any more"
        download.addSources(offers)
        self.replaced()

    def lookLater(self):
        """While fetching from fewer than MAX_SOURCES sellers, search for
        more every LOOK_INTERVAL (one search at a time)."""
        if (self._look is not None or self._looking or self._search.pending
                or len(self.usable()) >= MAX_SOURCES
                or not self.download.pieces.schedule.missing):
            return
        self._look = self.clock.callLater(LOOK_INTERVAL, self._lookNow)

    def _lookNow(self):
        self._look = None
        self._looking = True

        def found(offers):
            self._looking = False
            if not self.download.stopped:
                self.download.addSources(offers)

        self.download.work.own(self.fetcher.findSources(self.download.name)).addCallbacks(
            found, ignoreCancelled)

    def stopTimers(self):
        """Cancel the searches to come and the check for slow sellers."""
        self._search.cancel()
        for call in (self._look, self._slowCheck):
            if call is not None and call.active():
                call.cancel()
        self._look = self._slowCheck = None
