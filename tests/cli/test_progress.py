"""Tests of L{twisted_bazaar.cli.progress}: downloads in a user's words."""

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.cli.progress import (
    PLAIN_INTERVAL,
    Progress,
    byteSize,
    downloadLine,
    eta,
    progressBar,
)

MIB = 1024 * 1024


def download(have=25 * MIB, size=100 * MIB, rate=5 * MIB, sellers=2, state="fetching",
             why="", name="big.bin"):
    return {"name": name, "size": size, "sha256": "ab" * 32, "have": have,
            "rate": rate, "sellers": sellers, "state": state, "why": why}


class WordsTests(SynchronousTestCase):
    def test_byteSize(self):
        self.assertEqual([byteSize(n) for n in (0, 1023, 1024, 1536 * 1024, 3 * 1024 ** 4)],
                         ["0 B", "1023 B", "1.0 KiB", "1.5 MiB", "3.0 TiB"])

    def test_eta(self):
        self.assertEqual(eta(download()), "0:15")
        self.assertEqual(eta(download(have=0, size=7200 * MIB, rate=MIB)), "2:00:00")
        self.assertEqual(eta(download(rate=0)), "?")

    def test_downloadLine(self):
        self.assertEqual(downloadLine(download()),
                         "big.bin  25.0 MiB of 100.0 MiB (25%)  5.0 MiB/s  2 sellers  "
                         "fetching")
        self.assertEqual(downloadLine(download(rate=0, sellers=1, state="stalled",
                                               why="seller 7 did not deliver")),
                         "big.bin  25.0 MiB of 100.0 MiB (25%)  0 B/s  1 seller  "
                         "stalled: seller 7 did not deliver")

    def test_progressBar(self):
        self.assertEqual(progressBar(download()),
                         "big.bin [######------------------]  25% 25.0 MiB/100.0 MiB "
                         "5.0 MiB/s ETA 0:15 2 sellers")
        self.assertTrue(progressBar(download(state="stalled", why="no seller"))
                        .endswith(" (stalled: no seller)"))

    def test_progressBarSaysWhyWhileFetching(self):
        """A download fetching with a why (it waits for a direct path to a
        seller, its relayed connection held) says it on the bar, which
        said nothing of it before."""
        why = "waiting for a direct path to seller 7: a hole punch with it runs"
        self.assertTrue(progressBar(download(rate=0, why=why))
                        .endswith(f" (fetching: {why})"))

    def test_emptyFile(self):
        self.assertIn("100%", progressBar(download(have=0, size=0)))


class ProgressTests(SynchronousTestCase):
    def setUp(self):
        self.written = []

    def test_terminalRedrawsOneLine(self):
        progress = Progress(self.written.append, terminal=True)
        progress.show([download()], 0.0)
        progress.show([download(have=50 * MIB)], 0.5)
        progress.done()
        self.assertTrue(all(text.startswith("\r") for text in self.written[:2]))
        self.assertIn(" 50% ", self.written[1])
        self.assertEqual(self.written[2], "\n")

    def test_barCutToTheTerminal(self):
        """The bar is cut to one column less than the terminal's width: a
        longer one wrapped, and each redraw's carriage return went back
        to the start of its last row only, leaving a trail of bars (at 80
        columns too: the bar of big.bin is 86 characters)."""
        widths = [20]
        progress = Progress(self.written.append, terminal=True,
                            columns=lambda: widths[-1])
        progress.show([download()], 0.0)
        self.assertEqual(self.written[-1], "\rbig.bin [######---\u2026")
        widths.append(200)
        progress.show([download()], 0.5)
        self.assertEqual(self.written[-1], "\r" + progressBar(download()))
        widths.append(20)
        progress.show([download()], 1.0)
        self.assertEqual(len(self.written[-1]), 20)

    def test_finishedDrawnWhole(self):
        """A download that completed after the last redraw is drawn whole
        before the bar's line ends; one still under way is left as it was."""
        progress = Progress(self.written.append, terminal=True)
        progress.show([download(), download(name="other.bin")], 0.0)
        progress.done({"big.bin": ("/tmp/big.bin", {})})
        final = self.written[-2]
        self.assertIn("big.bin [########################] 100% 100.0 MiB/100.0 MiB", final)
        self.assertIn("(done)", final)
        self.assertIn("other.bin [######------------------]  25%", final)
        self.assertEqual(self.written[-1], "\n")

    def test_nothingFinishedNoRedraw(self):
        progress = Progress(self.written.append, terminal=True)
        progress.show([download()], 0.0)
        progress.done({"elsewhere.bin": ("/tmp/elsewhere.bin", {})})
        self.assertEqual(len(self.written), 2)

    def test_plainLinesNowAndThen(self):
        """Not a terminal: a line per download, every PLAIN_INTERVAL."""
        progress = Progress(self.written.append, terminal=False)
        for tick in range(int(2 * PLAIN_INTERVAL / 0.5) + 1):
            progress.show([download()], tick * 0.5)
        progress.done()
        self.assertEqual(len(self.written), 3)
        self.assertTrue(all(text.endswith("\n") and "\r" not in text
                            for text in self.written))
        self.assertEqual(self.written[0], "big.bin: 25.0 MiB of 100.0 MiB (25%), "
                         "5.0 MiB/s, ETA 0:15, 2 sellers, fetching\n")

    def test_nothingToShow(self):
        progress = Progress(self.written.append, terminal=True)
        progress.show([], 0.0)
        progress.done()
        self.assertEqual(self.written, [])
