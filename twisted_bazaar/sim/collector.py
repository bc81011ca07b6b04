"""
Python's collector kept out of a run's way (L{Collector}): a build makes
millions of objects that live as long as the run, and a collector that
scans them all each time the heap grows by a quarter took a fifth of a
10,000-node run.  Nothing a run computes depends on when the collector
runs.
"""

import gc

#: Virtual seconds at least between two full collections of a run's
#: objects, and how much what is frozen must have grown since the last
#: (see L{Collector.settle}).
FULL_COLLECTION = 30.0
FULL_GROWTH = 1.25


class Collector:
    """What one run (or one shard of it) has frozen, and when it next
    collects in full."""

    def __init__(self):
        #: Clock time of the run's next full collection (L{settle}), if
        #: what is frozen has grown enough by then.
        self._next_full = FULL_COLLECTION
        #: Objects frozen after the build or the last full collection.
        self._frozen = 0

    def frozen(self, build, *args):
        """
        build(*args) with the collector kept out of it, and what it made
        frozen (L{gc.freeze}) until the run is over: the objects of a
        build live as long as the run, and what the run makes is
        collected as usual.
        """
        enabled = gc.isenabled()
        gc.disable()
        try:
            build(*args)
        finally:
            if enabled:
                gc.enable()
        gc.freeze()
        self._frozen = gc.get_freeze_count()

    def settle(self, now):
        """
        After each virtual second (now, the clock's time), keep what the
        run made and still holds out of the collector's way, as the
        build's is (L{frozen}): the young generations are collected (their
        garbage is not kept), and what lives on is frozen.  A cold run
        makes most of its objects as it goes (links, records, the ring's
        state), and the collector, which scans every object it tracks each
        time they grow by a quarter, took a quarter of a cold 10,000-node
        chord run so (19 full collections, 12 s of 67).  Everything is
        collected in full, so that the cycles that died while frozen are
        freed, once what is frozen has grown by a quarter (L{FULL_GROWTH})
        since the build or the last full collection, as Python's own rule
        has it for its oldest generation, and at most every
        L{FULL_COLLECTION} virtual seconds.  A warm run makes few objects
        that last: a warm flood run of 100,000 nodes froze 5.37 million in
        its build, and a full collection of them took 3.4 s of CPU and
        freed 632.
        """
        gc.collect(1)
        if now >= self._next_full:
            self._next_full = now + FULL_COLLECTION
            # Counted here only: counting walks every frozen object.
            if gc.get_freeze_count() >= self._frozen * FULL_GROWTH:
                gc.unfreeze()
                gc.collect()
                gc.freeze()
                self._frozen = gc.get_freeze_count()
        gc.freeze()
