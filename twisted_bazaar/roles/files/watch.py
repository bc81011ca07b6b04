"""
How one download is doing: the bytes verified and the rate they come
at, a stall said once, each quarter of the pieces logged, and the end
when it made no progress for C{give_up} seconds (L{GaveUp}), with the
reason in words (L{Watch.status}, the node's state).

Progress is a verified piece, or MOVING_BYTES received over the last
STALLED seconds: a slow path (a relay's share, a piece taking minutes)
is progress, not a stall, where counting pieces alone took it for a
dead seller; a trickle is not.
"""

import collections

from twisted.logger import Logger

from twisted_bazaar.base.asleep import lateBy, slept
from twisted_bazaar.files.client import DEFAULT_STALL

#: Seconds without progress after which a download is stalled.
STALLED = DEFAULT_STALL
#: Seconds the download rate is measured over: of the bytes received (each
#: read), not of the pieces verified, whose whole piece at a time over the
#: window made the rate move in steps (a 1 MiB piece's 204.8 KiB/s).
RATE_WINDOW = 5.0
#: Bytes a download must receive over the last STALLED seconds to be
#: making progress without a verified piece: 1 KiB a second, far below a
#: relay's share of its rate (a public node's 256 KiB/s among all of its
#: 64 circuits is 4 KiB/s each), far above a trickle.
MOVING_BYTES = 10 * 1024

#: What a download is doing, as the node's state says it.
DESCRIBING, FETCHING, STALLED_STATE, FAILED = "describing", "fetching", "stalled", "failed"


class GaveUp(Exception):
    """A download brought no verified piece for as long as it may."""


class Watch:
    """
    The progress of one L{Download}, its stall and its patience.

    @ivar have: bytes verified.
    @ivar started: when the download started.
    @ivar progressAt: when it last made progress (a piece verified, or
        MOVING_BYTES received over the STALLED seconds before), or the
        start.
    @ivar problem: why no piece is coming, in words, until one does.
    """

    log = Logger()

    def __init__(self, download):
        self.download = download
        self.clock = download.clock
        #: Bytes verified.
        self.have = 0
        #: (when, bytes) of each read received in the last STALLED
        #: seconds (at least RATE_WINDOW), oldest first, and their sum.
        self._incoming = collections.deque()
        self._incomingBytes = 0
        self.started = self.clock.seconds()
        self.progressAt = self.started
        self.problem = None
        self._patience = None
        #: Says, once, that the download stalled: STALLED seconds after
        #: the last verified piece (or the start).
        self._stall = None
        self._quarter = 0

    def start(self):
        """Give up after C{give_up} seconds without progress; say
        a stall.  Both count from now: a download that waited for
        another buyer's part file (L{Download._waitForOther
        <twisted_bazaar.roles.files.download.Download._waitForOther>})
        starts here."""
        self.started = self.progressAt = self.clock.seconds()
        self._patience = self.clock.callLater(self.download.fetcher.give_up,
                                              self._giveUp)
        self.watchStall()

    def verified(self, length):
        """A piece of length bytes is in: the download is making progress."""
        self.have += length
        self._progressed(self.clock.seconds())

    def received(self, length):
        """length bytes of a piece came (not yet verified): progress once
        MOVING_BYTES came over the last STALLED seconds."""
        now = self.clock.seconds()
        incoming = self._incoming
        incoming.append((now, length))
        self._incomingBytes += length
        while now - incoming[0][0] >= STALLED:
            self._incomingBytes -= incoming.popleft()[1]
        if self._incomingBytes >= MOVING_BYTES:
            self._progressed(now)

    def _progressed(self, now):
        self.progressAt = now
        self.problem = None
        if self._patience is not None and self._patience.active():
            self._patience.reset(self.download.fetcher.give_up)
        if self._stall is None or not self._stall.active():
            self.watchStall()

    def waited(self):
        """The download waited for a direct path to a seller (its relayed
        connection held: L{Moves.holds
        <twisted_bazaar.roles.files.moves.Moves.holds>}), which is no
        stall: one is counted from now."""
        self.progressAt = max(self.progressAt, self.clock.seconds())
        if not self.download.stopped:
            self.watchStall()

    def watchStall(self):
        """Say when the download stalls (its state becomes ``stalled``):
        STALLED seconds after its last progress, or at once if that time
        has passed (looked at again then: progress since moves it)."""
        if self._stall is not None and self._stall.active():
            self._stall.cancel()
        delay = max(0.0, self.progressAt + STALLED - self.clock.seconds())
        self._stall = self.clock.callLater(delay, self._stalled)

    def _stalled(self):
        call, self._stall = self._stall, None
        download = self.download
        if slept(call, self.clock):
            # Asleep (see L{_giveUp}): the stall counts from now.
            self.progressAt = max(self.progressAt, self.clock.seconds())
            self.watchStall()
            return
        schedule = download.pieces.schedule
        if download.stopped or schedule is None or schedule.finished:
            # Still describing (said once it is described, if no piece
            # came by then), or every piece is in.
            return
        if self.clock.seconds() - self.progressAt < STALLED:
            # It made progress since: not stalled yet.
            self.watchStall()
            return
        if download.moves.holding():
            # It waits for a direct path (said in its status): the stall
            # is counted from the wait's end (L{waited}).
            return
        # No piece, and too few bytes to be moving, for STALLED seconds.
        self.log.info("{name}: stalled, no piece for {s:g} s{why}", name=download.name,
                      s=STALLED, why=f": {self.problem}" if self.problem else "")

    def progress(self, done, total):
        """Log each quarter of the pieces as it is passed: done of total
        are in."""
        quarter = 4 * done // total
        if 0 < quarter < 4 and quarter > self._quarter:
            self._quarter = quarter
            self.log.info("{name}: {percent}% ({done} of {total} pieces)",
                          name=self.download.name, percent=25 * quarter,
                          done=done, total=total)

    def status(self):
        """
        Where the download stands, for the node's state and ``bazaar
        buy``: a dict of ``name``, ``size``, ``sha256``, ``have`` (bytes
        verified), ``rate`` (bytes per second received over the last
        RATE_WINDOW seconds), ``sellers`` (connected now), ``state`` (describing,
        fetching, stalled) and ``why`` (what keeps pieces from coming, or
        "": a resumed download's part file, until it is checked).  While a seller's relayed connection is held for a punch
        (L{Moves.waiting <twisted_bazaar.roles.files.moves.Moves.waiting>})
        it is fetching, and why says so, however long no piece came.
        """
        download = self.download
        now = self.clock.seconds()
        recent = sum(n for at, n in self._incoming if now - at < RATE_WINDOW)
        span = min(RATE_WINDOW, max(now - self.started, 1e-3))
        waiting = download.moves.waiting()
        if download.pieces.schedule is None:
            state = DESCRIBING
        elif now - self.progressAt >= STALLED and not waiting:
            state = STALLED_STATE
        else:
            state = FETCHING
        why = self.problem or waiting or ""
        if state == DESCRIBING and download.resumed and not why:
            # Its verified bytes are counted once they are read back: the
            # first line said "0 B of 381.5 MiB (0%)" and nothing more,
            # with 182 MiB in place.
            why = (f"its part file holds {download.part.held:,} bytes from an earlier "
                   "run, counted once checked against the file's piece hashes")
        if state == STALLED_STATE and not why:
            why = f"no piece for {now - self.progressAt:.0f} s"
        return {"name": download.name, "size": download.size, "sha256": download.sha256,
                "have": self.have, "rate": int(recent / span),
                "sellers": len(download.sellers.clients), "state": state, "why": why}

    def _giveUp(self):
        call, self._patience = self._patience, None
        give_up = self.download.fetcher.give_up
        now = self.clock.seconds()
        if slept(call, self.clock):
            # The node did not run: its sellers were not silent, it was
            # not listening.  Their time counts from now.
            self.log.info("{name}: this node did not run for at least {late:.0f} s "
                          "(the machine asleep, or the process stopped): the "
                          "download waits {give_up:g} s more for a piece "
                          "(--download-give-up)",
                          name=self.download.name, late=lateBy(call, self.clock),
                          give_up=give_up)
            self.progressAt = now
            self._patience = self.clock.callLater(give_up, self._giveUp)
            self.watchStall()
            return
        why = self.problem or "no seller offered it"
        self.download.fail(GaveUp(f"no piece came for {give_up:g} s "
                                  f"(--download-give-up): {why}"), discard=False)

    def stop(self):
        """Cancel the patience and the stall."""
        for call in (self._patience, self._stall):
            if call is not None and call.active():
                call.cancel()
        self._patience = self._stall = None
