"""
Tests for L{twisted_bazaar.sim.crypto} and ``--crypto fast``: the same
protocol with cheap signatures (a run computes what a real run does, to
the byte), deterministic, and never accepted outside a simulation's run:
no daemon has the option, and none can import it (tests/test_layers.py).
"""

import random

import attr
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.identity import keys
from twisted_bazaar.sim.crypto import FastPrivateKey, fastSignatures, signatures
from twisted_bazaar.sim.runner import SimConfig, Simulation
from twisted_bazaar.tap import node as tapnode
from twisted_bazaar.tap import tracker as taptracker

SMALL = SimConfig(nodes=40, sellers=0.15, items=2, searches=20, max_time=60.0)


def simulated(config):
    """A run's metrics, without those that measure the machine or name the
    signatures."""
    metrics = Simulation(config).run()
    del metrics["wall_s"], metrics["peak_rss_mb"], metrics["config"]["crypto"]
    return metrics


def _sameMetricsAsReal(discovery, start):
    def test(self):
        """A fast run's metrics are a real run's, bytes sent included, with
        lost messages."""
        config = attr.evolve(SMALL, discovery=discovery, start=start, drop=0.02)
        where = f"{discovery}, {start}"
        real = simulated(config)
        self.assertEqual(simulated(attr.evolve(config, crypto="fast")), real, where)
        self.assertGreater(real["messages_by_type"].get("buyOK", 0), 0, where)

    return test


class SameProtocolTests(SynchronousTestCase):
    """Every scheme, cold and warm: a test each, so that a parallel run
    spreads them (one test of the eight took 57 s in a loaded full run)."""

    for _discovery in ("flood", "index", "superpeer", "chord"):
        for _start in ("cold", "warm"):
            locals()[f"test_sameMetricsAsReal_{_discovery}_{_start}"] = \
                _sameMetricsAsReal(_discovery, _start)
    del _discovery, _start

    def test_repeats(self):
        config = attr.evolve(SMALL, crypto="fast")
        self.assertEqual(simulated(config), simulated(config))


class FastSignatureTests(SynchronousTestCase):
    def test_signsAndChecksInside(self):
        with fastSignatures():
            identity = keys.Identity.fromRandom(random.Random(1))
            signature = identity.sign(b"bazaar-hello:nonce:1")
            self.assertTrue(keys.verify(identity.key, signature, b"bazaar-hello:nonce:1"))
            self.assertFalse(keys.verify(identity.key, signature, b"bazaar-hello:nonce:2"))

    def test_sameSizesAndIds(self):
        """A fast key pair has the real one's id, and its signatures the
        size of an Ed25519 signature."""
        real = keys.Identity.fromRandom(random.Random(1))
        with fastSignatures():
            fast = keys.Identity.fromRandom(random.Random(1))
        self.assertEqual((fast.key, fast.id), (real.key, real.id))
        self.assertEqual(len(fast.sign(b"x")), len(real.sign(b"x")))
        self.assertNotEqual(fast.sign(b"x"), real.sign(b"x"))

    def test_aFastPairIsItsOwnPublicKey(self):
        """A fast key pair holds its public bytes once: it is its own
        public key, whose checks take its signatures."""
        with fastSignatures():
            pair = keys.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
            public = keys.Ed25519PublicKey.from_public_bytes(pair.public_key().raw)
        self.assertIs(pair.public_key(), pair)
        public.verify(pair.sign(b"x"), b"x")

    def test_anIdentityHoldsNoFastPairUntilItSigns(self):
        """A fast key pair is its public bytes: an identity of one holds
        its class, not the pair (105 bytes of each simulated node), makes
        the pair at its first signature and keeps its signer; the
        signatures are the pair's, and check."""
        with fastSignatures():
            identity = keys.Identity.fromRandom(random.Random(4))
            self.assertIs(identity._private, FastPrivateKey)
            signature = identity.sign(b"data")
            pair = identity._signRaw.__self__
            self.assertIsInstance(pair, FastPrivateKey)
            self.assertEqual(keys.encode(pair.raw), identity.key)
            self.assertEqual(identity.sign(b"data"), signature)
            self.assertIs(identity._signRaw.__self__, pair)
            self.assertTrue(keys.verify(identity.key, signature, b"data"))

    def test_aFastPairMadeWithoutTheStrictCheck(self):
        """The pair is made from the identity's own key text, which needs
        none of the checks a stranger's text gets (keys.decode's)."""
        def refused(text):
            raise AssertionError(f"decode({text!r}) called")

        decode = keys.decode
        with fastSignatures():
            identity = keys.Identity.fromRandom(random.Random(4))
            keys.decode = refused
            try:
                signature = identity.sign(b"data")
            finally:
                keys.decode = decode
            self.assertEqual(keys.encode(identity._signRaw.__self__.raw), identity.key)
            self.assertTrue(keys.verify(identity.key, signature, b"data"))

    def test_refusedOutside(self):
        """Outside a run, a fast signature proves nothing: the real check,
        as every daemon makes it, refuses it."""
        with fastSignatures():
            fast = keys.Identity.fromRandom(random.Random(1))
            signature = fast.sign(b"data")
        self.assertFalse(keys.verify(fast.key, signature, b"data"))

    def test_realInsideIsRefused(self):
        """Inside, only fast signatures pass: a run is all one or the other."""
        real = keys.Identity.fromRandom(random.Random(1))
        signature = real.sign(b"data")
        with fastSignatures():
            self.assertFalse(keys.verify(real.key, signature, b"data"))

    def test_restoredAfterAnError(self):
        before = (keys.Ed25519PrivateKey, keys.Ed25519PublicKey)
        with self.assertRaises(RuntimeError):
            with fastSignatures():
                raise RuntimeError("a run that failed")
        self.assertEqual((keys.Ed25519PrivateKey, keys.Ed25519PublicKey), before)

    def test_leftInAnyOrder(self):
        """Two runs of one process (the shards of a Dask cluster of
        threads) that leave in the order they entered put the real
        classes back: the second did not keep the first's fast ones as
        what was there before it."""
        before = (keys.Ed25519PrivateKey, keys.Ed25519PublicKey)
        first, second = fastSignatures(), fastSignatures()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        self.assertIs(keys.Ed25519PrivateKey, FastPrivateKey)
        second.__exit__(None, None, None)
        self.assertEqual((keys.Ed25519PrivateKey, keys.Ed25519PublicKey), before)

    def test_unknownCrypto(self):
        with self.assertRaises(ValueError):
            signatures("rot13")


class DaemonTests(SynchronousTestCase):
    """The daemons cannot select fast signatures: neither has the option."""

    def test_nodeHasNoCryptoOption(self):
        options = tapnode.Options()
        self.assertNotIn("crypto", str(options))
        with self.assertRaises(UsageError):
            options.parseOptions(["--crypto", "fast"])

    def test_trackerHasNoCryptoOption(self):
        options = taptracker.Options()
        self.assertNotIn("crypto", str(options))
        with self.assertRaises(UsageError):
            options.parseOptions(["--crypto", "fast"])
