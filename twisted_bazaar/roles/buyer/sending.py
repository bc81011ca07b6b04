"""
Sending buys and asks: directly when linked to the seller or able to
connect to it, else along the offer's path.  A first send waits for the
connection before falling back on the path; a resend (a buy id is safe
to repeat) goes along the path at once, and tries the connection too.

A first send whose connection finds nothing listening at the offer's
address goes nowhere: the buy never left, so nothing can have been sold,
and the want takes its next offer at once
(L{twisted_bazaar.roles.want.Want.unreachable}).  Along the path it
would reach at best a seller whose address is wrong, at worst whoever
made the offer up (a dead address costs a liar nothing), and a buy that
left may have been sold: in doubt, it would hold its want back.  A dial
that found no route to the address
(L{NoRoute <twisted_bazaar.net.opening.NoRoute>}: one of the other family,
from a node on IPv6 or IPv4 alone) says nothing of the seller: the buy
goes along the path, the way its search came (through a node on both
families).  A liar gains nothing it lacks now: a port that takes
the connection and closes it sends the buy along the path too.  Not a
buy of a shared file: its bytes come only over a connection to the
seller, which this node cannot make, and a sale it cannot fetch is
none to make (L{_dead}).

A buy that cannot leave at all is L{Stranded}: its seller refused the
connection (all its link slots taken, say) or gave no address, and the
offer's path has no link to go on.  It never left, so nothing was sold:
the want takes its next offer at once, as for a dead address, rather
than resend into no link until its attempts run out.

A buy for a seller this node has no link to, when every direct slot
(``--direct-slots``) is taken, first makes room: the buyer's own direct
link to a seller it has no buy or ask out with is retired (the quietest;
L{Node.roomFor <twisted_bazaar.core.node.Node.roomFor>}), since waiting
for it to idle out (``--direct-idle``) stalled the buy for 30 s.  With
every slot holding a buy still out, the buy goes along the offer's path
if it has one, else it waits for a slot (L{NoSlot}): the seller is not
to blame, and is not counted as refusing.  The buys waiting are said once
while any waits, and sent again as soon as a slot may be free
(L{SlotWaits}).

A buy that left may have been sold (L{BuyRecord.routed}).  A buy sent
straight to a seller that proved its key is watched: a ping follows it
(L{twisted_bazaar.roles.probe}), and a seller that read it and did not
answer within the grace is reported to the buy's want at once.
"""

import attr
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from twisted_bazaar.base.wallclock import wallSeconds
from twisted_bazaar import wire
from twisted_bazaar.identity.keys import signedIf
from twisted_bazaar.core.node import DIRECT, NoRoute, Unreachable
from twisted_bazaar.roles.buyer.slots import SlotWaits
from twisted_bazaar.roles.probe import ANSWER_GRACE, BUY_ROUNDS, Pings, Probe
from twisted_bazaar.roles.want import BUY_LIFETIME
from twisted_bazaar.wire.trade import Ask, Buy


class Stranded(Exception):
    """A buy that cannot leave this node now: no link to its seller, none
    to be had, and none along its path."""


class NoSlot(Exception):
    """A buy that cannot leave this node yet: no link to its seller, and
    every direct slot holds a link in use (a buy or an ask still out)."""


class Sender:
    """
    Sends the buyer's buys and asks.

    @ivar node: the node (its links, route, connectTo, clock, rng, identity).
    @ivar book: the buyer's L{BuyBook}.
    @ivar outstanding: the buyer's L{Outstanding} Deferreds (connections).
    """

    log = Logger()

    def __init__(self, node, book, outstanding, answer_grace=ANSWER_GRACE, wake=None):
        """
        @param wake: told C{wake(buy_id)} for each buy waiting for a
            direct slot once one may be free (L{SlotWaits}).
        """
        self.node = node
        self.book = book
        self.outstanding = outstanding
        self.answer_grace = answer_grace
        #: The pings of the buyer's probes, kept within a peer's rate.
        self.pings = Pings(node.clock)
        #: The buys waiting for a direct slot.
        self.waits = SlotWaits(node.clock, wake)

    def newBuy(self):
        """A new buy id and its expiry, BUY_LIFETIME from now (ms)."""
        expires = int((wallSeconds(self.node.clock) + BUY_LIFETIME) * 1000)
        return self.node.rng.randrange(1, wire.ID_LIMIT), expires

    def sendFirst(self, buy, offer, onRefused):
        """Send a buy (or an ask) the first time: see above.  Linked to
        the seller already, it goes at once, unless a better link is on
        its way (L{INode.linkReady}: a punch to replace a relayed link):
        then once the node hands it over (the punched link is up, or the
        punch failed)."""
        linked = self.node.linkTo(offer.seller) is not None
        if linked and self.node.linkReady(offer.seller):
            self._send(self.direct(buy, offer))
        elif linked or (offer.host and offer.port):
            if linked or self._room():
                self._connect(buy, offer, onRefused, self._firstConnectFailed)
            elif not (self._alongPath(buy) and self._send(buy)):
                self._noSlot(buy, onRefused)
        elif not (self._alongPath(buy) and self._send(buy)):
            self._stranded(buy, onRefused)

    def sendAgain(self, buy, offer, onRefused):
        """Send a buy (or an ask) again: see above (and L{sendFirst} on a
        link a punch is about to replace)."""
        linked = self.node.linkTo(offer.seller) is not None
        if linked and self.node.linkReady(offer.seller):
            self._send(self.direct(buy, offer))
            return
        left = self._alongPath(buy) and self._send(buy)
        if linked or (offer.host and offer.port):
            if linked or self._room():
                self._connect(buy, offer, onRefused, self._connectFailed, left)
            elif not left:
                self._noSlot(buy, onRefused)
        elif not left:
            self._stranded(buy, onRefused)

    def send(self, message):
        """Route a buy or an ask, signed, as it is."""
        self._send(message)

    def _send(self, message):
        """Route message; whether it left (a link to its next hop was up)."""
        message = signedIf(self.node.identity, message)
        if not self.node.route(message):
            return False
        self.waits.left(message.id)
        if type(message) is not Ask:
            self.book.record(message.id).routed = True
            if len(message.path) == 2:
                self._watch(message)
        return True

    def _room(self):
        """Whether a direct link may be opened now, room made if every
        slot is taken (see above)."""
        return self.node.roomFor(DIRECT)

    def _noSlot(self, buy, onRefused):
        """Tell onRefused the buy waits for a direct slot (L{SlotWaits})."""
        self.waits.wait(buy, self.node.slotsFor(DIRECT))
        onRefused(buy.id, Failure(NoSlot("every direct slot is in use")))

    def _stranded(self, buy, onRefused, refusal=None):
        """Tell onRefused the buy cannot leave (refusal: the connection's
        failure, or None for a seller with no address)."""
        why = ("no address" if refusal is None else
               f"the connection was refused ({refusal.getErrorMessage()})")
        onRefused(buy.id, Failure(Stranded(f"{why}, and no link along the path")))

    def provenLink(self, seller):
        """The link to seller, if it is up and seller proved its key on
        it (docs/protocol.md §6), else None."""
        link = self.node.linkTo(seller)
        if link is None or link.closing or not self.node.isProven(link):
            return None
        return link

    def _watch(self, buy):
        link = self.provenLink(buy.path[1])
        record = self.book.get(buy.id)
        if (link is None or type(buy) is not Buy or record is None
                or record.watching is not None or record.want is None):
            return
        probe = record.watching = Probe(
            link, self.node.clock, lambda: None,
            lambda refused: self._watched(record, probe, refused), BUY_ROUNDS,
            self.answer_grace, self.pings)
        probe.start()

    def _watched(self, record, probe, refused):
        if record.watching is probe:
            record.watching = None
        if refused and record.want is not None and self.book.get(record.buy_id) is record:
            record.want.unanswered(record.buy_id)

    def direct(self, buy, offer):
        """buy, addressed straight to the offer's seller."""
        return attr.evolve(buy, path=(self.node.id, offer.seller))

    def _alongPath(self, buy):
        return len(buy.path) > 2 and buy.path[0] == self.node.id

    def _stillOut(self, buy_id):
        record = self.book.get(buy_id)
        return record is not None and (record.want is not None
                                       or record.unresolved is not None)

    def _connect(self, buy, offer, onRefused, failed, left=True):
        node = self.node
        # The offer's address (and relay) is the seller's word, as its
        # record gave it.
        node.heard(offer.seller, offer.host, offer.port, namedBy=offer.namedBy,
                   relay=offer.relay)
        self.waits.left(buy.id)
        d = self.outstanding.own(node.connectTo(offer.seller, DIRECT))
        d.addCallbacks(self._connected, failed, callbackArgs=(buy, offer),
                       errbackArgs=(buy, onRefused, left))

    def _connected(self, _, buy, offer):
        if self._stillOut(buy.id):
            self._send(self.direct(buy, offer))

    def _connectFailed(self, reason, buy, onRefused, left):
        """
        A live seller out of connection slots refuses the link too: with a
        path to fall back on, only an address where nothing listens says
        the seller is gone.  A path whose send just found no link
        (``left`` False) is none to fall back on: the buy is L{Stranded}.
        """
        if reason.check(defer.CancelledError):
            return False
        if _dead(reason, buy) or not self._alongPath(buy):
            onRefused(buy.id, reason)
        elif not left:
            self._stranded(buy, onRefused, reason)
        return True

    def _firstConnectFailed(self, reason, buy, onRefused, left):
        if (self._connectFailed(reason, buy, onRefused, left) and self._stillOut(buy.id)
                and self._alongPath(buy) and not _dead(reason, buy)
                and not self._send(buy)):
            self._stranded(buy, onRefused, reason)


def _dead(reason, buy):
    """Whether a failed dial to buy's seller leaves it nowhere to go: no
    one listens there, or (a buy of a shared file) no route there."""
    return bool(reason.check(Unreachable) or (
        reason.check(NoRoute) and getattr(buy, "sha256", None) is not None))
