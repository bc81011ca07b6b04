"""
A daemon's heap as its garbage collector sees it: what the daemon made
while it started (its modules, plugins, parts and services, some fifty
thousand objects that live as long as it does) is frozen out of every
later collection once it runs, so that each full collection, which
Python makes every time the objects that stay grow by a quarter, scans
only what came since.  On the purchase benchmark's seller that took
each full collection's pause from about 40 ms to about 22
(docs/benchmarks.md, "A new machine's bound, and the collector's
pauses").  What the start left that later becomes garbage in a cycle is
never freed: a few objects, once.
"""

import gc


def freezeStart(options, reactor):
    """
    Under twistd (its options the parent of the daemon's), once the
    reactor runs and every startup call has been made, freeze what the
    start left (after one full collection of its garbage).  A daemon's
    service built in another process (a test's) leaves its heap alone.
    """
    if getattr(options, "parent", None) is not None:
        reactor.callWhenRunning(reactor.callLater, 0, _freeze)


def _freeze():
    gc.collect()
    gc.freeze()
