"""
The records a Chord node holds: serving the key-routed requests whose key
it holds (a store, a request for sellers, a find), copying what it holds
to its successors (the replicas), taking copies and handovers, and
dropping what expired.  A mixin of L{ChordDiscovery
<twisted_bazaar.schemes.chord.node.ChordDiscovery>}, whose state it uses.
"""

from twisted_bazaar.base.words import plural
from twisted_bazaar.schemes.chord.messages import (
    MAX_SELLERS,
    MAX_TRANSFER,
    ChordFind,
    ChordFound,
    ChordRecords,
    ChordRequest,
    ChordStored,
    ChordTransfer,
    ChordTransferred,
    Handed,
    sellerOf,
)
from twisted_bazaar.schemes.chord.records import Record
from twisted_bazaar.schemes.chord.ring import keyOf


class Holding:
    """
    Serve requests, replicate and receive records.
    """

    def _serve(self, request, path, hops):
        """The answer to a request whose key this node holds."""
        node, me = self.node, self.node.id
        kind = type(request)
        if kind is ChordFind:
            return ChordFound(request.id, request.key, path, hops, self._me(),
                              tuple(self.ring.successors))
        now = node.clock.seconds()
        if kind is ChordRequest:
            sellers = tuple(sellerOf(record.seller, record.host, record.port,
                                     record.details)
                            for record in self.records.sellers(request.item, now))
            return ChordRecords(request.id, request.item, path, hops, me,
                                sellers[:MAX_SELLERS])
        seller = request.return_path[0] if request.return_path else me
        record = Record(request.item, seller, request.host, request.port,
                        now + request.lifetime / 1000.0, request.details())
        if request.lifetime:
            self.records.put(record)
        else:
            self.records.withdraw(request.item, seller, now + self.settings.expiry)
        ring = self.ring
        copies = list(ring.successors)
        if ring.predecessor is not None and not ring.responsible(keyOf(request.item)):
            # Sent here by a node that has yet to learn of a newer node
            # between us, which holds the key now: it gets the change too.
            copies.append(ring.predecessor)
        for peer in copies:
            self._send(peer, [record])
        return ChordStored(request.id, request.item, path, hops, me)

    def _held(self):
        """The live records whose key this node holds (all of them while
        it knows no predecessor)."""
        pred, now = self.ring.predecessor, self.node.clock.seconds()
        if pred is None:
            return self.records.records(now)
        return self.records.inRange(pred.id, self.node.id, now)

    def _replicate(self, peers):
        """Copy the records this node holds to those of its successors."""
        if peers and len(self.records):
            held = self._held()
            for peer in peers:
                self._send(peer, held)

    def _send(self, peer, records, confirm=False):
        """Hand records to a linked peer, in as many transfers as needed;
        with confirm, each asks for a chordTransferred.  Returns their
        nonces."""
        link = self.node.links.get(peer.id)
        if link is None or not records:
            return []
        now = self.node.clock.seconds()
        nonces = []
        for start in range(0, len(records), MAX_TRANSFER):
            chunk = tuple(Handed.of(record, now)
                          for record in records[start:start + MAX_TRANSFER])
            nonce = self._newNonce() if confirm else None
            if nonce is not None:
                nonces.append(nonce)
            link.send(ChordTransfer(chunk, nonce))
        return nonces

    def _transferred(self, link, message):
        now = self.node.clock.seconds()
        for handed in message.records:
            if handed.lifetime:
                self.records.put(Record(handed.item, handed.seller, handed.host,
                                        handed.port, now + handed.lifetime / 1000.0,
                                        handed.details),
                                 copy=True, now=now)
            else:
                self.records.withdraw(handed.item, handed.seller,
                                      now + self.settings.expiry)
        if message.nonce is not None:
            self.log.info("took {records} from node {id}", n=len(message.records),
                          records=plural(len(message.records), "record"),
                          id=link.peer_id)
            link.send(ChordTransferred(message.nonce, len(message.records)))

    def _purge(self):
        """Drop expired records, and copy the held ones to the successors
        again (a copy lost to a link that closed is made good)."""
        self._later("purge", self.settings.refresh, self._purge)
        self.records.purge(self.node.clock.seconds())
        self._replicate(self.ring.successors)
