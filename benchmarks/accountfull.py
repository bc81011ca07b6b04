"""
account_full_ratio: what a take costs on a full account of many address
groups, over what it costs with room.

The account is the index tracker's item index at its cap
(L{ENTRIES_LIMIT}: 131,072 units), each unit a holder of its own, the
holders spread over 50,000 address groups (two or three each).  Then
newcomers, each of a group of its own, take one unit: on the full
account each gives up a unit of the group holding the most, on the
baseline (the same holders, no bound) each simply gets its unit.  Both
run the same takes in alternating repeats, each on an account built
afresh (the building is not timed); the figure is the median of the
repeats' time ratios (CPU time).  The first take on the full account
builds its heap, and is counted.  Before the heap (issue 84) a full take copied
every group's total: about 4,000 times a take with room.
"""

import math
import time

from twisted_bazaar.net.account import Account
from twisted_bazaar.schemes.index.messages import ENTRIES_LIMIT, MAX_ENTRIES
from benchmarks.harness import Figure, median, pairedRatio

NAME = "account_full_ratio"
GOAL = ("<=", 5)
#: Address groups the holders of the full account are spread over.
GROUPS = 50_000


def filled(capacity, units=MAX_ENTRIES, groups=GROUPS):
    """An account of ``capacity`` holding ``units`` holders of one unit,
    holder n in group n modulo ``groups``."""
    account = Account.of(ENTRIES_LIMIT, capacity)
    for n in range(units):
        account.hold(n, n % groups)
    return account


def timeTakes(account, takes):
    """CPU seconds the ``takes`` newcomers' takes took (the process's:
    the machine's other work moves wall time more); each must get its
    unit, and give up one holder when the account is full."""
    victims = 0 if account.capacity == math.inf else 1
    began = time.process_time()
    for n in range(takes):
        given = account.take(("new", n), ("new", n))
        if given is None or len(given) != victims:
            raise AssertionError(f"take {n} gave up {given!r}, not {victims} holder(s)")
    return time.process_time() - began


def run(quick=False, repeats=None, takes=None, units=MAX_ENTRIES, groups=GROUPS):
    """Alternate repeats on a full account and on one with room."""
    repeats = repeats or (3 if quick else 7)
    takes = takes or (5_000 if quick else 20_000)
    if takes > units - groups:
        raise ValueError(f"{takes} takes would leave a group with less than a newcomer")
    full, room = [], []
    for _ in range(repeats):
        full.append(timeTakes(filled(units, units, groups), takes))
        room.append(timeTakes(filled(math.inf, units, groups), takes))
    full_per_s, room_per_s = takes / median(full), takes / median(room)
    return [Figure(
        NAME, pairedRatio(full, room), "x", GOAL,
        detail={"full_takes_per_s": round(full_per_s), "room_takes_per_s": round(room_per_s),
                "units": units, "groups": groups, "takes": takes, "repeats": repeats},
        note=f"{full_per_s:,.0f} takes/s on a full account of {units:,} units over "
             f"{groups:,} groups vs {room_per_s:,.0f} with room")]
