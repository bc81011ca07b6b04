"""
What a wrapper forwards to the object it wraps: the names its interfaces
declare, and no other.  A wrapper that forwarded every attribute
(C{__getattr__} and C{getattr}) showed whatever the object under it had,
so a reader probing for a capability found the wrapped object's through
it (a channel's C{writeLater} through a relay's circuit): a capability is
read through an interface (L{twisted_bazaar.net.capabilities}), and a
wrapper passes on what an interface says.
"""


def declaredBy(*interfaces):
    """The names (methods and attributes) the interfaces declare, theirs
    and their bases'."""
    return frozenset(name for interface in interfaces
                     for name in interface.names(all=True))


def forward(wrapper, wrapped, name, names):
    """A wrapper's C{__getattr__}: wrapped's name if it is one of
    ``names`` (L{declaredBy}), else AttributeError, as for a name nobody
    has."""
    if name not in names or wrapped is None:
        raise AttributeError(f"{type(wrapper).__name__} has no {name!r} (it "
                             "forwards only what its interfaces declare)")
    return getattr(wrapped, name)
