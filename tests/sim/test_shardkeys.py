"""
Tests for L{twisted_bazaar.sim.shardkeys}: the shards of a run derive
the nodes' public keys a stripe each, and build from them the identities
one process draws.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity.keys import decode, deriveId, encode, keyId, narrowedIds, verify
from twisted_bazaar.sim import crypto, shardkeys
from twisted_bazaar.sim.build import Builder
from twisted_bazaar.sim.crypto import signatures
from twisted_bazaar.sim.runner import SimConfig
from twisted_bazaar.sim.shard import ShardSimulation
from twisted_bazaar.sim.shardkeys import RunKeys, publicOf, seedsOf, stripe


def oneProcess(seeds, taken):
    """(random state after the key, id, key) of each seed, drawn as one
    process's build draws them (L{Builder.key})."""
    drawn = []
    for seed in seeds:
        rng = random.Random(seed)
        identity = Builder.key(rng, taken)
        drawn.append((rng.getstate(), identity.id, identity.key))
    return drawn


def sharded(seeds, shards, own):
    """The same, drawn by L{RunKeys} from every shard's L{stripe}, each
    node its own if own(index) (else no random state)."""
    keys = RunKeys(seeds, [stripe(seeds, shard, shards) for shard in range(shards)])
    taken, drawn = set(), []
    for index in range(len(seeds)):
        rng, identity = keys.draw(index, taken, lambda node_id: own(index))
        drawn.append((rng and rng.getstate(), identity.id, identity.key))
    return drawn


class RunKeysTests(SynchronousTestCase):
    def test_asOneProcess(self):
        """Every node's id, key and random source are one process's, on 1,
        2 or 3 shards, whether the shard holds the node or not."""
        seeds = seedsOf(random.Random(7), 11)
        expected = oneProcess(seeds, set())
        for shards in (1, 2, 3):
            self.assertEqual(sharded(seeds, shards, lambda index: True), expected)
            # Another shard's node has no source here.
            self.assertEqual(sharded(seeds, shards, lambda index: index % 2 == 0),
                             [(state if index % 2 == 0 else None, node_id, key)
                              for index, (state, node_id, key) in enumerate(expected)])

    def test_collisionDrawsAgain(self):
        """An id already taken is drawn again from the node's source, as
        one process draws it (ids narrowed to 2 bits, so they collide)."""
        seeds = seedsOf(random.Random(3), 3)
        with narrowedIds(2):
            firsts = {deriveId(publicOf(random.Random(seed).randbytes(32)))
                      for seed in seeds}
            self.assertLess(len(firsts), 3)
            expected = oneProcess(seeds, set())
            self.assertEqual(sharded(seeds, 2, lambda index: True), expected)
        self.assertEqual(len({node_id for _, node_id, _ in expected}), 3)

    def test_ownAreKeyPairs(self):
        """A node of this shard gets a key pair that signs as the run's
        signatures do (fast, or real Ed25519); another shard's only its
        key and id."""
        seeds = seedsOf(random.Random(5), 2)
        keys = RunKeys(seeds, [stripe(seeds, 0, 1)])
        with signatures("fast"):
            _, fast = keys.draw(0, set(), lambda node_id: True)
            self.assertEqual(fast.sign(b"x"),
                             encode(crypto.fastSign(decode(fast.key), b"x")))
        _, real = keys.draw(0, set(), lambda node_id: True)
        self.assertEqual(real.key, fast.key)
        self.assertTrue(verify(real.key, real.sign(b"x"), b"x"))
        self.assertNotEqual(real.sign(b"x"), fast.sign(b"x"))
        _, theirs = keys.draw(1, set(), lambda node_id: False)
        self.assertEqual(type(theirs), shardkeys.Known)
        self.assertEqual(theirs.id, keyId(theirs.key))

    def test_wrongStripe(self):
        """A stripe of another run's size is refused, saying whose."""
        seeds = seedsOf(random.Random(1), 3)
        e = self.assertRaises(ValueError, RunKeys, seeds,
                              [stripe(seeds, 0, 2), b"\0" * 64])
        self.assertEqual(str(e), "shard 1's keys are 64 bytes, not the 32 of its "
                                 "share of 3 nodes")


class DerivedOnceTests(SynchronousTestCase):
    def test_aShardDerivesItsStripe(self):
        """Drawing and building a shard of two derives the public keys of
        its stripe only, not of every node (each an Ed25519 multiplication;
        fast signatures derive none for the nodes it holds)."""
        derived = []
        real = shardkeys.Ed25519PrivateKey

        class Counted:
            @staticmethod
            def from_private_bytes(data):
                derived.append(data)
                return real.from_private_bytes(data)

        for module in (shardkeys, crypto):
            self.patch(module, "Ed25519PrivateKey", Counted)
        config = SimConfig(nodes=40, seed=1, searches=4, start="warm", crypto="fast",
                           discovery="flood", latency_ms=(10.0, 50.0))
        shards = [ShardSimulation(config, number, 2) for number in range(2)]
        stripes = [shard.drawKeys() for shard in shards]
        self.assertEqual(len(derived), 40)
        del derived[:]
        shard = shards[0]
        self.addCleanup(shard.close)
        shard.open(stripes)
        self.assertEqual(derived, [])
        self.assertTrue(0 < len(shard.nodes) < 40)
