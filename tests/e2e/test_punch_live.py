"""
Hole punching end to end, in network namespaces
(L{twisted_bazaar.testing.netns}): a rendezvous on the public net stands
in for a relay (it splices two connections and says where it saw each
come from), and a peer at each of two homes, each behind a NAT router of
its own (tests/e2e/punchpeer.py runs all three).  The peers run the
encrypted channel end to end through the rendezvous, coordinate a punch
over it, and a direct TCP connection between the two homes carries a
greeting each way through its own channel.

The routers are home routers: besides NAT, each drops what arrives
unasked at its public address, as a home router's firewall does (a
Linux router without such a rule answers an early SYN with a reset,
which kills the other side's connect unless both SYNs cross within one
network delay, a fraction of a millisecond here).  With a router that
draws a port per connection (``--random-fully``, a symmetric NAT) the
node behind it learns so and says why it will not punch, and its peer's
punch is refused with that reason.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Every namespace goes when the test ends, passed or not.
"""

import os
import re
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import ScriptProcesses, netBed

#: Seconds a peer may take from its start to its end.
DEADLINE = 40.0
#: Seconds the test waits for a process beyond that.
TIMEOUT = DEADLINE + 20.0
RENDEZVOUS_PORT = 7790
SCRIPT = os.path.join(os.path.dirname(__file__), "punchpeer.py")
#: Punches made in a row between the two port-keeping homes.
RUNS = 3


class PunchLiveTests(SynchronousTestCase):
    def setUp(self):
        self.bed = netBed(self)
        self.public = self.bed.public("rdv")
        self.start = ScriptProcesses(self, SCRIPT).start

    def home(self, name, symmetric=False):
        """A home (its router drops what comes unasked to it)."""
        return self.bed.home(name, symmetric=symmetric)

    def punch(self, home_a, home_b, opener=None):
        """One punch, A the initiator, the channel through the rendezvous
        opened by the node at ``opener`` (A's home by default): the exit
        status and output of A and of B."""
        opener = opener or home_a
        rendezvous = self.start(self.public, "rendezvous", str(RENDEZVOUS_PORT),
                                opener.public_address)
        # The rendezvous says when it listens: read up to that line.
        for line in rendezvous.stdout:
            if "rendezvous listening" in line:
                break
        else:
            self.fail("the rendezvous ended without listening")
        at = f"{self.public.address}:{RENDEZVOUS_PORT}"
        a = self.start(home_a.host, "peer", "a", at, "1", "2", "initiator", str(DEADLINE))
        b = self.start(home_b.host, "peer", "b", at, "2", "1", "responder", str(DEADLINE))
        results = [(p.wait(TIMEOUT), p.stdout.read()) for p in (a, b)]
        rendezvous.wait(TIMEOUT)
        return results

    def test_portKeepingRouters(self):
        """Between two homes whose routers keep ports, each punch opens a
        direct connection: each peer reads the other's greeting on it,
        from the other router's public address.  The initiator opened the
        link they share, then did not (the other side then opens the
        punched connection's channel)."""
        home_a, home_b = self.home("homea"), self.home("homeb")
        for run_number in range(RUNS):
            began = time.monotonic()
            opener = home_b if run_number % 2 else home_a
            (status_a, out_a), (status_b, out_b) = self.punch(home_a, home_b, opener)
            took = time.monotonic() - began
            self.assertEqual((status_a, status_b), (0, 0), out_a + out_b)
            self.assertRegex(out_a, rf"direct: read 'hello from b' from "
                             rf"{re.escape(home_b.public_address)}:\d+")
            self.assertRegex(out_b, rf"direct: read 'hello from a' from "
                             rf"{re.escape(home_a.public_address)}:\d+")
            # The address punched, the other router's (not a relay's).
            self.assertRegex(out_a, rf"punched a direct connection to the peer at "
                             rf"{re.escape(home_b.public_address)}:\d+ \(attempt")
            self.assertRegex(out_b, rf"punched a direct connection to the peer at "
                             rf"{re.escape(home_a.public_address)}:\d+ \(its punch\)")
            self.assertNotIn("Traceback", out_a + out_b)
            print(f"punch {run_number + 1}: {re.search('punch done in .*', out_a)[0]}"
                  f" ({took:.1f} s with the processes' start)")

    def test_symmetricRouter(self):
        """With a router that draws ports, its node says once why it will
        not punch, and refuses the other's punch with that reason; no
        direct connection is tried."""
        home_a, home_b = self.home("homea"), self.home("homeb", symmetric=True)
        (status_a, out_a), (status_b, out_b) = self.punch(home_a, home_b)
        self.assertEqual(status_a, 3, out_a)
        why = (r"its router changed the source port of its tracker connection \(sent "
               rf"from port \d+, seen from {re.escape(home_b.public_address)}:\d+\): it "
               r"draws a port for each connection \(a symmetric NAT\)")
        self.assertEqual(len(re.findall("this node will not hole-punch: " + why,
                                        out_b)), 1, out_b)
        self.assertRegex(out_a, "no punch: the peer refused: it cannot punch: "
                         + why)
        self.assertNotIn("direct:", out_a + out_b)
        self.assertNotIn("Traceback", out_a + out_b)
