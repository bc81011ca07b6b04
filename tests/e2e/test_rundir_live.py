"""
End to end: a node started in the background by ``twistd --rundir DIR``
with a relative ``--data-dir`` keeps its whole data dir in the folder it
was started in.  twistd changes to DIR only after the node is built: the
node had opened its store there and then failed to make its control
socket, and to keep its tracker's key, under DIR
(``no control socket at sd/control.sock (... No such file or
directory)``), so ``bazaar restock`` could not reach it.

Every wait is on a file or a process's end, bounded by a timeout.
"""

import os
import signal

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing.daemons import runTwistd

from tests.e2e.test_store_writer_live import gone, waitFor
from tests.store.test_stores import scratchDir

TIMEOUT = 60.0


class RundirTests(SynchronousTestCase):
    def test_dataDirInTheStartFolder(self):
        folder = scratchDir(self)
        os.mkdir(os.path.join(folder, "elsewhere"))
        result = runTwistd(
            ["--rundir", "elsewhere", "--pidfile", "n.pid", "--logfile", "n.log",
             "bazaar-node", "--listen", "tcp:0:interface=127.0.0.1",
             "--tracker", "tcp:127.0.0.1:1", "--retry-initial", "5",
             "--role", "seller", "--sell", "apple=5", "--data-dir", "sd"],
            folder, timeout=TIMEOUT)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        with open(os.path.join(folder, "n.pid")) as f:
            pid = int(f.read())
        self.addCleanup(lambda: gone(pid) or os.kill(pid, signal.SIGKILL))
        socket = os.path.join(folder, "sd", "control.sock")
        self.assertTrue(waitFor(lambda: os.path.exists(socket), TIMEOUT),
                        "no control socket in the start folder's sd")
        self.assertEqual(os.listdir(os.path.join(folder, "elsewhere")), [])
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(waitFor(lambda: gone(pid), TIMEOUT), "the daemon did not stop")
        with open(os.path.join(folder, "n.log")) as f:
            log = f.read()
        self.assertNotIn("no control socket", log)
        self.assertIn("data dir /", log)
