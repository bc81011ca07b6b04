"""
Who named what a Chord node dials: the address group of the link whose
message named a ring's entry (a L{Peer} in a ``chordState``,
``chordQuit``, ``chordPredIs``, ``chordNextIs`` or ``chordFound``, the
tracker's ``chordNearIs``, or a link's own peer) or a seller's record (a
holder's ``chordRecords``, or the ``chordStore`` or ``chordTransfer``
that brought a record this node holds itself).  A host of theirs the
node refuses to dial is logged on that group's account
(L{twisted_bazaar.reach.dialer.Peer.namedBy}),
not on one account of every namer's: a stranger naming many bad hosts
spent the lines of the others' refused hosts.  L{Naming} is a part of
L{ChordDiscovery <twisted_bazaar.schemes.chord.node.ChordDiscovery>}
with its table of its own.
"""

from collections import OrderedDict

from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.schemes.chord.state import Peer

#: Ring entries and records whose namer a node remembers, the newest: one
#: past them is dialled with its namer unknown, its refusal's line
#: charged to no address group
#: (L{twisted_bazaar.reach.peerhosts.NAMER_UNKNOWN}).
NAMERS_KEPT = 256


def peersIn(message):
    """The ring's entries a chord message names (its ``pred``, ``node``,
    ``succs`` and ``nodes``)."""
    for name in ("pred", "node"):
        peer = getattr(message, name, None)
        if isinstance(peer, Peer):
            yield peer
    for name in ("succs", "nodes"):
        yield from getattr(message, name, None) or ()


class Naming:
    """
    The namers of a node's ring entries and records, the newest
    L{NAMERS_KEPT}.

    @ivar node: the core node (its connector says whether hosts are
        refused at all, L{_noted}; its addresses, a link's own peer's).
    @ivar records: the node's L{RecordStore
        <twisted_bazaar.schemes.chord.records.RecordStore>}, whose records
        keep the link they came over (L{recordNamer}).
    @ivar _namers: ring entry or record -> the address group of the link
        whose message named it: made when first needed.
    """

    __slots__ = ("node", "records", "_namers")

    def __init__(self, node, records):
        self.node = node
        self.records = records
        self._namers = None

    def _noted(self):
        """Whether namers are noted: not on a connector whose hosts are
        labels (a memory network's), where no host is refused, and a
        million simulated nodes would each hold a table for nothing."""
        return self.node.dialer.connector.addressed

    def named(self, named, group):
        """Each of named (peers or records) came in a message over a link
        of address group ``group``."""
        if not self._noted():
            return
        namers = self._namers
        if namers is None:
            namers = self._namers = OrderedDict()
        for each in named:
            namers.pop(each, None)
            namers[each] = group
        while len(namers) > NAMERS_KEPT:
            namers.popitem(last=False)

    def note(self, link, message, itself=False):
        """The peers message names (with ``itself``: the link's own peer,
        at the address it gave) are noted as the word of link's address
        group."""
        if not self._noted():
            return
        named = list(peersIn(message))
        if itself:
            named.append(Peer(link.peer_id, *self.node.addressOf(link.peer_id)))
        if named:
            self.named(named, groupOf(link))

    def namerOf(self, named):
        """The address group of the link that named ``named`` (a ring's
        entry or a record), or None when it is not known."""
        return None if self._namers is None else self._namers.get(named)

    def recordNamer(self, record):
        """The address group of the link that named a seller's record: the
        holder's answer it came in (L{namerOf}), or, for one this node
        holds itself (its own answer as a holder, or a detour's merged
        with what it holds), the link it was stored or copied here over
        (its L{Held.origin <twisted_bazaar.schemes.chord.records.Held>}),
        L{OWN <twisted_bazaar.schemes.chord.records.OWN>} for its own;
        None when neither is known (a record that came over no link)."""
        namer = self.namerOf(record)
        if namer is None:
            held = self.records.held(record.item, record.seller)
            if held is not None and held.record == record and held.origin:
                namer = held.origin
        return namer
