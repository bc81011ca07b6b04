"""
index_bytes_per_entry: what one (seller, item) entry of the index
tracker's item index costs in memory, at the index's documented caps.

The tracker's index extension (L{IndexExtension}) is built on a stub
tracker (a clock, a random source, no sockets) and fed ``register``
messages through its own handler, each decoded from its wire bytes as a
link would decode it, each carrying a real signed record that the
extension checks.  128 sellers, 64 in each of two address groups, each
register 1,024 items: 131,072 entries, the index's whole capacity (1,024
items per node, 65,536 per group, 131,072 in all).  Two layouts: every
entry an item of its own (``distinct``: an item -> sellers entry per
entry) and every seller selling the same 1,024 items (``shared``); the
figure is the worse of the two.

Bytes are counted by tracemalloc: what is allocated and still held once
the index is full, over the entries.  The baseline, measured in the same
run from the same frames, is the facts as decoded, in a plain dict
``{(seller, item): record}``.  The RSS growth of the first fill (before
tracemalloc starts) is reported beside it.
"""

import gc
import json
import os
import random
import resource
import tracemalloc

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.logger import Logger

from twisted_bazaar import wire
from twisted_bazaar.core.records import milliseconds, signRecord, verified
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.schemes.index.messages import MAX_ITEMS_PER_NODE, Ack, Register
from twisted_bazaar.schemes.index.tracker import IndexExtension
from benchmarks.harness import Figure

GOAL = ("<=", 512)
#: Sellers per address group, and groups: 128 sellers of 1,024 items
#: fill the index (MAX_ENTRIES).
PER_GROUP = 64
GROUPS = 2
#: Clock time of the fill (the records' issue time), seconds.
NOW = 1_800_000_000.0
LAYOUTS = ("distinct", "shared")


class _Tracker:
    """What the extension asks of its tracker while it registers."""

    def __init__(self):
        self.clock = Clock()
        # At NOW, not NOW after wherever a new Clock starts (the suite's
        # --clock-start moves that): the records were issued at NOW.
        self.clock.rightNow = NOW
        self.rng = random.Random(1)
        self.log = Logger()
        self.settings = LinkSettings()


class _Transport:
    def __init__(self, host):
        self._peer = IPv4Address("TCP", host, 40000)

    def getPeer(self):
        return self._peer


class _Link:
    """A seller's link as the extension sees it; a refusal is the
    benchmark's bug, so it raises."""

    def __init__(self, identity, host):
        self.peer_id = identity.id
        self.transport = _Transport(host)

    def send(self, message):
        if type(message) is not Ack:
            raise RuntimeError(f"the index refused an entry: {message!r}")

    def protocolError(self, code, info):
        raise RuntimeError(f"the index refused an entry: {code}: {info}")

    def peerLine(self, *args, **kwargs):
        pass


def itemName(layout, seller, n):
    return f"item-{seller:03d}-{n:04d}" if layout == "distinct" else f"item-{n:04d}"


def sellers(count):
    """``count`` sellers: (identity, host), PER_GROUP to each /16."""
    rng = random.Random(3)
    return [(Identity.fromRandom(rng), f"10.{1 + i // PER_GROUP}.{i % PER_GROUP}.7")
            for i in range(count)]


def frames(layout, market, items):
    """Every seller's register of each of its items, as wire bytes."""
    issued = milliseconds(NOW)
    out = []
    for number, (identity, host) in enumerate(market):
        for n in range(items):
            item = itemName(layout, number, n)
            record = signRecord(identity, item, host, 40000 + number, issued,
                                issued + 600_000)
            out.append((number, wire.encode(Register(item, record))))
    return out


def fill(links, framed):
    """A full index extension, fed every frame through its handler."""
    extension = IndexExtension(_Tracker())
    for number, data in framed:
        extension._register(links[number], wire.decode(data))
    return extension


def floor(links, framed):
    """The baseline: the same facts as decoded, in a plain dict."""
    facts = {}
    for number, data in framed:
        message = wire.decode(data)
        facts[(links[number].peer_id, message.item)] = message.record
    return facts


def _rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _traced(build):
    """(what build() returns, bytes allocated by it and still held)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        built = build()
        gc.collect()
        return built, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def measure(layout, market, items, rss=True):
    """One layout's figures; with ``rss``, the RSS growth of its first
    fill too (a later layout's fill reuses memory freed by the one
    before, so its RSS says nothing)."""
    links = [_Link(identity, host) for identity, host in market]
    framed = frames(layout, market, items)
    entries = len(framed)
    verified.cache_clear()
    gc.collect()
    grown = _rss()
    extension = fill(links, framed)
    grown = _rss() - grown
    held = sum(len(extension.index.items(link.peer_id)) for link in links)
    if held != entries:
        raise AssertionError(f"the index holds {held} entries of {entries}")
    del extension
    verified.cache_clear()
    extension, index_bytes = _traced(lambda: fill(links, framed))
    del extension
    verified.cache_clear()
    facts, floor_bytes = _traced(lambda: floor(links, framed))
    del facts
    return {"layout": layout, "entries": entries,
            "index_bytes_per_entry": round(index_bytes / entries, 1),
            "floor_bytes_per_entry": round(floor_bytes / entries, 1),
            "rss_bytes_per_entry": round(grown / entries, 1) if rss else None,
            "index_mib": round(index_bytes / 2**20, 1)}


def run(quick=False):
    """At the caps (QUICK: an eighth of the sellers, 16,384 entries)."""
    count = PER_GROUP * GROUPS // (8 if quick else 1)
    market = sellers(count)
    rows = [measure(layout, market, MAX_ITEMS_PER_NODE, rss=layout == LAYOUTS[0])
            for layout in LAYOUTS]
    worst = max(rows, key=lambda row: row["index_bytes_per_entry"])
    first = rows[0]
    value = worst["index_bytes_per_entry"]
    return [Figure("index_bytes_per_entry", value, "B", GOAL,
                   {"rows": rows, "ratio_to_floor":
                    round(value / worst["floor_bytes_per_entry"], 2)},
                   f"{worst['layout']}: {value:g} B/entry over {worst['entries']:,} "
                   f"entries (floor, a dict of the decoded records: "
                   f"{worst['floor_bytes_per_entry']:g}; RSS growth, "
                   f"{first['layout']}: {first['rss_bytes_per_entry']:g})")]


if __name__ == "__main__":
    figure, = run(os.environ.get("QUICK", "").strip() not in ("", "0"))
    print(json.dumps(figure.asJSON(), indent=2))
