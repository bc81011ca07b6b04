"""
Tables a large simulation holds a million of, most of them empty: one
shared empty table stands in for each until something is put in it.

An empty dict is 64 bytes; a chord node and its link table hold seven
that are nearly always empty (the pings it awaits, the links in their
handshake...), 448 bytes of each of a million nodes.  L{NOTHING} reads
as an empty dict (``get``, ``in``, ``pop`` with a default, iteration),
and refuses to be written: an owner puts a dict of its own in its place
first (L{own}), so no owner can fill every other's.
"""


class _Nothing(dict):
    """An empty dict that cannot be filled."""

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("the shared empty table is read-only: own() a table first")

    __setitem__ = setdefault = update = __ior__ = _refuse

    def __repr__(self):
        return "NOTHING"


#: The shared empty table.
NOTHING = _Nothing()


def own(owner, name):
    """owner's table called name, made its own (a new dict in the place
    of L{NOTHING}) so that it can be written."""
    table = getattr(owner, name)
    if table is NOTHING:
        table = {}
        setattr(owner, name, table)
    return table
