"""
Tests for twisted_bazaar.daemon.datamode: a node's ledger kept to its
owner at start, and a data dir open to others said.
"""

import os
import shutil
import stat
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.datamode import keptToItsOwner


class KeptToItsOwnerTests(SynchronousTestCase):
    """A ledger an earlier version left readable by others (sqlite made it
    0644, its -wal and -shm with it) was left so: every local user could
    read what the node bought and sold.  Now each is made its owner's
    only, and said; a data dir open to others is said, never changed."""

    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="bazaar-mode-")
        self.addCleanup(shutil.rmtree, self.data)

    def ledger(self, name, mode):
        path = os.path.join(self.data, name)
        with open(path, "w"):
            pass
        os.chmod(path, mode)
        return path

    def mode(self, path):
        return stat.S_IMODE(os.stat(path).st_mode)

    def test_aLedgerOthersCanReadIsMadeItsOwners(self):
        db = self.ledger("bazaar.sqlite", 0o644)
        wal = self.ledger("bazaar.sqlite-wal", 0o664)
        shm = self.ledger("bazaar.sqlite-shm", 0o600)
        other = self.ledger("notes", 0o644)
        self.assertEqual(keptToItsOwner(self.data), [
            f"{db} could be read by others than its owner (mode 0644): made 0600; it "
            "says what this node bought and sold, and from whom",
            f"{wal} could be read by others than its owner (mode 0664): made 0600; it "
            "says what this node bought and sold, and from whom"])
        self.assertEqual([self.mode(p) for p in (db, wal, shm, other)],
                         [0o600, 0o600, 0o600, 0o644])
        self.assertEqual(keptToItsOwner(self.data), [])

    def test_aDataDirOthersMayWriteInIsSaidNotChanged(self):
        os.chmod(self.data, 0o775)
        self.assertEqual(keptToItsOwner(self.data), [
            f"data dir {self.data} can be written in by others than its owner (mode "
            "0775): they could replace or remove its files, its key and ledger among "
            f"them; chmod 700 {self.data} if it is this node's alone"])
        self.assertEqual(self.mode(self.data), 0o775)

    def test_aDataDirOthersMayReadIsNoFault(self):
        """mkdir's 0755: its files are its owner's alone, and its names
        every node's; it was warned of at every restart of a seller (twistd
        -n bazaar-node --role seller --sell apple=3 --data-dir D, D made by
        mkdir), the same line each time."""
        os.chmod(self.data, 0o755)
        self.assertEqual(keptToItsOwner(self.data), [])
        os.chmod(self.data, 0o1777)
        self.assertEqual(keptToItsOwner(self.data), [])

    def test_aNewDataDirSaysNothing(self):
        self.assertEqual(keptToItsOwner(os.path.join(self.data, "new")), [])
