"""
The downloads folder: a file being fetched lives under a temporary, hidden
name (L{partName}) until every byte is verified; then it is fsynced and
linked into place under its own name, so a reader never sees a partial or
wrong file.  A part file left by a crash is reused: its pieces that match
their hashes are kept.

The blocking steps (L{PartFile.verifyPieces}, L{PartFile.complete}) are
run off the reactor thread by the caller; writing a piece as it arrives
(L{PieceSink}) is a C{pwrite} of what the socket just gave.
"""

import errno
import hashlib
import os

from twisted.internet.interfaces import IConsumer
from zope.interface import implementer

from twisted_bazaar.files.hashing import READ_SIZE, hashRange


class DownloadError(Exception):
    """The downloads folder cannot take the file (full, unwritable...)."""


class ContentMismatch(DownloadError):
    """The file put together does not match its SHA-256."""


def partName(name, sha256):
    """The temporary name of a file being fetched."""
    return f".{name}.{sha256[:16]}.part"


def _diskError(what, e):
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(f"the downloads folder is full: cannot {what}")
    return DownloadError(f"cannot {what}: {e.strerror or e}")


@implementer(IConsumer)
class PieceSink:
    """
    Where one piece's bytes go as they arrive: written at their offset in
    the part file, and hashed on the way.
    """

    def __init__(self, fd, offset):
        self.fd = fd
        self.position = offset
        self._hash = hashlib.sha256()
        self.producer = None

    def registerProducer(self, producer, streaming):
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None

    def write(self, data):
        try:
            written = os.pwrite(self.fd, data, self.position)
        except OSError as e:
            raise _diskError("write the file", e)
        if written != len(data):
            raise DownloadError("the downloads folder is full: a write came short")
        self.position += written
        self._hash.update(data)

    def digest(self):
        return self._hash.digest()


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

    def sink(self, offset):
        return PieceSink(self.fd, offset)

    def verifyPieces(self, piece_size, pieces):
        """The indexes of the pieces already on disk and right.  Blocking."""
        have = []
        for index, expected in enumerate(pieces):
            offset = index * piece_size
            length = min(piece_size, self.size - offset)
            if hashRange(self.path, offset, length) == expected:
                have.append(index)
        return have

    def complete(self):
        """
        Check the whole file's SHA-256, fsync it, and link it into place
        under its name (or, if another file already has that name, under
        the name with the start of the hash added).  Blocking.

        @return: the final path.
        @raise DownloadError: if it does not match, or cannot be put there.
        """
        digest = hashlib.sha256()
        with open(self.path, "rb") as f:
            for data in iter(lambda: f.read(READ_SIZE), b""):
                digest.update(data)
        if digest.hexdigest() != self.sha256:
            raise ContentMismatch(f"{self.name} does not match its SHA-256 once put "
                                  "together")
        try:
            os.fsync(self.fd)
            final = self._place()
            directory = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as e:
            raise _diskError(f"put {self.name} in place", e)
        self.close()
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
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for data in iter(lambda: f.read(READ_SIZE), b""):
            digest.update(data)
    return digest.hexdigest() == sha256
