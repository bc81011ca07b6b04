"""
Tests for L{twisted_bazaar.base.sparing}: the shared empty table, and an
owner's table made its own before it is written.
"""

import pytest

from twisted_bazaar.base.sparing import NO_MEMBERS, NOTHING, own, ownSet


class Owner:
    def __init__(self):
        self.waiting = NOTHING


def test_nothingReadsAsAnEmptyDict():
    assert len(NOTHING) == 0
    assert NOTHING.get("peer") is None
    assert "peer" not in NOTHING
    assert NOTHING.pop("peer", None) is None
    assert list(NOTHING.items()) == []
    assert not NOTHING


@pytest.mark.parametrize("write", [
    lambda table: table.__setitem__("peer", 1),
    lambda table: table.setdefault("peer", 1),
    lambda table: table.update(peer=1),
])
def test_nothingCannotBeFilled(write):
    with pytest.raises(TypeError, match="read-only"):
        write(NOTHING)
    assert len(NOTHING) == 0


def test_ownMakesATableOfTheOwnersOwn():
    one, two = Owner(), Owner()
    own(one, "waiting")["peer"] = 1
    assert one.waiting == {"peer": 1}
    assert two.waiting is NOTHING
    table = one.waiting
    own(one, "waiting")["other"] = 2
    assert one.waiting is table
    assert table == {"peer": 1, "other": 2}


class Members:
    def __init__(self):
        self.peers = NO_MEMBERS


def test_noMembersReadsAsAnEmptySet():
    assert len(NO_MEMBERS) == 0
    assert "peer" not in NO_MEMBERS
    assert NO_MEMBERS == set()
    assert NO_MEMBERS | {1} == {1}
    NO_MEMBERS.discard("peer")
    NO_MEMBERS.clear()
    NO_MEMBERS.difference_update(["peer"], {"other"})
    assert not NO_MEMBERS


def test_noMembersCannotBeFilled():
    with pytest.raises(AttributeError):
        NO_MEMBERS.add("peer")
    assert len(NO_MEMBERS) == 0


def test_ownSetMakesASetOfTheOwnersOwn():
    one, two = Members(), Members()
    ownSet(one, "peers").add("peer")
    assert one.peers == {"peer"}
    assert type(one.peers) is set
    assert two.peers is NO_MEMBERS
    assert ownSet(one, "peers") is one.peers
