"""
The shared folder on the real reactor: inotify (on Linux) notices a new
file, its hash is taken on the worker threads, and stopping leaves no
reader, timer or thread behind.  A plain pytest function on the real
reactor (pytest-twisted), like test_tradeOverLoopbackTcp: it waits for the
event, bounded by a timeout, and never sleeps.
"""

import os
import shutil
import sys
import tempfile

import pytest
import pytest_twisted
from twisted.internet import defer

from twisted_bazaar.files.hashing import Hasher
from twisted_bazaar.files.share import SharedFolder
from tests.files.helpers import fileId

TIMEOUT = 10.0


class _Waiter:
    """A listener whose Deferred fires with the first file added."""

    def __init__(self):
        self.added = defer.Deferred()

    def fileAdded(self, name, digest):
        if not self.added.called:
            self.added.callback((name, digest))

    def fileRemoved(self, name, digest):
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
@pytest_twisted.inlineCallbacks
def test_inotifySeesANewFile():
    from twisted.internet import reactor

    readers_before = set(reactor.getReaders())
    calls_before = set(reactor.getDelayedCalls())
    folder = tempfile.mkdtemp(prefix="bazaar-files-")
    hasher = Hasher(reactor)
    waiter = _Waiter()
    # Polling every hour: only inotify can notice the file in time.
    share = SharedFolder(reactor, folder, hasher, waiter, settle=0.1, poll=3600.0)
    hasher.startService()
    share.startService()
    timeout = reactor.callLater(TIMEOUT, waiter.added.cancel)
    try:
        assert share.watching == "inotify"
        with open(os.path.join(folder, "new.txt"), "wb") as f:
            f.write(b"seen")
        name, digest = yield waiter.added
        assert (name, digest.sha256) == ("new.txt", fileId(b"seen"))
    finally:
        if timeout.active():
            timeout.cancel()
        share.stopService()
        hasher.stopService()
        shutil.rmtree(folder, True)
    assert set(reactor.getDelayedCalls()) <= calls_before
    assert set(reactor.getReaders()) == readers_before
    assert not hasher.pool.started


class _Events:
    """A listener that fires the Deferred waiting for a (kind, name)."""

    def __init__(self):
        self.waiting = {}

    def wait(self, kind, name):
        d = self.waiting[kind, name] = defer.Deferred()
        return d

    def _told(self, kind, name):
        d = self.waiting.pop((kind, name), None)
        if d is not None:
            d.callback(name)

    def fileAdded(self, name, digest):
        self._told("added", name)

    def fileRemoved(self, name, digest):
        self._told("removed", name)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
@pytest_twisted.inlineCallbacks
def test_inotifyFollowsAFolderMadeAgain():
    """The shared folder removed and made again (a sync tool, an operator's
    rm -r and mkdir): inotify watched the folder that went, so the new one
    is watched in its place, and a file put in it is seen within seconds,
    not at the next safety poll (an hour here; 30 s in a daemon)."""
    from twisted.internet import reactor

    parent = tempfile.mkdtemp(prefix="bazaar-files-")
    folder = os.path.join(parent, "shared")
    os.mkdir(folder)
    with open(os.path.join(folder, "old.txt"), "wb") as f:
        f.write(b"old")
    hasher = Hasher(reactor)
    events = _Events()
    added = events.wait("added", "old.txt")
    share = SharedFolder(reactor, folder, hasher, events, settle=0.1, poll=3600.0)
    hasher.startService()
    share.startService()
    waiting = [added]
    timeout = reactor.callLater(TIMEOUT, lambda: waiting[0].cancel())
    try:
        assert share.watching == "inotify"
        yield added
        waiting[0] = events.wait("removed", "old.txt")
        shutil.rmtree(folder)
        yield waiting[0]
        waiting[0] = events.wait("added", "new.txt")
        os.mkdir(folder)
        with open(os.path.join(folder, "new.txt"), "wb") as f:
            f.write(b"new")
        assert (yield waiting[0]) == "new.txt"
    finally:
        if timeout.active():
            timeout.cancel()
        share.stopService()
        hasher.stopService()
        shutil.rmtree(parent, True)
