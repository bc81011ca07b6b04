"""
Leaving the Chord ring politely, on both sides: the node that quits
withdraws its items, hands its records to its successor and tells its
neighbours (L{Leaving.quit}); a neighbour that hears it closes the ring
over the leaver (L{Leaving.quitted}).  L{Leaving} is a part of
L{ChordDiscovery <twisted_bazaar.schemes.chord.node.ChordDiscovery>},
reaching the scheme through L{IRingHost
<twisted_bazaar.schemes.chord.upkeep.IRingHost>} and its upkeep.
"""

from twisted.internet import defer
from twisted.logger import LogLevel

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.words import plural
from twisted_bazaar.schemes.chord.messages import ChordQuit, ChordTransferred
from twisted_bazaar.schemes.chord.settings import CHORD


class Leaving:
    """
    Quit with a handover, and take a neighbour's quit.

    @ivar host: the L{IRingHost <twisted_bazaar.schemes.chord.upkeep.IRingHost>}.
    @ivar upkeep: the node's L{Upkeep
        <twisted_bazaar.schemes.chord.upkeep.Upkeep>}, told of a
        neighbour that quit.
    @ivar _handover: while this node quits: the nonces of the transfers
        its successor has yet to confirm, the Deferred that fires once it
        has, and the timer that gives up waiting; else None.
    """

    __slots__ = ("host", "upkeep", "_handover")

    def __init__(self, host, upkeep):
        self.host = host
        self.upkeep = upkeep
        self._handover = None

    def quit(self):
        """Withdraw our items, hand our records to the first linked
        successor and tell it, the predecessor and every other peer of a
        ring link (one that pings this node among them); a Deferred that fires
        once the handover is confirmed or timed out (None if there is
        nothing to wait for)."""
        host = self.host
        node, ring = host.node, host.ring
        now = wallSeconds(node.clock)
        host.publisher.withdrawAll()
        host.router.quitting()
        live = [peer for peer in ring.successors if node.linkTo(peer.id) is not None]
        if not live:
            return None
        succ, pred = live[0], ring.predecessor
        held = [record for record in host.records.records(now) if record.seller != node.id]
        nonces = set(host.sendRecords(succ, held, confirm=True))
        quit = ChordQuit(pred, tuple(live))
        node.linkTo(succ.id).send(quit)
        if pred is not None and pred.id != succ.id and (
                to_pred := node.linkTo(pred.id)) is not None:
            to_pred.send(quit)
        # Every other ring link too: a node that pings this one (it takes
        # it for its successor or predecessor, where this one's view of
        # its neighbours differs) would otherwise count it dead after k
        # misses, and a finger would wait to find it gone.  Its links
        # bound them; the dc that follows tells the link, not the leaving.
        told = {succ.id, None if pred is None else pred.id}
        for link in node.linksOf(CHORD):
            if link.peer_id not in told:
                link.send(quit)
        host.log.info("quitting the chord ring: {records} handed to node {succ}",
                      n=len(held), records=plural(len(held), "record"),
                      succ=shortId(succ.id))
        if not nonces:
            return None
        done = defer.Deferred()
        timer = node.clock.callLater(host.settings.quit_timeout, self._handoverEnded)
        self._handover = (nonces, done, timer)
        return done

    def handedOver(self, link, message):
        if self._handover is None:
            return
        nonces, done, timer = self._handover
        nonces.discard(message.nonce)
        if not nonces:
            timer.cancel()
            self._handover = None
            done.callback(None)

    def _handoverEnded(self):
        nonces, done, _ = self._handover
        self._handover = None
        self.host.log.info("the handover was not confirmed within {s:g} s",
                           s=self.host.settings.quit_timeout)
        done.callback(None)

    def quitted(self, link, message):
        """A neighbour leaves politely: take its place's news (the peers it
        names are its link's word, L{Naming
        <twisted_bazaar.schemes.chord.namers.Naming>})."""
        host, upkeep = self.host, self.upkeep
        host.naming.note(link, message)
        ring = host.ring
        if ring is None:
            return
        peer = link.peer_id
        first = ring.successor is not None and ring.successor.id == peer
        # News only where it changes this node's neighbours: a one-shot
        # client that quits was never among them.
        neighbour = first or peer in {each.id for each in ring.successors} or (
            ring.predecessor is not None and ring.predecessor.id == peer)
        upkeep.unawait(peer)
        upkeep.bury(peer)
        pred = message.pred if message.pred is None or upkeep.living([message.pred]) else None
        upkeep.update(lambda: ring.departed(peer, pred, upkeep.living(message.succs)),
                      link)
        link.peerLine(LogLevel.info if neighbour else LogLevel.debug,
                      "node {id} quit the chord ring", logger=host.log, id=shortId(peer))
        if ring.alone:
            upkeep.refill()
        if first:
            upkeep.askSuccessor()

    #: The messages a node's leaving takes: message class ->
    #: function(leaving, link, message).
    takes = {ChordQuit: quitted, ChordTransferred: handedOver}
