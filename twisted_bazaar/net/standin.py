"""
What may stand in a link table (L{twisted_bazaar.net.overlay.Overlay}) in
a link's place: a simulation's quiet link end, which holds what the
table's views read of a link and is made its link when a part is handed
it.  A million simulated nodes hold some six million link ends, most of
which never carry a frame: a stand-in is what they cost until one does
(L{twisted_bazaar.testing.memory.QuietEnd}).  A daemon's table holds links
only, and is a plain dict.
"""


class StandIn:
    """
    Holds a link's place in a table, answering what its views read
    (C{purpose}, C{inbound}, C{closing}, C{address}, C{transport}'s
    C{getPeer}) without being one.

    A subclass's L{full} makes the link, puts it in the stand-in's
    places (the table's entry, the table's C{since}) and returns it.
    """

    __slots__ = ()

    def full(self):
        """The link this stands in for, made now and put in its places."""
        raise NotImplementedError


class StandIns(dict):
    """
    peer id -> link or L{StandIn}: a table once it holds a stand-in.  What
    gets from it is handed a link (the stand-in made full), so a table
    handed out (the path router's, for each message relayed) hands out
    only links; its views read it as a dict (C{dict.get}, C{values}).
    """

    __slots__ = ()

    def get(self, peer_id, default=None):
        link = dict.get(self, peer_id, default)
        return link.full() if isinstance(link, StandIn) else link

    def fill(self, links):
        """links with each stand-in among them made full (a list)."""
        return [link.full() if isinstance(link, StandIn) else link for link in links]
