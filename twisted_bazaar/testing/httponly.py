"""
A host of the network-namespace bed (L{twisted_bazaar.testing.netns})
made an HTTP(S)-only home: its firewall lets out only TCP to ports 80
and 443 (and what answers a connection it made), as many offices, hotels
and schools do; what it dropped is counted, so that a test or a
benchmark can say how many other tries it stopped (a try is fine, a
leak is not).
"""

import re
import subprocess

__all__ = ["FIREWALL", "wall", "dropped", "zeroDropped", "leaks"]

#: The firewall of an HTTP(S)-only network: out, TCP to 80 and 443 and
#: what answers a connection made; in, only what answers one.
FIREWALL = (
    ("-P", "OUTPUT", "DROP"),
    ("-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT"),
    ("-A", "OUTPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
    ("-A", "OUTPUT", "-p", "tcp", "-m", "multiport", "--dports", "80,443", "-j", "ACCEPT"),
    ("-P", "INPUT", "DROP"),
    ("-A", "INPUT", "-i", "lo", "-j", "ACCEPT"),
    ("-A", "INPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
)
#: The ports such a home lets out.
HTTP_PORTS = frozenset({"80", "443"})
#: Seconds an iptables or ss command may take.
COMMAND_TIMEOUT = 60


def _run(host, *args):
    return subprocess.run([*host.wrapper, *args], capture_output=True, text=True,
                          check=True, timeout=COMMAND_TIMEOUT).stdout


def wall(host):
    """Put L{FIREWALL} on host (a L{Host <twisted_bazaar.testing.netns.Host>})."""
    for rule in FIREWALL:
        _run(host, "iptables", *rule)


def dropped(host):
    """The packets host's firewall dropped on their way out since it was
    walled (or since L{zeroDropped})."""
    listing = _run(host, "iptables", "-L", "OUTPUT", "-v", "-x", "-n")
    return int(re.search(r"policy DROP (\d+) packets", listing).group(1))


def zeroDropped(host):
    """Count host's drops from 0 again."""
    _run(host, "iptables", "-Z", "OUTPUT")


def leaks(host):
    """host's established TCP connections to a port other than 80 and 443
    (local, peer), as ``ss`` lists them: none, where the firewall holds."""
    listed = _run(host, "ss", "-Htn", "state", "established")
    pairs = [line.split()[-2:] for line in listed.splitlines() if line.strip()]
    return [(local, peer) for local, peer in pairs
            if peer.rsplit(":", 1)[1] not in HTTP_PORTS]
