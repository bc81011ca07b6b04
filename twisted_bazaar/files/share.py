"""
The shared folder: which of its files are on offer, with their digests,
following the folder as it changes.

Every regular file directly in the folder whose name is plain (see
L{twisted_bazaar.files.names}) is offered once it has stayed unchanged
for the settle time and its hash is known: a file being written keeps
changing, so it is not offered until it is complete.  A file that changes
is withdrawn at once and offered again with its new digest; one that goes
is withdrawn.  A file is read by one hash at a time: a change during it is
hashed once that read ends.  A file that keeps changing soon after its
reads waits longer each time (L{SETTLE_CAP}), so whoever may write to
the folder cannot keep the seller hashing a large file without end.
Symbolic links, sub-folders, hidden and oddly named files
are never offered, so nothing outside the folder is ever served.  A name
is offered in composed Unicode form (NFC), as a buyer types it, whatever
form the folder holds it in (macOS writes decomposed ``é``, NFD).

Changes are noticed by polling the folder (L{SharedFolder.poll} seconds
apart, on any clock, which the simulator and tests use), or on Linux with a
real reactor by inotify (L{twisted.internet.inotify}), which triggers a
rescan as soon as anything in the folder moves.  A watch follows the
folder it was set on, so a folder removed and made again (or another
moved to its path) is watched anew; while none is there it is looked for
every L{DEFAULT_POLL} seconds at most.
"""

import codecs
import os
import stat
import unicodedata

from twisted.application.service import Service
from twisted.logger import Logger

from twisted_bazaar.files.hashing import FileChanged, digestFile, statKey
from twisted_bazaar.base.text import shown
from twisted_bazaar.files.names import fileSystemEncoding, nameFault

#: Default seconds a file must stay unchanged before it is offered.
DEFAULT_SETTLE = 0.5
#: The most seconds a file that keeps changing waits to settle: from its
#: third read within L{QUIET} of the one before, its wait doubles each
#: read, up to this.
SETTLE_CAP = 64.0
#: Seconds without a read of a file after which it settles in the
#: settle time again.
QUIET = 300.0
#: Default seconds between polls of the folder (without inotify).
DEFAULT_POLL = 1.0
#: Size from which a file's hashing is said as it starts: a file of
#: gigabytes takes seconds to read, and the seller said nothing meanwhile.
SAY_HASHING = 2**30
#: Files offered one by one that are said each (`sharing NAME ...`) until
#: the folder's files are all read; the rest are said in one line then:
#: a seller of 10,000 files logged 10,000 lines at every start.  Names
#: newly refused in one look at the folder are said so too.
SAY_SHARING = 20
#: With inotify, seconds between safety polls (events can be missed when
#: the kernel queue overflows).
INOTIFY_POLL = 30.0
#: Why a file is not shared whose name another file has in NFC.
_ANOTHER_FORM = ("another file here has this name in composed Unicode form (NFC), "
                 "the form both would be offered under")


def inotifyWatch(reactor, folder, changed):
    """
    Call ``changed()`` whenever something in ``folder`` is created, written,
    moved, removed or has its attributes changed.

    @return: a callable that stops watching, or None when inotify cannot be
        used here (not Linux, or not a real reactor).
    """
    try:
        from twisted.internet import inotify
        from twisted.python.filepath import FilePath
    except ImportError:
        return None
    if not hasattr(reactor, "addReader"):
        return None
    try:
        notifier = inotify.INotify(reactor)
        notifier.startReading()
        mask = (inotify.IN_CLOSE_WRITE | inotify.IN_MOVED_TO | inotify.IN_MOVED_FROM
                | inotify.IN_DELETE | inotify.IN_CREATE | inotify.IN_ATTRIB
                | inotify.IN_MODIFY | inotify.IN_DELETE_SELF | inotify.IN_MOVE_SELF)
        notifier.watch(FilePath(folder), mask,
                       callbacks=[lambda *_: changed()])
    except Exception:
        return None
    return notifier.loseConnection


def _garbled(name, encoding):
    """name, written in UTF-8, as a process reading file names in encoding
    sees it."""
    return name.encode("utf-8").decode(encoding, "replace")


def folderIdentity(folder):
    """(device, inode) of the folder at that path, or None if there is none."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


class SharedFolder(Service):
    """
    @ivar files: name -> L{FileDigest} of every file on offer.
    @ivar listener: told C{fileAdded(name, digest)} and
        C{fileRemoved(name, digest)}.
    """

    log = Logger()

    def __init__(self, clock, folder, hasher, listener, settle=DEFAULT_SETTLE,
                 poll=DEFAULT_POLL, useInotify=True, unshared=()):
        """
        @param unshared: names of the daemon's own files in the folder
            (its log and pid file), left out without a word, and so are
            the log's rotated copies (``twistd.log.1``).
        """
        self.clock = clock
        self.unshared = frozenset(unshared)
        self.folder = os.path.abspath(folder)
        self.hasher = hasher
        self.listener = listener
        self.settle = settle
        self.poll = poll
        self._basePoll = poll
        self.useInotify = useInotify
        self.files = {}
        self._byHash = {}
        #: name -> (stat key, since when, seconds it must settle) of files
        #: not yet offered.
        self._seen = {}
        #: name -> stat key being hashed.
        self._hashing = {}
        #: name -> [seconds its next change settles, when its last read
        #: began or ended, whether its longer wait was said]: see
        #: L{SETTLE_CAP}.
        self._waits = {}
        #: name -> stat key that could not be read (not retried unchanged).
        self._unreadable = {}
        #: Names in the folder not shared -> why, said once each.
        self._refused = {}
        #: Names of the subfolders seen at the last scan, said as they
        #: appear: a library of album folders was shared as nothing, without
        #: a word.
        self._folders = frozenset()
        #: Files offered since the folder's files were last all read, and
        #: of them those not said one by one (L{SAY_SHARING}).
        self._offered = 0
        self._unsaid = 0
        #: Offered name (NFC) -> the file's name in the folder.
        self._disk = {}
        self._call = None
        self._due = None
        self._unwatch = None
        #: The identity (L{folderIdentity}) of the folder inotify watches.
        self._watched = None
        self._missing = False
        #: How changes are noticed once started: "inotify" or "polling".
        self.watching = None

    # -- what the seller and the transfer server ask ------------------------------

    def byHash(self, sha256):
        """(path, digest) of the file on offer with this identity, or None."""
        name = self._byHash.get(sha256)
        if name is None:
            return None
        return os.path.join(self.folder, self._disk.get(name, name)), self.files[name]

    # -- lifecycle -------------------------------------------------------------------

    def startService(self):
        super().startService()
        if self.useInotify:
            self._watched = folderIdentity(self.folder)
            self._unwatch = inotifyWatch(self.clock, self.folder, self.changed)
        self.watching = "inotify" if self._unwatch is not None else "polling"
        encoding = fileSystemEncoding()
        if codecs.lookup(encoding).name != "utf-8":
            self.log.warn(
                "this process reads file names in {encoding} (its locale: LANG, "
                "LC_CTYPE or LC_ALL), not UTF-8: a name written in UTF-8 (as most "
                "programs write them) is offered garbled, {good} as {garbled}; "
                "run it in a UTF-8 locale (LANG=C.UTF-8)", encoding=encoding,
                good="café.txt", garbled=_garbled("café.txt", encoding))
        if self._unwatch is not None:
            self.poll = max(self.poll, INOTIFY_POLL)
            self.log.info("watching shared folder {folder} with inotify",
                          folder=self.folder)
        else:
            self.log.info("watching shared folder {folder} by polling every {poll:g} s",
                          folder=self.folder, poll=self.poll)
        self.scan()

    def stopService(self):
        super().stopService()
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = self._due = None

    def changed(self):
        """Something in the folder moved: look again soon (debounced)."""
        self._scanAt(self.clock.seconds() + min(self.settle, 0.1))

    def _scanAt(self, when):
        if not self.running:
            return
        if self._call is not None and self._call.active():
            if self._due <= when:
                return
            self._call.cancel()
        self._due = when
        self._call = self.clock.callLater(max(0.0, when - self.clock.seconds()),
                                          self._scanDue)

    def _scanDue(self):
        self._call = self._due = None
        self.scan()

    # -- scanning --------------------------------------------------------------------

    def _list(self):
        """name -> stat key of the folder's offerable files."""
        found = {}
        try:
            entries = list(os.scandir(self.folder))
        except OSError as e:
            if not self._missing:
                self.log.warn("cannot read shared folder {folder}: {why}; offering "
                              "nothing from it", folder=self.folder, why=e.strerror)
            self._missing = True
            return found
        self._missing = False
        refused = {}
        disk = {}
        folders = set()
        for entry in sorted(entries, key=lambda entry: entry.name):
            fault = nameFault(entry.name)
            if fault is not None and entry.name.startswith("."):
                continue
            if self._ownFile(entry.name):
                continue
            try:
                if entry.is_symlink():
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                # Said as a subfolder whatever its name: not as a file.
                folders.add(entry.name)
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if fault is not None:
                refused[entry.name] = fault
                continue
            offered = unicodedata.normalize("NFC", entry.name)
            if offered in disk:
                # Two names of one composed form: the one written so wins.
                if entry.name != offered:
                    refused[entry.name] = _ANOTHER_FORM
                    continue
                refused[disk[offered]] = _ANOTHER_FORM
            disk[offered] = entry.name
            found[offered] = statKey(st)
        new = sorted(set(refused) - set(self._refused))
        for name in new[:SAY_SHARING]:
            self.log.info("not sharing {name}: {why}", name=shown(name),
                          why=refused[name])
        if len(new) > SAY_SHARING:
            self.log.info("not sharing {n} more files of {folder} for their names, as "
                          "those above", n=len(new) - SAY_SHARING, folder=shown(self.folder))
        self._refused = refused
        self._sayFolders(frozenset(folders))
        self._disk = disk
        return found

    def _ownFile(self, name):
        """Whether name is the daemon's own log or pid file (L{unshared}),
        or a rotated copy of one."""
        if not self.unshared:
            return False
        stem, dot, number = name.rpartition(".")
        return name in self.unshared or (dot and number.isdigit() and stem in self.unshared)

    def _sayFolders(self, folders):
        """Say the subfolders once, as new ones appear: none of their
        files is offered."""
        if folders - self._folders:
            names = sorted(folders)
            listed = ", ".join(shown(name) for name in names[:3]) + (
                ", …" if len(names) > 3 else "")
            self.log.info("not sharing the files in the subfolders of {folder} "
                          "({names}): only the files directly in it are offered",
                          folder=shown(self.folder), names=listed)
        self._folders = folders

    def scan(self):
        """Compare the folder with what is on offer and act on the
        difference; come back when a file needs to settle, and at the next
        poll."""
        if not self.running:
            return
        now = self.clock.seconds()
        if self.watching == "inotify":
            self._rewatch()
        current = self._list()
        for name in sorted(set(self.files) - set(current)):
            self._withdraw(name, "removed")
        for forgotten in (self._seen, self._unreadable, self._waits):
            for name in set(forgotten) - set(current):
                del forgotten[name]
        poll = self.poll
        if self.watching == "inotify" and self._unwatch is None:
            # No watch: the folder is gone (or could not be watched again).
            poll = min(self._basePoll, DEFAULT_POLL)
        nextScan = now + poll
        for name, key in sorted(current.items()):
            offered = self.files.get(name)
            if offered is not None:
                if offered.key == key:
                    continue
                self._withdraw(name, "changed")
            if self._unreadable.get(name) == key or self._hashing.get(name) == key:
                continue
            seen = self._seen.get(name)
            if seen is None or seen[0] != key:
                wait = self._waitFor(name, now)
                self._seen[name] = (key, now, wait)
                nextScan = min(nextScan, now + wait)
            elif name in self._hashing:
                # One read of a file at a time: its end scans again.
                continue
            elif now >= seen[1] + seen[2]:
                self._hash(name, key)
            else:
                nextScan = min(nextScan, seen[1] + seen[2])
        self._scanAt(nextScan)

    def _rewatch(self):
        """inotify watches the folder it was set on: once that one is gone,
        or another is at the path, watch the one there (if any)."""
        identity = folderIdentity(self.folder)
        if identity == self._watched and self._unwatch is not None:
            return
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        self._watched = identity
        if identity is not None:
            self._unwatch = inotifyWatch(self.clock, self.folder, self.changed)

    def _withdraw(self, name, why):
        digest = self.files.pop(name)
        if self._byHash.get(digest.sha256) == name:
            del self._byHash[digest.sha256]
            for other, each in sorted(self.files.items()):
                if each.sha256 == digest.sha256:
                    self._byHash[digest.sha256] = other
                    break
        self.log.info("shared file {name} {why}: no longer offered", name=name, why=why)
        self.listener.fileRemoved(name, digest)

    def _waitFor(self, name, now):
        """Seconds a change of name seen now must settle; said once as it
        grows past the settle time."""
        waits = self._waits.get(name)
        if waits is not None and name not in self._hashing and now - waits[1] >= QUIET:
            del self._waits[name]
            waits = None
        if waits is None or waits[0] <= self.settle:
            return self.settle
        if not waits[2]:
            waits[2] = True
            self.log.info("shared file {name} keeps changing: it is offered once "
                          "unchanged for {wait:g} s, a wait that doubles while it "
                          "keeps changing (at most {cap:g} s)", name=shown(name),
                          wait=waits[0], cap=max(SETTLE_CAP, self.settle))
        return waits[0]

    def _hash(self, name, key):
        now = self.clock.seconds()
        waits = self._waits.get(name)
        if waits is None or now - waits[1] >= QUIET:
            self._waits[name] = [self.settle, now, False]
        else:
            waits[0] = min(max(waits[0], self.settle) * 2, max(SETTLE_CAP, self.settle))
            waits[1] = now
        self._hashing[name] = key
        if key[0] >= SAY_HASHING:
            self.log.info("hashing {name} ({size} bytes): it is offered once read",
                          name=name, size=key[0])
        d = self.hasher.run(digestFile, os.path.join(self.folder, self._disk[name]),
                            self.hasher.stopping)
        d.addCallbacks(self._hashed, self._notHashed, callbackArgs=(name, key),
                       errbackArgs=(name, key))

    def _readEnded(self, name, key):
        if self._hashing.get(name) == key:
            del self._hashing[name]
        if name in self._waits:
            self._waits[name][1] = self.clock.seconds()

    def _hashed(self, digest, name, key):
        self._readEnded(name, key)
        if not self.running:
            return
        seen = self._seen.get(name)
        if digest.key != key or seen is None or seen[0] != key:
            self.changed()
            return
        del self._seen[name]
        self.files[name] = digest
        self._byHash.setdefault(digest.sha256, name)
        self._offered += 1
        if self._offered <= SAY_SHARING:
            self.log.info("sharing {name} ({size} bytes, content id {sha})", name=name,
                          size=digest.size, sha=digest.sha256)
        else:
            self._unsaid += 1
        self.listener.fileAdded(name, digest)
        self._sayRest()

    def _sayRest(self):
        """Once no file waits to be read (but those unreadable), say the
        files offered and not said one by one, in one line."""
        if self._hashing or any(name not in self._unreadable for name in self._seen):
            return
        if self._unsaid:
            self.log.info("sharing {n} more files, {total} in all in {folder}",
                          n=self._unsaid, total=len(self.files), folder=self.folder)
        self._offered = self._unsaid = 0

    def _notHashed(self, reason, name, key):
        self._readEnded(name, key)
        if not self.running:
            return
        self.changed()
        if reason.check(FileChanged):
            return
        self._unreadable[name] = key
        self.log.warn("cannot share {name}: {why}", name=name,
                      why=reason.getErrorMessage())
        self._sayRest()
