"""
The super-peer's side of the scheme: it takes its leaves' registrations
and updates into its L{LeafIndex}, answers their queries (gathered by its
L{QueryFlood}), and forgets a leaf as soon as its link closes.

It vouches only for what it checked: a leaf's entries are named to
nobody until the super-peer has connected back to the address the leaf
registered and found that leaf there (once the leaf has entries: a leaf
listing nothing costs no check), proving there the key it proved on
its link (the tracker's own check,
L{twisted_bazaar.tracker.check.AddressCheck}); a leaf that fails the
check is forgotten and its link closed, but for a LAN-only one
(docs/protocol.md §5): a keyed leaf naming no relay, registered at the
address its link comes from, which no check reaches behind its router.
Its entries are named only to askers whose links come from that same
public host (its classmates, who reach it at the local address the
tracker names them), claiming no address.  Each entry comes with the
leaf's signed record of the item, checked before it is taken, so that a
super-peer names a leaf only with the leaf's own word (which the buyer
checks again).

The index's entries count against the address group a leaf's link comes
from, whatever address (or port 0) it registers: a full index makes room
for a leaf of a group holding fewer by dropping the newest leaves of the
group holding the most (see L{LeafIndex}); those are told ``full`` and
their links closed.
"""

from twisted.logger import Logger, LogLevel

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar.base.lan import peerHost, sameHost
from twisted_bazaar.base.peerhost import probesAnother
from twisted_bazaar.wire.ids import shortId, wireId
from twisted_bazaar.base.logthrottle import MEMBER_LINES, PeerLog
from twisted_bazaar.base.words import plural
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.core.market import fileIn
from twisted_bazaar.core.records import RecordBook, fittedSellers, live, recordFault
from twisted_bazaar.net.eviction import groupOf
from twisted_bazaar.net.fitting import frameLimit
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.limits import GroupRates
from twisted_bazaar.schemes.superpeer.index import LeafIndex, Refused
from twisted_bazaar.tracker.check import AddressCheck
from twisted_bazaar.schemes.superpeer.messages import (
    LEAF,
    MAX_HITS,
    LeafAck,
    LeafHits,
    LeafQuery,
    LeafRegister,
    LeafUpdate,
)

#: Floods among super-peers that the leaves of one address group may have
#: this super-peer start a second, in bursts of twice that: a share of
#: the search rate (200 a second) its neighbours allow it in all.  Past
#: it, a leaf's query is answered from this super-peer's index alone.
FLOOD_RATE = 25.0
FLOOD_LIMIT = declare(
    "superpeer.floods", FLOOD_RATE, "floods/s",
    "floods among super-peers the leaves of one address group may have this one "
    "start, all their links together", group=FLOOD_RATE, owner=__name__)
#: Signatures of records a super-peer checks a second for the leaves of
#: one address group (bursts of twice that, and one message past them: a
#: leaf's whole inventory at once): a register or update of a few hundred
#: bytes carries a record an item, each a signature check, and records
#: signed beforehand cost their sender nothing to send again.  A record
#: the leaf's entry holds already, sent again, is not checked again.
RECORD_RATE = 512.0
RECORDS_LIMIT = declare(
    "superpeer.records", RECORD_RATE, "records/s",
    "records new to a super-peer whose signatures the leaves of one address group "
    "have it check, all their links together", group=RECORD_RATE, owner=__name__)
#: Address checks (a dial each, of a host the leaf names) a super-peer
#: starts a second for the leaves of one address group, in bursts of twice
#: that: a register at another address starts one, ending the one in
#: flight.  An honest leaf needs one a link; a home's or a test
#: market's leaves (one address group) linking at once take the burst.
CHECK_RATE = 16.0
CHECKS_LIMIT = declare(
    "superpeer.checks", CHECK_RATE, "checks/s",
    "address checks (dials) the leaves of one address group have a super-peer "
    "start, all their links together", group=CHECK_RATE, owner=__name__)


def _leafOnly(handler):
    """handler(side, link, message), for a message a leaf alone sends: on
    a link of another purpose, refused (``error{wtf}``)."""
    def checked(side, link, message):
        if link.purpose != LEAF:
            link.protocolError("wtf", f"{message.TYPE} is for a leaf link (open "
                               f"the link with purpose {LEAF!r})")
            return
        handler(side, link, message)

    return checked


class SuperPeerSide(NodeObserver):
    """
    @ivar index: the leaves' entries (L{LeafIndex}).
    @ivar shops: this node's own shops, answered for at query time.
    @ivar flood: the L{QueryFlood} that gathers hits; set by the scheme.
    """

    log = Logger()

    def __init__(self, node, shops, per_leaf, total):
        self.node = node
        self.shops = shops
        self.index = LeafIndex(per_leaf, total, evicted=self._evicted)
        self.book = RecordBook(node.identity, node.clock)
        self.flood = None
        #: Each address group's rate of floods for its leaves.
        self._floods = GroupRates(FLOOD_LIMIT)
        #: Each address group's rates of records checked and of checks.
        self._recordChecks = GroupRates(RECORDS_LIMIT)
        self._checkStarts = GroupRates(CHECKS_LIMIT)
        #: The lines of leaves coming, checked and going: a stranger's
        #: leaves linking, registering and leaving in a loop cause them,
        #: so they are bounded per address group, as the tracker's lines
        #: of nodes joining and leaving are (L{MEMBER_LINES} of a kind).
        self.leaf_log = PeerLog(node.clock, node.config.link.verbose,
                                burst=MEMBER_LINES)
        #: leaf -> (the address a check found it at, whether that check
        #: went through its relay: then the address is not its alone).
        self._checked = {}
        #: leaf -> the relay it registered (None: dialled directly).
        self._relays = {}
        #: leaf -> its L{AddressCheck} in flight.
        self._checks = {}
        #: LAN-only leaf -> the address no check reached it at.
        self._lanOnly = {}
        node.takeFrom(self)
        node.addObserver(self)

    def lookup(self, item, limit, near=None):
        """Sellers of item known here, as (id, host, port, record): this
        node first, if it sells it (with its own record), then its
        leaves (the LAN-only ones for an asker whose link comes from host
        ``near`` alone)."""
        node = self.node
        own = []
        if any(shop.inventory().get(item, 0) > 0 for shop in self.shops):
            own.append((node.id, node.host, node.port, self.book.record(
                item, node.host, node.port, fileIn(self.shops, item), node.relay)))
        return own + self.index.lookup(item, limit - len(own), wallSeconds(node.clock),
                                       near)

    def _refuse(self, link, refused):
        """A register or update the index would not take: the error, and
        the link goes (the leaf re-registers afresh, here or elsewhere)."""
        link.peerLine(LogLevel.info, "refused leaf {peer}: {code}: {info}", self.log,
                      code=refused.code, info=refused.info)
        link.protocolError(refused.code, refused.info, close=True)

    def _records(self, link, items, records):
        """The leaf's records of the items it names with units above 0,
        each checked (its own, of that item, live); one its entry holds
        already is not checked again (but for its expiry), the others are
        charged to the leaf's address group (L{RECORDS_LIMIT}).

        @raise Refused: C{badrecord}, naming the first that is not;
            C{busy}, past the group's rate.
        """
        now = wallSeconds(self.node.clock)
        records = records or {}
        held = self.index.records(link.peer_id)
        named = sorted(item for item, units in items.items() if units)
        new = sum(1 for item in named if records.get(item, held.get(item)) != held.get(item))
        if new and not self._recordChecks.take(groupOf(link), self.node.clock.seconds(),
                                               new):
            raise Refused("busy", f"your address group's leaves sent more new records "
                          f"than this super-peer checks ({RECORD_RATE:g} a second): "
                          f"link again later")
        for item in named:
            record = records.get(item)
            if record is None:
                fault = "it has none"
            elif record == held.get(item):
                fault = None if live(record, now) else "it has expired"
            else:
                fault = recordFault(record, now, link.peer_id, item, alive=True)
            if fault is not None:
                raise Refused("badrecord", f"the record of {item[:64]!r}: {fault}")
        return records

    def _evicted(self, leaf):
        """The index dropped leaf's entries for a leaf of an address group
        holding fewer: it is told, and its link goes."""
        self._stopChecking(leaf)
        self._checked.pop(leaf, None)
        link = self.node.linkTo(leaf)
        if link is not None:
            self._refuse(link, Refused("full", "your entries were dropped to make "
                                       "room for a leaf of an address group holding "
                                       "fewer of this index's entries"))

    def _register(self, link, message):
        host = message.host or peerHost(link.transport)
        leaf, address = link.peer_id, (host, message.port)
        self._relays[leaf] = message.relay
        # Port 0 takes no connections: nothing to check (as at the tracker).
        found, relayed = self._checked.get(leaf, (None, False))
        listed = not message.port or found == address
        near = (host if message.relay is None and self._lanOnly.get(leaf) == address
                else None)
        fresh = leaf not in self.index
        try:
            records = self._records(link, message.items, message.records)
            count = self.index.register(leaf, address, message.items, records,
                                        listed=listed, group=groupOf(link), near=near,
                                        claims=not relayed)
        except Refused as refused:
            self._refuse(link, refused)
            return
        if not (listed or near) and not self._checkOnceListing(link, address, count):
            return
        line = "leaf {leaf} at {where} registered {items} ({leaf_count})"
        fields = dict(leaf=shortId(leaf), host=host, port=message.port,
                      where=(host, message.port), n=count,
                      items=plural(count, "item"), leaves=len(self.index),
                      leaf_count=plural(len(self.index), "leaf", "leaves"))
        if fresh:
            self.leaf_log.emit(self.log, LogLevel.info, groupOf(link), line, **fields)
        else:
            # Registering again and again is the leaf's doing: logged within
            # its address group's bound.
            link.peerLine(LogLevel.info, line, self.log, **fields)
        link.send(LeafAck(message.seq, count))

    def _update(self, link, message):
        try:
            records = self._records(link, message.items, message.records)
            count = self.index.update(link.peer_id, message.items, records)
        except Refused as refused:
            self._refuse(link, refused)
            return
        leaf = link.peer_id
        if (not self.index.listed(leaf) and leaf not in self._checks
                and not self._checkOnceListing(link, self.index.address(leaf), count)):
            return
        link.send(LeafAck(message.seq, count))

    def _query(self, link, message):
        asking = self.flood.ask(message.item, link.peer_id, flood=self._mayFlood(link),
                                near=peerHost(link.transport))
        asking.addCallback(lambda sellers: link.send(fittedSellers(
            LeafHits(message.id, message.item,
                     tuple(seller[:4] for seller in sellers[:MAX_HITS])),
            frameLimit(link))))

    #: What a super-peer takes, each on a leaf link alone (L{Node.takeFrom}).
    takes = {LeafRegister: _leafOnly(_register), LeafUpdate: _leafOnly(_update),
             LeafQuery: _leafOnly(_query)}

    def _mayFlood(self, link):
        """
        Whether a query of link's leaf may start a flood among the
        super-peers (else it is answered from this index alone): the
        leaves of one address group together may start FLOOD_RATE a
        second.  Every flood this super-peer starts counts against the
        search rate its super-peer neighbours allow it, all its leaves'
        together, so one address's leaves asking at their own rate would
        have had theirs flooded and every other leaf's dropped.
        """
        return self._floods.take(groupOf(link), self.node.clock.seconds())

    def addressChecked(self, leaf, address, relayed=False):
        """The leaf listens at address, as checked (``relayed``: through
        its relay), or as a warm start, which builds what a passed check
        leaves, knows: its later registrations from there are listed at
        once."""
        self._checked[leaf] = (address, relayed)

    def _checkOnceListing(self, link, address, count):
        """An unlisted leaf with ``count`` entries at address: checked if
        it has any; with none there is nothing to name, nothing to check
        (yet: its first entries start the check).  False if the check is
        past its address group's rate (L{CHECKS_LIMIT}): the leaf is
        refused C{busy} and its link closed, its entries with it."""
        if not count:
            self._stopChecking(link.peer_id)
        elif self._checkStarts.take(groupOf(link), self.node.clock.seconds()):
            self._check(link, address)
        else:
            self._refuse(link, Refused("busy", f"your address group's leaves have this "
                                       f"super-peer start more address checks than "
                                       f"{CHECK_RATE:g} a second: link again later"))
            return False
        return True

    def _check(self, link, address):
        """Connect back to address; list the leaf if it is there."""
        leaf = link.peer_id
        self._stopChecking(leaf)
        self._checked.pop(leaf, None)
        self._lanOnly.pop(leaf, None)
        check = self._checks[leaf] = AddressCheck(
            leaf, self.node.provenKey(link), self.node.identity, self.node.clock,
            self.node.config.link, self.node.overlay.peer_log, self.node)
        relay = self._relays.get(leaf)
        # The host and relay a leaf registered are its word: the dialer
        # dials them as any a peer names (a host checked, a relay only as
        # the tracker names it for the leaf), so that no leaf has this node
        # dial a service of its own machine or network (docs/protocol.md §18).
        dialer = self.node.dialer
        # A leaf's address elsewhere than where its link comes from fails
        # its check only at the handshake timeout: how soon the dial failed
        # (refused, closed, silent) would tell the leaf of a third party's
        # port, this node its port scanner.
        hold = (self.node.config.link.handshake_timeout
                if relay is None and dialer.connector.addressed
                and probesAnother(address[0], peerHost(link.transport)) else 0.0)
        check.startBy(lambda protocol: dialer.checkAt(leaf, *address, relay, protocol),
                      relay is None, holdFailure=hold).addCallback(
            self._addressChecked, link, address, check)

    def _addressChecked(self, passed, link, address, check):
        leaf = link.peer_id
        if self._checks.get(leaf) is not check:
            return
        del self._checks[leaf]
        host, port = address
        group = groupOf(link)
        if passed:
            self.addressChecked(leaf, address, check.relayed)
            # Through its relay, the check did not find the leaf at its
            # address, which every machine behind its router may register
            # (a class's, all at --listen tcp:9001): it claims none.
            self.index.list(leaf, claims=not check.relayed)
            # Through the leaf's relay, the check reached a circuit, not its
            # address: the line says which way it was checked.
            self.leaf_log.emit(self.log, LogLevel.info, group,
                               "leaf {leaf} answers through its relay as it said "
                               "({where} not dialled): listing its items"
                               if check.relayed else
                               "leaf {leaf} listens at {where} as it said: "
                               "listing its items", leaf=shortId(leaf), host=host, port=port,
                               where=(host, port))
            return
        # The dialer's refusal names the address too (as a failed
        # connection does): said once.
        where = hostPort(host, port)
        refused = check.refused and check.refused.removeprefix(f"{where}: ")
        if self._mayBeLanOnly(link, address):
            self._lanOnly[leaf] = address
            self.index.list(leaf, near=host)
            self.leaf_log.emit(self.log, LogLevel.info, group,
                               "leaf {leaf}: no check reaches {where}, the host its "
                               "link comes from ({why}): LAN-only, naming its items only "
                               "to leaves whose links come from {host} too",
                               leaf=shortId(leaf), host=host, port=port, where=where,
                               why=refused or "nothing there answers as that leaf")
            return
        if refused is None:
            line = "leaf {leaf}: nothing at {where} answers as that leaf"
            why = f"nothing at {where} answers as leaf {wireId(leaf)}"
        else:
            line = "leaf {leaf}: not dialling {where} to check it: {why}"
            why = f"not dialling {where} to check leaf {wireId(leaf)}: {refused}"
        self.leaf_log.emit(self.log, LogLevel.warn, group, line + "; forgetting it",
                           leaf=shortId(leaf), host=host, port=port, where=where, why=refused)
        self.index.forget(leaf)
        link.disconnect(why)

    def _mayBeLanOnly(self, link, address):
        """Whether a leaf its check did not find is LAN-only (docs/protocol.md
        §5, "LAN-only nodes"): it proved a key on its link (a classmate's
        dial to its local address proves it again), names no relay, and
        registered the host its link comes from, a router's that no dial
        gets behind.  Naming it only to askers behind that host points
        nobody at any other address, nor outside."""
        host = peerHost(link.transport)
        return (self._relays.get(link.peer_id) is None and bool(host)
                and sameHost(address[0], host) and self.node.provenKey(link) is not None)

    def _stopChecking(self, leaf):
        check = self._checks.pop(leaf, None)
        if check is not None:
            check.cancel()

    def nodeStopping(self):
        for leaf in list(self._checks):
            self._stopChecking(leaf)
        self.leaf_log.close()

    def linkRemoved(self, peer_id):
        self._stopChecking(peer_id)
        self._checked.pop(peer_id, None)
        self._lanOnly.pop(peer_id, None)
        self._relays.pop(peer_id, None)
        if peer_id in self.index:
            group = self.index.group(peer_id)
            self.index.forget(peer_id)
            self.leaf_log.emit(self.log, LogLevel.info, group,
                               "leaf {leaf} gone; its entries dropped ({leaf_count})",
                               leaf=shortId(peer_id), leaves=len(self.index),
                               leaf_count=plural(len(self.index), "leaf", "leaves"))

