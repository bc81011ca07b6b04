"""
End to end, issue 3: a live tracker and a live seller, both started with
twistd, answer every class of bad input from raw sockets as specified and
stay up, while a buyer started with twistd buys from the seller.

Each bad input goes on a connection of its own, closed as soon as its
answer is read, so the seller's connection slots stay free for the buyer.
Every wait is bounded: socket reads by the raw client's timeout, log lines
by TIMEOUT.  Nothing sleeps.
"""

import time
from contextlib import closing

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.net.link import BURST_FACTOR, DEFAULT_ERROR_LIMIT, DEFAULT_PING_RATE

from tests.e2e.helpers import startMarket, startSeller, waitSold
from tests.e2e.test_raw_client import RawClient, netstring, newId
from tests.test_bad_input import summary
from tests.wire.test_wire import nested
from tests.e2e.helpers import short

#: Seconds any one expected log line may take.
TIMEOUT = 20.0
#: Pings in the flood of issue 3.
FLOOD_SIZE = 20_000
PING_BURST = int(DEFAULT_PING_RATE * BURST_FACTOR)

#: What a link does after its answers: stays open (and still serves), or
#: is closed by the daemon.
KEPT, CLOSED = "kept", "closed"
WTF = "error wtf"

#: (class of bad input, bytes, handshake first?, what the tracker answers,
#: what the seller answers).  Each answer is a list of summaries
#: (see L{summary}) ending in KEPT or CLOSED.
BAD_INPUT = [
    ("broken framing", b'1a:{"type":"dc"},', False, [CLOSED], [CLOSED]),
    # Early in each round: a daemon logs at most a few lines an address
    # group causes in 10 s, and the closes below use them up.
    ("too many bad messages", netstring(b"bad") * (DEFAULT_ERROR_LIMIT + 1), True,
     [WTF] * (DEFAULT_ERROR_LIMIT + 1) + [CLOSED],
     [WTF] * (DEFAULT_ERROR_LIMIT + 1) + [CLOSED]),
    ("over-long netstring", b"%d:" % 10**9 + b"x" * 1000, False, [CLOSED], [CLOSED]),
    ("length over the frame limit", b"99999:" + b"x" * 1000, False, [CLOSED],
     [CLOSED]),
    ("invalid UTF-8", netstring(b'{"type":"\xff"}'), False, [WTF, CLOSED], [WTF, CLOSED]),
    ("invalid JSON", netstring(b"{not json"), False, [WTF, CLOSED], [WTF, CLOSED]),
    ("non-object", netstring(b"[1, 2]"), False, [WTF, CLOSED], [WTF, CLOSED]),
    ("unknown type", netstring(b'{"type":"florp"}'), False, [WTF, CLOSED], [WTF, CLOSED]),
    ("bad field types", netstring(b'{"type":"thisisme","id":true,"port":1}'), False,
     [WTF, CLOSED], [WTF, CLOSED]),
    ("over-limit values",
     netstring(b'{"type":"search","id":1,"item":"a","returnPath":["1"],"ttl":17}'),
     True, [WTF, KEPT], [WTF, KEPT]),
    ("deep nesting", netstring(nested(30_000)), False, [WTF, CLOSED], [WTF, CLOSED]),
    ("wrong path", netstring(b'{"type":"buy","id":1,"item":"apple","path":["1","2"]}'),
     True, [WTF, KEPT], ["error wrongway", KEPT]),
    ("message before handshake", netstring(b'{"type":"nodereq","exclude":[]}'),
     False, [WTF, CLOSED], [WTF, CLOSED]),
    ("node-only message to the tracker",
     netstring(b'{"type":"search","id":1,"item":"pear","returnPath":["1"],"ttl":1}'),
     True, [WTF, KEPT], [KEPT]),
]


def pingFlood():
    return b"".join(netstring(b'{"type":"ping","nonce":%d}' % n)
                    for n in range(FLOOD_SIZE))


class LiveBadInputTests(SynchronousTestCase):
    """A tracker, a seller and a buyer; the raw client misbehaves."""

    def setUp(self):
        self.market, self.tracker = startMarket(self, TIMEOUT)
        self.seller, self.seller_id, self.seller_port = startSeller(
            self.market, "apple=3", TIMEOUT)

    # -- speaking to the daemons ---------------------------------------------

    def handshake(self, client, port):
        """Introduce the client: to the tracker as a node that takes no
        links (so it is never introduced to the buyer), to the seller as a
        node of a fresh id."""
        if port == self.market.tracker_port:
            client.send("thisisme", id="", port=0, host="")
            self.assertEqual(client.receive()["type"], "thisisyou")
        else:
            client.send("thisisme", id=str(newId() % 2**31), port=0, host="")
            self.assertEqual(client.receive()["type"], "thisisme")

    def hear(self, client):
        """A summary of the client's next message, or CLOSED.  Searches the
        buyer floods through the seller are the market at work: skipped."""
        while True:
            answer = client.outcome()
            if answer == CLOSED:
                return CLOSED
            if answer["type"] != "search":
                return summary(answer)

    def assertServed(self, client, port, identified):
        """The link still works: it can introduce itself, or gets a pong."""
        if not identified:
            self.handshake(client, port)
        nonce = newId()
        client.send("ping", nonce=nonce)
        self.assertEqual(self.hear(client), "pong")

    def assertAnswers(self, port, data, identified, expected, what):
        with closing(RawClient(port)) as client:
            if identified:
                self.handshake(client, port)
            client.sendRaw(data)
            heard = [self.hear(client) for _ in expected[:-1]]
            self.assertEqual(heard, expected[:-1], what)
            if expected[-1] == CLOSED:
                self.assertEqual(self.hear(client), CLOSED, what)
            else:
                self.assertServed(client, port, identified)

    def assertFloodContained(self, port):
        """
        20,000 pings get at most the burst plus what the rate earned since
        the connection was made; the message sent after them is answered,
        so the flood has been read to its end.
        """
        started = time.monotonic()
        with closing(RawClient(port)) as client:
            self.handshake(client, port)
            client.sendRaw(pingFlood())
            client.send("florp")
            heard = [self.hear(client)]
            while heard[-1] not in (WTF, CLOSED):
                heard.append(self.hear(client))
            elapsed = time.monotonic() - started
        self.assertEqual(heard[-1], WTF, heard)
        pongs = heard.count("pong")
        self.assertGreaterEqual(pongs, 1, heard)
        self.assertLessEqual(pongs, PING_BURST + DEFAULT_PING_RATE * elapsed, heard)

    def barrage(self, daemons):
        """One round of misbehaviour: the flood, then every bad input, to
        each daemon."""
        for daemon, port in daemons.values():
            self.assertFloodContained(port)
        for what, data, identified, tracker, seller in BAD_INPUT:
            for name, expected in (("tracker", tracker), ("seller", seller)):
                port = daemons[name][1]
                self.assertAnswers(port, data, identified, expected,
                                   f"{what} to the {name}")

    # -- the test --------------------------------------------------------------------

    def test_everyClassOfBadInputWhileTrading(self):
        """Rounds of bad input go on until the buyer, started with the
        first round, has bought: the trade happens under fire."""
        buyer = self.market.startNode("buyer", "--role", "buyer", "--want", "apple")
        bought = rf"bought apple from {short(self.seller_id)} \(1 of 1\)"
        daemons = {"tracker": (self.tracker, self.market.tracker_port),
                   "seller": (self.seller, self.seller_port)}
        deadline = time.monotonic() + TIMEOUT
        self.barrage(daemons)
        while not buyer.matches(bought):
            self.assertLess(time.monotonic(), deadline, buyer.tail())
            self.barrage(daemons)

        waitSold(self.seller, "apple", TIMEOUT, left=2)
        for daemon, _ in daemons.values():
            daemon.waitFor(r"sends ping faster than 1/s; dropping the excess",
                            TIMEOUT)
            daemon.waitFor(r"broken netstring from 127\.0\.0\.1:\d+: length is not "
                            r"a decimal number", TIMEOUT)
            daemon.waitFor(rf"closing link to .*127\.0\.0\.1:\d+: "
                            rf"{DEFAULT_ERROR_LIMIT + 1} bad messages in 60 s", TIMEOUT)
            self.assertIsNone(daemon.process.poll(), daemon.tail())
        for daemon in (self.tracker, self.seller, buyer):
            self.assertEqual(daemon.problems(), [], daemon.tail())
