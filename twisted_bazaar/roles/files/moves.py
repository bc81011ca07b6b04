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

While a punch with a plan runs with the seller, as the node's dialer
announces it (L{PunchNews <twisted_bazaar.reach.punchnews.PunchNews>},
which each seller's moves subscribe to while the download runs: a TCP
punch under way or answered, the probes of a UDP punch the tracker said
go for, the UDP punch a node not yet told by the tracker's check what
its router does asked at once, its check or ask out, or the QUIC link
this node dials over the path a UDP punch met), or the direct connection
it brought is dialled, a relayed connection is held to a taste
(L{Moves.holds}): the first L{TASTE} bytes of its first piece, so that
the file's first byte comes at once, and nothing more, until the punch
met (the rest moves), the news says it ended unmet (the rest comes
through the relay at once, and no later punch with that seller holds
it again: a miss asked again, a TCP punch's UDP follow-up), L{MEET}
seconds passed since the punch started with no meet (its probes are
out: what it waits for then seldom comes), or L{HOLD} seconds passed.
Before, the hold was learned by looking at the dialer every 0.25 s,
and lasted through a missed birthday punch asked again:
"stalled: no piece for 16 s" in a `bazaar buy` between two homes whose
punch never met (issue 94).  Meanwhile the download says it waits for a
direct path (L{Moves.waiting}), not that it stalled.  Before the hold,
the relay carried what it could until the move: 1.5 to 1.8 MB of a 64
MiB `bazaar buy` at a public node's 256 KiB/s (natbed, issue 85), where
the goal allows 64 KiB.  A punch to follow a TCP one, refused or with
no plan (two random-port routers) holds nothing.
"""

from twisted.internet import defer, task
from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.files.upgrade import IUpgradeEffects, Upgrades
from twisted_bazaar.net.capabilities import IRelayedTransport
from twisted_bazaar.reach.punchnews import IPunchListener
from twisted_bazaar.wire.ids import shortId


#: Bytes a relayed connection brings while the punch with its seller may
#: still replace it: the first byte at once, well within the goal's 64
#: KiB through relays with the link's and the transfer's own messages.
TASTE = 16 * 1024
#: Seconds at most a seller's relayed connection is held to its taste,
#: should the news of its punch's end never come: a punch met 5 to 7 s
#: after the relayed link came up (natbed), then the direct connection
#: is dialled; one that fails says so at once or within its own 10 s
#: (L{twisted_bazaar.reach.punch.udp.plan.TIMEOUT}), round trips and the
#: ask's slack between.  A miss asked again holds nothing.
HOLD = 14.0
#: Seconds after a punch with the seller started that it no longer holds
#: the relayed connection unless it met (the direct connection is then
#: dialled, held for up to L{HOLD}): a UDP punch's last round of probes
#: goes 4 s in (L{twisted_bazaar.reach.punch.udp.plan.ROUNDS}), a TCP punch's
#: dial takes 5 s at most (L{twisted_bazaar.transports.tcp.fromport.
#: DIAL_TIMEOUT}); what meets later is the rare straggler, while a punch
#: that missed (the order of arrival at two routers on one segment,
#: issue 94) waits out its 10 s.  Before, such a miss held the file to
#: its taste all that while: 10 to 14 s of nothing.
MEET = 6.0


def throughRelay(transport):
    """Whether a connection's transport runs through a relay's circuit."""
    return transport is not None and IRelayedTransport(transport, None) is not None


@implementer(IUpgradeEffects, IPunchListener)
class Moves:
    """
    The moves of one L{Download}'s sellers to direct connections.

    @ivar upgrades: the L{Upgrades} that decides them.
    @ivar relayedClients: seller -> its transfer clients that ran through
        a relay, for the bytes they brought (L{relayedBytes}).
    @ivar movedAfter: seller -> seconds after the download started that
        its pieces moved to a direct connection.
    @ivar punching: sellers a punch with a plan runs with, as the news
        of the node's punches last said.
    @ivar missed: sellers whose punch ended unmet: never held again.
    @ivar held: sellers whose relayed connection is held now.
    """

    log = Logger()

    def __init__(self, download):
        self.download = download
        self.upgrades = Upgrades(self)
        self.relayedClients = {}
        self.movedAfter = {}
        #: seller -> when its relayed connection was first held.
        self.heldSince = {}
        #: seller -> when a punch with it was first seen running.
        self.punchSince = {}
        self.punching = set()
        self.missed = set()
        self.held = set()
        #: seller -> the news of its punches it listens to (a Watching).
        self._watching = {}
        #: seller -> the end of its hold (a Deferred the download owns).
        self._deadlines = {}
        #: The pump asked for the next turn (a Deferred the download
        #: owns), or None.
        self._soon = None

    # -- what the download tells ------------------------------------------------------

    def started(self, seller):
        """A transfer connection to seller is being dialled: the news of
        its punches is listened to from now on, until the download stops
        (L{stop})."""
        if seller not in self._watching:
            watching = self._watching[seller] = (
                self.download.fetcher.node.dialer.news.watch(seller, self))
            if watching.running:
                self.punchStarted(seller)
        self.upgrades.started(seller)

    def connected(self, seller, client):
        """A transfer connection to seller is up, and its pieces go on it."""
        relayed = throughRelay(client.transport)
        if relayed:
            self.relayedClients.setdefault(seller, []).append(client)
        self.upgrades.connected(seller, relayed)

    def lost(self, seller):
        """seller's connection, the one its pieces were on, failed: whether
        its pieces go back to it (L{Upgrades.lost})."""
        return self.upgrades.lost(seller)

    def holds(self, seller, client):
        """Whether client, seller's transfer connection, is held to a
        taste now (see the module's docstring): it runs through a relay,
        a punch with a plan runs with seller (the news said it started and
        has not said it ended) or the direct connection it brought is
        being dialled (the relay carried what it could for that round
        trip: 94 to 357 KB, natbed), no punch with seller missed, the
        seller has not moved nor settled, it has not been held L{HOLD} s,
        and unless the direct connection is being dialled, the punch
        started less than L{MEET} s ago.  While it is held, the end of its
        hold is set (L{_deadline})."""
        upgrades = self.upgrades
        if (not throughRelay(client.transport) or seller in upgrades.moved
                or seller in upgrades.settled or seller in self.missed
                or (seller not in upgrades.dialling and seller not in self.punching)):
            return self._unhold(seller)
        now = self.download.clock.seconds()
        end = self.heldSince.setdefault(seller, now) + HOLD
        if seller not in upgrades.dialling:
            end = min(end, self.punchSince.get(seller, now) + MEET)
        if now >= end:
            return self._unhold(seller)
        self.held.add(seller)
        if seller not in self._deadlines:
            self._deadline(seller, end - now)
        return True

    def _deadline(self, seller, delay):
        """Pump the download again once seller's hold is over, in delay s."""
        download = self.download
        d = self._deadlines[seller] = download.work.own(
            task.deferLater(download.clock, delay, lambda: None))

        def over(_):
            self._deadlines.pop(seller, None)
            download.pump()

        d.addCallbacks(over, lambda _: None)

    def _unhold(self, seller):
        """seller is not held (any more): its deadline cancelled, and the
        download's stall counted from now (L{Watch.waited
        <twisted_bazaar.roles.files.watch.Watch.waited>}).  False."""
        if seller in self.held:
            self.held.discard(seller)
            self.download.watch.waited()
        deadline = self._deadlines.pop(seller, None)
        if deadline is not None:
            deadline.cancel()
        return False

    def holding(self):
        """Whether a seller connected now is held."""
        clients = self.download.sellers.clients
        return any(seller in clients for seller in self.held)

    def waiting(self):
        """Why no piece comes while a seller is held, in words, or None."""
        clients = self.download.sellers.clients
        for seller in sorted(self.held):
            if seller in clients:
                return (f"waiting for a direct path to seller {shortId(seller)}: a hole "
                        f"punch with it runs ({self.relayedBytes(seller)} bytes came "
                        "through its relay)")
        return None

    def stop(self):
        """The download stopped: the news of its sellers' punches is no
        longer listened to (its deadlines are the download's work)."""
        for watching in self._watching.values():
            watching.cancel()
        self._watching.clear()

    # -- IPunchListener -----------------------------------------------------------------

    def punchStarted(self, peer_id):
        self.punching.add(peer_id)
        self.punchSince.setdefault(peer_id, self.download.clock.seconds())

    def punchEnded(self, peer_id, met):
        """The punch with peer_id ended: unmet, its relayed connection goes
        on at the relay's rate at once, and is held no more."""
        self.punching.discard(peer_id)
        if not met:
            self.missed.add(peer_id)
            self._unhold(peer_id)
        self._pumpSoon()

    def _pumpSoon(self):
        """Pump the download on the reactor's next turn: the news comes
        from within a punch service's own change, which a dial started
        now (the pump's) would find half made."""
        if self._soon is not None:
            return
        download = self.download
        self._soon = download.work.own(task.deferLater(download.clock, 0, lambda: None))

        def now(_):
            self._soon = None
            download.pump()

        self._soon.addCallbacks(now, lambda _: None)

    def linkMoved(self, peer_id):
        """A direct link to peer_id came up, or replaced the relayed one:
        it is dialled again (L{Upgrades.directLink})."""
        self.upgrades.directLink(peer_id)

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
            # Held while it was dialled: the relayed connection goes on
            # if it stays.
            download.pump()

        def failed(reason):
            if reason.check(defer.CancelledError) or download.stopped:
                return
            self.log.info("{name}: no direct connection to seller {seller}, staying on "
                          "its relay: {why}", name=download.name, seller=shortId(seller),
                          why=inWords(reason))
            self.upgrades.dialled(seller, None, False)
            download.pump()

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
