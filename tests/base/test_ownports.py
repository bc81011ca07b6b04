"""
Tests for twisted_bazaar.base.ownports: whether this process holds a
port, read from a /proc tree written by the test (no socket is opened).
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base.ownports import holds
from tests.files.helpers import scratchDir

_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when " \
          "retrnsmt   uid  timeout inode\n"


def _row(local, inode):
    return (f"   0: {local} 00000000:0000 0A 00000000:00000000 00:00000000 "
            f"00000000     0        0 {inode} 1 0000000000000000 100 0 0 10 0\n")


class HoldsTests(SynchronousTestCase):
    def setUp(self):
        self.proc = scratchDir(self)
        os.makedirs(os.path.join(self.proc, "self", "fd"))
        os.makedirs(os.path.join(self.proc, "net"))
        self.sockets = {"3": "socket:[111]", "4": "socket:[222]", "5": "/dev/null",
                        "6": "pipe:[111]"}
        for fd, target in self.sockets.items():
            os.symlink(target, os.path.join(self.proc, "self", "fd", fd))
        self.table("tcp", _row("0100007F:2328", 111), _row("00000000:1E61", 999))
        self.table("tcp6", _row("00000000000000000000000000000000:2329", 222))
        self.table("udp", _row("00000000:2328", 333), _row("00000000:232A", 222))

    def table(self, name, *rows):
        with open(os.path.join(self.proc, "net", name), "w") as table:
            table.write(_HEADER + "".join(rows))

    def test_aPortOfItsOwnSockets(self):
        """A port bound by one of this process's sockets, over TCP (IPv4 or
        IPv6) or over UDP as asked; not another process's (7777, inode
        999), nor a port of the other protocol."""
        self.assertTrue(holds(9000, proc=self.proc))
        self.assertTrue(holds(9001, proc=self.proc))
        self.assertFalse(holds(7777, proc=self.proc), "another process's socket")
        self.assertFalse(holds(9002, proc=self.proc), "a UDP port, asked over TCP")
        self.assertTrue(holds(9002, udp=True, proc=self.proc))
        self.assertFalse(holds(9000, udp=True, proc=self.proc), "inode 333 is not ours")

    def test_unreadableIsNo(self):
        """Without /proc (another system), or with a table missing or
        garbled, the answer is no: it never raises."""
        self.assertFalse(holds(9000, proc=os.path.join(self.proc, "none")))
        os.remove(os.path.join(self.proc, "net", "tcp"))
        self.assertFalse(holds(9000, proc=self.proc))
        self.table("tcp", "garbage\n", "a b\n", _row("nothex:zz", 111))
        self.assertFalse(holds(9000, proc=self.proc))
        self.assertTrue(holds(9001, proc=self.proc), "the IPv6 table still read")
