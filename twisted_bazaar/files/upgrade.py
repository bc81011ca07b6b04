"""
When one download's pieces move from a seller's relayed transfer
connection to a direct one: plain logic, no I/O.

A download starts at once on whatever connection the node's dialer finds
to a seller at home: through its relay, most often, while the node's
hole punch with that seller runs in the background.  When a direct link
to the seller comes up (a punched one, over TCP or UDP, or any other that
no relay carries), the download dials the seller again; the dialer then
finds the direct way first.  If the new connection is direct, the
remaining pieces move to it and the relayed one is closed, which closes
its relay's circuit (as libp2p's DCUtR upgrades a relayed connection).
If it is relayed all the same (the transfer's punch failed), it is
closed and the pieces stay where they are.

A direct connection that fails after a move gives the seller's pieces
back to it on its next connection, whichever way that goes, and the
seller is not moved again in this download: a path that comes and goes
costs one more connection, never a loop of them.  Nor is a seller dialled
again more than L{DIALS} times in one download: a seller whose link
comes and goes cannot make the buyer dial it without end.

A connection made through the relay while a direct link was up already
is the dialer's choice (the transfer's punch failed): it is not dialled
again unless a direct link comes up after its dial began.

L{Upgrades} takes the download's events (L{Upgrades.started},
L{Upgrades.connected}, L{Upgrades.directLink}, L{Upgrades.dialled},
L{Upgrades.lost}) and tells its L{IUpgradeEffects} what to do.
"""

from zope.interface import Interface

#: Dials again for a direct connection one seller gets in one download.
DIALS = 3


class IUpgradeEffects(Interface):
    """What a download does when L{Upgrades} decides."""

    def dialAgain(seller):
        """Dial seller for another transfer connection, and tell
        L{Upgrades.dialled} how it went."""

    def move(seller, client):
        """Move seller's remaining pieces to client (direct), the pieces
        under way on its relayed connection with them (what came of each
        kept), and close the relayed connection."""

    def discard(client):
        """Close client, a connection the download does not need."""


class Upgrades:
    """
    The moves of one download's sellers from relayed connections to
    direct ones.

    @ivar relayed: sellers whose transfer connection runs through a relay.
    @ivar dialling: sellers dialled again for a direct connection.
    @ivar moved: sellers whose pieces moved to a direct connection, which
        has not failed.
    @ivar settled: sellers not moved again (their direct connection
        failed after a move, or they were dialled again L{DIALS} times).
    @ivar dials: seller -> the dials again it got.
    @ivar linkedSince: sellers to whom a direct link came up while their
        transfer connection was being dialled.
    """

    def __init__(self, effects):
        self.effects = effects
        self.relayed = set()
        self.dialling = set()
        self.moved = set()
        self.settled = set()
        self.dials = {}
        self.linkedSince = set()

    def started(self, seller):
        """A transfer connection to seller is being dialled."""
        self.linkedSince.discard(seller)

    def connected(self, seller, relayed):
        """
        A transfer connection to seller is up.

        @param relayed: whether it runs through a relay.
        """
        linked = seller in self.linkedSince
        self.linkedSince.discard(seller)
        if not relayed:
            self.relayed.discard(seller)
            return
        self.relayed.add(seller)
        if linked:
            self._dial(seller)

    def directLink(self, seller):
        """A direct link to seller came up."""
        if seller in self.relayed:
            self._dial(seller)
        else:
            # Its connection, being dialled, may come through the relay.
            self.linkedSince.add(seller)

    def _dial(self, seller):
        if seller in self.dialling or seller in self.settled:
            return
        self.dials[seller] = self.dials.get(seller, 0) + 1
        if self.dials[seller] >= DIALS:
            self.settled.add(seller)
        self.dialling.add(seller)
        self.effects.dialAgain(seller)

    def dialled(self, seller, client, relayed):
        """
        The dial again for seller ended.

        @param client: the connection made, or None (it failed: the
            pieces stay on the relayed one; the next direct link tries
            again).
        @param relayed: whether client runs through a relay.
        """
        self.dialling.discard(seller)
        if client is None:
            return
        if relayed or seller not in self.relayed:
            # No better way, or the relayed connection is gone meanwhile
            # (its pieces went back among the missing).
            self.effects.discard(client)
            return
        self.relayed.discard(seller)
        self.moved.add(seller)
        self.effects.move(seller, client)

    def lost(self, seller):
        """
        seller's transfer connection (the one its pieces are on) failed.

        @return: whether it was a direct connection moved to: then its
            pieces go back to the seller, not to another, with what came
            of each, on its next connection.
        """
        self.relayed.discard(seller)
        if seller not in self.moved:
            return False
        self.moved.discard(seller)
        self.settled.add(seller)
        return True
