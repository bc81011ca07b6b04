"""
End to end across machines, as near as one host gets: three network
namespaces joined by a bridge, each with its own address, the tracker in
one and a seller and a buyer in the others (``ip netns exec NS twistd -n
...``), each node saying its ``--host``; the buyer buys.

It needs root and ``ip`` (iproute2) with network namespaces; without
them it is skipped with the reason.  Every namespace, link and the
bridge are removed when the test ends, whether it passed or not.
"""

import os
import shutil
import subprocess
import tempfile

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_bazaar.testing.daemons import TERMINATED, LiveMarket, nodeId
from tests.e2e.helpers import short

TIMEOUT = 30.0
#: The bridge's subnet; namespace i gets SUBNET.(i + 1).
SUBNET = "10.213.77"


def ip(*args):
    """Run ``ip ARGS``; raise CalledProcessError with its stderr."""
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True,
                          timeout=TIMEOUT)


class Network:
    """A bridge in the host's namespace and namespaces plugged into it by
    veth pairs; L{remove} undoes all of it, whatever was made."""

    def __init__(self, tag):
        self.tag = tag
        self.bridge = f"bzbr{tag}"
        self.namespaces = []

    def make(self, count):
        ip("link", "add", self.bridge, "type", "bridge")
        ip("link", "set", self.bridge, "up")
        for index in range(count):
            namespace, outside, inside = (f"bazaar{self.tag}n{index}",
                                          f"bzv{self.tag}h{index}",
                                          f"bzv{self.tag}n{index}")
            ip("netns", "add", namespace)
            self.namespaces.append(namespace)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", outside, "master", self.bridge, "up")
            ip("link", "set", inside, "netns", namespace)
            ip("-n", namespace, "addr", "add", f"{self.address(index)}/24", "dev", inside)
            ip("-n", namespace, "link", "set", inside, "up")
            ip("-n", namespace, "link", "set", "lo", "up")

    @staticmethod
    def address(index):
        return f"{SUBNET}.{index + 1}"

    def remove(self):
        """Delete the namespaces (their veth ends, and so the pairs, go
        with them) and the bridge."""
        for namespace in self.namespaces:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


def requireNamespaces():
    if shutil.which("ip") is None:
        raise SkipTest("no ip command (iproute2): the network namespace test needs it")
    if os.geteuid() != 0:
        raise SkipTest("not root: the network namespace test needs root to make "
                       "namespaces and links")
    probe = f"bazaarprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        raise SkipTest(f"cannot make a network namespace: {made.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)


class NamespaceTests(SynchronousTestCase):
    def setUp(self):
        requireNamespaces()
        self.network = Network(os.getpid() % 100000)
        self.addCleanup(self.network.remove)
        self.network.make(3)
        folder = tempfile.mkdtemp(prefix="bazaar-netns-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.market = LiveMarket(folder)
        self.addCleanup(self.market.stop)

    def start(self, name, index, args):
        return self.market.start(name, args, wrapper=(
            "ip", "netns", "exec", self.network.namespaces[index]))

    def node(self, name, index, *roles):
        tracker = self.network.address(0)
        return self.start(name, index, [
            "bazaar-node", "--tracker", f"tcp:{tracker}:7700", "--listen",
            f"tcp:0:interface={self.network.address(index)}",
            "--host", self.network.address(index), *roles])

    def test_tradeAcrossNamespaces(self):
        """The tracker sees each node at its own address, and the buyer buys
        from the seller over the bridge."""
        tracker = self.start("tracker", 0, ["bazaar-tracker", "--listen", "tcp:7700"])
        tracker.waitFor(r"tracker listening on 0\.0\.0\.0:7700", TIMEOUT)
        seller = self.node("seller", 1, "--role", "seller", "--sell", "apple=2")
        seller_id = nodeId(seller, TIMEOUT)
        buyer = self.node("buyer", 2, "--role", "buyer", "--want", "apple")
        buyer_id = nodeId(buyer, TIMEOUT)
        for node_id, index in ((seller_id, 1), (buyer_id, 2)):
            tracker.waitFor(rf"node {short(node_id)} joined from "
                            rf"{self.network.address(index)}:", TIMEOUT)
        buyer.waitFor(rf"bought apple from {short(seller_id)} \(1 of 1\)", TIMEOUT)
        seller.waitFor(rf"sold apple to {short(buyer_id)} \(1 left\)", TIMEOUT)
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
