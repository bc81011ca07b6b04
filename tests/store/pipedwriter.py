"""
A L{WriterProcess} whose process is the test's own thread: what it writes
to its "process" is run at once by the writer's own batch
(L{twisted_bazaar.store.writer.runBatch}) on a connection of the writer's
(L{twisted_bazaar.store.writer.connect}), and the answers come back
through L{WriterProcess.childDataReceived}, pickles and frames and all.
So a store's writes go through everything a daemon's do but the pipe.
"""

import pickle

from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from twisted_bazaar.base.pipeframes import Frames, frame
from twisted_bazaar.store.writer import connect, runBatch
from twisted_bazaar.store.writerprocess import WriterProcess


class PipedWriter(WriterProcess):
    """
    @ivar held: while True, writes wait (in L{requests}) until L{run}.
    @ivar sync: the sync the batches call (recorded in L{syncs}); a test
        may replace it.
    """

    def __init__(self, path, busy_timeout, held=False):
        # A clock for its stop's grace (L{STOP_GRACE
        # <twisted_bazaar.base.childprocess.STOP_GRACE>}), which the
        # "process" always meets.
        WriterProcess.__init__(self, Clock(), path, busy_timeout)
        self.held = held
        self.requests = []
        self.syncs = 0
        self.batches = []
        self._childFrames = Frames()

    def sync(self):
        self.syncs += 1

    def start(self):
        self.db = connect(self.path, self.busy_timeout)
        self.makeConnection(_Pipe(self))

    def written(self, data):
        self.requests += [pickle.loads(payload) for payload in self._childFrames.feed(data)]
        if not self.held:
            self.run()

    def run(self):
        """Run the requests waiting as one batch."""
        requests, self.requests = self.requests, []
        if not requests:
            return
        self.batches.append([number for number, _, _ in requests])
        outcomes, failed, closing = runBatch(self.db, self.sync, requests)
        self.childDataReceived(1, frame(outcomes))
        if failed is not None:
            # As the process ends after a failed sync (writer.serve).
            self.db.close()
            self.childDataReceived(2, f"its database or disk failed: {failed}\n".encode())
            self.processEnded(Failure(ProcessTerminated(exitCode=1)))
        elif closing:
            self.db.close()
            self.processEnded(Failure(ProcessDone(0)))


class _Pipe:
    """The stdin of a L{PipedWriter}'s "process"."""

    def __init__(self, writer):
        self.writer = writer

    def write(self, data):
        self.writer.written(data)

    def closeStdin(self):
        pass
