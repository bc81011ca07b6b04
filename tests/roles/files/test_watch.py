"""
Tests for L{twisted_bazaar.roles.files.watch}, in a L{Market} (the
in-memory network, a fake clock): a download whose seller dies says so in
the node's state and its log, once, and gives up after
--download-give-up with the reason, keeping its part file; a slow
download that keeps bringing pieces goes on, and so does one whose
pieces each take longer than a stall, or the give-up, while their bytes
keep coming (a relay's share): a trickle still stalls.
"""

import os
from types import SimpleNamespace

from twisted.internet import task
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import server
from twisted_bazaar.files.downloads import PRIVATE, partName
from twisted_bazaar.roles.files import watch
from twisted_bazaar.wire.ids import shortId
from tests.files.helpers import fileId
from tests.roles.files.test_fetch_done import PIECE, FileMarket


class WatchTests(FileMarket, SynchronousTestCase):
    def test_sellerDiesThenDownloadGivesUp(self):
        """The only seller dies midway: the node's state says the download
        is stalled and why; after --download-give-up seconds without a
        piece it gives up with the reason, keeps its part file, and the
        want is not met."""
        seller = self.addSeller(rate=4 * PIECE)
        node, downloads = self.addBuyer(download_give_up=60.0)
        buyer = self.market.role(node, "buyer")
        gaveUp = []
        buyer.fetcher.onGaveUp = gaveUp.append
        status = self.market.services[node].status
        for _ in range(400):
            self.market.run(0.05)
            download = buyer.fetcher.downloads.get("big")
            if download is not None and download.have >= 4 * PIECE:
                break
        [row] = status.state().downloads
        self.assertEqual(row[:3], ("big", len(self.data), fileId(self.data, PIECE)))
        self.assertEqual(row[6], watch.FETCHING)
        self.market.crash(seller)
        self.market.run(watch.STALLED + 5)
        [row] = status.state().downloads
        have, state, why = row[3], row[6], row[7]
        self.assertGreater(have, 0)
        self.assertEqual(state, watch.STALLED_STATE)
        self.assertTrue(why, "a stalled download says why")
        self.assertEqual(gaveUp, [])
        with capturedLogs() as events:
            self.market.run(60)
        # Its owner says it (the daemon's error line): the fetcher does not.
        self.assertEqual([formatEvent(event) for event in events
                          if formatEvent(event).startswith("cannot download big")], [])
        [line] = gaveUp
        self.assertTrue(line.startswith("cannot download big: no piece came for 60 s "
                                        "(--download-give-up): "), line)
        self.assertEqual(buyer.fetcher.downloads, {})
        [row] = status.state().downloads
        self.assertEqual((row[6], row[7]),
                         (watch.FAILED, line[len("cannot download big: "):]))
        self.assertFalse(buyer.satisfied)
        self.assertTrue(os.path.exists(os.path.join(
            downloads, PRIVATE, partName("big", fileId(self.data, PIECE)))))
        self.market.stop(node)
        self.assertEqual(self.market.leftovers(node),
                         {"delayed_calls": [], "connections": []})

    def test_aDownloadGivenUpOnShowsThePiecesItKeeps(self):
        """A download given up on keeps its verified pieces in its part
        file, for a later run: its row says how many bytes (not 0, as if
        nothing were kept), and bazaar_download_bytes, the downloads
        under way, no longer counts them."""
        seller = self.addSeller(rate=4 * PIECE)
        node, downloads = self.addBuyer(download_give_up=60.0)
        buyer = self.market.role(node, "buyer")
        buyer.fetcher.onGaveUp = lambda line: None
        status = self.market.services[node].status
        download = None
        while download is None or download.have < 4 * PIECE:
            self.market.run(0.05)
            download = buyer.fetcher.downloads.get("big")
        self.market.crash(seller)
        self.market.run(watch.STALLED + 5)
        have = status.state().downloads[0][3]
        self.market.run(60)
        [row] = status.state().downloads
        self.assertEqual((row[6], row[3]), (watch.FAILED, have))
        part = os.path.join(downloads, PRIVATE, partName("big", fileId(self.data, PIECE)))
        self.assertEqual(os.path.getsize(part), have)
        self.assertEqual(sum(row["have"] for row in buyer.fetcher.downloadsHeld()
                             if row["state"] != watch.FAILED), 0)

    def test_aStallIsLoggedAsItBegins(self):
        """The download says it stalled when its state becomes stalled,
        STALLED seconds after its last verified piece, with the reason the
        state gives; once."""
        seller = self.addSeller(rate=4 * PIECE)
        node, _ = self.addBuyer(download_give_up=60.0)
        buyer = self.market.role(node, "buyer")
        status = self.market.services[node].status
        download = None
        while download is None or download.have < 4 * PIECE:
            self.market.run(0.05)
            download = buyer.fetcher.downloads.get("big")
        self.market.crash(seller)

        def stalled():
            return [formatEvent(event) for event in events
                    if formatEvent(event).startswith("big: stalled")]

        with capturedLogs() as events:
            self.market.run(1)
            self.market.run(download.progressAt + watch.STALLED - download.clock.seconds()
                            - 0.01)
            self.assertEqual((stalled(), status.state().downloads[0][6]),
                             ([], watch.FETCHING))
            self.market.run(0.02)
            [row] = status.state().downloads
            self.assertEqual(row[6], watch.STALLED_STATE)
            self.assertEqual(stalled(), [f"big: stalled, no piece for 10 s: {row[7]}"])
            self.assertIn(f"seller {shortId(seller.id)}", row[7])
            self.market.run(30)
            self.assertEqual(len(stalled()), 1)

    def test_noProgressStartsTheGiveUpOver(self):
        """The bound is on time without a verified piece, not on the whole
        download: a slow download that keeps bringing pieces goes on."""
        self.addSeller(rate=PIECE // 2)
        node, _ = self.addBuyer(download_give_up=5.0)
        buyer = self.market.role(node, "buyer")
        self.market.run(100)
        self.assertEqual(buyer.fetcher.failed, {})
        self.assertEqual(list(buyer.fetcher.fetched), ["big"])


class SlowPathTests(FileMarket, SynchronousTestCase):
    """Progress is judged by the bytes received over a window, not by
    verified pieces alone: a path slower than a piece per stall is slow,
    not dead."""

    def setUp(self):
        super().setUp()
        # 1 KiB over the 10 s of a stall: 102 bytes a second, where the
        # tests' pieces are 4 KiB.
        self.patch(watch, "MOVING_BYTES", 1024)
        # The seller sends a little at a time, as a relay's pace lets through.
        self.patch(server, "CHUNK", 256)

    def fetchFrom(self, rate, seconds=60.0):
        """A seller sending ``rate`` bytes a second, a buyer that gives up
        after 15 s without progress: its fetcher, its state's row, and the
        stall lines it logged, after ``seconds``."""
        self.addSeller(rate=rate)
        node, _ = self.addBuyer(download_give_up=15.0)
        fetcher = self.market.role(node, "buyer").fetcher
        fetcher.onGaveUp = lambda line: None
        status = self.market.services[node].status
        with capturedLogs() as events:
            self.market.run(seconds)
        [row] = status.state().downloads
        stalls = [formatEvent(event) for event in events
                  if "stalled" in formatEvent(event)]
        return fetcher, row, stalls

    def test_aPieceSlowerThanAStallIsProgress(self):
        """A piece every 20 s (205 bytes a second): the download is
        fetching, never stalled, and does not give up after its 15 s.
        (Before, it said it stalled 10 s after each piece, and gave up
        before the first.)"""
        fetcher, row, stalls = self.fetchFrom(PIECE // 20)
        self.assertEqual(fetcher.failed, {})
        self.assertEqual((row[6], stalls), (watch.FETCHING, []))
        self.assertGreaterEqual(row[3], 2 * PIECE)

    def test_theRateTracksTheBytesAsTheyCome(self):
        """A seller sending a quarter of a piece a second (1,024 bytes):
        the rate the buyer's state says, each second from 20 s to 30 s, is
        within a tenth of that.  Before, it counted the pieces verified
        over its 5 s, a piece's 4 KiB at a time, and said 819 or 1,638
        (steps of a piece over 5 s: a 1 MiB piece's 204.8 KiB/s)."""
        rate = PIECE // 4
        self.addSeller(rate=rate)
        node, _ = self.addBuyer()
        status = self.market.services[node].status
        self.market.run(20)
        said = []
        for _ in range(10):
            self.market.run(1)
            [row] = status.state().downloads
            said.append(row[4])
        self.assertTrue(all(abs(r - rate) <= rate / 10 for r in said), said)

    def test_aTrickleStillStalls(self):
        """41 bytes a second, under 1 KiB over a stall's 10 s: stalled,
        and given up after 15 s without a piece, as before."""
        fetcher, row, stalls = self.fetchFrom(PIECE // 100)
        self.assertEqual(len(stalls), 1)
        self.assertEqual(row[6], watch.FAILED)
        self.assertIn("no piece came for 15 s", fetcher.failed["big"][-1])

    def test_aFileOfWhichNoByteCameSaysTheWayOut(self):
        """A download given up on with no byte kept says the ways out it is
        given (a transport plugin's: an HTTP-only network reaches no
        seller by TCP) after why; one that kept some does not."""
        fetcher, _, _ = self.fetchFrom(PIECE // 100)
        size, sha256, kept, why = fetcher.failed["big"]
        self.assertEqual(kept, 0)
        self.assertEqual(fetcher.unfinished(("try the other door",)),
                         [f"cannot download big: {why} (try the other door)"])
        fetcher.failed["big"] = (size, sha256, PIECE, why)
        self.assertEqual(fetcher.unfinished(("try the other door",)),
                         [f"cannot download big: {why}"])


class _Asleep:
    """A download as its watch sees it, with no piece ever coming: what
    it failed with, on a fake clock."""

    name = "big"
    stopped = False

    def __init__(self, clock, give_up):
        self.clock = clock
        self.fetcher = SimpleNamespace(give_up=give_up)
        self.pieces = SimpleNamespace(schedule=SimpleNamespace(finished=False))
        self.moves = SimpleNamespace(holding=lambda: False)
        self.failed = []

    def fail(self, reason, discard):
        self.failed.append(str(reason))


class AsleepTests(SynchronousTestCase):
    def test_aNodeAsleepDoesNotGiveUp(self):
        """
        The node does not run for 200 s (a laptop suspended, its clock
        going on): as it resumes, its timers run at once, before the
        pieces waiting in its sockets are read.  The download neither
        gives up nor says it stalled then: it waits its
        --download-give-up again from then, and gives up only after that
        much real silence.  Before, it gave up as the node resumed, "no
        piece came for 120 s", its seller blameless.
        """
        clock = task.Clock()
        download = _Asleep(clock, give_up=120.0)
        watching = watch.Watch(download)
        watching.start()
        with capturedLogs() as events:
            clock.advance(200)
        said = [formatEvent(event) for event in events]
        self.assertEqual(download.failed, [])
        self.assertEqual(said, ["big: this node did not run for at least 80 s (the "
                                "machine asleep, or the process stopped): the download "
                                "waits 120 s more for a piece (--download-give-up)"])
        with capturedLogs() as events:
            for _ in range(119):
                clock.advance(1)
            self.assertEqual(download.failed, [])
            clock.advance(1)
        self.assertEqual([formatEvent(event) for event in events],
                         ["big: stalled, no piece for 10 s"])
        [line] = download.failed
        self.assertTrue(line.startswith("no piece came for 120 s"), line)
        watching.stop()
        self.assertEqual(clock.getDelayedCalls(), [])


class ResumedTests(SynchronousTestCase):
    def status(self, resumed):
        download = SimpleNamespace(
            name="big.iso", size=400_000_000, sha256="ab" * 32, resumed=resumed,
            clock=task.Clock(), part=SimpleNamespace(held=190_840_832),
            pieces=SimpleNamespace(schedule=None),
            moves=SimpleNamespace(waiting=lambda: None),
            sellers=SimpleNamespace(clients={}))
        return watch.Watch(download).status()

    def test_aResumedPartFileIsSaidUntilChecked(self):
        """A resumed download, its part file not yet read back against the
        piece hashes: the first progress line said '0 B of 381.5 MiB (0%)'
        and nothing more, with 182 MiB in place; now why says what the part
        file holds, to be counted once checked.  A new one says nothing."""
        self.assertEqual((self.status(True)["have"], self.status(True)["why"]), (
            0, "its part file holds 190,840,832 bytes from an earlier run, counted once "
            "checked against the file's piece hashes"))
        self.assertEqual(self.status(False)["why"], "")
