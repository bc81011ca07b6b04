"""
One shard of a sharded run (``bazaar-sim --shards N``): the nodes placed
on it, on a clock of its own (L{ShardClock}) and a network whose
connections may end on other shards (L{ShardNetwork}), run window by
window, each window's messages handed straight to the shards they are for
(L{twisted_bazaar.sim.exchange}).

What a sharded run supports so far is checked by L{refusal}: a warm start
of any scheme on a generated graph, without faults, crashes, adversaries
or NAT, with a positive minimum latency (the lookahead of the windows).
"""

import contextlib
import gc
import time

from twisted_bazaar.sim.crypto import signatures
from twisted_bazaar.sim.exchange import Exchange, lookahead
from twisted_bazaar.sim.logs import beginQuietLogging
from twisted_bazaar.sim.metrics import peakRssMB, tally
from twisted_bazaar.sim.runner import Simulation
from twisted_bazaar.sim.shardbuild import ShardBuilder, contextOf
from twisted_bazaar.sim.shardclock import ShardClock
from twisted_bazaar.sim.shardnet import ShardNetwork
from twisted_bazaar.sim.shardstream import Streams, connect, listen

#: Whether this process drops the nodes' log events already.
_quiet = False
#: The schemes a sharded run supports so far.
SHARDED_SCHEMES = ("flood", "index", "chord", "superpeer")
#: Seconds a shard waits for its peers' streams to connect (L{dial}).
DIAL_WAIT_S = 300.0


def refusal(config):
    """Why a L{SimConfig} cannot run sharded yet (one line), or None."""
    if config.start != "warm":
        return "--shards runs a warm start only so far: add --start warm"
    if config.discovery not in SHARDED_SCHEMES:
        return (f"--shards runs the {', '.join(SHARDED_SCHEMES)} schemes so far, "
                f"not --discovery {config.discovery}")
    for flag, value in (("--drop", config.drop), ("--dup", config.dup),
                        ("--reorder", config.reorder), ("--kill", config.kill),
                        ("--adversaries", config.adversary), ("--nat", config.nat)):
        if value:
            return f"--shards does not run {flag} yet"
    if config.latency_ms[0] <= 0:
        return ("--shards needs a positive minimum --latency-ms: it is the lookahead "
                "the shards run alone for")
    return None


class ShardSimulation(Simulation):
    """
    The part of a run one shard holds, built (L{drawKeys}, L{open},
    L{settle}), run a window at a time (L{step}) or a second of windows
    alone with its peers (L{runSecond}), and counted (L{tally}).
    """

    def __init__(self, config, shard, shards):
        """
        @raise ValueError: for a run not sharded yet (L{refusal}).
        """
        why = refusal(config)
        if why is not None:
            raise ValueError(why)
        super().__init__(config)
        low, high = config.latency_ms
        self.clock = ShardClock(config.nodes + 1)
        self.network = ShardNetwork(self.clock, config.seed, (low / 1000.0, high / 1000.0),
                                    shard, None, contextOf)
        self.builder = ShardBuilder(self, shard, shards)
        self.shard = shard
        #: Where this shard is in the run's windows, and its peers.
        self.exchange = Exchange(shard, shards, lookahead(config), now=time.perf_counter)
        self._stack = contextlib.ExitStack()
        self._started = None
        #: What the build places on other shards, until L{open} returns it.
        self._placements = None
        #: Wall seconds spent building and running windows (not waiting).
        self._busy = 0.0
        #: CPU seconds of the thread of this shard's calls (L{_cpu}).
        self._cpu = 0.0
        #: Where the streams of the shards above this one call (L{listen}).
        self._listener = None

    def drawKeys(self):
        """Every node's seed drawn and this shard's stripe of their public
        keys derived (L{ShardBuilder.drawKeys}): bytes, for every shard's
        L{open}."""
        self._started = time.perf_counter()
        with self._counted():
            stripe = self.builder.drawKeys()
        self._busy = time.perf_counter() - self._started
        return stripe

    def build(self, stripes):
        """This shard's part built (L{ShardBuilder.build}) from every
        shard's L{drawKeys}; what it places on other shards kept for
        L{open} to return."""
        self._placements = self.builder.build(stripes)

    def open(self, stripes, quiet=False):
        """
        Build this shard's part, given every shard's L{drawKeys} in shard
        order, with the run's signatures (until L{close}): shard -> what
        the build places on that shard's nodes, for its L{settle}.

        @param quiet: the process is a shard's own (a Dask worker's):
            drop the nodes' log events, as C{bazaar-sim} does
            (L{beginQuietLogging}).
        """
        global _quiet
        if quiet and not _quiet:
            _quiet = True
            beginQuietLogging()
        began = time.perf_counter()
        with self._counted():
            self._stack.enter_context(signatures(self.config.crypto))
            self.collector.frozen(self.build, stripes)
        placements, self._placements = self._placements, None
        self._busy += time.perf_counter() - began
        return placements

    @contextlib.contextmanager
    def _counted(self):
        """The CPU time of this thread in the block, counted as this
        shard's: what its work and its waits cost, without the worker's
        own (a Dask worker's event loop, its heartbeats)."""
        began = time.thread_time()
        try:
            yield
        finally:
            self._cpu += time.thread_time() - began

    def meet(self, peers):
        """Every shard's L{Exchange} of this process, in shard order, to
        post its messages to (L{Exchange.meet})."""
        self.exchange.meet(peers)

    def listen(self, host):
        """Listen for the streams of the shards numbered above this one, on
        host (this shard's worker's): the (host, port) for their L{dial}."""
        self._listener = listen(host)
        return self._listener.getsockname()[:2]

    def dial(self, addresses):
        """
        This shard's streams to every other (L{twisted_bazaar.sim.
        shardstream}), given every shard's L{listen} in shard order: its
        posts go on them.
        """
        listener, self._listener = self._listener, None
        streams = connect(self.shard, listener, addresses, DIAL_WAIT_S)
        self.exchange.join(Streams(self.shard, streams))

    async def abort(self, why):
        """Give the run up: a window waiting for its peers raises why.  A
        coroutine, so that a Dask worker runs it on its event loop while
        this actor's thread waits in L{runSecond}."""
        self.exchange.abort(why)

    def settle(self, placements):
        """
        Take what every shard's build placed here (L{open}), and so finish
        the build; post the peers what the build sent them, for the first
        window.
        """
        began = time.perf_counter()
        with self._counted():
            self.collector.frozen(self.builder.settle, placements)
            self.exchange.hand(self.network.takeOutbox(), self.clock.nextTime())
        self._busy += time.perf_counter() - began

    def step(self):
        """
        Run one window (L{Exchange.step}): (whether it ended at a whole
        second, whether every buyer here is done, purchases, windows run);
        the buyers counted only at a whole second, where the run is
        checked (L{twisted_bazaar.sim.windows}), else None and None.
        """
        with self._counted():
            at_second = self.exchange.step(self._window)
            if not at_second:
                return (False, None, None, self.exchange.window)
            return (True, self.done(), self.purchases(), self.exchange.window)

    def runSecond(self):
        """The windows up to the next whole second, run alone with the
        peers (L{step}); what the last says."""
        while True:
            answer = self.step()
            if answer[0]:
                return answer

    def _window(self, end, messages, second):
        """
        Take the messages other shards sent here, run every entry due
        before end, and say what crossed: (shard -> the messages for it,
        when the next entry here is due or None).

        @param second: whether end is a whole virtual second: what is due
            at it runs in this window, and the run's collector is settled
            (L{Collector.settle}) then, as a single process's
            C{runFor(1.0)} does before the run is checked.
        """
        began = time.perf_counter()
        self.network.receive(messages)
        self.clock.runUntil(end, inclusive=second)
        if second:
            self.collector.settle(self.clock.seconds())
        answer = self.network.takeOutbox(), self.clock.nextTime()
        self._busy += time.perf_counter() - began
        return answer

    def tally(self):
        """This shard's L{tally}, and its own figures (under ``shard``)."""
        counted = tally(self)
        counted["shard"] = {
            "shard": self.shard,
            "nodes": len(self.nodes),
            "events": self.clock.events,
            "messages_to_other_shards": self.network.crossing[0],
            "bytes_to_other_shards": self.network.crossing[1],
            "wall_s": round(time.perf_counter() - self._started, 3),
            "busy_s": round(self._busy, 3),
            "cpu_s": round(self._cpu, 3),
            "waiting_s": round(self.exchange.waited, 3),
            "peak_rss_mb": peakRssMB(),
        }
        return counted

    def close(self):
        """The run's signatures put back, the collector as it was, the
        streams closed."""
        self._stack.close()
        self.exchange.close()
        if self._listener is not None:
            self._listener.close()
        gc.unfreeze()
