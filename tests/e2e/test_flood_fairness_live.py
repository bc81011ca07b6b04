"""
End to end, issue 46: fifteen links from one address, each sending
searches just under its rate limit, to a live relay, do not crowd an
honest node's searches out of what the relay passes on (docs/protocol.md
§9, "The forwarding budget"); and unsigned replies to a searching buyer
do not write its log faster than the peer log allows (§14).

A tracker, a seller of apples and a relay (a node with no role) run as
daemons.  The honest node is this test, a keyed stranger linked to the
relay from 127.0.0.1, which searches for apples ten times a second; the
seller, the relay's neighbour, answers each search that reaches it.  The
attacker is this test too: fifteen keyed links to the relay from
127.9.0.1 (another address group), each sending 190 searches a second
for an item nobody sells.  Every wait is bounded; nothing sleeps but the
pacing of the searches sent."""

import json
import random
import select
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e.helpers import nodeAddress, startMarket, startSeller
from tests.e2e.test_raw_client import linkedStranger, netstring

#: Seconds any one expected log line, or the first answer, may take.
TIMEOUT = 30.0
ATTACKER = "127.9.0.1"
LINKS = 15
#: Seconds between the rounds of searches, and the searches each attacker
#: link sends in a round (190 a second: under the relay's 200 a link).
TICK = 0.1
PER_TICK = 19
#: Seconds the attack lasts.
ATTACK = 8.0


def search(search_id, item, origin):
    return netstring(json.dumps({"type": "search", "id": search_id, "item": item,
                                 "returnPath": [origin], "ttl": 3}).encode("utf-8"))


def ready(sock):
    """Whether sock has something to read now."""
    return bool(select.select([sock], [], [], 0)[0])


def drainRaw(client):
    """Read and drop what waits on client's connection (its peer's
    forwarded searches): a test that does not read would be dropped as a
    slow reader."""
    while ready(client.tcp):
        if not client.tcp.recv(1 << 20):
            return


def messages(client):
    """The messages waiting on client's channel now, without blocking."""
    channel = client._channel()
    while ready(client.tcp):
        data = client.tcp.recv(1 << 20)
        if not data:
            break
        channel.incoming += data
    channel._open_what_arrived()
    client.buffer += bytes(channel.plain)
    channel.plain.clear()
    out = []
    while b":" in client.buffer:
        header, _, rest = client.buffer.partition(b":")
        size = int(header)
        if len(rest) <= size:
            break
        out.append(json.loads(rest[:size]))
        client.buffer = rest[size + 1:]
    return out


class FloodFairnessTests(SynchronousTestCase):

    def test_honestSearchesAnsweredUnderAFlood(self):
        """At least 90 % of the honest node's searches sent during the
        attack are answered by the seller."""
        market, _ = startMarket(self, TIMEOUT)
        startSeller(market, "apple=1000000", TIMEOUT)
        relay = market.startNode("relay", "--max-connections", str(LINKS + 8))
        relay_id, relay_port = nodeAddress(relay, TIMEOUT)
        market.waitIntroduced(relay_id, TIMEOUT)
        keys, honest = linkedStranger(self, market.tracker_port, relay_port)
        rng = random.Random(46)

        # The relay links to the seller once the tracker names it: search
        # until the first answer.
        answered, deadline = set(), time.monotonic() + TIMEOUT
        while not answered:
            self.assertLess(time.monotonic(), deadline, "the seller never answered")
            honest.sendRaw(search(rng.randrange(1, 2**62), "apple", keys.id))
            time.sleep(TICK)
            answered.update(m["id"] for m in messages(honest) if m["type"] == "reply")

        attackers = [linkedStranger(self, market.tracker_port, relay_port,
                                    source=ATTACKER)
                     for _ in range(LINKS)]
        sent, answered = set(), set()
        start = time.monotonic()
        tick = start
        while tick - start < ATTACK:
            for attacker_keys, link in attackers:
                link.sendRaw(b"".join(search(rng.randrange(1, 2**62), "pear",
                                             attacker_keys.id)
                                      for _ in range(PER_TICK)))
                drainRaw(link)
            search_id = rng.randrange(1, 2**62)
            sent.add(search_id)
            honest.sendRaw(search(search_id, "apple", keys.id))
            answered.update(m["id"] for m in messages(honest) if m["type"] == "reply")
            tick += TICK
            time.sleep(max(0.0, tick - time.monotonic()))
        deadline = time.monotonic() + 5.0
        while not sent <= answered and time.monotonic() < deadline:
            for _, link in attackers:
                drainRaw(link)
            answered.update(m["id"] for m in messages(honest) if m["type"] == "reply")
            time.sleep(TICK)
        share = len(sent & answered) / len(sent)
        self.assertGreaterEqual(share, 0.9, f"{share:.0%} of {len(sent)} answered")


class UnsignedOfferLinesTests(SynchronousTestCase):

    def test_linesBounded(self):
        """
        A stranger linked to a searching buyer (a daemon with a key)
        answers its search with 2,000 replies not signed by their seller:
        the buyer checks 64 of them (the search's CHECKED_PER_LINK), logs
        5, and sums up the other 59 in one line; the rest are dropped
        unchecked.
        """
        market, _ = startMarket(self, TIMEOUT)
        buyer = market.startNode("buyer", "--role", "buyer", "--want", "apple",
                                 "--search-window", "5")
        buyer_id, port = nodeAddress(buyer, TIMEOUT)
        keys, link = linkedStranger(self, market.tracker_port, port, source=ATTACKER)
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = link.receive()
            if message["type"] == "search":
                break
            self.assertLess(time.monotonic(), deadline, "the buyer never searched")
        reply = {"type": "reply", "id": message["id"], "item": "apple",
                 "path": ["7", keys.id, buyer_id], "seller": "7", "host": "127.0.0.1",
                 "port": 1}
        link.sendRaw(netstring(json.dumps(reply).encode("utf-8")) * 2000)
        buyer.waitFor(r"59 more lines like 'ignoring an offer from \{peer\} not signed "
                      r"by seller \{seller\}' from 127\.9\.0\.0/16 in the last 10 s, "
                      "not logged", TIMEOUT)
        ignored = [line for line in buyer.lines if "] ignoring an offer from" in line]
        self.assertEqual(len(ignored), 5, ignored)
