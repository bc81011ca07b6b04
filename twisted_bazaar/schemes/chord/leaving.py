"""
Leaving the Chord ring politely, on both sides: the node that quits
withdraws its items, hands its records to its successor and tells its
neighbours (L{_quit}); a neighbour that hears it closes the ring over
the leaver (L{_quitted}).  A mixin of L{ChordDiscovery
<twisted_bazaar.schemes.chord.node.ChordDiscovery>}, whose state it uses.
"""

from twisted.internet import defer
from twisted.logger import LogLevel

from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.base.words import plural
from twisted_bazaar.schemes.chord.messages import ChordQuit


class Leaving:
    """
    Quit with a handover, and take a neighbour's quit.
    """

    def _quit(self):
        """Withdraw our items, hand our records to the first linked
        successor and tell it and the predecessor; a Deferred that fires
        once the handover is confirmed or timed out (None if there is
        nothing to wait for)."""
        node, ring, links = self.node, self.ring, self.node.links
        now = node.clock.seconds()
        self.publisher.withdrawAll()
        self.router.accepting = False
        live = [peer for peer in ring.successors if peer.id in links]
        if not live:
            return None
        succ, pred = live[0], ring.predecessor
        held = [record for record in self.records.records(now) if record.seller != node.id]
        nonces = set(self.sendRecords(succ, held, confirm=True))
        quit = ChordQuit(pred, tuple(live))
        links[succ.id].send(quit)
        if pred is not None and pred.id in links and pred.id != succ.id:
            links[pred.id].send(quit)
        self.log.info("quitting the chord ring: {records} handed to node {succ}",
                      n=len(held), records=plural(len(held), "record"),
                      succ=shortId(succ.id))
        if not nonces:
            return None
        done = defer.Deferred()
        timer = node.clock.callLater(self.settings.quit_timeout, self._handoverEnded)
        self._handover = (nonces, done, timer)
        return done

    def _handedOver(self, link, message):
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
        self.log.info("the handover was not confirmed within {s:g} s",
                      s=self.settings.quit_timeout)
        done.callback(None)

    def _quitted(self, link, message):
        """A neighbour leaves politely: take its place's news."""
        ring = self.ring
        if ring is None:
            return
        peer = link.peer_id
        first = ring.successor is not None and ring.successor.id == peer
        # News only where it changes this node's neighbours: a one-shot
        # client that quits was never among them.
        neighbour = first or peer in {each.id for each in ring.successors} or (
            ring.predecessor is not None and ring.predecessor.id == peer)
        self.upkeep.unawait(peer)
        self.upkeep.bury(peer)
        upkeep = self.upkeep
        pred = message.pred if message.pred is None or upkeep.living([message.pred]) else None
        upkeep.update(lambda: ring.departed(peer, pred, upkeep.living(message.succs)),
                      link)
        link.peerLine(LogLevel.info if neighbour else LogLevel.debug,
                      "node {id} quit the chord ring", logger=self.log, id=shortId(peer))
        if ring.alone:
            self.upkeep.refill()
        if first:
            self.upkeep.askSuccessor()
