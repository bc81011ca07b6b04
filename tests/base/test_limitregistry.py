"""The registry of limits: each declared once, found by name, in order."""

import gc
import math

import attr

import pytest

from twisted_bazaar.base.limitregistry import LIMITS, Limit, Registry
from twisted_bazaar.net.account import Account


def test_declaredOnceFoundByName():
    registry = Registry()
    limit = registry.declare("a.pool", 8, "things", "what a peer holds", group=2,
                             flag="--pool", owner="here")
    assert registry["a.pool"] is limit
    assert "a.pool" in registry and "b.pool" not in registry
    assert limit == Limit("a.pool", 8, "things", "what a peer holds", 2, None,
                          "--pool", "here")


def test_sameDeclarationAgainIsTheSameLimit():
    """A module imported twice (by another name, in a test) declares again."""
    registry = Registry()
    first = registry.declare("a.pool", 8, "things", "doc", owner="here")
    assert registry.declare("a.pool", 8, "things", "doc", owner="here") is first
    assert len(registry) == 1


def test_twoOwnersOfOnePoolRefused():
    registry = Registry()
    registry.declare("a.pool", 8, "things", "doc", owner="here")
    with pytest.raises(ValueError, match="declared twice: by here and by there"):
        registry.declare("a.pool", 9, "things", "doc", owner="there")


def test_walkedByName():
    registry = Registry()
    for name in ("z.pool", "a.pool", "m.pool"):
        registry.declare(name, 1, "things", "doc")
    assert [limit.name for limit in registry] == ["a.pool", "m.pool", "z.pool"]


#: Declared in the process's registry, as an account's limit must be.
POOL = LIMITS.declare("tests.limitregistry.pool", 8, "things", "doc", group=2, key=1,
                      owner=__name__)


def test_accountOfALimitTakesItsDefaults():
    account = Account.of(POOL)
    assert (account.capacity, account.group_limit, account.key_limit) == (8, 2, 1)
    assert account.limit is POOL


def test_accountOfALimitTakesTheOwnersOptions():
    account = Account.of(POOL, 16, 4, oldest_first=True)
    assert (account.capacity, account.group_limit, account.oldest_first) == (16, 4, True)


def test_unboundedLimit():
    from tests.helpers import THINGS
    account = Account.of(THINGS)
    assert account.capacity == math.inf


def test_anAccountOfNoDeclaredLimitRefused():
    """An account is built only from a limit declared in the process's
    registry: one with a capacity alone, or a limit nobody declared (even
    one equal to a declared one), is a TypeError."""
    with pytest.raises(TypeError, match="declared limit"):
        Account(8)
    with pytest.raises(TypeError, match="declared limit"):
        Account(Limit("a.pool", 8, "things", "doc"))
    with pytest.raises(TypeError, match="declared limit"):
        Account(Limit(*attr.astuple(POOL)))


def test_accountsOfALimitSeen():
    """The accounts of a limit alive in the process are found by its name,
    in the order they were built (what the operator's view shows)."""
    first, second = Account.of(POOL), Account.of(POOL)
    assert LIMITS.accounts(POOL.name)[-2:] == [first, second]
    del first
    gc.collect()
    assert second in LIMITS.accounts(POOL.name)
    assert len([a for a in LIMITS.accounts(POOL.name) if a is not second]) == \
        len(LIMITS.accounts(POOL.name)) - 1


def test_relayPoolsDeclared():
    """The relay's pools are in the process's registry, named by owner."""
    from twisted_bazaar.transports.relay import relay  # noqa: F401 (declares them)
    for name in ("relay.reservations", "relay.circuits", "relay.pending",
                 "relay.node-circuits", "relay.rate"):
        assert LIMITS[name].owner == "twisted_bazaar.transports.relay.limits"
