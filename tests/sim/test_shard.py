"""
Tests for L{twisted_bazaar.sim.shard}: a sharded run gives the same
metrics with 1, 2 or 4 shards (wall time, memory and the shards' own
figures aside), in this process (L{runLocal}) and as Dask actors on a
cluster of threads in this process.
"""

import attr
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.sim.runner import SimConfig
from twisted_bazaar.sim.shard import ShardSimulation, refusal
from twisted_bazaar.sim.windows import Windows, merged, runLocal
from tests.sim.shardtesting import openShards

INDEX = SimConfig(nodes=60, discovery="index", start="warm", crypto="fast",
                  searches=20, seed=3)


def comparable(metrics):
    """The metrics a sharded run must give alike on any number of shards."""
    return {key: value for key, value in metrics.items()
            if key not in ("wall_s", "peak_rss_mb", "shards")}


class SameMetricsTests(SynchronousTestCase):
    def assertSameOnShards(self, config, counts):
        runs = {count: runLocal(config, count) for count in counts}
        first = comparable(runs[counts[0]])
        self.assertEqual(first["purchases"], config.searches)
        for count in counts[1:]:
            self.assertEqual(comparable(runs[count]), first, f"{count} shards")
            each = runs[count]["shards"]["each"]
            self.assertEqual(len(each), count)
            self.assertEqual(sum(shard["nodes"] for shard in each), config.nodes)
            self.assertTrue(all(shard["messages_to_other_shards"] for shard in each))

    def test_index(self):
        """60 nodes of the index, warm: the same metrics on 1, 2 and 4
        shards, every purchase made."""
        self.assertSameOnShards(INDEX, [1, 2, 4])

    def test_flood(self):
        """A flood, where every search crosses the shards: the same on 1
        and 3 shards."""
        self.assertSameOnShards(attr.evolve(INDEX, discovery="flood", nodes=40,
                                            searches=10), [1, 3])

    def test_chord(self):
        """A chord ring, whose records each seller's shard places on the
        shards of their holders, and whose lookups and finger links cross
        the shards: the same on 1, 2 and 4 shards, every purchase made."""
        self.assertSameOnShards(attr.evolve(INDEX, discovery="chord", nodes=50,
                                            searches=15), [1, 2, 4])

    def test_superpeer(self):
        """Super-peers, whose leaves' registrations each leaf's shard
        places on its super-peers' shards, and whose queries flood among
        the super-peers across the shards: the same on 1, 2 and 4 shards."""
        self.assertSameOnShards(attr.evolve(INDEX, discovery="superpeer"), [1, 2, 4])

    def test_onDaskActors(self):
        """The shards as Dask actors (a cluster of threads in this process)
        give what they give in this process."""
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            actors = [client.submit(ShardSimulation, INDEX, shard, 2, actor=True,
                                    workers=[address]).result()
                      for shard, address in enumerate(sorted(cluster.workers[w].address
                                                             for w in cluster.workers))]
            tallies = Windows(INDEX, actors, hosts=["127.0.0.1"] * 2).run()
        self.assertEqual(comparable(merged(INDEX, tallies, 0.0, "dask")),
                         comparable(runLocal(INDEX, 1)))


class StepTests(SynchronousTestCase):
    def test_buyersCountedAtSeconds(self):
        """A window that does not end at a whole second counts no buyers
        (the run is checked only at seconds): its answer says None for
        both; the window that ends the second counts them."""
        shards, received = openShards(self, INDEX, 2)
        counted = []
        for number, shard in enumerate(shards):
            shard.settle(received[number])
            shard.purchases = lambda number=number: counted.append(number) or 0
        answers = []
        while not answers or not answers[-1][0][0]:
            answers.append([shard.step() for shard in shards])
        self.assertGreater(len(answers), 1)
        for each in answers[:-1]:
            self.assertEqual([answer[:3] for answer in each], [(False, None, None)] * 2)
        self.assertEqual([answer[:3] for answer in answers[-1]], [(True, False, 0)] * 2)
        self.assertEqual(counted, [0, 1])


class RefusalTests(SynchronousTestCase):
    def test_refused(self):
        """What a sharded run does not run yet is said in one line."""
        for config, words in [(attr.evolve(INDEX, start="cold"), "--start warm"),
                              (attr.evolve(INDEX, nat=0.5), "--nat"),
                              (attr.evolve(INDEX, drop=0.1), "--drop"),
                              (attr.evolve(INDEX, latency_ms=(0.0, 5.0)), "lookahead")]:
            why = refusal(config)
            self.assertIn(words, why)
            self.assertNotIn("\n", why)
            self.assertRaises(ValueError, ShardSimulation, config, 0, 2)
        self.assertIsNone(refusal(INDEX))
