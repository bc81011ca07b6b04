"""
The key pairs of a sharded run's nodes, each derived by one shard.

Every shard must know every node's id: a node is placed by its id
(L{twisted_bazaar.sim.shardbuild.shardOf}), and a link to another
shard's node names its key.  An id is the hash of a public key, and
deriving the public key from a node's private bytes is an Ed25519
multiplication (about 50 µs): at 200,000 flood nodes, each shard
deriving every node's took about 10 s of its CPU, where one process
takes that once (docs/simulator.md, "The thirteenth round").  So each
shard derives the public keys of one stripe of the nodes (L{stripe}:
node numbers ``shard``, ``shard + shards``, ...), the run's driver hands
every stripe to every shard (L{twisted_bazaar.sim.windows}), and each
builds from them (L{RunKeys}) the identities one process draws: the same
private bytes from the same seeds, the same ids, the same redraw of an
id already taken.
"""

import random
from array import array

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from twisted_bazaar.identity import keys
from twisted_bazaar.identity.keys import Identity, deriveId, encode
from twisted_bazaar.sim.crypto import KEY_BYTES, FastPrivateKey

#: Bytes of a node's private key, as L{Identity.fromRandom} draws them.
PRIVATE_BYTES = 32


def seedsOf(source, count):
    """The seeds of count nodes' random sources, drawn from source in
    order, as one process's build draws them (C{getrandbits(64)} each)."""
    return array("Q", [source.getrandbits(64) for _ in range(count)])


def publicOf(private):
    """The real public key (raw bytes) of Ed25519 private bytes, whatever
    signatures the run makes (a fast run's nodes have their real ids)."""
    return (Ed25519PrivateKey.from_private_bytes(private).public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def stripe(seeds, shard, shards):
    """The public keys of node numbers shard, shard + shards, ... (their
    first draw), one after the other: the part of the run's keys this
    shard derives."""
    return b"".join(publicOf(random.Random(seed).randbytes(PRIVATE_BYTES))
                    for seed in seeds[shard::shards])


class Known:
    """What a shard knows of another shard's node's key pair: its public
    key (text) and id, as a L{Stub <twisted_bazaar.sim.shardbuild.Stub>}
    reads them."""

    __slots__ = ("key", "id")

    def __init__(self, key, node_id):
        self.key = key
        self.id = node_id


class RunKeys:
    """Every node's seed and first public key (L{stripe}s): the identities
    of a run's nodes (L{draw})."""

    def __init__(self, seeds, stripes):
        """
        @param stripes: every shard's L{stripe}, in shard order.
        @raise ValueError: for a stripe of the wrong length (a shard of
            another run's size).
        """
        count = len(stripes)
        for shard, part in enumerate(stripes):
            want = len(range(shard, len(seeds), count)) * KEY_BYTES
            if len(part) != want:
                raise ValueError(f"shard {shard}'s keys are {len(part)} bytes, not the "
                                 f"{want} of its share of {len(seeds)} nodes")
        self._seeds = seeds
        self._stripes = stripes
        #: The private bytes of the last source drawn (L{_drawn}).
        self._private = None

    def draw(self, index, taken, own):
        """
        Node number index's identity, whose id is not in taken (now
        taken), and its random source as its key's draw leaves it: a key
        pair and the source if own(its id) (this shard holds the node),
        else what is L{Known} of it and None (a source is a Mersenne
        Twister seeded anew, 10 µs a node, which only a node built here
        draws on).
        """
        count = len(self._stripes)
        at = index // count * KEY_BYTES
        raw = self._stripes[index % count][at:at + KEY_BYTES]
        node_id = deriveId(raw)
        if node_id in taken:
            # Two keys whose ids collide: the second draws again, as
            # L{twisted_bazaar.sim.build.Builder.key} has it.
            rng = self._drawn(index)
            identity = Identity.fromRandom(rng)
            while identity.id in taken:
                identity = Identity.fromRandom(rng)
            taken.add(identity.id)
            return rng if own(identity.id) else None, identity
        taken.add(node_id)
        if not own(node_id):
            return None, Known(encode(raw), node_id)
        rng = self._drawn(index)
        return rng, Identity(_pair(self._private, raw))

    def _drawn(self, index):
        """Node number index's source, its first key drawn (kept as
        C{_private})."""
        rng = random.Random(self._seeds[index])
        self._private = rng.randbytes(PRIVATE_BYTES)
        return rng


def _pair(private, raw):
    """The key pair of private bytes whose public key is raw: the run's
    signatures' (L{twisted_bazaar.sim.crypto}), a fast one made from raw
    without deriving it again."""
    if keys.Ed25519PrivateKey is FastPrivateKey:
        return FastPrivateKey(raw)
    return keys.Ed25519PrivateKey.from_private_bytes(private)
