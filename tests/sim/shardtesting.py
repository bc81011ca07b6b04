"""What the tests of a sharded run's two-step build share."""

from twisted_bazaar.sim.shard import ShardSimulation


def openShards(config, count):
    """
    count shards of a run of config, each built (C{open}), none settled:
    (the shards, shard -> what their builds placed on it, in shard order).
    The caller closes the shards.
    """
    shards = [ShardSimulation(config, shard, count) for shard in range(count)]
    received = {shard: [] for shard in range(count)}
    for placements in [shard.open() for shard in shards]:
        for target, each in placements.items():
            received[target].extend(each)
    return shards, received
