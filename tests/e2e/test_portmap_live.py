"""
End to end, in network namespaces (L{twisted_bazaar.testing.netns}): a
seller at home behind a router that maps ports (Debian's miniupnpd:
L{twisted_bazaar.testing.portmaprouter}), started with only the
tracker's address and its shared folder.  The tracker's check fails, the
seller asks its router for its ports (UPnP on: by UPnP IGD; NAT-PMP
alone: by PCP, which miniupnpd answers on NAT-PMP's port), asks the
tracker to check it again (``checkme``), and the check passes there: the
seller is reachable directly, lets go of its relay reservation, and a
buyer on the public net fetches its 16 MiB file with not one byte
through the tracker's relay (its ``bazaar_tracker_relayed_bytes_total``).
Stopped, the seller deletes its mappings.

The building block alone too: each protocol's client maps a port at the
router, a public host connects through it, and after the deletion it
cannot.

It needs root, ``ip``, ``iptables``, ``nft`` and ``miniupnpd``; without
them it is skipped with the reason.  Run it under ``flock
/tmp/netns.lock`` (fixed subnets).
"""

import hashlib
import os
import re
import subprocess
import sys
import time
from unittest import SkipTest

from tests.e2e.helpers import (
    BED_TRACKER_PORT,
    HomeMarketCase,
    listeningPort,
    runCommand,
    short,
    waitDownloaded,
    waitSharing,
)
from twisted_bazaar.testing.daemons import LOOPBACK_LISTEN, TERMINATED, nodeId
from twisted_bazaar.testing.portmaprouter import NATPMP, UPNP, missing

TIMEOUT = 60.0
#: The file: 16 MiB (a minute through a public node's relay at 256 KiB/s).
SIZE = int(os.environ.get("BAZAAR_PORTMAP_SIZE", 16 * 1024 * 1024)) + 3
MAPPED = (r"the router maps TCP port (?P<port>\d+) \(listening port\) to this node "
          r"\((?P<protocol>[\w-]+),")
#: Run in the home's namespace: map a port with one protocol, say so,
#: accept one connection there, delete the mapping, say so.
MAP_ONE = """
import socket, sys
from twisted.internet import reactor, defer, threads
from twisted_bazaar.reach.reachable.portmap.routers import datagramsOn, routerProtocols
name, port = sys.argv[1], int(sys.argv[2])
listening = socket.socket()
listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listening.bind(("0.0.0.0", port))
listening.listen()
listening.settimeout(30)

def accept():
    connection, _ = listening.accept()
    connection.sendall(b"mapped")
    connection.close()

@defer.inlineCallbacks
def main():
    try:
        _, protocols = routerProtocols(reactor, datagramsOn(reactor))
        [protocol] = [p for p in protocols if p.name == name]
        mapped = yield protocol.map(port, port, 120)
        print("mapped", mapped.external, flush=True)
        yield threads.deferToThread(accept)
        yield protocol.unmap(mapped)
        print("deleted", flush=True)
    except Exception as e:
        print("failed", type(e).__name__, e, flush=True)
    reactor.stop()

reactor.callWhenRunning(main)
reactor.run()
"""
CONNECT = ("import socket, sys; s = socket.create_connection((sys.argv[1], "
           "int(sys.argv[2])), timeout=3); print(s.recv(10).decode())")


class PortMappingCase(HomeMarketCase):
    folder_prefix = "bazaar-portmap-"

    def setUp(self):
        reason = missing()
        if reason is not None:
            raise SkipTest(reason)
        super().setUp()

    def mappingHome(self, kind):
        return self.bed.home("home", portmap=kind, folder=self.market.cwd)



class ProtocolTests(PortMappingCase):
    """Each client alone against miniupnpd: a public host connects through
    the mapping it made, and not after its deletion."""

    def mapsAndDeletes(self, kind, name, port=45111):
        home = self.mappingHome(kind)
        public = self.bed.public("outside")
        mapper = subprocess.Popen([*home.host.wrapper, sys.executable, "-c", MAP_ONE,
                                   name, str(port)], stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(mapper.stdout.readline().split(), ["mapped", str(port)])
            connect = [*public.wrapper, sys.executable, "-c", CONNECT,
                       home.public_address, str(port)]
            done = runCommand(connect, capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(done.stdout.strip(), "mapped", done.stderr)
            self.assertEqual(mapper.stdout.readline().strip(), "deleted")
            done = runCommand(connect, capture_output=True, text=True, timeout=TIMEOUT)
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("timed out", done.stderr)
        finally:
            mapper.kill()
            mapper.wait()
            mapper.stdout.close()

    def test_upnp(self):
        self.mapsAndDeletes(UPNP, "UPnP")

    def test_pcp(self):
        self.mapsAndDeletes(NATPMP, "PCP")

    def test_natPmp(self):
        self.mapsAndDeletes(NATPMP, "NAT-PMP")


class MappedSellerTests(PortMappingCase):

    def sellsDirectly(self, kind, protocol):
        home = self.mappingHome(kind)
        buyer_host = self.bed.public("buyer")
        tracker = self.startTracker(TIMEOUT, "--metrics", LOOPBACK_LISTEN)
        metrics = listeningPort(tracker, "metrics", TIMEOUT)
        shared, content = self.shareFile("home.bin", SIZE)
        began = time.monotonic()
        seller = self.node("home-seller", home.host, "--role", "seller", "--share",
                           shared)
        seller_id = nodeId(seller, TIMEOUT)
        seller.waitFor(r"this node is not reachable from outside", TIMEOUT)
        mapped = seller.waitFor(MAPPED, TIMEOUT)
        self.assertEqual(mapped["protocol"], protocol)
        port = mapped["port"]
        seller.waitFor(rf"this node is reachable from outside at "
                       rf"{re.escape(home.public_address)}:{port}: the tracker dialled "
                       r"it there", TIMEOUT)
        reachable = time.monotonic() - began
        tracker.waitFor(rf"node \w+ listens at {re.escape(home.public_address)}:{port} "
                        r"as it said: introducing it", TIMEOUT)
        waitSharing(seller, "home.bin", TIMEOUT)
        downloads = self.folder("downloads")
        buyer = self.node("buyer", buyer_host, "--role", "buyer", "--want", "home.bin",
                          "--downloads", downloads)
        buyer.waitFor(r"fetching home\.bin \(", TIMEOUT)
        started = time.monotonic()
        waitDownloaded(buyer, "home.bin", TIMEOUT)
        took = time.monotonic() - started
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(),
                             hashlib.sha256(content).digest())
        self.assertEqual(self.relayed(metrics), 0)
        print(f"\nseller behind a {kind} router reachable directly ({protocol}) "
              f"{reachable:.1f} s after it started; {SIZE / 2**20:.0f} MiB in "
              f"{took:.2f} s, 0 bytes relayed")
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        self.assertTrue(seller.matches(rf"the router no longer maps TCP port {port} "
                                       r"\(listening port, "), seller.tail())
        self.assertTrue(seller_id)
        # Deleted at the router: a connection there now meets its drop
        # (a timeout), not the stopped seller's machine (a refusal).
        done = runCommand([*buyer_host.wrapper, sys.executable, "-c", CONNECT,
                           home.public_address, port], capture_output=True,
                          text=True, timeout=TIMEOUT)
        self.assertIn("timed out", done.stderr)

    def test_upnpRouter(self):
        self.sellsDirectly(UPNP, "UPnP")

    def test_natPmpRouter(self):
        self.sellsDirectly(NATPMP, "PCP")


#: Tries of the two-random-routers test (the issue's goal: 10, each a new
#: market) and the file's size in MiB (the goal: 64).
RANDOM_TRIES = int(os.environ.get("BAZAAR_RANDOM_ROUTERS_TRIES", "1"))
RANDOM_SIZE = int(os.environ.get("BAZAAR_RANDOM_ROUTERS_SIZE", "4")) * 1024 * 1024
#: Seconds from the seller's start to the buyer's direct link to it, the
#: buyer started once the seller is reachable (the issue's goal: within
#: 15 s).
LINKED_WITHIN = 15.0
#: What a node says once the tracker dialled it at its mapped port.
REACHABLE = (r"this node is reachable from outside at {host}:(?P<port>\d+): the "
             r"tracker dialled it there")


class RandomRoutersTests(PortMappingCase):
    """
    Two homes behind routers that draw a random port for every flow
    (nftables' ``masquerade fully-random``): no punch meets them, over TCP
    or UDP (both random: about 54,000 probes a side for even odds, past
    any probe budget).  Each router maps ports when asked (the seller's by
    UPnP, the buyer's by PCP): the seller maps its ports and the tracker
    checks it there, and the buyer, which needs no mapping to dial out,
    links to the seller at the seller's mapped port directly, buys, and
    fetches its file at the path's speed with not one byte through the
    tracker's relay.  Both run UDP too
    (``--quic-port``, the tracker ``--udp-port``): it does not get in
    the way.
    """

    def test_bothRandomMapped(self):
        home_a = self.bed.home("randa", symmetric=True, portmap=UPNP,
                               folder=self.market.cwd)
        home_b = self.bed.home("randb", symmetric=True, portmap=NATPMP,
                               folder=self.market.cwd)
        shared, content = self.shareFile("home.bin", RANDOM_SIZE)
        linked, results = 0, []
        for index in range(RANDOM_TRIES):
            within, result = self.attempt(index, home_a, home_b, shared, content)
            linked += within
            results.append(result)
        print(f"\nboth routers random, ports mapped: {linked} of {RANDOM_TRIES} linked "
              f"directly within {LINKED_WITHIN:g} s; (seconds from the seller's start to "
              f"it reachable, from the buyer's start to its link and fetch, of the "
              f"{RANDOM_SIZE >> 20} MiB fetch): "
              f"{results}")
        self.assertGreaterEqual(linked, RANDOM_TRIES - RANDOM_TRIES // 10, results)

    def attempt(self, index, home_a, home_b, shared, content):
        """One try, a new market: (whether the buyer linked directly
        within the goal, (seconds to the seller reachable, to the buyer's
        link, of the fetch))."""
        tracker = self.market.start(f"tracker-{index}", [
            "bazaar-tracker", "--listen", f"tcp:{BED_TRACKER_PORT}", "--udp-port", "3478",
            "--metrics", LOOPBACK_LISTEN], wrapper=self.tracker_host.wrapper)
        metrics = listeningPort(tracker, "metrics", TIMEOUT)
        began = time.monotonic()
        seller = self.node(f"random-seller-{index}", home_a.host, "--role", "seller",
                           "--share", shared, "--quic-port", "0")
        seller_id = nodeId(seller, TIMEOUT)
        port = seller.waitFor(REACHABLE.format(host=re.escape(home_a.public_address)),
                              TIMEOUT)["port"]
        reachable = time.monotonic() - began
        waitSharing(seller, "home.bin", TIMEOUT)
        downloads = self.folder(f"downloads-{index}")
        started = time.monotonic()
        buyer = self.node(f"random-buyer-{index}", home_b.host, "--role", "buyer",
                          "--want", "home.bin", "--downloads", downloads,
                          "--quic-port", "0")
        buyer.waitFor(r"fetching home\.bin \(", TIMEOUT)
        fetching = time.monotonic()
        link = fetching - started
        buyer.waitFor(rf"bought home\.bin from {short(seller_id)}", TIMEOUT)
        # Bought over a link dialled at the seller's mapped port.
        peers = [peer for _, peer in self.established(home_b.host)]
        self.assertIn(f"{home_a.public_address}:{port}", peers)
        waitDownloaded(buyer, "home.bin", TIMEOUT)
        took = time.monotonic() - fetching
        with open(os.path.join(downloads, "home.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(),
                             hashlib.sha256(content).digest())
        self.assertEqual(self.relayed(metrics), 0)
        codes = self.market.stop()
        self.assertEqual(set(codes.values()), {TERMINATED}, codes)
        for daemon in (tracker, seller, buyer):
            self.assertEqual(daemon.problems(), [], daemon.name)
        within = reachable + link < LINKED_WITHIN
        return within, (round(reachable, 1), round(link, 1), round(took, 2))
