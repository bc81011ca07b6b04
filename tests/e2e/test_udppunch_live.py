"""
UDP hole punching end to end, in network namespaces
(L{twisted_bazaar.testing.netns}): a peer behind a router that draws a
random port for each flow (``MASQUERADE --random-fully``, a symmetric
NAT no TCP punch meets) and one behind a router that keeps ports (plain
``MASQUERADE``) punch over real UDP sockets by the birthday paradox
(L{twisted_bazaar.reach.punch.udp.plan}: 256 sockets on the hard side,
1,024 probes from the easy side, odds about 0.98), a rendezvous on the
public net standing in for the tracker (tests/e2e/udppunchpeer.py).

Two routers that both draw random ports are the case no plan meets
(Tailscale counts some 170,000 probes for it): both peers say so at once.

The race of issue 94: routers with no firewall of their own (plain
``MASQUERADE``: what comes unasked reaches the router, and conntrack keeps
its pair), an ISP's router between them, and one side told 0.3 s after
the other: the punch meets, and the same with every probe at the full
TTL (the punch before) does not.

Two such routers on one segment (no router between them, issue 94's
layout) lose that race whatever the TTL: a patient plan meets there, by
outlasting the entry each router keeps for what came unasked.  Those
routers keep it 4 s, not Linux's 30 (their namespaces' own
``nf_conntrack_udp_timeout``), and the patient peers are told so: the
punch waits 6 s, not 32.

Sounded, the two sides of a punch on one segment learn so at its go (the
ICMP answer to a datagram of TTL 2 comes from the other's router) and
go patient at once; a far home's sounding is answered by the ISP's
router, and its plan runs as it is.

Otherwise the routers drop what comes unasked, as home routers do; the keepalive
of a met 5-tuple is checked against the kernel's UDP conntrack timeout
in a router's namespace.

It needs root, ``ip`` and ``iptables``; without them it is skipped with
the reason.  Every namespace goes when the test ends, passed or not.
"""

import os
import subprocess

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import ScriptProcesses, netBed
from twisted_bazaar.reach.punch.udp.plan import KEEPALIVE, outlast

#: Seconds a punch may take to meet (the issue's goal), and the test's
#: bound on a process beyond the peers' own deadline.
MEET_WITHIN = 15.0
TIMEOUT = 120.0
RENDEZVOUS_PORT = 3479
SCRIPT = os.path.join(os.path.dirname(__file__), "udppunchpeer.py")
#: Punches tried, and how many must meet: one misses with odds about 0.02.
TRIES = 3
MEETS = 2
#: Seconds the rendezvous tells peer b after peer a, in a race.
RACE_LATE = 0.3
#: Seconds the routers of a patient punch keep what came unasked.
UNASKED = 4


def _metIn(output):
    """The seconds a peer's punch took to meet, as its ``met`` line says
    (``a: met HOST:PORT from socket N in S s``), or infinity."""
    for line in output.splitlines():
        if ": met " in line:
            return float(line.split(" in ")[-1].split(" s")[0])
    return float("inf")


class UdpPunchLiveTests(SynchronousTestCase):
    def setUp(self):
        self.bed = netBed(self)
        self.public = self.bed.public("urdv")
        self.start = ScriptProcesses(self, SCRIPT).start

    def punch(self, home_a, home_b, late=0.0, *flags):
        """One punch (b told ``late`` s after a; each peer given
        ``flags``): each peer's exit status and output."""
        rendezvous = self.start(self.public, "rendezvous", str(RENDEZVOUS_PORT), str(late))
        for line in rendezvous.stdout:
            if "rendezvous listening" in line:
                break
        peers = [self.start(home.host, "peer", name, self.public.address,
                            str(RENDEZVOUS_PORT), *flags)
                 for name, home in (("a", home_a), ("b", home_b))]
        results = []
        for peer in peers:
            output, _ = peer.communicate(timeout=TIMEOUT)
            results.append((peer.returncode, output))
        rendezvous.kill()
        rendezvous.wait()
        return results

    def test_birthday(self):
        """A random-port router and a port-keeping one: the punch meets,
        datagrams both ways, within 15 s, in at least 2 of 3 tries."""
        hard = self.bed.home("uh", symmetric=True)
        easy = self.bed.home("ue")
        met = 0
        for _ in range(TRIES):
            results = self.punch(hard, easy)
            outputs = "\n".join(output for _, output in results)
            # A random router's two ports land within SEQUENTIAL_STEP by
            # chance (1 in 500): it is judged sequential, and the plan
            # covers both ("predicted-").
            self.assertRegex(
                outputs, r"a: mine random|a: mine sequential[^\n]*"
                r"predicted-birthday-sockets")
            self.assertIn("birthday-sockets", outputs)
            self.assertIn("birthday-probes", outputs)
            if all(status == 0 for status, _ in results):
                met += 1
                for _, output in results:
                    seconds = float(output.split(" in ")[-1].split(" s")[0])
                    self.assertLess(seconds, MEET_WITHIN, output)
        self.assertGreaterEqual(met, MEETS, outputs)

    def race(self, home_a, home_b, tries, *flags):
        """Punches with b told 0.3 s after a (a's datagrams at b's router
        first): how many of ``tries`` met, and the last outputs."""
        met, outputs = 0, ""
        for _ in range(tries):
            results = self.punch(home_a, home_b, RACE_LATE, *flags)
            outputs = "\n".join(output for _, output in results)
            met += all(status == 0 for status, _ in results)
        return met, outputs

    def test_raceHardSideFirst(self):
        """Routers with no firewall (plain MASQUERADE, and --random-fully),
        an ISP's router between them, the hard side told first (issue 94's
        capture): its datagrams would take the easy side's pairs at its
        router; sent first with a low TTL, they die at the ISP, and the
        punch meets in at least 2 of 3 tries; every probe at the full TTL
        (the punch before), in none of 2."""
        hard = self.bed.home("rh", symmetric=True, plain=True, far=True)
        easy = self.bed.home("re", plain=True)
        met, outputs = self.race(hard, easy, TRIES)
        self.assertGreaterEqual(met, MEETS, outputs)
        self.assertIn("birthday-sockets", outputs)
        met, outputs = self.race(hard, easy, 2, "full-ttl")
        self.assertEqual(met, 0, outputs)

    def test_raceTwoPortKeepingRouters(self):
        """Two port-keeping routers with no firewall, an ISP's router
        between them, one side told first: each router's first datagram
        from the other would take the pair; the punch meets in 3 of 3
        tries, and at the full TTL in none of 2."""
        first = self.bed.home("rf", plain=True, far=True)
        second = self.bed.home("rs", plain=True)
        met, outputs = self.race(first, second, TRIES)
        self.assertEqual(met, TRIES, outputs)
        self.assertIn("simultaneous", outputs)
        met, outputs = self.race(first, second, 2, "full-ttl")
        self.assertEqual(met, 0, outputs)

    def patient(self, homes, tries):
        """Patient punches between homes, whose routers keep what came
        unasked L{UNASKED} s from now: how many of tries met, and the
        last outputs."""
        for home in homes:
            home.forgetUnasked(UNASKED)
        return self.race(*homes, tries, "patient", f"unasked={UNASKED}")

    def test_oneSegment(self):
        """Routers with no firewall on one segment, the hard side told
        first: the plan of a far home misses (its low TTL reaches the
        other router); patient, the punch meets in at least 2 of 3 tries,
        within its wait (the routers' 4 s and 2) and 15 s."""
        hard = self.bed.home("sh", symmetric=True, plain=True)
        easy = self.bed.home("se", plain=True)
        met, outputs = self.race(hard, easy, 1)
        self.assertEqual(met, 0, outputs)
        met, outputs = self.patient((hard, easy), TRIES)
        self.assertGreaterEqual(met, MEETS, outputs)
        # (A random router's two ports a few apart by chance: the covered
        # plans, "predicted-" theirs.)
        self.assertRegex(outputs, r"patient-(predicted-)?birthday-sockets")
        self.assertRegex(outputs, r"patient-(predicted-)?birthday-probes")
        for line in outputs.splitlines():
            if ": met " in line:
                seconds = float(line.split(" in ")[-1].split(" s")[0])
                self.assertLess(seconds, outlast(UNASKED) + MEET_WITHIN, line)

    def test_oneSegmentSounded(self):
        """Routers with no firewall on one segment, the hard side told
        first, sounded plans: each side's sounding is answered from the
        other's router (ICMP port unreachable, through its own router to
        its socket's error queue) within the sounding's 0.25 s, both
        follow their patient plans from then, and the punch meets in at
        least 2 of 3 tries, within the wait (the routers' 4 s and 2) and
        15 s; with a router between (a far home), a sounding is answered
        by that router, or not at all, and the plan meets as it is."""
        hard = self.bed.home("dh", symmetric=True, plain=True)
        easy = self.bed.home("de", plain=True)
        for home in (hard, easy):
            home.forgetUnasked(UNASKED)
        met, outputs = self.race(hard, easy, TRIES, "sound", f"unasked={UNASKED}")
        self.assertGreaterEqual(met, MEETS, outputs)
        for name, peer in (("a", easy), ("b", hard)):
            self.assertRegex(outputs, rf"{name}: near: ICMP 3/3 from "
                             rf"{peer.public_address} in [0-9.]+ s: patient-")
        for line in outputs.splitlines():
            if ": near: " in line:
                self.assertLess(float(line.split(" in ")[-1].split(" s")[0]), 1.0, line)
            if ": met " in line:
                seconds = float(line.split(" in ")[-1].split(" s")[0])
                self.assertLess(seconds, outlast(UNASKED) + MEET_WITHIN, line)
        far = self.bed.home("df", symmetric=True, plain=True, far=True)
        met, outputs = self.race(far, easy, 1, "sound")
        self.assertEqual(met, 1, outputs)
        self.assertNotIn("near", outputs)

    def test_oneSegmentRejecting(self):
        """Routers on one segment that reject what comes unasked over UDP
        (port unreachable, and no entry kept: OpenWrt's wan zone), the
        hard side told first, sounded plans, the routers' own 30 s: each
        sounding is answered from the other's router as a plain one's,
        both go patient, and the waiting side's try meets, in at least 2
        of 3 tries, within 10 s (its 4 s for a word no tracker passes
        here, the 1,024 probes' 1.5 s; the patient plan alone met 32 s
        in at the soonest)."""
        hard = self.bed.home("jh", symmetric=True, plain=True)
        easy = self.bed.home("je", plain=True)
        for home in (hard, easy):
            home.rejectUnasked()
        soon, outputs = 0, []
        for _ in range(TRIES):
            results = self.punch(hard, easy, RACE_LATE, "sound")
            said = "\n".join(output for _, output in results)
            outputs.append(said)
            for name, peer in (("a", easy), ("b", hard)):
                self.assertRegex(said, rf"{name}: near: ICMP 3/3 from "
                                 rf"{peer.public_address} in [0-9.]+ s: patient-")
            # A try whose turn missed (on a loaded machine, say) meets by
            # the patient plan, 32 s in: not one of the tries met at once.
            soon += all(status == 0 and _metIn(output) < 10.0 for status, output in results)
        self.assertGreaterEqual(soon, MEETS, "\n--\n".join(outputs))

    def test_oneSegmentPortKeeping(self):
        """Two port-keeping routers with no firewall on one segment, one
        side told first (the plan of far homes missed in 10 of 10):
        patient, every punch of 2 meets."""
        first = self.bed.home("so", plain=True)
        second = self.bed.home("st", plain=True)
        met, outputs = self.patient((first, second), 2)
        self.assertEqual(met, 2, outputs)
        self.assertIn("patient-simultaneous", outputs)

    def test_bothRandom(self):
        """Two random-port routers: no plan, both fail at once saying why."""
        results = self.punch(self.bed.home("ua", symmetric=True),
                             self.bed.home("ub", symmetric=True))
        for status, output in results:
            self.assertEqual(status, 3, output)
            self.assertIn("no probe could meet", output)

    def test_keepalive(self):
        """The keepalive comes before the kernel's UDP conntrack would
        forget a flow (its unreplied timeout: the shorter one)."""
        router = self.bed.home("uk", symmetric=True).router
        timeout = subprocess.run(
            [*router.wrapper, "cat", "/proc/sys/net/netfilter/nf_conntrack_udp_timeout"],
            capture_output=True, text=True, check=True).stdout
        self.assertLess(KEEPALIVE, int(timeout))
