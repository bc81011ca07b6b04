"""
The node's side of the status messages: a link of purpose ``status``
(what ``bazaar node`` opens) may ask ``state`` and gets ``nodestate``:
the whole state if the asker proves it is the node's operator
(L{twisted_bazaar.identity.operator}), the public facts otherwise.  What a
node buys, from whom, and what it sold of a file are its operator's
business; what it offers is anyone's, since it offers it to anyone.

Every node has one (L{twisted_bazaar.daemon.services.NodeService} adds it).
"""

import attr

from twisted_bazaar import wire
from twisted_bazaar.wire.codec import clipInfo
from twisted_bazaar.status.messages import (
    DOWNLOAD_KEYS,
    MAX_ENTRIES,
    MAX_ITEMS,
    MAX_ROLES,
    MAX_TRADES,
    NodeState,
    State,
    busy,
)
from twisted_bazaar.status.charges import OperatorProofs, Reserve, StrangerRates
from twisted_bazaar.status.relaying import relayUse
from twisted_bazaar.core.market import schemeOf
from twisted_bazaar.core.node import OVERLAY
from twisted_bazaar.reach.punch.tcp.service import isRelayed
from twisted_bazaar.transports.quic.transport import isQuic
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.account import accountsHeld
from twisted_bazaar.net.fitting import frameLimit, halvedToFit
from twisted_bazaar.net.recent import OPERATOR, STATUS

#: The slots of status links (purpose L{STATUS}), and the seconds such a
#: link may stay without a question before it is closed.
STATUS_SLOTS = 2
STATUS_IDLE = 10.0
LINKS_LIMIT = declare(
    "status.links", STATUS_SLOTS, "links",
    "status links a node holds (past them, one gives way or a newcomer is refused)",
    owner=__name__)
#: The slots of the node's operator's status links (purpose L{OPERATOR}:
#: those whose ``thisisme`` proves the node's key), apart from the
#: strangers' L{STATUS_SLOTS}: a web view and a ``bazaar node`` at once.
OPERATOR_SLOTS = 2
OPERATOR_LINKS_LIMIT = declare(
    "status.operator-links", OPERATOR_SLOTS, "links",
    "status links of the node's operator (who proves the node's key), apart from "
    "the strangers' (past them, the operator's oldest gives way)", owner=__name__)
#: ``state`` questions the links of one address group together may ask a
#: second, in bursts of twice that: a state cut to a frame can cost the
#: node milliseconds to build and encode, and a link may ask at the
#: search rate (200 a second) on each of its links.
STATE_RATE = 10.0
STATE_LIMIT = declare(
    "status.state", STATE_RATE, "messages/s",
    "state questions the links of one address group ask, all together: each "
    "costs the node milliseconds", group=STATE_RATE, owner=__name__)
#: Frames of ``nodestate`` a node sends the links of one address group
#: together a second, in bursts of twice that, each answer charged its
#: share of its link's frame limit: a ``state`` is 16 bytes and its
#: answer up to a frame, so STATE_RATE frame-sized answers had a node at
#: home send 22 frames, 1.47 MB, in a second for 1.6 KB asked.  A small
#: state (most nodes', a few KB) is charged little and answered at
#: STATE_RATE; ``bazaar web`` asks each node once a second.
STATE_FRAMES = 2.0
STATE_BYTES_LIMIT = declare(
    "status.state-bytes", STATE_FRAMES, "frames/s",
    "nodestate bytes a node sends the links of one address group, all together, "
    "counted in frames of the link's frame limit", group=STATE_FRAMES, owner=__name__)
#: ``state`` questions, and frames of answers, a second (bursts of twice
#: that) held for the node's operator alone (L{OPERATOR}): no stranger
#: spends them, whichever group it asks from.
OPERATOR_RATE = STATE_RATE
OPERATOR_LIMIT = declare(
    "status.operator-state", OPERATOR_RATE, "messages/s",
    "state questions of the node's operator (who proves the node's key), a "
    "reserve of their own that no stranger spends", owner=__name__)
OPERATOR_FRAMES = STATE_FRAMES
OPERATOR_BYTES_LIMIT = declare(
    "status.operator-state-bytes", OPERATOR_FRAMES, "frames/s",
    "nodestate bytes a node sends its operator, counted in frames of the "
    "link's frame limit: a reserve of their own that no stranger spends",
    owner=__name__)
#: The purpose of the links a stranger is told of: the overlay, which
#: carries searches and no trade (a direct or transfer link names a
#: seller the node buys from).
PUBLIC_LINKS = OVERLAY


class _Charges:
    """What a node's ``state`` answers are charged to: a stranger's rates
    of questions and of frames (L{StrangerRates}), the operator's own
    (L{Reserve}), and the proofs of operator checked (L{OperatorProofs})."""

    __slots__ = ("rates", "frames", "proofs", "operatorRates", "operatorFrames")

    def __init__(self):
        self.rates = StrangerRates(STATE_LIMIT)
        self.frames = StrangerRates(STATE_BYTES_LIMIT)
        self.proofs = OperatorProofs()
        self.operatorRates = Reserve(OPERATOR_RATE)
        self.operatorFrames = Reserve(OPERATOR_FRAMES)


def _peerOf(link):
    """An established link's peer id: the key its node's links are told in."""
    return link.peer_id


class NodeStatus:
    """
    Answers ``state`` on any established link.

    @ivar relay: the node's own relay (L{twisted_bazaar.transports.relay.relay.Relay},
        its relay offering's), whose use its operator is told, or None.
    @ivar roles: the names of the node's roles (the plugins that built
        them, L{twisted_bazaar.daemon.build.NodeParts.roles}), which its
        operator is told: a buyer that has bought nothing yet is a buyer.
    """

    def __init__(self, node, relay=None, roles=()):
        self.node = node
        self.relay = relay
        self.roles = tuple(roles)
        node.addPurpose(STATUS, STATUS_SLOTS, STATUS_IDLE)
        node.addPurpose(OPERATOR, OPERATOR_SLOTS, STATUS_IDLE)
        node.takeFrom(self)
        self.recent = node.keepRecent()
        #: Whom its answers are charged to (L{_Charges}), made at the first
        #: ``state`` asked: a simulated node is seldom asked, and seven
        #: tables a node came to a kilobyte.
        self._charges = None

    def state(self):
        """This node's whole L{NodeState}, as its operator is told it."""
        node = self.node
        links = []
        for link in sorted(node.linkEnds(), key=_peerOf):
            peer_id = link.peer_id
            host, port = node.addressOf(peer_id)
            links.append((peer_id, host, port, link.purpose or OVERLAY,
                          isRelayed(link), isQuic(link)))
        stock, bag, files, downloads, trades = {}, {}, {}, [], []
        now = node.clock.seconds()
        for role in node.roles:
            trades += role.tradesHeld(now)
            for item, units in role.stockHeld().items():
                stock[item] = stock.get(item, 0) + units
            for row in role.sharedFiles():
                files[row[0]] = tuple(row)
            downloads += role.downloadsHeld()
        # The bag is the store's, not a role's: a buyer's data dir started
        # again without the buyer role still holds what it bought.
        for purchase in node.store.bag():
            bag[purchase.item] = bag.get(purchase.item, 0) + purchase.units
        scheme = schemeOf(node.discovery)[0] or "none"
        reach = node.reach
        return NodeState(node.id if node.id is not None else -1, node.host or "",
                         node.port or 0, scheme, tuple(links[:MAX_ENTRIES]),
                         _first(stock), _first(bag), len(node.store.pending()),
                         self.recent.entries(now),
                         tuple(row for _, row in sorted(files.items())[:MAX_ITEMS]),
                         tuple(_download(row) for row in sorted(
                             downloads, key=lambda row: row["name"])[:MAX_ITEMS]),
                         reach=reach.state, seen_host=reach.seen_host,
                         seen_port=reach.seen_port, relay=node.relay,
                         limits=tuple(accountsHeld()[:MAX_ENTRIES]),
                         relaying=relayUse(self.relay),
                         trades=tuple(sorted(trades, key=lambda row: -row[0])[
                             -MAX_TRADES:]),
                         roles=self.roles[:MAX_ROLES], files_shared=len(files),
                         stock_items=len(stock), bag_items=len(bag),
                         local_host=reach.local_host)

    def publicState(self):
        """This node's public facts, as a stranger is told them: its
        address and scheme, its overlay links, its stock, the files it
        shares (without the copies sold) and whether it can be dialled
        (not its roles: a buyer's is its operator's business)."""
        return publicOf(self.state())

    def _state(self, link, message):
        """Answer within the asker's two rates: of questions, and of the
        frames sent (the answer built is not sent if the frames are spent:
        the question rate bounds that work).  The operator's are its own
        reserve; a stranger's its group's, or its dialler group's through
        the node's relay (L{twisted_bazaar.status.charges}).  Past either,
        the asker is answered ``busy``, with when to ask again (a hundred
        bytes, no more than the question rate's worth)."""
        now = self.node.clock.seconds()
        charges = self._charges
        if charges is None:
            charges = self._charges = _Charges()
        operator = charges.proofs.proves(self.node.identity, link, message.operator)
        if operator:
            rates, frames = charges.operatorRates, charges.operatorFrames
        else:
            rates, frames = charges.rates, charges.frames
        if not rates.take(link, now):
            link.send(busy(message.TYPE, OPERATOR_RATE if operator else STATE_RATE,
                           rates.wait(link, now)))
            return
        state = self.state() if operator else self.publicState()
        limit = frameLimit(link)
        answer = fitted(state, limit)
        cost = len(wire.encode(answer)) / limit
        if not frames.take(link, now, cost):
            link.send(busy(message.TYPE, OPERATOR_FRAMES if operator else STATE_FRAMES,
                           frames.wait(link, now)))
            return
        link.send(answer)

    #: What the status side takes on a node's links (L{Node.takeFrom}).
    takes = {State: _state}


def publicOf(state):
    """The public facts of a whole L{NodeState} (see
    L{NodeStatus.publicState})."""
    return attr.evolve(
        state, public=True, bag=None, bag_items=None, pending=None, recent=(), downloads=(),
        seen_host=None, seen_port=None, local_host=None, limits=(), relaying=None, trades=(),
        roles=None, links=tuple(link for link in state.links if link[3] == PUBLIC_LINKS),
        files=tuple(row[:3] + (None,) for row in state.files))


def fitted(state, limit):
    """
    A L{NodeState} cut short to fit one frame of limit bytes: as it is if
    it fits; else without its recent messages and limits, then with its
    links, stock, bag, files and downloads each cut to their first entries
    (by id and name), halving (L{halvedToFit}), until it fits; its trades
    go only where even then it does not.  A client waiting for its answer
    gets one, partial, rather than none (a seller of hundreds of long
    file names), and its operator its trades: dropped first, a seller of
    3,000 items told its operator none, and its view named no buyer.
    """
    if len(wire.encode(state)) <= limit:
        return state
    state = attr.evolve(state, recent=(), limits=())
    keep = max(len(state.links), len(state.stock), len(state.bag or ()), len(state.files),
               len(state.downloads))
    cut = halvedToFit(state, limit, _firstEntries, keep)
    if state.trades and len(wire.encode(cut)) > limit:
        cut = halvedToFit(attr.evolve(state, trades=()), limit, _firstEntries, keep)
    return cut


def _firstEntries(state, keep):
    """state with its links, stock, bag, files and downloads each cut to
    their first keep entries."""
    return attr.evolve(state, links=state.links[:keep],
                       stock=dict(list(state.stock.items())[:keep]),
                       bag=None if state.bag is None else dict(list(state.bag.items())[:keep]),
                       files=state.files[:keep], downloads=state.downloads[:keep])


def _download(row):
    """A download's row, its reason cut to fit an info text."""
    row = dict(row, why=clipInfo(row["why"]))
    return tuple(row[key] for key, _ in DOWNLOAD_KEYS)


def _first(counts):
    """At most MAX_ITEMS items, in name order."""
    return dict(sorted(counts.items())[:MAX_ITEMS])
