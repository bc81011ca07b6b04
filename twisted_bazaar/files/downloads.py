"""
The downloads folder: a file being fetched lives under a temporary name
(L{partName}) in the buyer's private folder (L{privateFolder}) until every
piece is verified (which proves the whole file: see
L{twisted_bazaar.files.tree}); then it is fsynced and linked into place
under its own name, so a reader never sees a partial or wrong file.  A
part file is this user's only (0600) while it is fetched; in place, it
has the mode any program's new file has, 0666 less the user's umask
(L{userFileMode}).  A part file left by a crash is reused: its pieces that match their hashes
are kept.

A part file is held (an exclusive C{flock}) while it is open: a second
buyer given the same downloads folder, fetching the same content, finds
it held (L{PartBusy}) and waits for the first rather than writing the
same file at once (and failing once the first put it in place).

Nobody else can make the buyer write through a link: part files live in
a folder only this user can write to (made so, or refused with the
reason), and are opened without following links, created exclusively,
and checked to be this user's own regular files with one name.

Disk is reserved for a file (C{posix_fallocate}) only as far as its
caller asks (L{PartFile.reserve}), which is in step with the bytes
verified: a description alone, which any stranger can make up for a size
of its choosing, reserves nothing, and one verified piece of a made-up
terabyte reserves little more.  A download that gives up keeps only its
verified bytes (L{PartFile.release}).

Writing a piece as it arrives (L{PartFile.writeAt}) is a C{pwrite} of
what the socket just gave, on the reactor thread.  The blocking steps
(L{PartFile.writeback}, L{PartFile.verifyPieces}, L{PartFile.complete})
are run off the reactor thread by the caller; each opens the part file by
its path, so none of them depends on the reactor thread's descriptor
staying open.
"""

import errno
import fcntl
import os
import stat

from twisted_bazaar.files.hashing import FileChanged, digestFile, hashRange
from twisted_bazaar.files.names import fits, fitted, holdable, tagged

#: The buyer's private folder in a downloads folder: part files, and the
#: records of offers (L{twisted_bazaar.files.journal}).
PRIVATE = ".bazaar-downloads"


class DownloadError(Exception):
    """The downloads folder cannot take the file (full, unwritable...)."""


class NoSpace(DownloadError):
    """The downloads folder is full (or over its disk quota): the same
    download may succeed once there is room."""


class PartBusy(DownloadError):
    """Another process holds the part file: another buyer, given the same
    downloads folder, fetches the same content into it now."""


def partName(name, sha256):
    """The temporary name of a file being fetched (in L{PRIVATE}):
    ``.NAME.HASH16.part``, or where that is too long for a file name,
    ``..NAMEHASH.HASH16.part`` (a plain name never starts with ``.``)."""
    return fitted(f".{name}.{sha256[:16]}.part", name, f"..{{}}.{sha256[:16]}.part")


def userFileMode():
    """The mode a program's new file gets under this process's umask:
    0666 less the umask.  (The umask is read by setting it, so it is set
    to 0077 for the moment between: a file another thread makes then is
    only ever more private.)"""
    mask = os.umask(0o077)
    os.umask(mask)
    return 0o666 & ~mask


def privateProblem(path, repair=True):
    """
    Why the private folder at path cannot be used, or None (also when it
    is not there yet).  A folder of this user's that others could write
    to is made private (mode 0700) on the way, with ``repair``: one made
    by an earlier version with the umask's mode.
    """
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return "is a symbolic link"
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "is a symbolic link"
        if e.errno == errno.ENOTDIR:
            return "is not a folder"
        return e.strerror or str(e)
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid():
            return f"belongs to another user (uid {info.st_uid})"
        if info.st_mode & 0o077 and repair:
            os.fchmod(fd, 0o700)
    except OSError as e:
        return e.strerror or str(e)
    finally:
        os.close(fd)
    return None


def privateFolder(folder):
    """
    The buyer's private folder in a downloads folder, made if missing:
    only this user may write there, so nobody can plant a link at a part
    file's name, whoever else may write to the downloads folder.

    @raise DownloadError: saying why it cannot be used.
    """
    path = os.path.join(folder, PRIVATE)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise _diskError(folder, f"create {path}", e)
    why = privateProblem(path)
    if why is not None:
        raise DownloadError(f"{path} {why}: it must be a folder only this user "
                            "can write to (remove it, and the buyer makes one)")
    return path


def leaveNoEmptyFolder(folder):
    """Remove the buyer's private folder in a downloads folder if it holds
    nothing (every file bought is in place, or none was): a part file kept
    to resume, or anything else, keeps it."""
    try:
        os.rmdir(os.path.join(folder, PRIVATE))
    except OSError:
        pass


def _ownFile(fd, path):
    """(device, inode) of an open part file, checked to be this user's
    own regular file with one name (not a link someone planted).

    @raise DownloadError: if it is not."""
    info = os.fstat(fd)
    if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid()
            or info.st_nlink != 1):
        raise DownloadError(f"{path} is not a part file this buyer made (another "
                            "user's file, or one with other names): remove it")
    return info.st_dev, info.st_ino


def syncFolder(folder):
    """Make the names in folder durable (a link, a rename).  The folder
    is followed if it is a link: the user's --downloads may be one."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _synced(path, flags, sync, identity, mode=None):
    """Open path with flags (not following a link), check it is still the
    file of identity (device, inode), give it mode (if not None), sync it
    (C{os.fsync} or C{os.fdatasync}) and close it.  Blocking.

    @raise OSError: if any of it fails.
    """
    fd = os.open(path, flags | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != identity:
            raise OSError(errno.ESTALE, "the part file was replaced")
        if mode is not None:
            os.fchmod(fd, mode)
        sync(fd)
    finally:
        os.close(fd)


def dropCached(fd, ranges):
    """
    Tell the kernel that these ranges of a file, just synced, will not be
    read again soon: their pages, clean, go back to the free memory, and
    the next writes of the download take them again.  A download then
    holds a bounded part of the page cache however large its file, and
    does not evict everything else on the machine; on a virtual machine
    that hands its free memory back to the host, pages taken again at
    once also cost no fault on the host, where a 256 MiB download into
    pages the host had taken back cost the buyer 0.3-0.5 s of system
    time (see docs/benchmarks.md).  Blocking; advice only, so a system
    without it changes nothing.
    """
    if not hasattr(os, "posix_fadvise"):
        return
    for offset, length in ranges:
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _noSpace(folder, what):
    """A full downloads folder, as the buyer says it: the folder named
    and the words a user looks for, with the way out (a buyer given a
    folder on a small disk or a quota learns which, and what to do)."""
    return NoSpace(f"no space left in the downloads folder {folder}: {what} "
                   "(free some, or give --downloads a folder on a disk with room)")


def _diskError(folder, what, e):
    if e.errno == errno.ENOENT and not os.path.isdir(folder):
        # Not a bare "No such file or directory": which one is gone.
        return DownloadError(f"cannot {what}: the downloads folder {folder} is gone "
                             "(removed since the buyer started)")
    if e.errno == errno.ENOSPC:
        return _noSpace(folder, f"cannot {what}")
    if e.errno == errno.EDQUOT:
        return _noSpace(folder, f"cannot {what} (over the disk quota)")
    return DownloadError(f"cannot {what}: {e.strerror or e}")


class PartFile:
    """One file being fetched into ``folder``."""

    def __init__(self, folder, name, sha256, size):
        self.folder = folder
        self.name = name
        self.sha256 = sha256
        self.size = size
        self.path = os.path.join(folder, PRIVATE, partName(name, sha256))
        self.fd = None
        #: (device, inode) of the part file, once open.
        self.identity = None
        #: Bytes reserved from the start of the file (L{reserve}).
        self.reserved = 0
        #: Bytes an earlier run left in it, as it was opened (0: new).
        self.held = 0
        #: The mode the file gets once in place (read on the caller's
        #: thread: L{userFileMode}).
        self.mode = userFileMode()

    def open(self):
        """
        Open (or reopen) the part file, reserving nothing yet (see
        L{reserve}): created exclusively in the private folder, or the one
        an earlier run left there, never through a link.

        @return: True if it was there already (a fetch to resume).
        @raise PartBusy: if another process holds it (nothing is changed).
        @raise DownloadError: if the folder cannot take it, or what is at
            its name is not this buyer's part file.
        """
        privateFolder(self.folder)
        flags = os.O_RDWR | os.O_NOFOLLOW
        existed = False
        try:
            try:
                self.fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                existed = True
                self.fd = os.open(self.path, flags)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise DownloadError(f"{self.path} is a symbolic link, not a part file "
                                    "this buyer made: remove it")
            raise _diskError(self.folder, f"create {self.path}", e)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise PartBusy(f"another buyer is fetching {self.name} into {self.folder} "
                           f"(it holds {self.path})")
        except OSError:
            # A file system that has no locks (ENOLCK, EOPNOTSUPP: some
            # network ones): fetched unheld, as before there were any.
            pass
        try:
            self.identity = _ownFile(self.fd, self.path)
            if os.fstat(self.fd).st_size > self.size:
                os.ftruncate(self.fd, self.size)
            self.held = os.fstat(self.fd).st_size
        except DownloadError:
            self.close()
            raise
        except OSError as e:
            self.discard()
            raise _diskError(self.folder, f"open {self.path}", e)
        return existed

    def reserve(self, upTo):
        """
        Room for the file's first ``upTo`` bytes (all of them at most):
        a full disk is found as the reservation grows, ahead of the bytes
        that fill it, not at the file's end.

        @raise DownloadError: if the disk cannot take it.
        """
        end = min(upTo, self.size)
        if end <= self.reserved:
            return
        start, self.reserved = self.reserved, end
        try:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(self.fd, start, end - start)
            elif os.fstat(self.fd).st_size < end:
                os.ftruncate(self.fd, end)
        except OSError as e:
            room = f"{end} bytes" if end == self.size else f"{end} of its {self.size} bytes"
            raise _diskError(self.folder, f"make room for {room}", e)

    def release(self, keep):
        """
        A download gave up: keep the first ``keep`` bytes (those up to the
        end of its last verified piece, for a later run to resume) and
        give back the rest of the room reserved; with none to keep, the
        part file goes.
        """
        if not keep:
            self.discard()
            return
        try:
            if self.fd is not None and os.fstat(self.fd).st_size > keep:
                os.ftruncate(self.fd, keep)
        except OSError:
            pass
        self.close()

    def writeAt(self, data, offset):
        """Write ``data`` at ``offset`` (a C{pwrite}, on the caller's thread).

        @raise DownloadError: if the disk does not take all of it."""
        try:
            written = os.pwrite(self.fd, data, offset)
        except OSError as e:
            raise _diskError(self.folder, "write the file", e)
        if written != len(data):
            self._writeRest(memoryview(data), offset, written)

    def _writeRest(self, data, offset, done):
        """
        The rest of a write that wrote ``done`` bytes: a short write is
        no error (a disk filling up takes what fits, a signal can cut a
        write short), so the rest is written until the disk says why it
        takes no more.  That is said, with where in the file it stopped:
        the count of a short write's bytes was no figure a user could
        read (the write's size is the size a connection read).

        @raise DownloadError: if the disk does not take all of it.
        """
        while done < len(data):
            where = f"write the file past byte {offset + done:,} of its {self.size:,}"
            try:
                written = os.pwrite(self.fd, data[done:], offset + done)
            except OSError as e:
                raise _diskError(self.folder, where, e)
            if not written:
                raise _noSpace(self.folder, f"cannot {where}: the disk took no more")
            done += written

    def writeback(self, done=()):
        """
        Push what was written so far to the disk (C{fdatasync}), so that
        the fsync before the file is put in place has little left to do;
        then drop the ranges in ``done`` from the page cache (see
        L{dropCached}).  Blocking; it guarantees nothing by itself:
        L{complete} still fsyncs.

        @param done: (offset, length) of ranges whose every byte was
            written before this call and will not be written again.
        @raise DownloadError: if the disk fails.
        """
        def sync(fd):
            os.fdatasync(fd)
            dropCached(fd, done)

        try:
            _synced(self.path, os.O_WRONLY, sync, self.identity)
        except OSError as e:
            raise _diskError(self.folder, f"write {self.path} to disk", e)

    def verifyPieces(self, piece_size, pieces):
        """The indexes of the pieces already on disk and right.  Blocking.

        @raise DownloadError: if the part file cannot be read."""
        have = []
        for index, expected in enumerate(pieces):
            offset = index * piece_size
            length = min(piece_size, self.size - offset)
            try:
                digest = hashRange(self.path, offset, length)
            except OSError as e:
                raise _diskError(self.folder, f"read {self.path} back", e)
            if digest == expected:
                have.append(index)
        return have

    def complete(self):
        """
        Once every piece is verified: give the file its mode (L{mode}),
        fsync it, and link it into place under its name (or, if another file already has that name,
        under the name with the start of its identity added).  Blocking;
        the caller closes the part file (L{close}) on its own thread.

        @return: the final path.
        @raise DownloadError: if it cannot be put there.
        """
        try:
            _synced(self.path, os.O_WRONLY, os.fsync, self.identity, self.mode)
            final = self._place()
            syncFolder(self.folder)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise DownloadError(
                    f"cannot put {self.name} in place: the downloads folder "
                    f"{self.folder} cannot be written ({e.strerror}); the whole file "
                    f"is kept in {PRIVATE}, and the same command run again once the "
                    "folder can be written puts it there") from None
            raise _diskError(self.folder, f"put {self.name} in place", e)
        return final

    def _place(self):
        """Link the part file to a free final name (never replacing a
        file), then remove the part name: its own name, or the one tagged
        with its identity (L{tagged}), the only one when its own is too
        long for a file name."""
        for final in finalNames(self.name, self.sha256):
            target = os.path.join(self.folder, final)
            try:
                os.link(self.path, target, follow_symlinks=False)
            except FileExistsError:
                if _sameContent(target, self.sha256):
                    break
                continue
            break
        else:
            raise DownloadError(f"{self.name} and its alternative name are both "
                                "taken by other files")
        os.unlink(self.path)
        return target

    def discardUnheld(self):
        """Remove the part file a download left, unless another process
        holds it (L{PartBusy}'s case) or it is not there.  @return:
        whether it was removed."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _ownFile(fd, self.path)
            os.unlink(self.path)
        except (OSError, DownloadError):
            return False
        finally:
            os.close(fd)
        return True

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def discard(self):
        """Remove the part file: nothing half-written stays."""
        self.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def finalNames(name, sha256):
    """The names a file fetched as content sha256 may be put in place
    under, in the order they are tried: its own (if it fits in a file
    name), then the one tagged with its content id (L{tagged}; of its
    L{holdable} form, when the locale's encoding lacks some of its
    characters)."""
    return ([name] if fits(name) else []) + [tagged(holdable(name), sha256)]


def inPlace(folder, name, sha256, size, ids=None):
    """
    The path in folder of a file of ``size`` bytes and content id sha256
    under one of its L{finalNames}, or None: a file a buyer paid for that
    is in place already (put there by an earlier run) is not fetched
    again.  Only a regular file of that size is read (whole: blocking,
    run it off the reactor); a link is not followed.

    @param ids: the L{ContentIds <twisted_bazaar.files.hashing.ContentIds>}
        that remember what was read before, or None (read it).
    """
    for final in finalNames(name, sha256):
        path = os.path.join(folder, final)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if (stat.S_ISREG(info.st_mode) and info.st_size == size
                and _sameContent(path, sha256, ids)):
            return path
    return None


def _sameContent(path, sha256, ids=None):
    """Is the file at path one whose identity is sha256?  (Read once, only
    when a download's name is taken already, or by ids if given.)"""
    try:
        found = digestFile(path).sha256 if ids is None else ids.of(path)
    except (OSError, FileChanged):
        return False
    return found == sha256
