"""
L{Recent}: the last few of something a node remembers about its peers,
bounded however many keys or addresses a peer spends.
"""

from collections import OrderedDict


class Recent:
    """A set of at most ``limit`` members, the oldest forgotten first
    (adding one again makes it the newest)."""

    def __init__(self, limit):
        self.limit = limit
        self._members = OrderedDict()

    def add(self, member):
        """Remember member, as the newest."""
        self._members.pop(member, None)
        self._members[member] = True
        if len(self._members) > self.limit:
            self._members.popitem(last=False)

    def discard(self, member):
        """Forget member, if remembered."""
        self._members.pop(member, None)

    def __contains__(self, member):
        return member in self._members

    def __iter__(self):
        return iter(self._members)

    def __len__(self):
        return len(self._members)
