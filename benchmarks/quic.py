"""
quic_transfer_ratio: bytes per second of a bulk transfer over QUIC on
loopback (the encrypted channel over a QUIC stream, L{twisted_bazaar.transports.quic})
against the same transfer over the TCP channel, in the same run.

Each repeat, in a child process on the real reactor, its C allocator
tuned as a node daemon's and ``bazaar buy``'s are
(L{twisted_bazaar.daemon.allocator.tuneForStreaming}): a sender writes
SIZE bytes from a pull producer (as a seller's file goes) and closes; a
receiver counts them until its connection ends.  Both ends run in the
one process, on one core, for both transports alike.  The time is from
the dial to the last byte; the dial's handshakes (QUIC's with its retry,
then the channel's; TCP's, then the channel's) are timed alone too, and
the process's CPU seconds per MiB moved.  The same is measured over QUIC
without the channel (``quic_without_channel``): what the other way of
binding a node's key, libp2p's (the key's signature in QUIC's own TLS
certificate, no channel above), would cost at most, as its certificate
check is a few signatures per connection.

quic_mtu_transfer_ratio: the same QUIC transfer with each connection's
UDP payloads of 1,472 bytes, what an IPv4 Ethernet path carries (both
endpoints told the route's MTU is 1,500: L{QuicEndpoint}'s ``routeMtu``),
against the same TCP channel runs: 44 times the datagrams of loopback's
65,507 bytes, so what each datagram costs, as on a real path (issue 71:
"a 64 MiB file between them moves at the path's speed").

quic_purchase_ratio: wall seconds for a buyer daemon to get 10,000 units
from one seller daemon (as ``bulk_10k_one_seller_s``, from its ``ready``
line to ``all wants met``) with both on QUIC (``--quic-port``, the buyer
told the seller's with ``--quic-peer``), over the same on TCP alone
(``--no-quic``, QUIC being on by default), run after run.  The buyer's log must say it reached the seller over QUIC.
"""

import json
import os
import subprocess
import sys
import time

from benchmarks.harness import Figure, median, pairedRatio

GOAL = (">=", 0.5)
#: The route MTU the Ethernet-sized run's endpoints are told: 1,472-byte
#: UDP payloads in IPv4.
ETHERNET_MTU = 1500
PURCHASE_GOAL = ("<=", 1.2)
#: Seconds between two measured runs, for the last one's end to be over.
SETTLE = 0.2
#: Seconds a daemon's line may take.
LINE_TIMEOUT = 120.0
FULL_SIZE = 256 * 1024 * 1024
QUICK_SIZE = 64 * 1024 * 1024
#: Bytes a pull producer writes each time it is asked.
CHUNK = 256 * 1024
#: Seconds a child may take.
TIMEOUT = 600.0


def measure(size, repeats):
    """In the child: {"tcp": [...], "quic": [...], "quic_bare": [...],
    "quic_mtu": [...]}, each repeat a dict of seconds, bytes a second,
    handshake seconds and CPU seconds a MiB."""
    from twisted.internet import defer, reactor, task
    from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
    from twisted.internet.protocol import Factory, Protocol
    from zope.interface import implementer

    from twisted_bazaar.channel.session import ChannelKey
    from twisted_bazaar.daemon.allocator import tuneForStreaming
    from twisted_bazaar.identity.keys import Identity, decode
    from twisted_bazaar.net.capabilities import IChannelProtocol
    from twisted_bazaar.net.encrypted import (
        EncryptedClientEndpoint,
        EncryptedServerEndpoint,
    )
    from twisted_bazaar.transports.quic.connector import LINKS, QuicConnector
    from twisted_bazaar.transports.quic.endpoint import QuicEndpoint

    # As a daemon starts: with glibc's defaults, the 64 KiB copies each
    # QUIC datagram makes let the heap's top be given back and faulted in
    # again, ~100 page faults a MiB that no node pays.
    tuneForStreaming()
    sender_id, receiver_id = Identity.generate(), Identity.generate()
    sender_key = ChannelKey.generate(sender_id)
    receiver_key = ChannelKey.generate(receiver_id)

    class Chunks:
        def __init__(self, transport):
            self.transport, self.left = transport, size
            self.block = os.urandom(CHUNK)

        def resumeProducing(self):
            if self.left > 0:
                n = min(CHUNK, self.left)
                self.left -= n
                self.transport.write(self.block[:n])
                if not self.left:
                    self.transport.unregisterProducer()
                    self.transport.loseConnection()

        def stopProducing(self):
            self.left = 0

    @implementer(IChannelProtocol)
    class Send(Protocol):
        def channelUp(self):
            self.transport.registerProducer(Chunks(self.transport), False)

    class SendBare(Send):
        """No channel: QUIC's stream alone (what a libp2p-style handshake,
        the node's key in QUIC's own TLS, would leave)."""

        def connectionMade(self):
            self.channelUp()

    @implementer(IChannelProtocol)
    class Count(Protocol):
        bare = False

        def __init__(self):
            self.got = 0
            self.done = defer.Deferred()
            self.up = defer.Deferred()

        def channelUp(self):
            self.up.callback(time.perf_counter())

        def connectionMade(self):
            if self.bare:
                # A peer sees a QUIC stream once something is sent on it
                # (on the channel, its first handshake message).
                self.transport.write(b"go")
                self.channelUp()

        def dataReceived(self, data):
            self.got += len(data)

        def connectionLost(self, reason):
            self.done.callback(self.got)

    class OneCount(Factory):
        def __init__(self, protocol):
            self.protocol_ = protocol

        def buildProtocol(self, addr):
            return self.protocol_

    @defer.inlineCallbacks
    def once(dial, bare=False):
        counter = Count()
        counter.bare = bare
        cpu, started = time.process_time(), time.perf_counter()
        yield dial(counter)
        up = yield counter.up
        got = yield counter.done
        elapsed = time.perf_counter() - started
        if got != size:
            raise RuntimeError(f"{got} of {size} bytes arrived")
        return {"seconds": elapsed, "rate": size / elapsed, "handshake_s": up - started,
                "cpu_s_per_mib": (time.process_time() - cpu) / (size / 2**20)}

    @defer.inlineCallbacks
    def main():
        server = yield EncryptedServerEndpoint(
            TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"), sender_key,
            reactor).listen(Factory.forProtocol(Send))
        tcp_port = server.getHost().port
        quic_server = QuicEndpoint(reactor)
        udp = reactor.listenUDP(0, quic_server, interface="127.0.0.1")
        QuicConnector(quic_server, sender_key).listen(Factory.forProtocol(Send))
        bare_server = QuicEndpoint(reactor)
        bare_udp = reactor.listenUDP(0, bare_server, interface="127.0.0.1")
        bare_server.serve(LINKS, Factory.forProtocol(SendBare))

        def ethernet(host):
            return ETHERNET_MTU

        mtu_server = QuicEndpoint(reactor, routeMtu=ethernet)
        mtu_udp = reactor.listenUDP(0, mtu_server, interface="127.0.0.1")
        QuicConnector(mtu_server, sender_key).listen(Factory.forProtocol(Send))
        mtu_client = QuicEndpoint(reactor, routeMtu=ethernet)
        reactor.listenUDP(0, mtu_client, interface="127.0.0.1")
        mtu_connector = QuicConnector(mtu_client, receiver_key)
        quic_client = QuicEndpoint(reactor)
        reactor.listenUDP(0, quic_client, interface="127.0.0.1")
        connector = QuicConnector(quic_client, receiver_key)
        expected = decode(sender_id.key)

        def tcp(counter):
            return EncryptedClientEndpoint(
                TCP4ClientEndpoint(reactor, "127.0.0.1", tcp_port), receiver_key, reactor,
                expected=expected).connect(OneCount(counter))

        def quic(counter):
            return connector.connect("127.0.0.1", udp.getHost().port, counter,
                                     expected=expected)

        def bare(counter):
            return quic_client.connect("127.0.0.1", bare_udp.getHost().port, LINKS,
                                       counter)

        def mtu(counter):
            return mtu_connector.connect("127.0.0.1", mtu_udp.getHost().port, counter,
                                         expected=expected)

        results = {"tcp": [], "quic": [], "quic_bare": [], "quic_mtu": []}
        for _ in range(repeats):
            for name, dial, alone in (("tcp", tcp, False), ("quic", quic, False),
                                      ("quic_bare", bare, True), ("quic_mtu", mtu, False)):
                results[name].append((yield once(dial, alone)))
                # The sender's end of the run just measured (its last
                # acknowledgements, its close) is over before the next
                # one starts, not inside the next one's handshake.
                yield task.deferLater(reactor, SETTLE, lambda: None)
        bare_server.stop()
        mtu_server.stop()
        mtu_client.stop()
        quic_server.stop()
        quic_client.stop()
        return results

    found = []

    def finish(result):
        found.append(result)
        reactor.stop()

    reactor.callWhenRunning(lambda: main().addBoth(finish))
    reactor.run()
    if not isinstance(found[0], dict):
        found[0].raiseException()
    return found[0]


def purchaseOnce(overQuic):
    """Seconds from the buyer's ready line to all its wants met."""
    from benchmarks.bulk import UNITS, WANTS_MET, _Clock
    from benchmarks.harness import market
    from twisted_bazaar.testing.daemons import nodeId
    from twisted_bazaar.wire.ids import wireId

    clock = _Clock()
    # TCP alone: QUIC is on by default.
    quic = ("--quic-port", "0") if overQuic else ("--no-quic",)
    with market(onLine=clock.onLine) as daemons:
        seller = daemons.startNode("seller", "--role", "seller", "--sell",
                                   f"apple={UNITS}", *quic)
        seller_id = nodeId(seller, LINE_TIMEOUT)
        daemons.waitIntroduced(seller_id, LINE_TIMEOUT)
        extra = quic
        if overQuic:
            port = seller.waitFor(r"QUIC listening on 127\.0\.0\.1:(\d+) \(udp\)",
                                  LINE_TIMEOUT)[1]
            extra += ("--quic-peer", f"{wireId(seller_id)}=127.0.0.1:{port}")
        buyer = daemons.startNode("buyer", "--role", "buyer", "--want", "apple",
                                  "--quantity", str(UNITS), "--exit-when-done", *extra)
        buyer.waitFor(rf"{WANTS_MET}: {UNITS} in the bag", LINE_TIMEOUT)
        if overQuic and not buyer.matches(r"reached node \w+ over QUIC"):
            raise RuntimeError("the buyer did not reach the seller over QUIC")
        return clock.seen[("buyer", WANTS_MET)] - clock.seen[("buyer", "ready")]


def run(quick):
    size = QUICK_SIZE if quick else FULL_SIZE
    repeats = 3 if quick else 5
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.quic", str(size), str(repeats)],
        capture_output=True, text=True, timeout=TIMEOUT, check=True)
    results = json.loads(child.stdout.strip().splitlines()[-1])
    tcp, quic = results["tcp"], results["quic"]
    ratio = pairedRatio([each["rate"] for each in quic], [each["rate"] for each in tcp])
    mtuRatio = pairedRatio([each["rate"] for each in results["quic_mtu"]],
                           [each["rate"] for each in tcp])

    def medians(runs):
        return {key: round(median([each[key] for each in runs]), 4)
                for key in ("rate", "handshake_s", "cpu_s_per_mib")}

    purchases = [(purchaseOnce(True), purchaseOnce(False)) for _ in range(repeats)]
    overQuic = [round(seconds, 3) for seconds, _ in purchases]
    overTcp = [round(seconds, 3) for _, seconds in purchases]
    return [Figure("quic_purchase_ratio", pairedRatio(overQuic, overTcp), "x",
                   PURCHASE_GOAL, detail={"quic_s": overQuic, "tcp_s": overTcp},
                   note="10,000 units from one seller over QUIC vs over TCP, daemons "
                        "on loopback"),
            Figure("quic_transfer_ratio", ratio, "x", GOAL,
                   detail={"size": size, "repeats": repeats, "quic": medians(quic),
                           "tcp": medians(tcp),
                           "quic_without_channel": medians(results["quic_bare"])},
                   note=f"{size // 2**20} MiB over QUIC vs the TCP channel, loopback, "
                        "both ends in one process"),
            Figure("quic_mtu_transfer_ratio", mtuRatio, "x", None,
                   detail={"size": size, "repeats": repeats, "datagram": ETHERNET_MTU - 28,
                           "quic_mtu": medians(results["quic_mtu"]),
                           "tcp": medians(tcp)},
                   note=f"{size // 2**20} MiB over QUIC in {ETHERNET_MTU - 28}-byte "
                        "datagrams vs the TCP channel, loopback, both ends in one process")]


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]))))
