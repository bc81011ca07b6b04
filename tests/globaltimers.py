"""
A pytest plugin that fails a test which leaves a timer in the global
reactor, and cancels the timer.

Unit tests schedule on a C{task.Clock} they own; a timer in the global
reactor outlives its test and fires in whichever later test runs the
reactor.  A Site built without its own clock left twisted.web's idle
timeout of a fake connection there: a minute on, a later test running
the reactor fired it, which scheduled C{HTTPChannel.forceAbortClient},
and trial failed that later test for a dirty reactor (seen once in four
runs of ``make test``), a test with nothing to find.  Here the test that
left it fails, by name.
"""

import sys

import pytest

#: The module a test imports to use the global reactor: read, never
#: imported here (importing it installs the default reactor).
REACTOR = "twisted.internet.reactor"


def pendingCalls(modules=sys.modules):
    """The global reactor's pending timers; none if no test imported it."""
    reactor = modules.get(REACTOR)
    if reactor is None:
        return frozenset()
    return frozenset(call for call in reactor.getDelayedCalls() if call.active())


def leftBehind(before, after):
    """A one-line account of the timers in after but not before, each
    cancelled (None when there are none)."""
    left = [call for call in after if call not in before]
    if not left:
        return None
    # Named before they are cancelled: a cancelled call forgets its func.
    names = sorted(getattr(call.func, "__qualname__", repr(call.func)) for call in left)
    for call in left:
        call.cancel()
    return (f"the test left {len(left)} timer(s) in the global reactor, cancelled now: "
            f"{', '.join(names)} (schedule on a clock the test owns)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # After the fixtures' setup: a module's fixture may keep its timers
    # for the module's tests.  A TestCase's setUp runs in the call.
    item.stash[_BEFORE] = pendingCalls()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    before = item.stash.get(_BEFORE, frozenset())
    account = leftBehind(before, pendingCalls())
    if account is not None:
        raise AssertionError(account)
    return result


_BEFORE = pytest.StashKey()
