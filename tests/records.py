"""
Signed discovery records for tests: key pairs drawn from a seed (so a
test's ids are stable), records signed by them, and a hypothesis strategy
of records for the codec tests (well formed; their signatures need not
hold there).
"""

import functools
import random

import attr
from hypothesis import strategies as st

from twisted_bazaar.core.market import Offer
from twisted_bazaar.core.records import MAX_MS, Record, signRecord
from twisted_bazaar.identity.keys import Identity

#: A SHA-256, for records of files.
SHA = "ab" * 32


#: id -> the key pair of that id that L{identity} drew.
_drawn = {}


@functools.lru_cache(maxsize=None)
def identity(seed):
    """The key pair drawn from ``seed``: the same one in every test."""
    drawn = Identity.fromRandom(random.Random(seed))
    _drawn[drawn.id] = drawn
    return drawn


def remember(identity):
    """Have L{identityOf} know a key pair made elsewhere (a documented
    example's)."""
    _drawn[identity.id] = identity


def identityOf(node_id):
    """
    The key pair of a key's id that L{identity} drew, for a helper that
    links a peer of that id (which must name its key).

    @raise LookupError: for an id no key drawn here has.
    """
    try:
        return _drawn[node_id]
    except KeyError:
        raise LookupError(f"no key of id {node_id:x} was drawn by tests.records: "
                          "give the test's peer a key from there") from None


def signed(who, item="apple", host="h", port=9001, issued=None, lifetime=600.0,
           file=None, lan=None):
    """``who``'s (an Identity, or a seed) record of item, issued at
    ``issued`` ms (where the tests' clocks start if not given), for
    ``lifetime`` seconds (0: a withdrawal); ``file``: (size, sha256,
    transfer) of a shared file; ``lan``: a LAN-only seller's mark."""
    who = identity(who) if isinstance(who, int) else who
    if issued is None:
        from tests.helpers import clockStartMs  # tests.helpers imports this module

        issued = clockStartMs()
    described = dict(zip(("size", "sha256", "transfer"), file)) if file else None
    return signRecord(who, item, host, port, issued, issued + round(lifetime * 1000),
                      described, lan=lan)


def forged(record, **changes):
    """A record changed after its seller signed it: its signature no
    longer holds."""
    return attr.evolve(record, **changes)


def offerOf(record, buyer=9):
    """The offer a buyer's scheme makes of a record."""
    return Offer(record.seller, (buyer, record.seller), record.host, record.port,
                 record.size, record.sha256, record.transfer or 0, record)


#: A plain record as the codec writes it (its signature is made up).
PLAIN = Record("pear", 3, "h", 9001, 1000, 601000, "k" * 43, "s" * 86)
#: Its wire form.
PLAIN_WIRE = {"item": "pear", "seller": "3", "host": "h", "port": 9001, "issued": 1000,
              "expires": 601000, "key": "k" * 43, "sig": "s" * 86}

_b64 = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
               min_size=1, max_size=1)


def records(items=st.text(min_size=1, max_size=32), sellers=st.integers(0, 2**31 - 1)):
    """A strategy of well-formed records."""
    files = st.none() | st.tuples(st.integers(0, 2**53), st.just(SHA),
                                  st.integers(1, 65535))
    return st.builds(
        lambda item, seller, host, port, issued, expires, key, sig, file: Record(
            item, seller, host, port, issued, expires, key, sig,
            *(file or (None, None, None))),
        items, sellers, st.text(max_size=20), st.integers(0, 65535),
        st.integers(0, MAX_MS), st.integers(0, MAX_MS),
        st.lists(_b64, min_size=43, max_size=43).map("".join),
        st.lists(_b64, min_size=86, max_size=86).map("".join), files)
