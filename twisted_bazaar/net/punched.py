"""
The connections punched to the peers of a node's inbound relayed links,
not yet connected (L{PunchedLinks}): each takes its shared link's place
once its handshake is done (the duplicate rule), so it needs no slot of
its own.  Else a full node evicted an honest link for each punch of a
stranger linked through its relay (whose own slot stayed as it was), or
refused an honest peer's punched link.

It holds a punch in flight, link to link, not a fact of how a peer is
reached: an entry lasts from the punch's dial to its connection (or the
shared link's loss), and what a punch met that can be dialled again, a
UDP path, is the book of paths' (L{twisted_bazaar.reach.book}).
"""


class PunchedLinks:
    """inbound shared link -> the link of a connection punched to its
    peer; an entry goes once that link connects or the shared one is
    lost."""

    __slots__ = ("_punched",)

    def __init__(self):
        self._punched = {}

    def expect(self, shared, link):
        """link is the connection punched to shared's peer."""
        self._punched[shared] = link

    def takesAPlace(self, link, linkTo):
        """Whether link, inbound and connected now, is the connection
        punched to the peer of a shared link still established (the one
        ``linkTo(peer id)`` gives): it takes that link's place."""
        punched = self._punched
        for shared, each in punched.items():
            if each is link:
                del punched[shared]
                return (not shared.closing and shared.peer_id is not None
                        and linkTo(shared.peer_id) is shared)
        return False

    def forget(self, shared):
        """shared is lost: no punched connection takes its place."""
        self._punched.pop(shared, None)
