"""What the tests of a sharded run's two-step build share."""

from twisted_bazaar.sim.shard import ShardSimulation


def openShards(case, config, count):
    """
    count shards of a run of config, each built (C{drawKeys}, then C{open}
    with every shard's keys) and posting the
    others (C{meet}, as a run's driver has them), none settled:
    (the shards, shard -> what their builds placed on it, in shard order).
    Each is closed when the test case is over, the last opened first: a
    shard's close puts back the signatures that were there when it
    opened (L{twisted_bazaar.sim.crypto.signatures}).
    """
    shards, received = [], {shard: [] for shard in range(count)}
    for number in range(count):
        shard = ShardSimulation(config, number, count)
        shards.append(shard)
        case.addCleanup(shard.close)
    stripes = [shard.drawKeys() for shard in shards]
    for shard in shards:
        for target, each in shard.open(stripes).items():
            received[target].extend(each)
    exchanges = [shard.exchange for shard in shards]
    for shard in shards:
        shard.meet(exchanges)
    return shards, received
