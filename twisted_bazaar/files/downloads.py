"""
The downloads folder: a file being fetched lives under a temporary, hidden
name (L{partName}) until every piece is verified (which proves the whole
file: see L{twisted_bazaar.files.tree}); then it is fsynced and linked
into place under its own name, so a reader never sees a partial or wrong
file.  A part file left by a crash is reused: its pieces that match their
hashes are kept.

Writing a piece as it arrives (L{PartFile.writeAt}) is a C{pwrite} of
what the socket just gave, on the reactor thread.  The blocking steps
(L{PartFile.writeback}, L{PartFile.verifyPieces}, L{PartFile.complete})
are run off the reactor thread by the caller; each opens the part file by
its path, so none of them depends on the reactor thread's descriptor
staying open.
"""

import errno
import os

from twisted_bazaar.files.hashing import FileChanged, digestFile, hashRange


class DownloadError(Exception):
    """The downloads folder cannot take the file (full, unwritable...)."""


def partName(name, sha256):
    """The temporary name of a file being fetched."""
    return f".{name}.{sha256[:16]}.part"


def _synced(path, flags, sync):
    """Open path with flags, sync it (C{os.fsync} or C{os.fdatasync}) and
    close it.  Blocking.

    @raise OSError: if any of it fails.
    """
    fd = os.open(path, flags)
    try:
        sync(fd)
    finally:
        os.close(fd)


def _diskError(what, e):
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(f"the downloads folder is full: cannot {what}")
    return DownloadError(f"cannot {what}: {e.strerror or e}")


class PartFile:
    """One file being fetched into ``folder``."""

    def __init__(self, folder, name, sha256, size):
        self.folder = folder
        self.name = name
        self.sha256 = sha256
        self.size = size
        self.path = os.path.join(folder, partName(name, sha256))
        self.fd = None

    def open(self):
        """
        Open (or reopen) the part file, with room for the whole file.

        @return: True if it was there already (a fetch to resume).
        @raise DownloadError: if the folder cannot take it.
        """
        existed = os.path.exists(self.path)
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise _diskError(f"create {self.path}", e)
        try:
            if os.fstat(self.fd).st_size > self.size:
                os.ftruncate(self.fd, self.size)
            if self.size and hasattr(os, "posix_fallocate"):
                # Room for every byte now: a full disk is found before the
                # transfer, not in the middle of it.
                os.posix_fallocate(self.fd, 0, self.size)
            else:
                os.ftruncate(self.fd, self.size)
        except OSError as e:
            self.discard()
            raise _diskError(f"make room for {self.size} bytes", e)
        return existed

    def writeAt(self, data, offset):
        """Write ``data`` at ``offset`` (a C{pwrite}, on the caller's thread).

        @raise DownloadError: if the disk does not take all of it."""
        try:
            written = os.pwrite(self.fd, data, offset)
        except OSError as e:
            raise _diskError("write the file", e)
        if written != len(data):
            raise DownloadError("the downloads folder is full: a write came short")

    def writeback(self):
        """
        Push what was written so far to the disk (C{fdatasync}), so that
        the fsync before the file is put in place has little left to do.
        Blocking; it guarantees nothing by itself: L{complete} still
        fsyncs.

        @raise DownloadError: if the disk fails.
        """
        try:
            _synced(self.path, os.O_WRONLY, os.fdatasync)
        except OSError as e:
            raise _diskError(f"write {self.path} to disk", e)

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
                raise _diskError(f"read {self.path} back", e)
            if digest == expected:
                have.append(index)
        return have

    def complete(self):
        """
        Once every piece is verified: fsync the file, and link it into
        place under its name (or, if another file already has that name,
        under the name with the start of its identity added).  Blocking;
        the caller closes the part file (L{close}) on its own thread.

        @return: the final path.
        @raise DownloadError: if it cannot be put there.
        """
        try:
            _synced(self.path, os.O_WRONLY, os.fsync)
            final = self._place()
            _synced(self.folder, os.O_RDONLY, os.fsync)
        except OSError as e:
            raise _diskError(f"put {self.name} in place", e)
        return final

    def _place(self):
        """Link the part file to a free final name (never replacing a
        file), then remove the part name."""
        stem, dot, ext = self.name.rpartition(".")
        if not stem:
            stem, dot, ext = self.name, "", ""
        for final in (self.name, f"{stem}.{self.sha256[:12]}{dot}{ext}"):
            target = os.path.join(self.folder, final)
            try:
                os.link(self.path, target)
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


def _sameContent(path, sha256):
    """Is the file at path one whose identity is sha256?  (Read once, only
    when a download's name is taken already.)"""
    try:
        return digestFile(path).sha256 == sha256
    except (OSError, FileChanged):
        return False
