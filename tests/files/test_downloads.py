"""Tests for L{twisted_bazaar.files.downloads} and L{twisted_bazaar.files.journal}."""

import errno
import hashlib
import json
import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.files import downloads as downloads_module
from twisted_bazaar.files.downloads import (PRIVATE, DownloadError, PartBusy, PartFile,
                                            inPlace, partName)
from twisted_bazaar.files.journal import JOURNAL, MOST_SELLERS, Journal, RecordFault
from twisted_bazaar.core.market import Offer
from twisted_bazaar.files.names import tagged
from twisted_bazaar.wire import MAX_ITEM_BYTES
from tests.files.helpers import fileId, scratchDir, writeFile

DATA = b"0123456789" * 10
SHA = fileId(DATA)


def pieces(size):
    return tuple(hashlib.sha256(DATA[i:i + size]).digest()
                 for i in range(0, len(DATA), size))


class PartFileTests(SynchronousTestCase):
    def setUp(self):
        self.folder = scratchDir(self)
        self.private = os.path.join(self.folder, PRIVATE)

    def fill(self, part, data=DATA):
        part.writeAt(memoryview(data), 0)

    def listed(self):
        """The downloads folder's names, and its private folder's."""
        inside = os.listdir(self.private) if os.path.isdir(self.private) else None
        return sorted(os.listdir(self.folder)), inside

    def test_writeVerifyPlace(self):
        part = PartFile(self.folder, "f.txt", SHA, len(DATA))
        self.assertFalse(part.open())
        self.assertEqual(self.listed(), ([PRIVATE], [partName("f.txt", SHA)]))
        self.assertEqual(os.stat(self.private).st_mode & 0o777, 0o700)
        self.fill(part)
        self.assertEqual(part.verifyPieces(20, pieces(20)), [0, 1, 2, 3, 4])
        part.writeback()
        final = part.complete()
        part.close()
        self.assertEqual(final, os.path.join(self.folder, "f.txt"))
        self.assertEqual(self.listed(), ([PRIVATE, "f.txt"], []))
        with open(final, "rb") as f:
            self.assertEqual(f.read(), DATA)

    def test_downloadsFolderThroughALink(self):
        """--downloads may be a symbolic link to a folder (~/Downloads on
        another disk): the file is put in place there and complete says
        so.  (The folder's fsync opened it without following links, so a
        file in place was reported 'cannot put f.txt in place: Too many
        levels of symbolic links'.)"""
        link = os.path.join(scratchDir(self), "downloads")
        os.symlink(self.folder, link)
        part = PartFile(link, "f.txt", SHA, len(DATA))
        part.open()
        self.fill(part)
        final = part.complete()
        part.close()
        self.assertEqual(final, os.path.join(link, "f.txt"))
        self.assertEqual(self.listed(), ([PRIVATE, "f.txt"], []))

    def umask(self, mask):
        self.addCleanup(os.umask, os.umask(mask))

    def test_placedFileHasTheUmasksMode(self):
        """The part file is the user's only; the file in place has the mode
        the user's umask gives any program's new file."""
        for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
            self.umask(mask)
            name = f"f{mask:o}"
            part = PartFile(self.folder, name, SHA, len(DATA))
            part.open()
            self.assertEqual(os.stat(part.path).st_mode & 0o777, 0o600)
            self.fill(part)
            final = part.complete()
            part.close()
            self.assertEqual(os.stat(final).st_mode & 0o777, mode, oct(mask))

    def test_resumeKeepsGoodPieces(self):
        part = PartFile(self.folder, "f", SHA, len(DATA))
        part.open()
        part.writeAt(DATA[:40], 0)
        part.writeAt(b"x" * 20, 40)
        part.close()
        again = PartFile(self.folder, "f", SHA, len(DATA))
        self.assertTrue(again.open())
        self.assertEqual(again.verifyPieces(20, pieces(20)), [0, 1])
        again.close()

    def test_discardLeavesNothing(self):
        part = PartFile(self.folder, "f", SHA, len(DATA))
        part.open()
        self.fill(part, DATA[::-1])
        part.discard()
        self.assertEqual(self.listed(), ([PRIVATE], []))

    def test_nameTakenByAnotherFile(self):
        """An existing file is never replaced: the new one gets the start of
        its hash in its name."""
        writeFile(self.folder, "song.ogg", b"mine")
        part = PartFile(self.folder, "song.ogg", SHA, len(DATA))
        part.open()
        self.fill(part)
        final = part.complete()
        self.assertEqual(os.path.basename(final), f"song.{SHA[:12]}.ogg")
        with open(os.path.join(self.folder, "song.ogg"), "rb") as f:
            self.assertEqual(f.read(), b"mine")

    def test_longNamesFitTheFileSystem(self):
        """Every plain name the protocol admits (up to 256 bytes) can be
        fetched: a part file whose name would pass the file system's 255
        bytes is named by the name's hash, and the file is put in place
        under its name, or if that is too long (or taken, and the tagged
        name would be too long), the name cut short and tagged."""
        for name, final in [("x" * 240, "x" * 240),
                            ("v" * 251 + ".ogg", "v" * 251 + ".ogg"),
                            ("y" * 252 + ".ogg", "y" * 238 + f".{SHA[:12]}.ogg"),
                            ("z" * MAX_ITEM_BYTES, "z" * 242 + f".{SHA[:12]}")]:
            part = PartFile(self.folder, name, SHA, len(DATA))
            self.assertFalse(part.open())
            self.fill(part)
            self.assertEqual(part.verifyPieces(20, pieces(20)), [0, 1, 2, 3, 4])
            self.assertEqual(part.complete(), os.path.join(self.folder, final))
            part.close()
            with open(os.path.join(self.folder, final), "rb") as f:
                self.assertEqual(f.read(), DATA)
            self.assertEqual(os.listdir(self.private), [])
        writeFile(self.folder, "w" * 250, b"mine")
        part = PartFile(self.folder, "w" * 250, SHA, len(DATA))
        part.open()
        self.fill(part)
        self.assertEqual(part.complete(),
                         os.path.join(self.folder, "w" * 242 + f".{SHA[:12]}"))

    def test_longNameResumes(self):
        """A hashed part file is found again by a later run."""
        name = "é" * 120
        part = PartFile(self.folder, name, SHA, len(DATA))
        part.open()
        part.writeAt(DATA[:40], 0)
        part.close()
        self.assertEqual(self.listed()[1], [partName(name, SHA)])
        self.assertTrue(partName(name, SHA).startswith(".."))
        again = PartFile(self.folder, name, SHA, len(DATA))
        self.assertTrue(again.open())
        self.assertEqual(again.verifyPieces(20, pieces(20)), [0, 1])
        again.close()

    def test_sameFileThereAlready(self):
        writeFile(self.folder, "f", DATA)
        part = PartFile(self.folder, "f", SHA, len(DATA))
        part.open()
        self.fill(part)
        self.assertEqual(part.complete(), os.path.join(self.folder, "f"))
        self.assertEqual(self.listed(), ([PRIVATE, "f"], []))

    def test_unwritableFolder(self):
        part = PartFile(os.path.join(self.folder, "missing"), "f", SHA, 10)
        error = self.assertRaises(DownloadError, part.open)
        self.assertIn("cannot create", str(error))

    def test_fullDiskWhileWriting(self):
        part = PartFile(self.folder, "f", SHA, len(DATA))
        part.open()

        def full(fd, data, offset):
            raise OSError(errno.ENOSPC, "No space left on device")

        self.patch(os, "pwrite", full)
        error = self.assertRaises(DownloadError, part.writeAt, DATA, 0)
        self.assertEqual(str(error), f"no space left in the downloads folder {self.folder}: "
                         "cannot write the file (free some, or give --downloads a "
                         "folder on a disk with room)")
        part.discard()
        self.assertEqual(self.listed(), ([PRIVATE], []))

    def test_shortWriteIsWrittenOn(self):
        """A write the disk takes only part of is no error: the rest is
        written, and the file holds every byte (a short write was said as
        "only 7 of the N bytes of a write fit", a count of one write's
        bytes, as the disk still took more: issue 96)."""
        part = PartFile(self.folder, "f", SHA, len(DATA) + 100)
        part.open()
        write = os.pwrite
        self.patch(os, "pwrite", lambda fd, data, offset: write(fd, bytes(data[:7]), offset))
        part.writeAt(DATA, 100)
        with open(part.path, "rb") as f:
            self.assertEqual(f.read()[100:], DATA)
        part.discard()

    def test_shortWriteThenFullIsNoSpaceLeft(self):
        """A write the disk takes part of, then refuses, says the folder
        is out of space, naming it, and where in the file it stopped,
        comma-grouped as the size it is out of."""
        part = PartFile(self.folder, "f", SHA, 5_000_000)
        part.open()
        calls = []

        def pwrite(fd, data, offset):
            calls.append((len(data), offset))
            if len(calls) == 1:
                return 7
            raise OSError(errno.ENOSPC, "No space left on device")

        self.patch(os, "pwrite", pwrite)
        error = self.assertRaises(DownloadError, part.writeAt, DATA, 1_048_576)
        self.assertEqual(calls, [(len(DATA), 1_048_576), (len(DATA) - 7, 1_048_583)])
        self.assertEqual(str(error), f"no space left in the downloads folder {self.folder}: "
                                     "cannot write the file past byte 1,048,583 of its "
                                     "5,000,000 (free some, or give --downloads a folder "
                                     "on a disk with room)")
        part.discard()

    def test_aWriteOfNothingIsNoSpaceLeft(self):
        """A disk that takes none of the rest without an error is out of
        space too (not a loop that writes nothing for ever)."""
        part = PartFile(self.folder, "f", SHA, len(DATA))
        part.open()
        taken = iter([7, 0])
        self.patch(os, "pwrite", lambda fd, data, offset: next(taken))
        error = self.assertRaises(DownloadError, part.writeAt, DATA, 0)
        self.assertEqual(str(error), f"no space left in the downloads folder {self.folder}: "
                                     f"cannot write the file past byte 7 of its "
                                     f"{len(DATA):,}: the disk took no more (free some, "
                                     "or give --downloads a folder on a disk with room)")
        part.discard()

    def test_quotaIsNoSpaceLeft(self):
        """Over a disk quota is no space left too, saying which."""
        part = PartFile(self.folder, "f", SHA, len(DATA))
        part.open()

        def over(fd, offset, length):
            raise OSError(errno.EDQUOT, "Disk quota exceeded")

        self.patch(os, "posix_fallocate", over)
        error = self.assertRaises(DownloadError, part.reserve, len(DATA))
        self.assertIn(f"no space left in the downloads folder {self.folder}: cannot "
                      f"make room for {len(DATA)} bytes (over the disk quota)", str(error))
        part.discard()
        part = PartFile(self.folder, "f", SHA, len(DATA))
        part.open()
        error = self.assertRaises(DownloadError, part.reserve, 40)
        self.assertIn(f"no space left in the downloads folder {self.folder}: cannot "
                      f"make room for 40 of its {len(DATA)} bytes (over the disk quota)",
                      str(error))
        part.discard()

    # -- nothing reserved on a stranger's word; nothing written through a link --

    def test_roomReservedOnlyWhenAsked(self):
        """Opening reserves nothing (an offer's size is anyone's to make
        up); reserve(N) makes room for the file's first N bytes, and no
        more than the file's; release() keeps the verified bytes and gives
        the rest back, or removes the file."""
        size = 64 * 1024 * 1024
        part = PartFile(self.folder, "f", SHA, size)
        part.open()
        self.assertEqual(os.fstat(part.fd).st_blocks, 0)
        part.writeAt(DATA, 0)
        part.reserve(size // 4)
        info = os.fstat(part.fd)
        self.assertEqual(info.st_size, size // 4)
        self.assertGreaterEqual(info.st_blocks * 512, size // 4)
        self.assertLess(info.st_blocks * 512, size // 2)
        part.reserve(size // 8)
        self.assertEqual(os.fstat(part.fd).st_size, size // 4)
        part.reserve(2 * size)
        info = os.fstat(part.fd)
        self.assertEqual(info.st_size, size)
        self.assertGreaterEqual(info.st_blocks * 512, size)
        part.release(len(DATA))
        self.assertEqual(os.stat(part.path).st_size, len(DATA))
        part.close()
        again = PartFile(self.folder, "f", SHA, size)
        self.assertTrue(again.open())
        again.release(0)
        self.assertEqual(self.listed(), ([PRIVATE], []))

    def test_plantedSymlinkIsNeverWrittenThrough(self):
        """A link planted at the part file's name (by anyone who can write
        to the private folder's place) is refused, not followed: the
        file it points to stays as it was."""
        victim = writeFile(scratchDir(self), "victim", b"precious")
        os.mkdir(self.private, 0o700)
        planted = os.path.join(self.private, partName("f", SHA))
        os.symlink(victim, planted)
        part = PartFile(self.folder, "f", SHA, len(DATA))
        error = self.assertRaises(DownloadError, part.open)
        self.assertEqual(str(error), f"{planted} is a symbolic link, not a part file "
                         "this buyer made: remove it")
        with open(victim, "rb") as f:
            self.assertEqual(f.read(), b"precious")

    def test_plantedHardLinkIsRefused(self):
        """A second name of another file at the part file's name is not
        written to either."""
        victim = writeFile(self.folder, "victim", b"precious")
        os.mkdir(self.private, 0o700)
        os.link(victim, os.path.join(self.private, partName("f", SHA)))
        part = PartFile(self.folder, "f", SHA, len(DATA))
        error = self.assertRaises(DownloadError, part.open)
        self.assertIn("is not a part file this buyer made", str(error))

    def test_privateFolderThatIsALinkIsRefused(self):
        """The private folder replaced by a link to a folder elsewhere:
        refused with the reason, nothing created there."""
        elsewhere = scratchDir(self)
        os.symlink(elsewhere, self.private)
        part = PartFile(self.folder, "f", SHA, len(DATA))
        error = self.assertRaises(DownloadError, part.open)
        self.assertEqual(str(error), f"{self.private} is a symbolic link: it must be a "
                         "folder only this user can write to (remove it, and the buyer "
                         "makes one)")
        self.assertEqual(os.listdir(elsewhere), [])

    def test_writebackDropsWhatItSynced(self):
        """After its fdatasync, a writeback drops the ranges it was given,
        and only them, from the page cache."""
        calls = []
        self.patch(os, "fdatasync", lambda fd: calls.append("fdatasync"))
        self.patch(os, "posix_fadvise",
                   lambda fd, offset, length, advice: calls.append(
                       (offset, length, advice)))
        part = PartFile(self.folder, "f", SHA, len(DATA))
        part.open()
        self.addCleanup(part.close)
        self.fill(part)
        part.writeback([(0, 20), (40, 60)])
        drop = os.POSIX_FADV_DONTNEED
        self.assertEqual(calls, ["fdatasync", (0, 20, drop), (40, 60, drop)])
        del calls[:]
        part.writeback()
        self.assertEqual(calls, ["fdatasync"])

    def test_privateFolderMadePrivate(self):
        """A private folder of this user's that others could write to (as
        an earlier version made it, with the umask's mode) is made 0700."""
        os.mkdir(self.private)
        os.chmod(self.private, 0o777)
        PartFile(self.folder, "f", SHA, len(DATA)).open()
        self.assertEqual(os.stat(self.private).st_mode & 0o777, 0o700)

    def test_unreadablePartFile(self):
        part = PartFile(self.folder, "f", SHA, len(DATA))
        error = self.assertRaises(DownloadError, part.verifyPieces, 10, pieces(10))
        self.assertIn("cannot read", str(error))
        self.assertRaises(DownloadError, part.writeback)

    def test_heldByAnotherBuyer(self):
        """A part file open in another PartFile (another buyer given the
        same folder) is held: a second open is refused with PartBusy,
        changing nothing of it, until the first closes it; then it is
        resumed."""
        first = PartFile(self.folder, "f", SHA, len(DATA))
        first.open()
        self.fill(first)
        second = PartFile(self.folder, "f", SHA, len(DATA))
        error = self.assertRaises(PartBusy, second.open)
        self.assertEqual(str(error), f"another buyer is fetching f into {self.folder} "
                                     f"(it holds {first.path})")
        self.assertIsNone(second.fd)
        self.assertEqual(first.verifyPieces(20, pieces(20)), [0, 1, 2, 3, 4])
        first.close()
        self.assertTrue(second.open())
        self.addCleanup(second.close)
        self.assertEqual(second.verifyPieces(20, pieces(20)), [0, 1, 2, 3, 4])

    def test_noLocksOnItsFileSystem(self):
        """A file system without locks (flock fails, ENOLCK) fetches as
        before: unheld, not a raw OSError."""
        def noLocks(fd, operation):
            raise OSError(errno.ENOLCK, "No locks available")

        self.patch(downloads_module.fcntl, "flock", noLocks)
        part = PartFile(self.folder, "f", SHA, len(DATA))
        self.assertFalse(part.open())
        self.addCleanup(part.close)
        self.fill(part)
        self.assertEqual(part.verifyPieces(20, pieces(20)), [0, 1, 2, 3, 4])

    def test_discardUnheld(self):
        """A part file left behind is removed, unless another PartFile (a
        buyer) holds it; one not there is no error."""
        first = PartFile(self.folder, "f", SHA, len(DATA))
        first.open()
        self.fill(first)
        left = PartFile(self.folder, "f", SHA, 0)
        self.assertFalse(left.discardUnheld())
        self.assertTrue(os.path.exists(first.path))
        first.close()
        self.assertTrue(left.discardUnheld())
        self.assertEqual(self.listed(), ([PRIVATE], []))
        self.assertFalse(left.discardUnheld())

    def test_folderGone(self):
        """The downloads folder removed while the file was fetched is said
        so, not as a bare 'No such file or directory'."""
        folder = os.path.join(self.folder, "dl")
        os.mkdir(folder)
        part = PartFile(folder, "f", SHA, len(DATA))
        part.open()
        self.addCleanup(part.close)
        self.fill(part)
        os.unlink(part.path)
        os.rmdir(os.path.join(folder, PRIVATE))
        os.rmdir(folder)
        gone = f"the downloads folder {folder} is gone (removed since the buyer started)"
        error = self.assertRaises(DownloadError, part.writeback)
        self.assertEqual(str(error), f"cannot write {part.path} to disk: {gone}")
        error = self.assertRaises(DownloadError, part.complete)
        self.assertEqual(str(error), f"cannot put f in place: {gone}")


class InPlaceTests(SynchronousTestCase):
    """Whether a file bought is in place already (an earlier run put it
    there): under its name or the tagged one, of its size and content."""

    def setUp(self):
        self.folder = scratchDir(self)

    def test_underItsName(self):
        path = writeFile(self.folder, "f.txt", DATA)
        self.assertEqual(inPlace(self.folder, "f.txt", SHA, len(DATA)), path)

    def test_underTheTaggedNameBesideOtherContent(self):
        """Another file took the name when it was put in place: it is
        found under the name tagged with its content id."""
        writeFile(self.folder, "f.txt", b"other")
        path = writeFile(self.folder, tagged("f.txt", SHA), DATA)
        self.assertEqual(inPlace(self.folder, "f.txt", SHA, len(DATA)), path)

    def test_notThere(self):
        self.assertIsNone(inPlace(self.folder, "f.txt", SHA, len(DATA)))

    def test_otherContentIsNot(self):
        """Of another size, or of the same size but other bytes, or a
        folder: not the file paid for."""
        writeFile(self.folder, "f.txt", DATA[:-1])
        self.assertIsNone(inPlace(self.folder, "f.txt", SHA, len(DATA)))
        writeFile(self.folder, "f.txt", DATA[:-1] + b"!")
        self.assertIsNone(inPlace(self.folder, "f.txt", SHA, len(DATA)))
        os.mkdir(os.path.join(self.folder, tagged("f.txt", SHA)))
        self.assertIsNone(inPlace(self.folder, "f.txt", SHA, len(DATA)))

    def test_aLinkIsNotFollowed(self):
        """A link at the name, even to the right bytes, is not a file the
        buyer put there."""
        target = writeFile(scratchDir(self), "elsewhere", DATA)
        os.symlink(target, os.path.join(self.folder, "f.txt"))
        self.assertIsNone(inPlace(self.folder, "f.txt", SHA, len(DATA)))


class JournalTests(SynchronousTestCase):
    def setUp(self):
        self.journal = Journal(scratchDir(self))

    def test_noteMergesAndReads(self):
        self.assertIsNone(self.journal.read("f"))
        self.journal.note("f", [Offer(1, (9, 1), "h", 1, 10, "a" * 64, 5)])
        self.journal.note("f", [Offer(2, (9, 2), "h", 2, 11, "b" * 64, 6)])
        self.assertEqual(self.journal.read("f"), {1: ("a" * 64, 10), 2: ("b" * 64, 11)})
        self.journal.remove("f")
        self.journal.remove("f")
        self.assertIsNone(self.journal.read("f"))

    def test_paidForIsKeptBesideTheOffers(self):
        """What a purchase paid for (L{Journal.notePaid}) is read back, and
        kept as offers are noted after it; a damaged one reads as none,
        and the offers still read (an older buyer ignores the field)."""
        self.assertIsNone(self.journal.paidFor("f"))
        self.journal.notePaid("f", 1, "a" * 64, 10)
        self.journal.note("f", [Offer(2, (9, 2), "h", 2, 11, "b" * 64, 6)])
        self.assertEqual(self.journal.paidFor("f"), (1, "a" * 64, 10))
        self.assertEqual(self.journal.read("f"), {2: ("b" * 64, 11)})
        for wrong in ({"seller": "x", "sha256": "a" * 64, "size": 10},
                      {"seller": "1", "sha256": "nothex", "size": 10}, [], None):
            with open(self.journal.path("f"), "w") as f:
                json.dump({"name": "f", "sellers": {}, "paid": wrong}, f)
            self.assertIsNone(self.journal.paidFor("f"), wrong)
            self.assertEqual(self.journal.read("f"), {})

    def test_anotherBuyersRecordAtTheSameMoment(self):
        """A second buyer of one downloads folder renames its copy of the
        record's temporary file first: this buyer's rename finds none.
        Its offers are merged into what the other wrote and written
        again, both buyers' sellers kept; before, note raised
        FileNotFoundError ('cannot record the offers ...')."""
        other = Journal(self.journal.downloads)
        other.note("f", [Offer(1, (9, 1), "h", 1, 10, "a" * 64, 5)])
        replace = os.replace
        raced = []

        def first(source, target):
            if not raced:
                raced.append(source)
                replace(source, target)  # the other buyer's rename, first
            replace(source, target)

        self.patch(os, "replace", first)
        self.journal.note("f", [Offer(2, (9, 2), "h", 2, 11, "b" * 64, 6)])
        self.assertEqual(len(raced), 1)
        self.assertEqual(self.journal.read("f"), {1: ("a" * 64, 10), 2: ("b" * 64, 11)})

    def test_aFullDiskLeavesTheRecordAsItWas(self):
        """A record the disk cannot take (its fsync says the disk is
        full) leaves the one before as it was, and no half-written copy
        beside it: a `NAME.json.new` was left, which nothing read or
        removed (issue 96)."""
        self.journal.note("f", [Offer(1, (9, 1), "h", 1, 10, "a" * 64, 5)])

        def full(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        self.patch(os, "fsync", full)
        error = self.assertRaises(OSError, self.journal.notePaid, "f", 1, "a" * 64, 10)
        self.assertEqual(error.errno, errno.ENOSPC)
        self.assertEqual(os.listdir(self.journal.folder), ["f.json"])
        self.assertEqual(self.journal.read("f"), {1: ("a" * 64, 10)})
        self.assertIsNone(self.journal.paidFor("f"))

    def test_keyedSellersReadBack(self):
        """A keyed seller's id (128 bits: up to 39 decimal digits) is read
        back as written, and records merge (before, a record naming one
        was of the wrong fields, so each note replaced the last); an id
        that is neither keyed nor keyless is refused."""
        keyed, other = 2**129 - 1, 2**128 + 5
        self.journal.note("f", [Offer(keyed, (9, keyed), "h", 1, 10, "a" * 64, 5)])
        self.journal.note("f", [Offer(other, (9, other), "h", 2, 11, "b" * 64, 6)])
        self.assertEqual(self.journal.load("f"), {keyed: ("a" * 64, 10),
                                                  other: ("b" * 64, 11)})

    def test_idsOfNoNodeAreWrong(self):
        os.makedirs(self.journal.folder)
        for wrong in (2**129, 10**10, 2**128 - 1):
            with open(self.journal.path("f"), "w") as f:
                json.dump({"name": "f", "sellers": {str(wrong): {"sha256": "a" * 64,
                                                                 "size": 1}}}, f)
            self.assertRaises(RecordFault, self.journal.load, "f")

    def test_mostSellers(self):
        """A record names at most MOST_SELLERS sellers: once full, a new
        seller is not added, and those named stay (their content may
        change)."""
        offers = [Offer(n, (9, n), "h", 1, 10, f"{n:064x}", n) for n in
                  range(1, MOST_SELLERS + 11)]
        self.journal.note("f", offers[:3])
        self.journal.note("f", offers[3:])
        self.journal.note("f", [Offer(2, (9, 2), "h", 1, 10, "c" * 64, 7)])
        sellers = self.journal.load("f")
        self.assertEqual(sorted(sellers), list(range(1, MOST_SELLERS + 1)))
        self.assertEqual(sellers[2], ("c" * 64, 10))

    def test_recordDurableBeforeItCounts(self):
        """The record is fsynced before it replaces the old one, and its
        folder after: the purchase it explains is durable in the bag, so a
        record lost in a crash would leave a paid file never fetched."""
        events = []
        realFsync, realReplace = os.fsync, os.replace

        def fsync(fd):
            events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
            realFsync(fd)

        def replace(source, target):
            events.append(("replace", os.path.basename(target)))
            realReplace(source, target)

        self.patch(os, "fsync", fsync)
        self.patch(os, "replace", replace)
        parent = os.path.basename(os.path.dirname(self.journal.folder))
        self.journal.note("f", [Offer(1, (9, 1), "h", 1, 10, "a" * 64, 5)])
        self.assertEqual(events, [("fsync", parent), ("fsync", "f.json.new"),
                                  ("replace", "f.json"), ("fsync", JOURNAL)])

    def test_longNamesAreRecorded(self):
        """A record whose name and temporary copy would pass the file
        system's 255 bytes is kept under the name's hash; a name that
        fits keeps the name earlier versions gave it."""
        offer = Offer(1, (9, 1), "h", 1, 10, "a" * 64, 5)
        for name in ["x" * 247, "x" * MAX_ITEM_BYTES, "é" * 124]:
            self.journal.note(name, [offer])
            self.assertEqual(self.journal.load(name), {1: ("a" * 64, 10)})
            self.assertTrue(os.path.basename(self.journal.path(name)).startswith("."))
        self.assertEqual(os.path.basename(self.journal.path("y" * 246)),
                         "y" * 246 + ".json")
        self.assertEqual(len(os.listdir(self.journal.folder)), 3)
        self.journal.remove("x" * 247)
        self.assertIsNone(self.journal.read("x" * 247))

    def test_damagedRecordIsNone(self):
        self.journal.note("f", [Offer(1, (9, 1), "h", 1, 10, "a" * 64, 5)])
        with open(self.journal.path("f"), "w") as f:
            f.write("{not json")
        self.assertIsNone(self.journal.read("f"))

    def test_loadSaysWhatIsWrong(self):
        """A record that cannot be used is refused with its reason: the
        buyer logs it, and fetches nothing on a damaged record's word."""
        path = self.journal.path("f")
        fault = self.assertRaises(RecordFault, self.journal.load, "f")
        self.assertEqual((str(fault), fault.missing), ("missing", True))
        self.journal.note("f", [Offer(1, (9, 1), "h", 1, 10, "a" * 64, 5)])
        self.assertEqual(self.journal.load("f"), {1: ("a" * 64, 10)})
        for text, why in [
                (b"{not json", "not valid JSON"),
                (b"\xff", "not valid JSON"),
                (b"[" * 100000, "not valid JSON"),
                (b"[]", "of the wrong fields (not an object with name 'f')"),
                (b'{"name": "g", "sellers": {}}', "of the wrong fields"),
                (b'{"name": "f"}', "of the wrong fields (sellers is not an object)"),
                (b'{"name": "f", "sellers": {"x": {}}}', "of the wrong fields"),
                (b'{"name": "f", "sellers": {"1": {"sha256": "A", "size": 1}}}',
                 "of the wrong fields (sellers.1.sha256 must be a SHA-256"),
                (b'{"name": "f", "sellers": {"1": {"sha256": "' + b"a" * 64
                 + b'", "size": -1}}}', "of the wrong fields (sellers.1.size must be")]:
            with open(path, "wb") as f:
                f.write(text)
            fault = self.assertRaises(RecordFault, self.journal.load, "f")
            self.assertTrue(str(fault).startswith(why), (text[:40], str(fault)))
            self.assertFalse(fault.missing)
            self.assertIsNone(self.journal.read("f"))
        os.unlink(path)
        os.mkdir(path)
        fault = self.assertRaises(RecordFault, self.journal.load, "f")
        self.assertTrue(str(fault).startswith("unreadable ("), str(fault))
