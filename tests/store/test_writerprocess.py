"""
Tests for L{twisted_bazaar.store.writerprocess}, a daemon's side of the
store's writer process, on a fake process transport: each write is one
frame; each answer fires its write's Deferred; a process that ends
unasked fails every write, waiting or later, with its last words.
"""

import pickle

from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.store import StoreError, WriterGone
from twisted_bazaar.base.pipeframes import Frames, frame
from twisted_bazaar.store.writerprocess import WriterProcess

from tests.base.test_childprocess import FakeProcess


class FakePipe:
    """A process's stdin pipe that takes ``room`` bytes at once."""

    connected, disconnecting, _tempDataLen, offset, dataBuffer = True, False, 0, 0, b""

    def __init__(self, room):
        self.room = room
        self.taken = b""

    def writeSomeData(self, data):
        taken = data[:self.room]
        self.taken += taken
        return len(taken)


class WriterProcessTests(SynchronousTestCase):
    def setUp(self):
        self.writer = WriterProcess(Clock(), "/nowhere/bazaar.sqlite", 5.0)
        self.process = FakeProcess()
        self.writer.makeConnection(self.process)

    def sent(self):
        return [pickle.loads(payload) for payload in Frames().feed(self.process.written)]

    def test_aFrameAWrite(self):
        self.writer.write("id", [("SQL", (1,))])
        self.writer.write("other", [])
        self.assertEqual(self.sent(), [(1, "id", [("SQL", (1,))]), (2, "other", [])])

    def test_writtenAtOnceWhenThePipeTakesIt(self):
        """A write goes straight into an empty pipe; what the pipe does
        not take goes to the transport, after it, in order."""
        self.process.pipes = {0: FakePipe(room=1 << 20)}
        self.writer.write("id", [])
        self.assertEqual((self.process.written, Frames().feed(self.process.pipes[0].taken)),
                         (b"", [pickle.dumps((1, "id", []), pickle.HIGHEST_PROTOCOL)]))
        self.process.pipes = {0: FakePipe(room=5)}
        self.writer.write("other", [])
        self.assertEqual(Frames().feed(self.process.pipes[0].taken + self.process.written),
                         [pickle.dumps((2, "other", []), pickle.HIGHEST_PROTOCOL)])

    def test_answersFireTheirWrites(self):
        """Answers in any split of reads fire their writes; an error
        is a StoreError with the writer's words."""
        first, second = self.writer.write("id", []), self.writer.write("sale", [])
        data = frame([(1, None), (2, "sale: database is locked")])
        self.writer.childDataReceived(1, data[:3])
        self.assertNoResult(first)
        self.writer.childDataReceived(1, data[3:])
        self.assertIsNone(self.successResultOf(first))
        self.assertEqual(str(self.failureResultOf(second, StoreError).value),
                         "sale: database is locked")

    def test_endedUnaskedFailsEverything(self):
        """Killed, or broken: the writes waiting and every later one fail
        with why, its last line on stderr if it said one."""
        waiting = self.writer.write("sale", [])
        self.writer.childDataReceived(2, b"Traceback...\nsqlite3.DatabaseError: disk I/O error\n")
        self.writer.processEnded(Failure(ProcessTerminated(exitCode=1)))
        why = ("sale: the store's writer process ended: "
               "sqlite3.DatabaseError: disk I/O error")
        self.assertEqual(str(self.failureResultOf(waiting, StoreError).value), why)
        self.assertEqual(str(self.failureResultOf(self.writer.write("sale", []),
                                                  StoreError).value), why)
        self.assertEqual(len(self.flushLoggedErrors()), 0)

    def test_endedUnaskedIsSaidOnceToItsOwner(self):
        """The daemon's store is told once why its writer is gone (it ends
        on it); each write failed by it is a L{WriterGone}; nothing is
        logged."""
        told = []
        writer = WriterProcess(Clock(), "/nowhere/bazaar.sqlite", 5.0, onEnded=told.append)
        writer.makeConnection(FakeProcess())
        events = []
        writer.log = Logger(observer=events.append)
        waiting = writer.write("sale", [])
        writer.processEnded(Failure(ProcessTerminated(signal=9)))
        self.failureResultOf(waiting, WriterGone)
        self.failureResultOf(writer.write("sale", []), WriterGone)
        self.assertEqual(len(told), 1)
        self.assertTrue(told[0].startswith("the store's writer process ended: "), told)
        self.assertEqual(events, [])

    def test_stoppedOnAnErrorSaysItInOneSentence(self):
        """The writer that stops on an error of its database (locked by
        another process as it starts) says so on its stderr as
        L{writer.main} has it; its owner is told one sentence naming the
        writer once."""
        from twisted_bazaar.store import writer as child

        started = []
        self.patch(child.childloop, "childMain",
                   lambda parent, run, errors, stopped: started.append(stopped))
        child.main(["/nowhere/bazaar.sqlite", "2.0", "1"])
        told = []
        writer = WriterProcess(Clock(), "/nowhere/bazaar.sqlite", 5.0, onEnded=told.append)
        writer.makeConnection(FakeProcess())
        writer.childDataReceived(2, f"{started[0]}: database is locked\n".encode())
        writer.processEnded(Failure(ProcessTerminated(exitCode=1)))
        self.assertEqual(told, ["the store's writer process ended: its database or "
                                "disk failed: database is locked"])

    def test_killedSaysHow(self):
        waiting = self.writer.write("id", [])
        self.writer.processEnded(Failure(ProcessTerminated(signal=9)))
        self.assertIn("the store's writer process ended: A process has ended with a "
                      "probable error condition: process ended by signal 9",
                      str(self.failureResultOf(waiting, StoreError).value))

    def test_stop(self):
        """A stop asks the process to close and end once the writes handed
        over are done; it is done when the process ends; later writes fail."""
        written = self.writer.write("id", [])
        stopped = self.writer.stop()
        self.assertEqual(self.sent()[-1], (2, None, None))
        self.assertTrue(self.process.stdinClosed)
        self.writer.childDataReceived(1, frame([(1, None)]) + frame(None))
        self.successResultOf(written)
        self.assertNoResult(stopped)
        self.writer.processEnded(Failure(ProcessDone(0)))
        self.successResultOf(stopped)
        self.assertIsNone(self.writer.failed)
        self.assertEqual(str(self.failureResultOf(self.writer.write("id", []),
                                                  StoreError).value),
                         "id: the store is closed")
