"""
End to end, in network namespaces (L{twisted_bazaar.testing.netns}) and
a real headless browser: a seller at home A (behind a NAT router) and a
buyer at home B (behind a router drawing a port per connection, so no
punch can work) reach each other only through the tracker's relay.  The
web view, ``bazaar web --data-dir`` of the buyer run at home B, draws
their link dashed, as the nodes' own ``relayed`` flag says
(``nodestate`` links, protocol.md §12a), both nodes as diamonds (at
home), and moves the trade from the seller to the buyer along that
link, as the buyer tells its operator.

The view listens on a Unix socket (``--listen unix:PATH``: files are
shared across namespaces, addresses are not), which a forwarder in this
process serves to Chromium on loopback.  It needs root, ``ip``,
``iptables``, Chromium and selenium; without them it is skipped with
the reason.  Run it under ``flock /tmp/netns.lock``, as every test of
the bed.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.testing.daemons import nodeId
from twisted_bazaar.wire.ids import wireId

from tests.e2e.helpers import (
    BED_TRACKER_PORT,
    HomeMarketCase,
    short,
    startCommand,
    waitBought,
)
from tests.e2e.test_nat_live import RELAYED
from tests.e2e.test_web_live import GRAPH_NODES, browser, untilShown

TIMEOUT = 60.0


class UnixForwarder:
    """Serves a Unix socket's listener on a loopback TCP port: each
    connection accepted there is joined to a new connection to the
    socket, a thread copying each way.  L{close} ends all of it."""

    def __init__(self, path):
        self.path = path
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = [self.listener]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            try:
                server.connect(self.path)
            except OSError:
                client.close()
                server.close()
                continue
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._copy, args=(source, sink),
                                 daemon=True).start()

    @staticmethod
    def _copy(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for each in (source, sink):
            try:
                each.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        for each in self.sockets:
            each.close()


class RelayedLinkPageTests(HomeMarketCase):
    folder_prefix = "bazaar-web-relayed-"

    def setUp(self):
        super().setUp()
        self.home_a = self.bed.home("homea")
        self.home_b = self.bed.home("homeb", symmetric=True)
        self.driver = browser()
        self.addCleanup(self.driver.quit)
        self.webErrors = open(os.path.join(self.market.cwd, "web.err"), "w+")
        self.addCleanup(self.webErrors.close)

    def errors(self):
        """What the web view wrote on its error output."""
        self.webErrors.seek(0)
        return self.webErrors.read()

    def operatorViewAtB(self, data):
        """``bazaar web --data-dir data`` at home B, on a Unix socket,
        served on loopback here: its port."""
        path = os.path.join(self.market.cwd, "web.sock")
        script = str(Path(sys.executable).with_name("bazaar"))
        web = startCommand(
            [*self.home_b.host.wrapper, script, "--tracker",
             f"{self.tracker_host.address}:{BED_TRACKER_PORT}", "web", "--data-dir", data,
             "--listen", f"unix:{path}", "--poll", "0.5"],
            stdout=subprocess.PIPE, stderr=self.webErrors, text=True)
        self.addCleanup(lambda: web.poll() is None and web.kill())
        first = web.stdout.readline()
        self.assertEqual(first, f"web view listening on unix:{path}, as the operator of "
                         f"node {short(Identity.read(data).id)}\n", self.errors())
        self.assertIn("web-token", web.stdout.readline())
        forwarder = UnixForwarder(path)
        self.addCleanup(forwarder.close)
        # The operator's token, from the data dir, in the link to the page.
        with open(os.path.join(data, "web-token")) as kept:
            self.driver.get(f"http://127.0.0.1:{forwarder.port}/?token={kept.read().strip()}")
        return forwarder.port

    def waitUntil(self, script, what, timeout=TIMEOUT):
        return untilShown(self, script, what, timeout,
                          lambda: "\nthe web view's errors:\n" + self.errors())

    def test_aRelayedLinkDrawnAsRelayed(self):
        self.startTracker(TIMEOUT)
        # Over TCP alone: with UDP on, a punch over UDP would replace the
        # relayed link with a QUIC one (drawn purple, not dashed).
        seller = self.node("home-seller", self.home_a.host, "--role", "seller",
                           "--sell", "pear=2", "--no-quic")
        seller_id = wireId(nodeId(seller, TIMEOUT))
        seller.waitFor(RELAYED.format(host=self.tracker_host.address.replace(".", r"\.")),
                       TIMEOUT)
        data = os.path.join(self.market.cwd, "buyer-data")
        os.mkdir(data)
        buyer_id = wireId(Identity.inDirectory(data).id)
        port = self.operatorViewAtB(data)
        self.driver.get(f"http://127.0.0.1:{port}/")
        self.waitUntil(f"return {GRAPH_NODES} == 1", "the seller in the graph")
        buyer = self.node("home-buyer", self.home_b.host, "--role", "buyer", "--want",
                          "pear", "--data-dir", data, "--no-quic")
        waitBought(buyer, "pear", TIMEOUT, seller=seller_id, n=1, q=1)
        self.waitUntil(f"return {GRAPH_NODES} == 2", "the buyer in the graph")
        # Both at home: diamonds.
        self.waitUntil("return window.bazaarGraph.nodes.get().every(n => "
                       "n.shape == 'diamond')", "both nodes as at home")
        # Their link, dashed: drawn as the nodes' flag says, no other way.
        edge = "-".join(sorted([seller_id, buyer_id]))
        dashed = self.waitUntil(
            "return window.bazaarGraph.edges.get().filter(e => e.dashes).map(e => e.id)"
            ".join(' ')", "a dashed link")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/node/{buyer_id}",
                                    timeout=TIMEOUT) as answer:
            links = json.load(answer)["links"]
        relayed = {link["id"] for link in links if link["relayed"]}
        self.assertIn(seller_id, relayed, links)
        self.assertIn(edge, dashed.split())
        # The trade moves from the seller to the buyer, along that link.
        moved = self.waitUntil("return window.bazaarGraph.moves.find(move => "
                               f"move.path.join(' ') == '{buyer_id} {seller_id}')",
                               "the trade moving along its path")
        self.assertEqual(moved["hops"], [seller_id, buyer_id])
        self.assertEqual(len(moved["links"]), 1)
        self.assertIn(moved["links"][0], dashed.split())
