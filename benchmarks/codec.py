"""
codec_ratio: the project's wire codec against bare json.

The numerator is ``wire.decode(wire.encode(message))`` (attrs message to
bytes and back, with strict validation); the baseline is ``json.loads``
of ``json.JSONEncoder(separators=(",", ":")).encode(d)`` for the very
dicts those messages encode (``message.asDict()``): the same compact
text the codec sends, so both sides turn the same characters into
JSON and back (``json.dumps``'s default separators would add a space
after every comma and colon, about 10 % more text, and slow the baseline
alone).  Both loop over the same three typical messages, a search, a
reply and a buy, in alternating rounds.
"""

import json
import random
import time
from functools import partial

from twisted_bazaar.schemes.flood import messages as floodmsg
from twisted_bazaar.wire import trade
from benchmarks.harness import Figure, median, pairedRatio
from twisted_bazaar import wire
from twisted_bazaar.wire.ids import KEYED

GOAL = ("<=", 1.5)
#: The baseline's encoder: compact, as the daemons send JSON; built once,
#: as the codec's is (json.dumps with arguments builds one per call).
_compact = json.JSONEncoder(separators=(",", ":"))


def typicalMessages(rng=None):
    """A search three hops out, the reply coming back, and the buy (with
    its expiry): ids as the daemons have them (63-bit message ids; node
    ids of keys, 32 hex digits on the wire)."""
    rng = rng or random.Random(5)
    node = [KEYED | rng.getrandbits(128) for _ in range(3)]
    search_id, buy_id = rng.randrange(1, 2**63), rng.randrange(1, 2**63)
    return [
        floodmsg.Search(search_id, "apple", tuple(node), 5),
        floodmsg.Reply(search_id, "apple", tuple(reversed(node)), node[2], "127.0.0.1",
                   43121),
        trade.Buy(buy_id, "apple", tuple(node), expires=1_700_000_300_000),
    ]


def _round(encode, decode, items, loops):
    """Seconds taken to decode(encode(item)) for every item, loops times;
    the codec and json go through this same loop."""
    started = time.perf_counter()
    for _ in range(loops):
        for each in items:
            decode(encode(each))
    return time.perf_counter() - started


def run(quick=False, repeats=None, loops=None):
    """Alternate rounds of codec and json; the figure is the median of the
    rounds' time ratios."""
    repeats = repeats or (11 if quick else 21)
    loops = loops or (4_000 if quick else 10_000)
    messages = typicalMessages()
    dicts = [each.asDict() for each in messages]
    bare_encode = _compact.encode
    for each, fields in zip(messages, dicts):
        if wire.decode(wire.encode(each)) != each:
            raise AssertionError(f"the codec does not round-trip {each!r}")
        if bare_encode(fields).encode("utf-8") != wire.encode(each):
            raise AssertionError(f"the baseline's text is not the codec's for {each!r}")
    codec_round = partial(_round, wire.encode, wire.decode, messages)
    json_round = partial(_round, bare_encode, json.loads, dicts)
    codec_round(loops // 10)
    json_round(loops // 10)
    codec, bare = [], []
    for _ in range(repeats):
        codec.append(codec_round(loops))
        bare.append(json_round(loops))
    per_message = loops * len(messages)
    codec_us = median(codec) / per_message * 1e6
    json_us = median(bare) / per_message * 1e6
    return [Figure(
        "codec_ratio", pairedRatio(codec, bare), "x", GOAL,
        detail={"codec_us_per_message": round(codec_us, 3),
                "json_us_per_message": round(json_us, 3),
                "messages": [each.TYPE for each in messages],
                "text_bytes": [len(wire.encode(each)) for each in messages],
                "loops": loops, "repeats": repeats},
        note=f"encode+decode {codec_us:.2f} us/msg vs json {json_us:.2f} us/msg")]
