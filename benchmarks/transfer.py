"""
transfer_ratio: bytes per second of a shared file bought and fetched over
loopback, against a bare Twisted C{FileSender} sending the same file to a
bare consumer.

The project: a seller daemon with ``--share`` and, for each repeat, a new
buyer daemon with ``--want`` and ``--downloads``; the time is from the
buyer's ``fetching`` log line to its ``downloaded ... content id verified``
line, so it covers the transfer, every piece's hash (which, checked
against the file's identity, proves the whole file), the writes to disk,
the fsync and the rename.  The baseline:
``filesend.tac``, a twistd server that sends the file with C{FileSender}
to each connection, read here by a plain socket loop that counts bytes
and keeps none.

The buyer's and the seller's peak RSS (VmHWM) are reported for the
measured file and for a small one: they must not grow with the size.

Two ceilings are measured in the same run, so that a reader sees the
physical bounds next to the ratio: the disk (the same number of bytes
written with plain C{os.write} and fsynced, in the same folder, next to
each repeat) and SHA-256 (in memory, on one core), which a durable,
verified download pays once per byte (each piece's hash).
"""

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import time

from benchmarks.harness import Figure, market, median, pairedRatio
from twisted_bazaar.testing.daemons import Daemon, nodeId

#: Issue 37: with every byte sealed and opened by the channel (0.7 before it).
GOAL = (">=", 0.6)
FULL_SIZE = 1024 * 1024 * 1024
QUICK_SIZE = 256 * 1024 * 1024
SMALL_SIZE = 32 * 1024 * 1024
#: Seconds one transfer may take.
TIMEOUT = 300.0
HERE = os.path.dirname(os.path.abspath(__file__))


def fileSenderApplication(path):
    """The baseline server (see filesend.tac)."""
    from twisted.application.service import Application, Service
    from twisted.internet.endpoints import serverFromString
    from twisted.internet.protocol import Factory, Protocol
    from twisted.logger import Logger
    from twisted.protocols.basic import FileSender

    class Send(Protocol):
        def connectionMade(self):
            self.file = open(path, "rb")
            d = FileSender().beginFileTransfer(self.file, self.transport)
            d.addBoth(self.sent)

        def sent(self, _):
            self.file.close()
            self.transport.loseConnection()

    class Listen(Service):
        log = Logger()

        def startService(self):
            from twisted.internet import reactor

            endpoint = serverFromString(reactor, "tcp:0:interface=127.0.0.1")
            factory = Factory.forProtocol(Send)
            endpoint.listen(factory).addCallback(self.listening)

        def listening(self, port):
            self.log.info("filesend listening on 127.0.0.1:{port}",
                          port=port.getHost().port)

    application = Application("filesend")
    Listen().setServiceParent(application)
    return application


def writeFile(path, size):
    """size pseudo-random bytes (cheap to make, useless to compress),
    fsynced, so that their writeback does not compete with the runs."""
    block = hashlib.sha256(b"bench").digest() * (1024 * 1024 // 32)
    with open(path, "wb") as f:
        for offset in range(0, size, len(block)):
            f.write(block[:size - offset] if size - offset < len(block) else
                    os.urandom(16) + block[16:])
        f.flush()
        os.fsync(f.fileno())


def peakRss(daemon):
    """A running daemon's peak resident set, in MiB."""
    with open(f"/proc/{daemon.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


@contextlib.contextmanager
def fileSender(path):
    folder = tempfile.mkdtemp(prefix="bazaar-bench-")
    with open(os.path.join(folder, "filesend.path"), "w", encoding="utf-8") as f:
        f.write(path)
    daemon = Daemon("filesend", ["--pidfile=", "-y", os.path.join(HERE, "filesend.tac")],
                    folder)
    try:
        match = daemon.waitFor(r"listening on 127\.0\.0\.1:(?P<port>\d+)", 30)
        yield int(match["port"])
    finally:
        daemon.terminate()
        daemon.finish()
        shutil.rmtree(folder, ignore_errors=True)


def diskWrite(folder, size):
    """Bytes a second of ``size`` bytes written with os.write (1 MiB at a
    time) and fsynced: what the disk allows a download that must be
    durable before it counts."""
    block = os.urandom(1024 * 1024)
    path = os.path.join(folder, "disk-ceiling.bin")
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for offset in range(0, size, len(block)):
            os.write(fd, block[:size - offset])
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    os.unlink(path)
    return size / elapsed


def hashRate(size=64 * 1024 * 1024):
    """Bytes a second of SHA-256 over data in memory, on one core."""
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(size // len(block)):
        digest.update(block)
    return size / (time.perf_counter() - started)


def bareRead(port, size):
    """Bytes a second of one whole file read from the baseline."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    started = time.perf_counter()
    got = 0
    buffer = bytearray(1024 * 1024)
    with sock:
        while True:
            n = sock.recv_into(buffer)
            if not n:
                break
            got += n
    elapsed = time.perf_counter() - started
    if got != size:
        raise RuntimeError(f"the FileSender baseline sent {got} of {size} bytes")
    return size / elapsed


def fetchOnce(daemons, name, number, folder):
    """Buy and fetch the shared file with a new buyer; (seconds from the
    start of the fetch to the file in place, the buyer's peak RSS in
    MiB)."""
    downloads = os.path.join(folder, f"downloads-{number}")
    os.makedirs(downloads)
    buyer = daemons.startNode(f"buyer {number}", "--role", "buyer", "--want", name,
                              "--downloads", downloads)
    try:
        buyer.waitFor(rf"fetching {name} ", TIMEOUT)
        started = time.perf_counter()
        buyer.waitFor(rf"downloaded {name} into .*, content id verified", TIMEOUT)
        elapsed = time.perf_counter() - started
        rss = peakRss(buyer)
    finally:
        buyer.terminate()
        buyer.finish()
        shutil.rmtree(downloads, ignore_errors=True)
    return elapsed, rss


def run(quick):
    size = QUICK_SIZE if quick else FULL_SIZE
    repeats = 2 if quick else 3
    with market() as daemons:
        shared = os.path.join(daemons.cwd, "shared")
        os.makedirs(shared)
        big = os.path.join(shared, "big.bin")
        writeFile(big, size)
        writeFile(os.path.join(shared, "small.bin"), SMALL_SIZE)
        seller = daemons.startNode("seller", "--role", "seller", "--share", shared)
        nodeId(seller, 30)
        for name in ("big.bin", "small.bin"):
            seller.waitFor(rf"sharing {name} \(", TIMEOUT)
        _, small_buyer_rss = fetchOnce(daemons, "small.bin", 0, daemons.cwd)
        small_seller_rss = peakRss(seller)
        ours, bare, disk, buyer_rss = [], [], [], []
        with fileSender(big) as port:
            for number in range(1, repeats + 1):
                bare.append(bareRead(port, size))
                disk.append(diskWrite(daemons.cwd, size))
                elapsed, rss = fetchOnce(daemons, "big.bin", number, daemons.cwd)
                ours.append(size / elapsed)
                buyer_rss.append(rss)
        seller_rss = peakRss(seller)
        sha256 = median([hashRate() for _ in range(3)])
    ratio = pairedRatio(ours, bare)
    mib = 1024 * 1024
    return [Figure(
        "transfer_ratio", ratio, "x", GOAL,
        detail={"file_mib": size // mib,
                "bytes_per_s": [round(x) for x in ours],
                "baseline_bytes_per_s": [round(x) for x in bare],
                "disk_write_mib_s": round(median(disk) / mib),
                "disk_allows_ratio": pairedRatio(disk, bare),
                "sha256_mib_s": round(sha256 / mib),
                "buyer_peak_rss_mib": max(buyer_rss),
                "seller_peak_rss_mib": seller_rss,
                "small_file_mib": SMALL_SIZE // mib,
                "buyer_peak_rss_mib_small_file": small_buyer_rss,
                "seller_peak_rss_mib_small_file": small_seller_rss},
        note=(f"{size // mib} MiB bought and fetched: {median(ours) / mib:.0f} MiB/s vs "
              f"FileSender {median(bare) / mib:.0f} MiB/s; disk (write + fsync) "
              f"{median(disk) / mib:.0f} MiB/s, so the disk allows "
              f"{pairedRatio(disk, bare):.2f}; SHA-256 {sha256 / mib:.0f} MiB/s on one "
              f"core; peak RSS buyer "
              f"{max(buyer_rss)} MiB (small file {small_buyer_rss}), seller "
              f"{seller_rss} MiB (small file {small_seller_rss})"))]
