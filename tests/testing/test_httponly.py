"""
Tests of L{twisted_bazaar.testing.httponly} without root: the commands
that wall a host, and what its drop counter and its connections say,
recorded and answered instead of run.
"""

from types import SimpleNamespace

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.testing import httponly

HOST = SimpleNamespace(wrapper=("ip", "netns", "exec", "bz7walled"))
LISTING = """Chain OUTPUT (policy DROP 17 packets, 1020 bytes)
    pkts      bytes target     prot opt in     out     source               destination
      40     2400 ACCEPT     all  --  *      lo      0.0.0.0/0            0.0.0.0/0
"""
ESTABLISHED = """0 0 10.77.0.5:41000 10.77.0.2:80
0 0 10.77.0.5:41002 10.77.0.3:443
0 0 10.77.0.5:41004 10.77.0.3:7701
"""


class WalledTests(SynchronousTestCase):
    def setUp(self):
        self.ran = []
        self.answers = {}

        def run(command, **kwargs):
            self.ran.append(tuple(command))
            return SimpleNamespace(stdout=self.answers.get(command[4], ""))

        self.patch(httponly.subprocess, "run", run)

    def test_wall(self):
        """Each rule of the firewall, in order, in the host's namespace: out,
        only what answers and TCP to 80 and 443."""
        httponly.wall(HOST)
        self.assertEqual(self.ran[0], HOST.wrapper + ("iptables", "-P", "OUTPUT", "DROP"))
        self.assertIn(HOST.wrapper + ("iptables", "-A", "OUTPUT", "-p", "tcp", "-m",
                                      "multiport", "--dports", "80,443", "-j", "ACCEPT"),
                      self.ran)
        self.assertEqual(len(self.ran), len(httponly.FIREWALL))

    def test_droppedAndZeroed(self):
        self.answers["iptables"] = LISTING
        self.assertEqual(httponly.dropped(HOST), 17)
        httponly.zeroDropped(HOST)
        self.assertEqual(self.ran[-1], HOST.wrapper + ("iptables", "-Z", "OUTPUT"))

    def test_leaks(self):
        """A connection to any port but 80 and 443 is a leak."""
        self.answers["ss"] = ESTABLISHED
        self.assertEqual(httponly.leaks(HOST), [("10.77.0.5:41004", "10.77.0.3:7701")])
