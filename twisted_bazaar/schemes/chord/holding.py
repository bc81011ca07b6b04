"""
The records a Chord node holds: serving the key-routed requests whose key
it holds (a store, a request for sellers, a find), copying what it holds
to its successors (the replicas), taking copies and handovers, and
dropping what expired.  Every record taken is a seller's own, checked
here (L{recordFault}) and kept by the L{RecordStore}'s rules: whoever
hands it over, nobody can store, replace or withdraw a record in
another's name.  L{Holding} is a part of L{ChordDiscovery
<twisted_bazaar.schemes.chord.node.ChordDiscovery>}, reaching the scheme
through L{IRingHost <twisted_bazaar.schemes.chord.upkeep.IRingHost>}.
"""

from twisted.logger import LogLevel

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.base.logthrottle import LogThrottle
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar.core.records import lanBytes, milliseconds, recordFault, untimely
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.fitting import cutToFit, frameLimit, splitToFit
from twisted_bazaar.base.words import plural
from twisted_bazaar.schemes.chord.messages import (
    MAX_SELLERS,
    MAX_TRANSFER,
    ChordFind,
    ChordFound,
    ChordRecords,
    ChordRequest,
    ChordStore,
    ChordStored,
    ChordTransfer,
    ChordTransferred,
    Handed,
)
from twisted_bazaar.schemes.chord.records import OWN
from twisted_bazaar.schemes.chord.ring import keyOf


#: Most bytes one character of a name takes on the wire (an escape), and
#: an upper bound on the rest of a record (keys, signature, numbers, file
#: fields) and of an answer (its path included).
_MOST_PER_CHAR = 6
_RECORD_FIXED = 512
_ANSWER_FIXED = 4096

#: Most sellers whose refusals for the bound of one key are each said
#: once (L{Holding._full}); past them, they are throttled as the rest.
FULL_SAID = 1024


def fitted(answer, limit):
    """
    A chordRecords answer cut to fit a frame of ``limit`` bytes
    (L{cutToFit}): sellers come in the holder's fair order
    (L{RecordStore.sellers}: one of each address group before a second of
    any), so the records a crowd of keys from one group adds are the ones
    left out, never the honest sellers' and never the whole answer.
    """
    bound = _MOST_PER_CHAR * len(answer.item) + _ANSWER_FIXED + sum(
        _MOST_PER_CHAR * (len(record.item) + len(record.host)) + _RECORD_FIXED
        + lanBytes(record) for record in answer.sellers)
    return cutToFit(answer, "sellers", limit, bound)


class Holding:
    """
    Serve requests, replicate and receive records.

    @ivar host: the L{IRingHost <twisted_bazaar.schemes.chord.upkeep.IRingHost>}.
    @ivar _refusals: the L{LogThrottle} of refused records (L{_take}),
        and the set of sellers whose records past the bound of one key
        were said refused (a seller of 10,000 files had a line for each
        of its records, at every store), made at the first refusal: a
        simulated ring of 100,000 nodes would hold them at each node.
    """

    __slots__ = ("host", "_refusals")

    def __init__(self, host):
        self.host = host
        self._refusals = None

    def start(self):
        """The node has a place: expired records go, and replicas are
        made good, every refresh period (L{_purge})."""
        host = self.host
        host.later("purge", host.settings.refresh, self._purge)

    def stop(self):
        if self._refusals is not None:
            self._refusals[0].close()

    def serve(self, request, path, hops):
        """The answer to a request whose key this node holds (a chordFind,
        a chordRequest, a chordStore: L{_SERVED}), or None."""
        return _SERVED[type(request)](self, request, path, hops)

    def _found(self, request, path, hops):
        """A chordFind: this node holds the key, and says who follows it."""
        return ChordFound(request.id, request.key, path, hops, self.host.me(),
                          tuple(self.host.ring.successors))

    def _sellers(self, request, path, hops):
        """A chordRequest: the sellers of its item held, cut to fit."""
        host = self.host
        now = wallSeconds(host.node.clock)
        sellers = tuple(held.record for held in host.records.sellers(request.item, now))
        answer = ChordRecords(request.id, request.item, path, hops, host.node.id,
                              sellers[:MAX_SELLERS])
        return fitted(answer, self._frameLimit(path))

    def _stored(self, request, path, hops):
        """A chordStore: its record taken (None if refused) and copied on."""
        host = self.host
        node, me = host.node, host.node.id
        now = wallSeconds(node.clock)
        records = host.records
        seller = request.return_path[0] if request.return_path else me
        origin = self._origin(request.return_path)
        if not self._take(request.record, request.lifetime, now, origin, "a chordStore",
                          seller, request.item):
            if (records.held(request.item, seller) is None and not request.record.withdrawn
                    and records.keyFull(seller)):
                # Said, or the seller believes it stored and no buyer finds it.
                return ChordStored(request.id, request.item, path, hops, me, full=True)
            if untimely(request.record, now):
                # Said with this clock: a seller whose clock is apart
                # learns it, and by how much, rather than storing again
                # and again unheard.
                return ChordStored(request.id, request.item, path, hops, me,
                                   clock=milliseconds(now))
            return None
        held = records.held(request.item, request.record.seller)
        ring = host.ring
        if ring.predecessor is None or ring.responsible(keyOf(request.item)):
            copies = list(ring.successors)
        else:
            # One of the holders a store reaches (the replicas have it
            # from the last hop too), or sent here by a node that has yet
            # to learn of a newer node between us, which holds the key
            # now: only the predecessor may lack the change.
            copies = [ring.predecessor] if ring.predecessor is not None else []
        for peer in copies:
            self.sendRecords(peer, [held])
        return ChordStored(request.id, request.item, path, hops, me)

    def _frameLimit(self, path):
        """The frame limit of the link an answer along path leaves on (the
        default one if it leaves on none: it is for this node)."""
        return frameLimit(self.host.node.linkTo(path[1]) if len(path) > 1 else None)

    def _origin(self, return_path):
        """The address group a request came from: that of the link it
        came over (L{OWN} for this node's own, "" for none linked)."""
        if not return_path:
            return OWN
        link = self.host.node.linkTo(return_path[-1])
        return groupOf(link) if link is not None else ""

    def _take(self, record, lifetime, now, origin, what, seller=None, item=None):
        """Check a record (of ``seller`` and ``item``, if given: those a
        chordStore names) and hold it; False (and a log line, throttled:
        a peer sending bad records fills no disk) if it is refused."""
        host = self.host
        held = host.records.held(record.item, record.seller)
        fault = None
        if (held is None or held.record != record or seller not in (None, record.seller)
                or item not in (None, record.item)):
            # The record held was checked when it was taken: the same one
            # again, in the right message (a refresh, a replica), needs no
            # second look.  One the store would refuse costs no signature
            # check (docs/reliability.md, "The fourteenth round").
            fault = (host.records.refusal(record, lifetime / 1000.0, now, origin)
                     or recordFault(record, now, seller, item))
        if fault is None:
            fault = host.records.put(record, lifetime / 1000.0, now, origin)
        if fault is None:
            return True
        if self._refusals is None:
            self._refusals = (LogThrottle(host.node.clock, self._refusalsSummed), set())
        throttle, full = self._refusals
        if held is None and host.records.keyFull(record.seller):
            if record.seller in full:
                return False
            if len(full) < FULL_SAID:
                full.add(record.seller)
                fault += "; said once a run for each seller"
        if throttle.admit(what):
            host.log.info("refused the record of {item!r} by node {seller} in {what}: "
                          "{why}", item=record.item[:64], seller=shortId(record.seller),
                          what=what, why=fault)
        return False

    def hold(self, record, lifetime, source):
        """
        Take a record as a store or copy over the link from the peer
        ``source`` (an id) leaves it, without the message: for a simulator
        that places the records of a settled ring at their holders
        (L{twisted_bazaar.sim.warm.placeRecords}).  Checked and kept by
        the same rules as one that came on the wire (L{_take}); False if
        refused.
        """
        return self._take(record, lifetime, wallSeconds(self.host.node.clock),
                          self._origin((source,)), "a placed record")

    def _refusalsSummed(self, counts, interval):
        self.host.log.info("refused {n} more records in {interval:g} s",
                      n=sum(counts.values()), interval=interval)

    def _held(self):
        """The records and withdrawals held whose key this node holds (all
        of them while it knows no predecessor)."""
        host = self.host
        pred, now = host.ring.predecessor, wallSeconds(host.node.clock)
        if pred is None:
            return host.records.records(now)
        return host.records.inRange(pred.id, host.node.id, now)

    def replicate(self, peers):
        """Copy the records this node holds to those of its successors.  A
        successor with no link (it closed, or never opened) is linked
        instead, and takes the copies once linked (L{Upkeep._linked
        <twisted_bazaar.schemes.chord.upkeep.Upkeep._linked>}): else it
        would keep none, and the key one replica fewer."""
        if peers and len(self.host.records):
            held, node = self._held(), self.host.node
            for peer in peers if held else ():
                if node.linkTo(peer.id) is not None:
                    self.sendRecords(peer, held)
                else:
                    self.host.ensureLink(peer)

    def sendRecords(self, peer, records, confirm=False):
        """Hand records to a linked peer, in as many transfers as needed
        (64 records at most each, and each within the link's frame limit:
        signed records of long names are large); with confirm, each asks
        for a chordTransferred.  Returns their nonces."""
        node = self.host.node
        link = node.linkTo(peer.id)
        if link is None or not records:
            return []
        now = wallSeconds(node.clock)
        chunks = [tuple(Handed.of(held, now) for held in records[start:start + MAX_TRANSFER])
                  for start in range(0, len(records), MAX_TRANSFER)]
        nonces = []
        build = self._confirmedTransfer if confirm else ChordTransfer
        for transfer, payload in splitToFit(chunks, build, frameLimit(link)):
            if transfer.nonce is not None:
                nonces.append(transfer.nonce)
            link.sendPayload(payload, ChordTransfer.TYPE)
        return nonces

    def _confirmedTransfer(self, chunk):
        """A chordTransfer of chunk that asks for a chordTransferred."""
        return ChordTransfer(chunk, self.host.newNonce())

    def transferred(self, link, message):
        """Records handed over (replicas, or a leaver's): each checked and
        held; a handover is confirmed."""
        host = self.host
        now = wallSeconds(host.node.clock)
        origin = groupOf(link)
        taken = [handed.record for handed in message.records
                 if self._take(handed.record, handed.lifetime, now, origin,
                               "a chordTransfer")]
        if message.nonce is not None:
            if message.records:
                # A handover: as many as a peer sends, so bounded per group.
                link.peerLine(LogLevel.info, "took {records} from node {id}{onward}",
                              logger=host.log, n=len(taken),
                              records=plural(len(taken), "record"),
                              id=shortId(link.peer_id),
                              onward=self._passOn(link.peer_id, taken, now))
            link.send(ChordTransferred(message.nonce, len(message.records)))

    def _passOn(self, sender, records, now):
        """
        A handover that came once this node quit too (two neighbours
        stopped at once): the records are handed on to its first linked
        successor but the sender, whose handover this node's own quit
        already went to, rather than held by a node about to stop; the
        words that say so, for the line.
        """
        host = self.host
        if not (host.stopped and records and host.ring is not None):
            return ""
        node = host.node
        onward = next((peer for peer in host.ring.successors
                       if peer.id != sender and node.linkTo(peer.id) is not None), None)
        if onward is None:
            return "; this node quits too, and no other successor is linked to take them"
        held = [host.records.held(record.item, record.seller) for record in records]
        host.sendRecords(onward, [each for each in held if each is not None
                                  and each.expires > now])
        return f"; this node quits too: passed on to node {shortId(onward.id)}"

    def _purge(self):
        """Drop expired records, and copy the held ones to the successors
        again (a copy lost to a link that closed is made good)."""
        host = self.host
        host.later("purge", host.settings.refresh, self._purge)
        host.records.purge(wallSeconds(host.node.clock))
        self.replicate(host.ring.successors)

    #: The messages a node's holding takes: message class ->
    #: function(holding, link, message).
    takes = {ChordTransfer: transferred}


#: What a key-routed request whose key this node holds is served with:
#: request class -> function(holding, request, path, hops) (L{Holding.serve}).
_SERVED = {ChordFind: Holding._found, ChordRequest: Holding._sellers,
           ChordStore: Holding._stored}
