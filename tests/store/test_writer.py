"""
Tests for L{twisted_bazaar.store.writer}, the store's writer process: a
batch's writes are committed one transaction each and synced once, a
write is answered done only after that sync, a failed sync fails its
batch and ends the loop (raising why), and the loop ends on a close or
when its input does.
"""

import os
import pickle
import sqlite3

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store import DB_NAME, SQLiteStore, readState
from twisted_bazaar.base.pipeframes import Frames, frame
from twisted_bazaar.store import writer
from twisted_bazaar.store.writer import connect, runBatch, serve

from tests.store.test_stores import scratchDir

SET_ID = [("INSERT OR REPLACE INTO meta VALUES ('node_id', ?)", ("7",))]
BROKEN = [("INSERT INTO nowhere VALUES (1)", ())]


class RunBatchTests(SynchronousTestCase):
    def setUp(self):
        folder = scratchDir(self)
        SQLiteStore(folder).close()
        self.path = os.path.join(folder, DB_NAME)
        self.db = connect(self.path, 0)
        self.addCleanup(self.db.close)
        self.log = []

    def sync(self):
        self.log.append(("sync", self.committed()))

    def committed(self):
        other = sqlite3.connect(self.path)
        try:
            return other.execute("SELECT value FROM meta WHERE key = 'node_id'").fetchall()
        finally:
            other.close()

    def test_commitsThenOneSync(self):
        """Every write of the batch is committed before the one sync;
        each is answered, in order, a failed one with its reason."""
        outcomes, failed, closing = runBatch(self.db, self.sync, [
            (1, "node id not recorded", SET_ID), (2, "nothing", BROKEN),
            (3, "again", SET_ID)])
        self.assertEqual(self.log, [("sync", [("7",)])])
        self.assertEqual(outcomes, [(1, None), (2, "nothing: no such table: nowhere"),
                                    (3, None)])
        self.assertEqual((failed, closing), (None, False))

    def test_noSyncWithoutACommit(self):
        outcomes, _, _ = runBatch(self.db, self.sync, [(1, "nothing", BROKEN)])
        self.assertEqual((self.log, len(outcomes)), ([], 1))

    def test_failedSyncFailsTheBatch(self):
        def broken():
            raise OSError(5, "Input/output error")

        outcomes, failed, _ = runBatch(self.db, broken, [(1, "id", SET_ID)])
        self.assertEqual(outcomes, [(1, "id: the disk did not sync: [Errno 5] "
                                        "Input/output error")])
        self.assertEqual(failed, "the disk did not sync: [Errno 5] Input/output error")

    def test_aFileGoneFailsTheBatch(self):
        """Its database moved or deleted (with its data dir): nothing of
        the batch is written to the file no path names, or answered done;
        the batch fails as a failed sync does."""
        outcomes, failed, closing = runBatch(
            self.db, self.sync, [(1, "id", SET_ID), (2, None, None)],
            lambda: "DIR/bazaar.sqlite was moved or deleted")
        self.assertEqual(outcomes, [(1, "id: DIR/bazaar.sqlite was moved or deleted")])
        self.assertEqual((failed, closing), ("DIR/bazaar.sqlite was moved or deleted", True))
        self.assertEqual((self.log, self.committed()), ([], []))

    def test_close(self):
        outcomes, _, closing = runBatch(self.db, self.sync, [
            (1, "id", SET_ID), (2, None, None)])
        self.assertEqual((outcomes, closing), ([(1, None)], True))


class ServeTests(SynchronousTestCase):
    """The loop over real pipes, its input written (and closed) first."""

    def serve(self, requests, close_input=True, raises=None, folder=None):
        folder = folder or scratchDir(self)
        SQLiteStore(folder).close()
        into, fromParent = os.pipe()
        toParent, out = os.pipe()
        for request in requests:
            os.write(fromParent, frame(request))
        if close_input:
            os.close(fromParent)
        if raises is None:
            serve(os.path.join(folder, DB_NAME), 0, into, out)
        else:
            self.assertEqual(str(self.assertRaises(
                OSError, serve, os.path.join(folder, DB_NAME), 0, into, out)), raises)
        os.close(into)
        os.close(out)
        if not close_input:
            os.close(fromParent)
        answers = Frames().feed(os.read(toParent, 1 << 16))
        os.close(toParent)
        return folder, [pickle.loads(answer) for answer in answers]

    def test_oneBatchThenTheEnd(self):
        """Requests waiting in the pipe are one batch; a close ends the
        loop, said with None."""
        folder, answers = self.serve(
            [(1, "id", SET_ID), (2, "again", SET_ID), (3, None, None)], close_input=False)
        self.assertEqual(answers, [[(1, None), (2, None)], None])
        self.assertEqual(readState(folder)["node_id"], "7")

    def test_endOfInputEnds(self):
        """The parent gone (its end of the pipe closed): the loop ends."""
        folder, answers = self.serve([(1, "id", SET_ID)])
        self.assertEqual(answers, [[(1, None)], None])

    def test_failedSyncEnds(self):
        """A failed sync: its batch answered, the loop ends at once, raising
        why (the process's last words, status 1), though more was asked
        and the input is open."""
        broken = OSError(5, "Input/output error")

        def walSync(path):
            def sync():
                raise broken
            return sync

        self.patch(writer, "walSync", walSync)
        _, answers = self.serve([(1, "id", SET_ID)], close_input=False,
                                raises="the disk did not sync: [Errno 5] Input/output error")
        self.assertEqual(answers, [[(1, "id: the disk did not sync: [Errno 5] "
                                        "Input/output error")]])

    def test_aDatabaseMovedEnds(self):
        """The database moved away (its data dir moved or deleted while
        the node ran) before a batch: it fails, the loop ends saying so;
        a sale to it was answered done and lost with the folder."""
        looks = []

        def fileIdentity(path):
            looks.append(path)
            return ("dev", "inode") if len(looks) == 1 else None

        self.patch(writer, "fileIdentity", fileIdentity)
        folder = scratchDir(self)
        path = os.path.join(folder, DB_NAME)
        _, answers = self.serve([(1, "id", SET_ID)], close_input=False,
                                raises=f"{path} was moved or deleted", folder=folder)
        self.assertEqual(answers, [[(1, f"id: {path} was moved or deleted")]])
        self.assertIsNone(readState(folder)["node_id"])
