"""
A download's moves from a seller's relayed transfer connection to a
direct one, as L{twisted_bazaar.files.upgrade.Upgrades} decides them.

A download starts at once on whatever way the node's dialer finds to a
seller (through its relay, for a seller at home), while the node's hole
punch with the seller runs in the background.  When a direct link to the
seller comes up (the punched link that replaces the relayed one, over
TCP or UDP: the node's C{linkAdded} or C{linkReplaced}), the seller is
dialled again; if that connection is direct, the seller's pieces move to
it: those under way on the relayed one go back among the missing, what
came of the first kept (L{Pieces.handingOver}), and are asked of the
seller on the direct one, from where they stopped; the relayed one is
closed, and its circuit with it.  Nothing is fetched twice; every piece
is checked against its hash as before.

While a punch with a plan runs with the seller (its dialer's
L{punchRuns <twisted_bazaar.reach.dialer.Dialer.punchRuns>}: a TCP punch
under way, the probes of a UDP punch the tracker said go for, the
UDP punch a node not yet told by the tracker's check what its router
does asked at once, its check or ask out, or the QUIC link this node
dials over the path a UDP punch met), or the
direct connection it brought is dialled, a relayed connection is held
to a taste (L{Moves.holds}): the first L{TASTE} bytes of its first
piece, so that the file's first byte comes at once, and nothing more,
for L{HOLD} seconds at most, until the punch met (the rest moves) or
failed (the rest comes through the relay).  Before, the relay carried
what it could until the move: 1.5 to 1.8 MB of a 64 MiB `bazaar buy` at
a public node's 256 KiB/s (natbed, issue 85), where the goal allows 64
KiB.  A punch to follow a TCP one, refused or with no plan (two
random-port routers) holds nothing: held while one was still
to follow, a relayed file between two such homes came at 0.57 to 0.72 of
the relay's rate (tests/e2e/test_relay_pace_live.py), where no punch
could meet.
"""

from twisted.internet import defer, task
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.files.upgrade import IUpgradeEffects, Upgrades
from twisted_bazaar.net.capabilities import IRelayedTransport
from twisted_bazaar.wire.ids import shortId


#: Bytes a relayed connection brings while the punch with its seller may
#: still replace it: the first byte at once, well within the goal's 64
#: KiB through relays with the link's and the transfer's own messages.
TASTE = 16 * 1024
#: Seconds at most a seller's relayed connection is held to its taste:
#: a punch met 5 to 7 s after the relayed link came up (natbed), then the
#: direct connection is dialled; one that fails does so at once or within
#: its own 10 s, and a birthday punch that met silence is asked again at
#: once and runs 10 s more (its host's room for one more punch:
#: L{twisted_bazaar.reach.punch.probebudget}), round trips and the ask's
#: slack between.
HOLD = 24.0
#: Seconds between two looks at whether the punch still runs.
LOOK = 0.25


def throughRelay(transport):
    """Whether a connection's transport runs through a relay's circuit."""
    return transport is not None and IRelayedTransport(transport, None) is not None


@implementer(IUpgradeEffects)
class Moves:
    """
    The moves of one L{Download}'s sellers to direct connections.

    @ivar upgrades: the L{Upgrades} that decides them.
    @ivar relayedClients: seller -> its transfer clients that ran through
        a relay, for the bytes they brought (L{relayedBytes}).
    @ivar movedAfter: seller -> seconds after the download started that
        its pieces moved to a direct connection.
    """

    log = Logger()

    def __init__(self, download):
        self.download = download
        self.upgrades = Upgrades(self)
        self.relayedClients = {}
        self.movedAfter = {}
        #: seller -> when its relayed connection was first held.
        self.heldSince = {}
        #: The look under way (a Deferred the download owns), or None.
        self._look = None

    # -- what the download tells ------------------------------------------------------

    def started(self, seller):
        """A transfer connection to seller is being dialled."""
        self.upgrades.started(seller)

    def connected(self, seller, client):
        """A transfer connection to seller is up, and its pieces go on it."""
        relayed = throughRelay(client.transport)
        if relayed:
            self.relayedClients.setdefault(seller, []).append(client)
        self.upgrades.connected(seller, relayed)

    def linkUp(self, peer_id):
        """A link to peer_id came up, or replaced the one there was."""
        if self.directLink(peer_id):
            self.upgrades.directLink(peer_id)

    def directLink(self, peer_id):
        """Whether the node's link to peer_id is up and no relay carries it."""
        link = self.download.fetcher.node.links.get(peer_id)
        return link is not None and not throughRelay(link.transport)

    def lost(self, seller):
        """seller's connection, the one its pieces were on, failed: whether
        its pieces go back to it (L{Upgrades.lost})."""
        return self.upgrades.lost(seller)

    def holds(self, seller, client):
        """Whether client, seller's transfer connection, is held to a
        taste now (see the module's docstring): it runs through a relay,
        a punch with a plan runs with seller, or the direct connection
        it brought is being dialled (the relay carried what it could for
        that round trip: 94 to 357 KB, natbed), the seller has not moved
        nor settled, and it has not been held L{HOLD} s."""
        upgrades = self.upgrades
        if (not throughRelay(client.transport) or seller in upgrades.moved
                or seller in upgrades.settled):
            return False
        if (seller not in upgrades.dialling
                and not self.download.fetcher.node.dialer.punchRuns(seller)):
            return False
        now = self.download.clock.seconds()
        return now - self.heldSince.setdefault(seller, now) < HOLD

    def holding(self):
        """Whether a seller is held (a look at its punch is under way)."""
        return self._look is not None

    def lookLater(self):
        """Pump the download again in L{LOOK} s: a held seller's punch may
        have ended (its deadline passed)."""
        if self._look is not None:
            return
        download = self.download
        self._look = download.work.own(task.deferLater(download.clock, LOOK,
                                                       lambda: None))

        def looked(_):
            self._look = None
            download.pump()

        self._look.addCallbacks(looked, lambda _: None)

    def relayedBytes(self, seller):
        """Bytes of pieces that came from seller through a relay."""
        return sum(client.received for client in self.relayedClients.get(seller, ()))

    # -- IUpgradeEffects ----------------------------------------------------------------

    def dialAgain(self, seller):
        download = self.download
        d = download.work.own(download.sellers.dial(seller))

        def dialled(client):
            if download.stopped:
                client.close()
                return
            self.upgrades.dialled(seller, client, throughRelay(client.transport))

        def failed(reason):
            if reason.check(defer.CancelledError) or download.stopped:
                return
            self.log.info("{name}: no direct connection to seller {seller}, staying on "
                          "its relay: {why}", name=download.name, seller=shortId(seller),
                          why=reason.getErrorMessage())
            self.upgrades.dialled(seller, None, False)

        d.addCallbacks(dialled, failed)

    def move(self, seller, client):
        download = self.download
        sellers = download.sellers
        old = sellers.clients.get(seller)
        if old is None or not throughRelay(old.transport):
            # Dropped meanwhile (slow, bad, failed): not asked on another.
            client.close()
            return
        sellers.clients[seller] = client
        after = download.clock.seconds() - download.watch.started
        self.movedAfter[seller] = after
        self.log.info("{name}: moving the rest from seller {seller} to a direct "
                      "connection, {after:.1f} s after the start ({n} bytes came "
                      "through its relay)", name=download.name, seller=shortId(seller),
                      after=after, n=old.received)
        download.pieces.handingOver.add(old)
        old.close()
        download.pump()

    def discard(self, client):
        client.close()
