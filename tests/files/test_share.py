"""Tests for L{twisted_bazaar.files.share}: the polling watcher on a fake
clock, over a real temporary folder."""

import os

from twisted.internet import task
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files.hashing import Hasher
from twisted_bazaar.files import share as sharemodule
from twisted_bazaar.files.share import SharedFolder
from tests.files.helpers import Jobs, fileId as sha, scratchDir, Recorder, touch, writeFile


def notSharing(events):
    """The lines among events that say what is not shared."""
    return [formatEvent(event) for event in events
            if event["log_format"].startswith("not sharing")]


class SharedFolderTests(SynchronousTestCase):
    def setUp(self):
        self.folder = scratchDir(self)
        self.clock = task.Clock()
        self.recorder = Recorder()
        self.share = SharedFolder(self.clock, self.folder, Hasher(self.clock),
                                  self.recorder, settle=0.5, poll=1.0,
                                  useInotify=False)

    def start(self):
        self.share.startService()
        self.addCleanup(self.share.stopService)

    def test_fileOfferedOnceSettled(self):
        writeFile(self.folder, "a.txt", b"hello")
        self.start()
        self.assertEqual(self.share.watching, "polling")
        self.assertEqual(self.recorder.events, [])
        self.clock.advance(0.5)
        self.assertEqual(self.recorder.events, [("added", "a.txt", sha(b"hello"))])
        path, digest = self.share.byHash(sha(b"hello"))
        self.assertEqual((path, digest.size), (os.path.join(self.share.folder,
                                                            "a.txt"), 5))

    def test_hashingEndsWithTheHasher(self):
        """Each file is read with its hasher's stopping event, so that a
        seller's stop ends the read of a large file rather than wait for
        its end (L{Hasher.stopping})."""
        given = []
        real = sharemodule.digestFile
        self.patch(sharemodule, "digestFile",
                   lambda path, *rest: given.append(rest) or real(path, *rest))
        writeFile(self.folder, "a.txt", b"hello")
        self.start()
        self.clock.advance(0.5)
        self.assertEqual(given, [(self.share.hasher.stopping,)])

    def test_aLargeFileIsSaidAsItIsHashed(self):
        """A file of 1 GiB or more is said as its read starts (a seller of
        a 5 GB file said nothing for the 20 s it read it); a smaller one is
        said only once offered."""
        self.patch(sharemodule, "SAY_HASHING", 10)
        writeFile(self.folder, "big.bin", b"x" * 10)
        writeFile(self.folder, "small.txt", b"x" * 9)
        with capturedLogs() as events:
            self.start()
            self.clock.advance(0.5)
        self.assertEqual([formatEvent(event) for event in events
                          if event["log_format"].startswith("hashing")],
                         ["hashing big.bin (10 bytes): it is offered once read"])

    def test_subfoldersAreSaid(self):
        """A folder of album folders was shared as nothing, without a word:
        its subfolders are said once, and again only as a new one
        appears."""
        for name in ("b", "a", "d", "c"):
            os.mkdir(os.path.join(self.folder, name))
        writeFile(self.folder, "song.ogg", b"x")
        with capturedLogs() as events:
            self.start()
            self.clock.pump([1, 1])
        self.assertEqual(notSharing(events), [self.subfolders("a, b, c, …")])
        os.rmdir(os.path.join(self.folder, "d"))
        os.rmdir(os.path.join(self.folder, "c"))
        with capturedLogs() as events:
            self.clock.pump([1, 1])
            os.mkdir(os.path.join(self.folder, "e"))
            self.clock.pump([1, 1])
        self.assertEqual(notSharing(events), [self.subfolders("a, b, e")])

    def subfolders(self, names):
        """The line that says the shared folder's subfolders, names."""
        return (f"not sharing the files in the subfolders of {self.share.folder} "
                f"({names}): only the files directly in it are offered")

    def test_aSubfolderOfNoPlainNameIsSaidAsOne(self):
        """A subfolder whose name holds an escape sequence was said as a
        file (`not sharing NAME: a file name holds no control
        characters`), not with the subfolders: now with them, escaped."""
        os.mkdir(os.path.join(self.folder, "evil\x1b]52;c;aGk=\x07dir"))
        os.mkdir(os.path.join(self.folder, "album"))
        with capturedLogs() as events:
            self.start()
            self.clock.pump([1, 1])
        self.assertEqual(notSharing(events),
                         [self.subfolders(r"album, evil\x1b]52;c;aGk=\x07dir")])

    def test_addedLater(self):
        self.start()
        self.clock.advance(3)
        writeFile(self.folder, "b", b"new")
        self.clock.advance(1)
        self.assertEqual(self.recorder.events, [])
        self.clock.advance(0.5)
        self.assertEqual(self.recorder.events, [("added", "b", sha(b"new"))])

    def test_partialWriteNotOffered(self):
        """A file that keeps growing is not offered until it stops."""
        self.start()
        path = writeFile(self.folder, "big", b"")
        for step in range(1, 6):
            with open(path, "ab") as f:
                f.write(b"x" * step)
            touch(path, step * 10**9)
            self.clock.advance(1)
        self.assertEqual(self.recorder.events, [])
        self.clock.advance(2)
        self.assertEqual(self.recorder.events, [("added", "big", sha(b"x" * 15))])

    def test_changeWithdrawsThenOffersAgain(self):
        path = writeFile(self.folder, "c", b"one")
        self.start()
        self.clock.advance(1)
        writeFile(self.folder, "c", b"two")
        touch(path, 5 * 10**9)
        self.clock.advance(1)
        self.assertEqual(self.recorder.events[1:], [("removed", "c", sha(b"one"))])
        self.assertIsNone(self.share.byHash(sha(b"one")))
        self.clock.advance(1)
        self.assertEqual(self.recorder.events[2:], [("added", "c", sha(b"two"))])

    def test_removed(self):
        path = writeFile(self.folder, "d", b"gone soon")
        self.start()
        self.clock.advance(1)
        os.remove(path)
        self.clock.advance(1)
        self.assertEqual(self.recorder.events, [("added", "d", sha(b"gone soon")),
                                                ("removed", "d", sha(b"gone soon"))])
        self.assertEqual(self.share.files, {})

    def test_debounce(self):
        """Many change notices in a burst make one scan."""
        self.start()
        scans = []
        self.patch(self.share, "_list", lambda: scans.append(1) or {})
        for _ in range(10):
            self.share.changed()
        self.clock.advance(0.2)
        self.assertEqual(len(scans), 1)

    def test_onlyPlainRegularFilesInside(self):
        """Symlinks (even to files inside), folders, hidden files, names
        with a control character (C1 ones too): never."""
        outside = scratchDir(self)
        secret = writeFile(outside, "secret", b"outside")
        os.symlink(secret, os.path.join(self.folder, "link-out"))
        inside = writeFile(self.folder, "real", b"inside")
        os.symlink(inside, os.path.join(self.folder, "link-in"))
        os.makedirs(os.path.join(self.folder, "sub"))
        writeFile(os.path.join(self.folder, "sub"), "deep", b"deep")
        writeFile(self.folder, ".hidden", b"hidden")
        writeFile(self.folder, "next\x85line", b"c1")
        writeFile(self.folder, "tab\there", b"c0")
        self.start()
        self.clock.advance(1)
        self.assertEqual(sorted(self.share.files), ["real"])

    def test_namesNotSharedAreSaidOnce(self):
        """A file whose name is no plain name (not UTF-8, a control
        character) is said once, with why, while it stays (it was skipped
        without a word); a hidden one is not said."""
        with open(os.path.join(os.fsencode(self.folder), b"caf\xe9.txt"), "wb") as f:
            f.write(b"latin-1")
        writeFile(self.folder, "tab\there", b"c0")
        writeFile(self.folder, ".hidden", b"hidden")
        with capturedLogs() as events:
            self.start()
            self.clock.pump([1, 1, 1])
        self.assertEqual(notSharing(events), [
            "not sharing caf\\udce9.txt: a file name must be valid Unicode",
            "not sharing tab\\there: a file name holds no control characters "
            "(NUL, newline...)"])
        os.remove(os.path.join(self.folder, "tab\there"))
        self.clock.advance(1)
        writeFile(self.folder, "tab\there", b"back")
        with capturedLogs() as events:
            self.clock.advance(1)
        self.assertEqual([formatEvent(event) for event in events], [
            "not sharing tab\\there: a file name holds no control characters "
            "(NUL, newline...)"])

    def test_offeredInComposedForm(self):
        """A name written decomposed (NFD: ``e`` and U+0301, as macOS
        writes ``é``) is offered composed (NFC), as a buyer types it:
        ``--want café.txt`` found no seller of the file the seller's log
        called ``café.txt``.  Its bytes are read from its own name."""
        decomposed = "cafe\u0301.txt"
        writeFile(self.folder, decomposed, b"nfd")
        self.start()
        self.clock.advance(1)
        self.assertEqual(self.recorder.events, [("added", "caf\xe9.txt", sha(b"nfd"))])
        path, _ = self.share.byHash(sha(b"nfd"))
        self.assertEqual(os.path.basename(path), decomposed)

    def test_oneNameInTwoForms(self):
        """Of two files whose names differ only in their Unicode form, the
        one named in NFC is offered; the other is said once, with why."""
        writeFile(self.folder, "cafe\u0301.txt", b"nfd")
        writeFile(self.folder, "caf\xe9.txt", b"nfc")
        with capturedLogs() as events:
            self.start()
            self.clock.pump([1, 1, 1])
        self.assertEqual(self.recorder.events, [("added", "caf\xe9.txt", sha(b"nfc"))])
        self.assertEqual(notSharing(events), [
            "not sharing cafe\u0301.txt: another file here has this name in "
            "composed Unicode form (NFC), the form both would be offered under"])

    def test_aLocaleNotUTF8IsSaid(self):
        """A seller whose locale reads file names in another encoding
        (LANG=en_US.ISO-8859-1) offered a name another program wrote in
        UTF-8 garbled (café.txt as cafÃ©.txt), without a word: it says
        so once, as it starts, with what to do."""
        from twisted_bazaar.files import share

        self.patch(share, "fileSystemEncoding", lambda: "iso8859-1")
        with capturedLogs() as events:
            self.start()
        self.assertEqual([formatEvent(event) for event in events
                          if event["log_level"].name == "warn"], [
            "this process reads file names in iso8859-1 (its locale: LANG, "
            "LC_CTYPE or LC_ALL), not UTF-8: a name written in UTF-8 (as most "
            "programs write them) is offered garbled, café.txt as cafÃ©.txt; "
            "run it in a UTF-8 locale (LANG=C.UTF-8)"])

    def test_sameContentTwice(self):
        writeFile(self.folder, "e1", b"same")
        writeFile(self.folder, "e2", b"same")
        self.start()
        self.clock.advance(1)
        os.remove(os.path.join(self.folder, "e1"))
        self.clock.advance(1)
        path, _ = self.share.byHash(sha(b"same"))
        self.assertEqual(os.path.basename(path), "e2")

    def test_missingFolderOffersNothing(self):
        os.rmdir(self.folder)
        self.start()
        self.clock.advance(2)
        self.assertEqual(self.share.files, {})
        os.makedirs(self.folder)
        writeFile(self.folder, "f", b"back")
        self.clock.pump([1, 1, 1])
        self.assertEqual(sorted(self.share.files), ["f"])

    def test_stopLeavesNoTimer(self):
        writeFile(self.folder, "g", b"x")
        self.start()
        self.share.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class RehashTests(SynchronousTestCase):
    """A file that keeps changing is read by one hash at a time, and waits
    longer each time it changes again soon after a read (issue 96,
    round sixteen: a byte appended to a 1 GiB file every 3 s had the seller
    begin 11 hashes in 30 s and offer none)."""

    def setUp(self):
        self.folder = scratchDir(self)
        self.clock = task.Clock()
        self.recorder = Recorder()
        self.hasher = Jobs()
        self.share = SharedFolder(self.clock, self.folder, self.hasher,
                                  self.recorder, settle=0.5, poll=1.0,
                                  useInotify=False)
        self.share.startService()
        self.addCleanup(self.share.stopService)

    def change(self, name, data, second):
        """Write a file as inotify would tell it: scanned 0.1 s later."""
        path = writeFile(self.folder, name, data)
        touch(path, second * 10**9)
        self.share.changed()

    def test_oneHashOfAFileAtATime(self):
        """A change while a file is read waits for that read to end; then
        the new content is read and offered."""
        self.change("big.bin", b"one", 1)
        self.clock.advance(0.1)
        self.clock.advance(0.5)
        self.assertEqual(len(self.hasher.waiting), 1)
        self.change("big.bin", b"two", 7)
        self.clock.advance(1)
        self.clock.advance(1)
        self.assertEqual(len(self.hasher.waiting), 1)
        self.hasher.runAll()
        self.clock.advance(0.5)
        self.assertEqual(len(self.hasher.waiting), 1)
        self.hasher.runAll()
        self.assertEqual(self.recorder.events, [("added", "big.bin", sha(b"two"))])
        self.assertEqual(self.hasher.begun, 2)

    def test_aFileChangedOnceSettlesInHalfASecond(self):
        self.change("a.txt", b"one", 1)
        self.clock.advance(0.1)
        self.clock.advance(0.5)
        self.hasher.runAll()
        self.change("a.txt", b"two", 7)
        self.clock.advance(0.1)
        self.assertEqual(self.recorder.events[1:], [("removed", "a.txt", sha(b"one"))])
        self.clock.advance(0.5)
        self.hasher.runAll()
        self.assertEqual(self.recorder.events[2:], [("added", "a.txt", sha(b"two"))])

    def test_aFileThatKeepsChangingWaitsLongerEachTime(self):
        """Changed each 3 s for a minute, a file is read 4 times, not 19;
        the longer wait is said once; once it stops it is offered, and
        after a quiet spell it settles in 0.5 s again."""
        with capturedLogs() as events:
            for step in range(1, 21):
                self.clock.advance(1)
                self.hasher.runAll()
                self.clock.advance(2)
                self.change("big.bin", b"x" * step, step)
            self.assertEqual(self.hasher.begun, 4)
            for _ in range(5):
                self.clock.advance(1)
            self.assertEqual(self.hasher.begun, 5)
            self.hasher.runAll()
        self.assertEqual(self.recorder.events[-1], ("added", "big.bin", sha(b"x" * 20)))
        self.assertEqual(
            [formatEvent(event) for event in events if "keeps changing" in
             event["log_format"]],
            ["shared file big.bin keeps changing: it is offered once unchanged "
             "for 1 s, a wait that doubles while it keeps changing (at most 64 s)"])
        self.clock.advance(sharemodule.QUIET)
        self.change("big.bin", b"quiet", 1000)
        self.clock.advance(0.1)
        self.assertEqual(self.hasher.waiting, [])
        self.clock.advance(0.5)
        self.assertEqual(len(self.hasher.waiting), 1)

    def test_theWaitIsCapped(self):
        step = 0
        while self.share._seen.get("big.bin", (0, 0, 0))[2] < sharemodule.SETTLE_CAP:
            step += 1
            self.clock.advance(sharemodule.SETTLE_CAP + 1)
            self.hasher.runAll()
            self.change("big.bin", b"x" * step, step)
            self.clock.advance(1)
            self.assertLess(step, 20)
        self.change("big.bin", b"y", 99)
        self.clock.advance(sharemodule.SETTLE_CAP + 1)
        self.assertEqual(self.share._seen["big.bin"][2], sharemodule.SETTLE_CAP)


class ManyFilesTests(SynchronousTestCase):
    """
    A seller sharing 10,000 files logged one `sharing NAME` line a file at
    every start.  The first SAY_SHARING are said one by one, the rest in
    one line once every file is read; a file added later is said again.
    """

    def setUp(self):
        self.patch(sharemodule, "SAY_SHARING", 3)
        self.folder = scratchDir(self)
        self.clock = task.Clock()
        self.share = SharedFolder(self.clock, self.folder, Hasher(self.clock),
                                  Recorder(), settle=0.5, poll=1.0, useInotify=False)

    def sharing(self, events):
        return [formatEvent(event) for event in events
                if event["log_format"].startswith("sharing")]

    def test_aBigShareIsSummed(self):
        for n in range(7):
            writeFile(self.folder, f"f{n}.txt", b"x%d" % n)
        with capturedLogs() as events:
            self.share.startService()
            self.addCleanup(self.share.stopService)
            self.clock.pump([0.5, 1, 1])
        said = self.sharing(events)
        self.assertEqual([line.split(" (")[0] for line in said[:3]],
                         ["sharing f0.txt", "sharing f1.txt", "sharing f2.txt"])
        self.assertEqual(said[3:], [f"sharing 4 more files, 7 in all in {self.share.folder}"])
        self.assertEqual(len(self.share.files), 7)
        writeFile(self.folder, "late.txt", b"late")
        with capturedLogs() as events:
            self.clock.pump([1, 1, 1])
        self.assertEqual([line.split(" (")[0] for line in self.sharing(events)],
                         ["sharing late.txt"])

    def test_manyRefusedNamesAreSummed(self):
        """A folder of many files whose names are refused logged one `not
        sharing NAME: WHY` line each: the first SAY_SHARING are said, then
        the rest in one line."""
        for n in range(5):
            writeFile(self.folder, f"tab\t{n}", b"c0")
        with capturedLogs() as events:
            self.share.startService()
            self.addCleanup(self.share.stopService)
            self.clock.pump([0.5, 1, 1])
        why = "a file name holds no control characters (NUL, newline...)"
        self.assertEqual(notSharing(events), [
            f"not sharing tab\\t{n}: {why}" for n in range(3)] + [
            f"not sharing 2 more files of {self.share.folder} for their names, as those "
            "above"])


class OwnFilesTests(SynchronousTestCase):
    def test_theDaemonsOwnFilesAreLeftOut(self):
        """The daemon's own log and pid file in its shared folder (and the
        log's rotated copies) are neither offered nor said; a file of
        another name is."""
        folder = scratchDir(self)
        for name in ("twistd.log", "twistd.log.1", "node.pid", "song.ogg",
                     "twistd.log.old"):
            writeFile(folder, name, b"x")
        clock, recorder = task.Clock(), Recorder()
        share = SharedFolder(clock, folder, Hasher(clock), recorder, settle=0.5, poll=1.0,
                             useInotify=False, unshared={"twistd.log", "node.pid"})
        with capturedLogs() as events:
            share.startService()
            self.addCleanup(share.stopService)
            clock.pump([0.5, 1, 1])
        self.assertEqual(sorted(share.files), ["song.ogg", "twistd.log.old"])
        self.assertFalse([event for event in events if "twistd.log" in formatEvent(event)
                          and "old" not in formatEvent(event)])
