"""
Tests for twisted_bazaar.sim.smallrandom: a warm node's small generator.
"""

import sys
from random import Random

from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.smallrandom import SmallRandom


class SmallRandomTests(SynchronousTestCase):

    def test_splitMix64(self):
        """It is SplitMix64: seeded with 0, its first outputs are the
        reference implementation's."""
        rng = SmallRandom(0)
        self.assertEqual([rng.getrandbits(64) for _ in range(2)],
                         [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4])

    def test_sameSeedSameDraws(self):
        """A seed gives the same draws every time; another seed others."""
        def draws(seed):
            rng = SmallRandom(seed)
            items = list(range(20))
            rng.shuffle(items)
            return (rng.random(), rng.randrange(1, 2 ** 53), rng.choice("abcdef"),
                    rng.sample(range(1000), 5), items, rng.randbytes(7),
                    rng.expovariate(2.0), rng.uniform(3, 4), rng.randint(1, 6))
        self.assertEqual(draws(7), draws(7))
        self.assertNotEqual(draws(7), draws(8))

    def test_ranges(self):
        """Each method draws within its range, as random.Random's does."""
        rng = SmallRandom(3)
        for _ in range(2000):
            self.assertTrue(0.0 <= rng.random() < 1.0)
            self.assertTrue(5 <= rng.randrange(5, 9) < 9)
            self.assertTrue(rng.getrandbits(3) < 8)
            self.assertGreater(rng.expovariate(1.0), 0.0)
        self.assertEqual(rng.getrandbits(0), 0)
        self.assertEqual(len(rng.randbytes(33)), 33)
        self.assertLess(rng.getrandbits(130), 2 ** 130)
        self.assertEqual(sorted(rng.sample(range(10), 10)), list(range(10)))
        with self.assertRaises(ValueError):
            rng.getrandbits(-1)

    def test_spread(self):
        """Its floats spread over [0, 1): the mean of many is near a half,
        and every tenth of the interval is hit about as often."""
        rng = SmallRandom(11)
        draws = [rng.random() for _ in range(20000)]
        self.assertLess(abs(sum(draws) / len(draws) - 0.5), 0.01)
        tenths = [0] * 10
        for draw in draws:
            tenths[int(draw * 10)] += 1
        self.assertTrue(all(1800 < count < 2200 for count in tenths), tenths)

    def test_small(self):
        """Its point: a fraction of random.Random's size."""
        self.assertLess(sys.getsizeof(SmallRandom(1)) * 20, sys.getsizeof(Random(1)))
