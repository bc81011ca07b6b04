"""
What a test's download did, watched from outside the download: the
transfer client's gets and the part file's writes patched to be
recorded, and every log line kept.
"""

from twisted.logger import formatEvent, globalLogPublisher

from twisted_bazaar.files.assembly import PieceSink
from twisted_bazaar.files.client import TransferClient



def songMarket(case, piece):
    """
    A market (the in-memory network, a fake clock) of one seller sharing
    song.ogg, 8 pieces of ``piece`` bytes, and one buyer of it; sets on
    ``case``: C{data} (the file's bytes), C{market}, C{seller},
    C{downloads} (the buyer's folder) and C{fetcher} (the buyer's).
    """
    import random

    from twisted_bazaar.files import hashing
    from twisted_bazaar.testing import Market, MemoryNetwork
    from tests.files.helpers import scratchDir, writeFile

    case.patch(hashing, "MIN_PIECE", piece)
    case.data = random.Random(5).randbytes(8 * piece)
    case.market = Market(MemoryNetwork(rng=random.Random(1), latency=(0.01, 0.01)),
                         seed=2)
    folder = scratchDir(case)
    writeFile(folder, "song.ogg", case.data)
    case.seller = case.market.addNode(discovery="flood", seller={
        "stock": {}, "share": folder})
    case.downloads = scratchDir(case)
    buyer = case.market.addNode(discovery="flood", buyer={
        "wants": ["song.ogg"], "downloads": case.downloads})
    case.fetcher = case.market.role(buyer, "buyer").fetcher


def runUntil(market, condition, seconds, step=0.05):
    """Run market's clock in steps until condition holds, for at most
    seconds: whether it held."""
    for _ in range(int(seconds / step)):
        if condition():
            return True
        market.run(step)
    return False


class TransferWatch:
    """
    Patches, for one test case, what a buyer's transfers do.

    @ivar asked: (client, offset, length) of every get the buyer sent.
    @ivar written: bytes of answers written to part files.
    @ivar lines: every log line, formatted.
    """

    def __init__(self, case):
        self.asked = []
        self.written = 0
        self.lines = []
        get = TransferClient.get
        write = PieceSink.write

        def recorded(client, sha256, offset, length, sink):
            self.asked.append((client, offset, length))
            return get(client, sha256, offset, length, sink)

        def counted(sink, data):
            self.written += len(data)
            return write(sink, data)

        case.patch(TransferClient, "get", recorded)
        case.patch(PieceSink, "write", counted)
        globalLogPublisher.addObserver(self._observe)
        case.addCleanup(globalLogPublisher.removeObserver, self._observe)

    def _observe(self, event):
        self.lines.append(formatEvent(event))

    def saying(self, words):
        """The log lines that say ``words``."""
        return [line for line in self.lines if words in line]
