"""
Every log line a peer can cause goes through the node's peer log
(L{twisted_bazaar.base.logthrottle.PeerLog}, or a link's C{peerLine}),
which bounds what one address group gets logged (docs/protocol.md §14).

This test reads the source of the layers that handle what peers send
(core, net, routing, roles, schemes, files, status, tracker, reach,
transports, and the node's events)
and finds every call that writes a log line.  A call passes on its own if
it goes through a peer log (C{peerLine}, or C{emit} on a peer log), if a throttle
admits it (it sits under C{if ....admit(...)}, or after C{if not
....admit(...): continue}), if it is only written with ``--verbose``
(debug lines, or under C{if ...verbose}), or if it is the summary a
throttle writes once an interval.  Every other call must be in
L{ALLOWED}, keyed by its module, function and the start of its text, with
the reason no peer can make it come faster than this node's own doing
(its searches, buys and downloads, its dials and timers, the operator's
folder and store): a new log call in a message handler fails here until
it goes through the peer log or is reviewed into the list.
"""

import ast

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import parsed
from tests.packagesource import packageTrees
#: The layers that handle what peers send.
LAYERS = ("core", "net", "routing", "roles", "schemes", "files", "status", "tracker",
          "reach", "transports", "events.py")
#: The methods that write a line: a twisted Logger's, and the legacy
#: twisted.python.log's.
WRITES = {"debug", "info", "warn", "error", "critical", "failure", "emit", "msg", "err"}
#: The names the peer logs go by (L{PeerLog} objects).
PEER_LOGS = {"peer_log", "peerLog", "leaf_log", "member_log"}

_OWN = "own doing: "

#: module: function: start of the text -> why no peer can make it come
#: faster than this node's own doing.
ALLOWED = {
    # -- bugs and the node's own life ------------------------------------------------
    "events.py: _failed: the traceback of {observer!r} on {event}":
        "a debug line (-v): the traceback of the line below",
    "events.py: _failed: {fault} failed on {event}: {why}; the ot":
        "a bug in this node's own code (an observer raising on an event, or a "
        "handler of a delivered message), said once per event or message",
    "net/handlers.py: _raised: the traceback of {handler}":
        "a debug line (-v): the traceback of a handler raising, whose one line "
        "goes through the peer log",
    "core/finding.py: _traceback: the traceback of {scheme}'s find":
        "a debug line (-v): the traceback of a find of this node's failing",
    "core/finding.py: find: {fault} raised in find({item!r}): {why};":
        _OWN + "a bug in this node's scheme, once per find this node starts",
    "core/finding.py: find: {fault} returned {kind} from find({item!":
        _OWN + "a bug in this node's scheme, once per find this node starts",
    "core/finding.py: _Held._offers: {fault}'s find({item!r}) gave {kind}, no":
        _OWN + "a bug in this node's scheme, once per find this node starts",
    "core/finding.py: _Held._offers: {fault}'s find({item!r}) gave {n} of {al":
        _OWN + "a bug in this node's scheme, once per find this node starts",
    "core/finding.py: _Held._failed: {fault}'s find({item!r}) failed: {why}; ":
        _OWN + "a bug in this node's scheme, once per find this node starts",
    "core/finding.py: _Held._late: {fault}'s find({item!r}) did not fire wi":
        _OWN + "a bug in this node's scheme, once per find this node starts",
    "net/timers.py: Deadlines._fire: a deadline failed":
        "a bug in this node's own code (a deadline's callback raising)",
    "net/timers.py: runEntry: a deadline failed":
        "a bug in a simulated node's own code (a deadline's callback raising, "
        "in a sharded run)",
    "net/syngate.py: SynGate._install: new connections over their address group":
        "the node's own kernel refusing the listening socket's filter, said once: "
        "the gate is off after it",
    "net/syngate.py: SynGate._install: not turning away {n} address groups in t":
        "a guard that cannot be met: a program of the gate's at most 256 groups "
        "always packs (protocol.md §6)",
    "net/syngate.py: SynGate.block: {limit} address groups are turned away b":
        "said at most once a minute (FULL_LINE_EVERY), however many groups flood",
    "core/registration.py: Registration._idNotStored: could not store node id {id}: {why}":
        _OWN + "the node's own store failing",
    "core/registration.py: Registration._announceReady: node {short} ready, listening on port {p":
        _OWN + "once when the node is ready",
    "core/node.py: Node.requestStop: node {id} stopping: {why}":
        _OWN + "once when the node stops",
    "tracker/service.py: Tracker.stop: tracker stopping: closing the links of i":
        _OWN + "once when the tracker stops",
    "tracker/service.py: Tracker.stop: tracker stopping: no node is live":
        _OWN + "once when the tracker stops",
    "core/registration.py: Registration.setId: tracker gave this node a new id {new} (w":
        "once per registration with the tracker the operator named, which the "
        "node's reconnection backs off",
    "core/market.py: recordedOffers: ignoring {n} of the sellers of {item!r} ":
        _OWN + "one line per find this node starts",
    "core/market.py: recordedOffers: not dialling node {seller}, a seller of ":
        _OWN + "one line per find this node starts",
    # -- the tracker the operator named ----------------------------------------------
    "core/membership.py: Membership._accepted: registered with the tracker as node {sho":
        "once per registration with the tracker the operator named",
    "core/membership.py: _said: {what}: {info}":
        "the tracker the operator named; an error about the link counts against "
        "its error budget (20 in 60 s, then the link is cut, and the node backs off)",
    "core/membership.py: Membership.trackerSilent: leaving the tracker{at}: {why}":
        "at most once per registration with the tracker the operator named (the "
        "node then leaves it, and its reconnection backs off)",
    "net/reconnect.py: Reconnector._schedule: {why}; trying again in {delay} s":
        _OWN + "once per reconnection to the tracker, which backs off",
    "net/reconnect.py: Reconnector._schedule: {why}; trying {what} in {delay} s":
        _OWN + "once per move to the next tracker the operator named, which backs off",
    "net/reconnect.py: Reconnector._answered: {why}":
        "once per move back to a tracker the operator named first; a move back "
        "refused or not lasting --retry-max doubles the wait before the next",
    "schemes/index/node.py: IndexDiscovery._acked: the tracker's index lists {item}":
        "the tracker's acknowledgement of a registration this node sent",
    "schemes/index/node.py: IndexDiscovery._sayRest: the tracker's index lists {n} more items":
        "once each time every acknowledgement this node awaits is in",
    "schemes/index/node.py: IndexDiscovery._sayGone: the tracker's index no longer lists {ite":
        "once each time every acknowledgement this node awaits is in, or one awaited "
        "for 10 s did not come, naming the items this node unregistered since",
    "schemes/index/node.py: IndexDiscovery._wait: the index tracker lists at most {most} i":
        "once each time this node's own stock passes the tracker's room for its items",
    "schemes/chord/adverts.py: Publisher._tellRefused: the chord ring's holders refused the rec":
        "once a run, 30 s after a holder first refuses this node's own records for the "
        "bound of one key",
    "schemes/chord/adverts.py: Publisher._tellApart: node {holder} refused this node's record":
        "at most once every 600 s, as a holder answers one of this node's own stores "
        "(its awaited id) refusing the record as untimely by its clock",
    "reach/punch/tcp/exchange.py: Puncher.setMapping: this node will not hole-punch: {why}":
        "once when the tracker's check of this node's address first says its router "
        "draws ports",
    "reach/reachable/portmap/mapper.py: PortMapper._allFailed: no router maps TCP port {port} ({what}) ":
        "the home router's answers, paced by this node's own retries: once each try of "
        "every protocol, the tries 60 s apart doubling up to an hour",
    "reach/reachable/portmap/mapper.py: PortMapper._giveBack.failed: {protocol}: giving a mapping back failed":
        "at most once a protocol in each of this node's own tries (see above)",
    "reach/reachable/portmap/mapper.py: PortMapper._mapped: {why}; giving the mapping back":
        "at most once a protocol in each of this node's own tries (see above)",
    "reach/reachable/portmap/mapper.py: PortMapper._mapped: the router maps TCP port {port} ({what})":
        "once a mapping, asked on this node's own timers (a try, or a renewal at "
        "least 30 s apart)",
    "reach/reachable/portmap/mapper.py: PortMapper._notRenewed: renewing the mapping of TCP port {port} ":
        "once a renewal, renewals at least 30 s apart on this node's own timer",
    "reach/reachable/portmap/mapper.py: PortMapper.stop.removed: the router no longer maps TCP port {port":
        "once, when the node stops, or lets its mappings go (below)",
    "reach/reachable/portmap/mapper.py: PortMapper.stop.notRemoved: could not remove the mapping of TCP port":
        "once, when the node stops, or lets its mappings go (below)",
    "reach/reachable/portmap/routers.py: routerMapper.make: no IPv4 default gateway (or no address t":
        "once a network, the first time the tracker finds this node private there",
    "reach/reachable/portmapping.py: PortMappingService._letGo: no longer asking the router to map this ":
        "once a network this node moves from (or leaves home for a public address): "
        "only its own tracker's reach says so, and only after a reach that made its "
        "mappers",
    # -- connections --------------------------------------------------------------------
    "net/encrypted.py: EncryptedProtocol._say: closing connection with {where}: {reason":
        "only for a channel made without a peer log: the daemons give every one "
        "theirs (daemon/services.py); what is left is a client's own dial",
    "net/link.py: Link.peerLine: format":
        "only for a link whose owner keeps no peer log: owners that dial the one "
        "peer they talk to (a node's tracker session, `bazaar`'s status client, the "
        "web view's watcher)",
    "net/admission.py: Admission.usurps: refused a link from another key claiming":
        "needs a second key whose id is a linked peer's: a hash collision (ids are "
        "narrowed only in tests)",
    "net/pin.py: KeyPin.proved: {what}'s key is {key}, from its first co":
        "once: the first key the peer this node dials (its tracker) proves, "
        "which is pinned from then on",
    "core/topology.py: RandomNeighbours._failed: could not link to node {id} at {where}: ":
        _OWN + "once per dial this node makes to a neighbour it chose",
    "reach/ways.py: Lan._try.reached: reached node {id} at its local address {":
        _OWN + "once per dial this node makes (a link, a transfer) that reached a "
        "peer's local address, its key proven there",
    "reach/punch/udp/mapping.py: MappingCheck.reached: the tracker saw none of this node's UDP ":
        "the tracker's answer to this node's own udpcheck, at most one each 10 s",
    "reach/punch/udp/mapping.py: MappingCheck.reached: the tracker's udpreach is no mapping: {w":
        "the tracker's answer to this node's own udpcheck, at most one each 10 s",
    "reach/punch/udp/mapping.py: MappingCheck.reached: this node's UDP datagrams leave its rout":
        "the tracker's answer to this node's own udpcheck, at most one each 10 s, "
        "and only when what it saw changed",
    "reach/punch/udp/service.py: UdpPunching.take: the tracker's go for a UDP punch with no":
        "the tracker's udppunchgo, at the tracker's rate of udppunch, each for a "
        "peer a punch was asked with (one kept for its link is said once, when "
        "taken or when its wait ends)",
    "reach/punch/udp/runs.py: Runs._pathLost: the UDP path to node {peer} at {where} c":
        "once per punched path, as it goes: a path needs a punch that met, and the "
        "punches a peer can make this node run are bounded by its probe budget "
        "(punch.udp-probes) and the tracker's rate of udppunch",
    "reach/ways.py: Quic.attempt.reached: reached node {id} over QUIC at {where} (":
        _OWN + "once per dial this node makes over QUIC to a UDP path its operator "
        "configured (--quic-peer), the peer's key proven there",
    "reach/ways.py: Added.attempt.reached: reached node {id} over {kind} at {where}":
        _OWN + "once per dial this node makes over an added transport (WebSocket) to a "
        "path its operator configured (--ws-peer), the peer's key proven there",
    "transports/websocket/service.py: NodeWebSocket.serve: node {id} is reached over WebSocket at {":
        _OWN + "once per --ws-peer, when the node starts",
    "transports/websocket/service.py: WebSocketService._listening: LISTENING":
        _OWN + "once when the daemon's WebSocket port listens",
    "reach/ways.py: Lan._try.failed: no local path to node {id} at {where}: {":
        _OWN + "once per dial this node makes to a local address the tracker named, "
        "at most 2 a second into one address group (dialer.lan-dials), never again "
        "for that peer and address within 300 s",
    # -- the buyer's own buys, wants and downloads -------------------------------------
    "roles/buyer/answers.py: Answers._notPurchased: could not record the purchase of buy {id":
        _OWN + "the node's own store failing",
    "roles/buyer/clocks.py: ClocksApart.early: seller {seller} says buy {id} has expire":
        _OWN + "once, when a seller first answers one of this node's buys expired "
        "before its own clock says (the clocks apart)",
    "roles/buyer/clocks.py: ClocksApart.early: {n} more buys answered expired before th":
        _OWN + "at a backoff of this node's own clock (1 minute, doubling to an hour) "
        "while the clocks stay apart",
    "roles/buyer/clocks.py: ClocksApart.behind: seller {seller}'s clock is behind this n":
        _OWN + "once per seller, when it first answers one of this node's buys notyet "
        "with retryAfter: at most a line per buy this node sends",
    "roles/buyer/clocks.py: ClocksApart.inStep: seller {seller} answers in step with thi":
        _OWN + "once when the clocks agree again, after the line above",
    "roles/buyer/doubts.py: Doubts._holdEnded: seller {seller} has not said for {second":
        _OWN + "once per buy of this node's that is in doubt, when its own hold ends",
    "roles/buyer/doubts.py: Doubts._refusing: seller {seller} read {rounds} asks about":
        _OWN + "once per buy of this node's in doubt, after its own rounds of asks",
    "roles/buyer/doubts.py: Doubts._moveRecorded: seller {seller} is now at {where}; askin":
        _OWN + "once per new address of the seller of a buy in doubt, on this node's "
        "own rounds of asks",
    "roles/buyer/role.py: Buyer.storeFailed: could not {what} {id}: {why}":
        _OWN + "the node's own store failing",
    "roles/buyer/role.py: Buyer.wantDone: all wants met: {bag} in the bag; stoppin":
        _OWN + "once, when the wants are met",
    "roles/buyer/role.py: Buyer.wantDone: all wants met: {bag} in the bag; staying":
        _OWN + "once, when the wants are met",
    "roles/buyer/role.py: Buyer.bought: bought {item} from {seller} (an earlier ":
        _OWN + "once per unit this node bought (committed once)",
    "roles/buyer/role.py: Buyer.bought: bought {item}, a shared file, but this b":
        _OWN + "once per purchase this node committed (its own wants), without "
        "--downloads",
    "roles/buyer/slots.py: SlotWaits.wait: buy {id} of {item} waits for a direct sl":
        _OWN + "once per spell of this node's own buys waiting for a direct slot",
    "roles/buyer/slots.py: SlotWaits.left: no buy waits for a direct slot now: {cou":
        _OWN + "once per spell of this node's own buys waiting for a direct slot",
    "roles/want.py: Want._scheduleSearch: no offer for {item} yet; searching again":
        _OWN + "once per search this node schedules, said once while it says the "
        "same (then every 10 minutes)",
    "roles/want.py: Want._takePending: resuming buy {id} of {item} from {seller":
        _OWN + "once per buy this node resumes at start",
    "roles/want.py: Want._pendingNotSaved: could not record buy {id} of {item}: {wh":
        _OWN + "the node's own store failing",
    "roles/want.py: Want._logGiveUp: seller {seller} is {why}; {then}{again}":
        _OWN + "once per offer of this node's own find that it gives up on, said "
        "once while it says the same (then every 10 minutes)",
    "roles/want.py: Want._logStranded: buy {id} of {item}: seller {seller} cann":
        _OWN + "once per buy of this node's own that could not leave it, said once "
        "while it says the same (then every 10 minutes)",
    "roles/want.py: Want._count: bought {what} from {seller} ({n} of {q})":
        _OWN + "once per purchase this node committed",
    "roles/want.py: Want._uncount: {item} is not bought until its bytes are":
        _OWN + "once per file this node bought and could not fetch",
    "roles/files/download.py: Download.start: resuming the download of {name}":
        _OWN + "once per download this node resumes",
    "roles/files/download.py: Download._described: {name}: checking the {size} bytes its pa":
        _OWN + "once per download this node resumes from a part file of 1 GiB or more",
    "roles/files/download.py: Download._waitForOther: {name}: {busy}; waiting for it":
        _OWN + "once per download of this node that finds its part file held by "
        "another buyer of its downloads folder",
    "roles/files/sellers.py: Sellers.add: {name}: seller {seller} offers it too; f":
        _OWN + "once per new seller in the offers of this node's own finds",
    "roles/files/outofreach.py: OutOfReach._tell: {item}: leaving out seller {seller} (no ":
        _OWN + "once per seller and relay in the offers of this node's own finds "
        "(the last 1024 remembered), one this node has no way to fetch from",
    "roles/files/sellers.py: Sellers.connect.failed: cannot reach seller {seller} for {name}:":
        _OWN + "once per seller of a download, which is then not asked again before "
        "this node's next find",
    "roles/files/download.py: Download._describe.failed: seller {seller} could not describe {name":
        _OWN + "once per seller of a download, which is then marked down",
    "roles/files/download.py: Download._described: seller {seller} describes {name} {fault}":
        _OWN + "once per seller of a download, which is then avoided",
    "roles/files/pieces.py: Pieces.scheduled: {name}: {n} of {total} pieces already on":
        _OWN + "once per download this node starts",
    "roles/files/sellers.py: Sellers.dropSlow: {name}: seller {seller} is much slower t":
        _OWN + "once per seller of a download, which is then dropped",
    "roles/files/pieces.py: Pieces._checked: seller {seller} sent a wrong piece {piec":
        _OWN + "once per seller of a download, which is then avoided",
    "roles/files/pieces.py: Pieces._notArrived: seller {seller} did not deliver piece {p":
        _OWN + "once per seller of a download (not said again once it failed)",
    "roles/files/pieces.py: Pieces._handOver: {name}: seller {seller} closed its conne":
        _OWN + "once per transfer connection of a download that brought it at "
        "least HANDOVER_BYTES (1 MiB): a seller pays a MiB for each",
    "roles/files/moves.py: Moves.dialAgain.failed: {name}: no direct connection to seller {":
        _OWN + "at most DIALS (3) times per seller of a download (files/upgrade.py)",
    "roles/files/moves.py: Moves.move: {name}: moving the rest from seller {sel":
        _OWN + "at most once per seller of a download (files/upgrade.py: no second "
        "move)",
    "roles/files/pieces.py: Pieces._movedOff: {name}: the direct connection to seller ":
        _OWN + "at most once per seller of a download (files/upgrade.py: Upgrades.lost "
        "says so once)",
    "roles/files/watch.py: Watch._giveUp: {name}: this node did not run for at lea":
        _OWN + "once a download's patience at most, when this node resumes from a "
        "sleep: its own timer, --download-give-up apart",
    "roles/files/watch.py: Watch._stalled: {name}: stalled, no piece for {s:g} s{wh":
        _OWN + "on the download's own stall timer",
    "roles/files/watch.py: Watch.progress: {name}: {percent}% ({done} of {total} pi":
        _OWN + "at most once per percent of a download",
    "roles/files/sellers.py: Sellers.needSources: {name}: no seller to fetch it from; sear":
        _OWN + "once per search this node schedules, said once until a piece comes "
        "(then every 10 minutes)",
    "roles/files/fetch.py: Fetcher.__init__: --want {item} is not a plain file name: ":
        _OWN + "once at start, about the operator's flags",
    "roles/files/fetch.py: Fetcher.__init__: --quantity {n} applies to counted items:":
        _OWN + "once at start, about the operator's flags",
    "roles/files/fetch.py: Fetcher.offersFound: cannot record the offers of {item} in {f":
        _OWN + "the node's own folder failing",
    "roles/files/fetch.py: Fetcher.bought: bought {item} from {seller}, but its off":
        _OWN + "once per purchase this node committed",
    "roles/files/fetch.py: Fetcher.bought: bought {item} from {seller} as a counted":
        _OWN + "once per purchase this node committed",
    "roles/files/fetch.py: Fetcher._bought: cannot record the purchase of {item} in ":
        _OWN + "the node's own folder failing, once per purchase this node committed",
    "roles/files/fetch.py: Fetcher._paidBefore: {name}: bought from seller {seller} in a":
        _OWN + "once per want met by a purchase of an earlier run, before any purchase",
    "roles/files/fetch.py: Fetcher._notFetched: not fetching {item}, bought from seller ":
        _OWN + "once per purchase this node committed",
    "roles/files/fetch.py: Fetcher._fetch: fetching {name} ({size} bytes, content i":
        _OWN + "once per download this node starts",
    "roles/files/fetch.py: Fetcher._check.checked: {name} is in place already ({path}, cont":
        _OWN + "once per file bought found in place, at most once per purchase",
    "roles/files/fetch.py: Fetcher.look.looked: {name} is in place already ({path}, cont":
        _OWN + "once per want met by a file in place, before any purchase",
    "roles/files/fetch.py: Fetcher._downloaded: downloaded {name} into {path}, content i":
        _OWN + "once per download this node finishes",
    "roles/files/fetch.py: Fetcher._downloaded: {name} is in place already ({path}, cont":
        _OWN + "once per download this node waited out, another buyer of its "
        "folder having fetched it",
    "roles/files/fetch.py: Fetcher._dropAbandoned: {name}: removed the part file of content":
        _OWN + "once per content this node's own download gave up on",
    "roles/files/fetch.py: Fetcher._failed: cannot download {name} as content id {sh":
        _OWN + "once per download this node gives up",
    "roles/files/fetch.py: Fetcher._failed: cannot download {name}: {why}":
        _OWN + "once per download this node gives up",
    "roles/files/shop.py: FileShop.fileAdded: not offering shared file {name} by name:":
        _OWN + "once per file in the operator's shared folder",
    # -- the seller's own store and stock ----------------------------------------------
    "roles/seller/stock.py: startingStock: --sell {given} differs from the stock th":
        _OWN + "once at start, about the operator's flags",
    "roles/seller/role.py: Seller._notSeeded: could not record the starting stock: {wh":
        _OWN + "the node's own store failing",
    "roles/seller/signing.py: AnswerQueue._notSigned: could not sign {n} answers: {why}":
        _OWN + "the node's own signer failing",
    "roles/seller/closes.py: Closes._closesNotWritten: could not close {buys}: {why}":
        _OWN + "the node's own store failing",
    "roles/seller/ledger.py: Ledger._notCommitted: could not record {sales}: {why}":
        _OWN + "the node's own store failing",
    # -- the chord ring ----------------------------------------------------------------
    "schemes/chord/adverts.py: Publisher._published: stored {item} at node {holder} ({distanc":
        _OWN + "once per record of this node's own stock it stores",
    "schemes/chord/joining.py: Joining._introduced: alone on the chord ring as node {id}":
        _OWN + "once per join of this node's",
    "schemes/chord/joining.py: Joining._introduced: {how} the chord ring as node {id}: succe":
        _OWN + "once per join of this node's",
    "schemes/chord/joining.py: Joining._joinFailed: could not join the chord ring yet: {why}":
        _OWN + "once per join attempt of this node's, which backs off",
    "schemes/chord/joining.py: Joining.refusedForPuzzle: the chord ring takes this node for no ne":
        _OWN + "once a run, the first time its successor refuses its id for the puzzle",
    "schemes/chord/joining.py: Joining._seed: started the chord ring as node {id}":
        _OWN + "once, when this node starts the ring",
    "schemes/chord/leaving.py: Leaving.quit: quitting the chord ring: {records} hande":
        _OWN + "once, when this node leaves",
    "schemes/chord/leaving.py: Leaving._handoverEnded: the handover was not confirmed within {s":
        _OWN + "once, when this node leaves",
    "schemes/chord/routing.py: KeyRouter._peerLine: format":
        _OWN + "only for a line of this node's own doing (no sender); a peer's goes "
        "through the peer log",
    "schemes/chord/routing.py: KeyRouter._dialTooLong: dropping {count} request(s): no link to ":
        _OWN + "once per dial this node makes to a next hop of its own table, "
        "one at a time per hop",
    "schemes/chord/upkeep.py: Upkeep._moved: ring neighbours: predecessor {pred_text}":
        _OWN + "only for a change this node made (its join, a neighbour that missed "
        "its pings); a peer's message that moves the ring goes through the peer log",
    "schemes/chord/upkeep.py: Upkeep._dead: node {dead} missed {k} pings: dead; succ":
        _OWN + "once per ring neighbour that misses this node's own pings",
    # -- super-peers this node chose -------------------------------------------------------
    "schemes/superpeer/leaf.py: parts: not registering {item!r}: its entry alon":
        _OWN + "once per item of this node's own stock",
    "schemes/superpeer/leaf.py: LeafSide.linkAdded: linked to super-peer {peer} (nothing to ":
        _OWN + "once per link to a super-peer this node dialled, which backs off",
    "schemes/superpeer/leaf.py: LeafSide._register: registering {n} of {total} items: a supe":
        _OWN + "once per register this node sends",
    "schemes/superpeer/leaf.py: LeafSide._unacknowledged: super-peer {peer} did not acknowledge {s":
        _OWN + "on this node's own timer, once per register it sent",
    "schemes/superpeer/leaf.py: LeafSide._acked: registered {again}with super-peer {peer}":
        _OWN + "once per register this node sent (the acknowledgement of its seq)",
    "schemes/superpeer/leaf.py: LeafSide.linkRemoved: lost super-peer {peer}":
        _OWN + "once per link to a super-peer this node dialled, which backs off",
    "schemes/superpeer/topology.py: SuperPeerLinks.linkRemoved: super-peer {peer} closed the link before":
        _OWN + "once per link to a super-peer this node dialled, which backs off",
    "schemes/superpeer/topology.py: SuperPeerLinks.letGo: letting super-peer {peer} go: {why}":
        _OWN + "once per link to a super-peer this node dialled",
    "schemes/superpeer/topology.py: SuperPeerLinks._failed: could not link to super-peer at {where}:":
        _OWN + "once per dial this node makes, which backs off",
    "schemes/superpeer/topology.py: SuperPeerLinks._introduced: the tracker names no super-peer but thos":
        _OWN + "the tracker's answer to this node's own question, once per super-peer "
        "this node let go (two of its own searches each)",
    "schemes/superpeer/topology.py: SuperPeerLinks._noneNamed: {why}; asking again later":
        _OWN + "the tracker's answer to this node's own question, said once until "
        "it changes (the question backs off)",
    # -- the shared folder and the transfer port ------------------------------------------
    "files/server.py: TransferServer._notSent: stopped sending a file: {why}":
        "a failure reading this node's own file (a buyer going away is a "
        "ConnectionError, not logged)",
    "files/server.py: TransferService._listened: serving shared files on port {port}":
        _OWN + "once at start",
    "files/share.py: SharedFolder.startService: watching shared folder {folder} with ino":
        _OWN + "once at start",
    "files/share.py: SharedFolder.startService: watching shared folder {folder} by polli":
        _OWN + "once at start",
    "files/share.py: SharedFolder.startService: this process reads file names in {encodi":
        _OWN + "once at start, of the process's locale",
    "files/share.py: SharedFolder._list: cannot read shared folder {folder}: {why":
        _OWN + "the operator's folder, on the node's own polling",
    "files/share.py: SharedFolder._withdraw: shared file {name} {why}: no longer offe":
        _OWN + "once per file of the operator's folder",
    "files/share.py: SharedFolder._hashed: sharing {name} ({size} bytes, content id":
        _OWN + "once per file of the operator's folder",
    "files/share.py: SharedFolder._sayRest: sharing {n} more files, {total} in all i":
        _OWN + "once each time the files of this node's own folder are all read",
    "files/share.py: SharedFolder._notHashed: cannot share {name}: {why}":
        _OWN + "once per file of the operator's folder",
    "files/share.py: SharedFolder._list: not sharing {name}: {why}":
        _OWN + "once per name of the operator's folder, while it is there",
    "files/share.py: SharedFolder._list: not sharing {n} more files of {folder} f":
        _OWN + "once per look at the operator's folder that finds over 20 names refused",
    "files/share.py: SharedFolder._sayFolders: not sharing the files in the subfolders ":
        _OWN + "once per new subfolder of the operator's folder",
    "files/share.py: SharedFolder._hash: hashing {name} ({size} bytes): it is off":
        _OWN + "once per large file of the operator's folder",
    "files/share.py: SharedFolder._waitFor: shared file {name} keeps changing: it is":
        _OWN + "once per file of the operator's folder that keeps changing, "
        "again only after 5 minutes without a read of it",
}

#: Lines a peer can cause that do not go through a peer log yet, in
#: modules other changes own: each must leave this list for the peer log.
NOT_YET = {}

#: The summaries throttles write once an interval (their ``summarize``).
SUMMARIES = {
    "roles/buyer/answers.py: Answers._logIgnored",
    "roles/buyer/doubts.py: Doubts._logUnheld",
    "roles/seller/answering.py: Answering._logRefusals",
    "roles/seller/ledger.py: Ledger._logUnlogged",
    "schemes/chord/holding.py: Holding._refusalsSummed",
}

TEXT = 40


def _name(node):
    """The last name of an expression (``self.peer_log`` -> peer_log)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _admits(test):
    """Whether an if's test asks a throttle (calls ``.admit``)."""
    return any(isinstance(each, ast.Call) and _name(each.func) == "admit"
               for each in ast.walk(test))


def _verbose(test):
    return any(_name(each) == "verbose" for each in ast.walk(test))


def _skipsUnadmitted(statement):
    """``if not ....admit(...): continue`` (or return)."""
    return (isinstance(statement, ast.If)
            and isinstance(statement.test, ast.UnaryOp)
            and isinstance(statement.test.op, ast.Not) and _admits(statement.test)
            and isinstance(statement.body[-1], (ast.Continue, ast.Return)))


class _Scanner(ast.NodeVisitor):
    """The log calls of one module that pass on no rule: (key, line)."""

    def __init__(self, module):
        self.module = module
        self.scope = []
        self.texts = [{}]
        self.guarded = [False]
        self.found = []

    def _function(self, node):
        self.scope.append(node.name)
        # A text a function names first and logs later: ``line = "..."``.
        texts = dict(self.texts[-1])
        for each in ast.walk(node):
            if (isinstance(each, ast.Assign) and len(each.targets) == 1
                    and isinstance(each.targets[0], ast.Name)
                    and isinstance(each.value, ast.Constant)
                    and isinstance(each.value.value, str)):
                texts[each.targets[0].id] = each.value.value
        self.texts.append(texts)
        self._body(node.body)
        self.texts.pop()
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node):
        self.scope.append(node.name)
        self._body(node.body)
        self.scope.pop()

    def _body(self, statements):
        """Visit a block; what follows ``if not ...admit(): continue`` in
        it is admitted."""
        pushed = 0
        for statement in statements:
            self.visit(statement)
            if _skipsUnadmitted(statement):
                self.guarded.append(True)
                pushed += 1
        del self.guarded[len(self.guarded) - pushed:]

    def visit_If(self, node):
        self.visit(node.test)
        self.guarded.append(self.guarded[-1] or _admits(node.test) or _verbose(node.test))
        self._body(node.body)
        self.guarded.pop()
        self._body(node.orelse)

    def visit_For(self, node):
        self.visit(node.iter)
        self._body(node.body)
        self._body(node.orelse)

    visit_AsyncFor = visit_For

    def visit_While(self, node):
        self.visit(node.test)
        self._body(node.body)
        self._body(node.orelse)

    def visit_With(self, node):
        self._body(node.body)

    def visit_Try(self, node):
        self._body(node.body)
        for handler in node.handlers:
            self._body(handler.body)
        self._body(node.orelse)
        self._body(node.finalbody)

    def visit_Call(self, node):
        self.generic_visit(node)
        method = node.func
        if not isinstance(method, ast.Attribute) or method.attr not in WRITES:
            return
        receiver = _name(method.value)
        if receiver is None or not receiver.lower().endswith(("log", "logger")):
            return
        if receiver in PEER_LOGS or method.attr == "debug" or self.guarded[-1]:
            return
        where = f"{self.module}: {'.'.join(self.scope)}"
        if where in SUMMARIES:
            return
        texts = node.args[1:] if method.attr == "emit" else node.args
        text = texts[0] if texts else None
        if isinstance(text, ast.Constant):
            text = text.value
        elif isinstance(text, ast.Name):
            text = self.texts[-1].get(text.id, text.id)
        else:
            text = ast.unparse(text) if text is not None else ""
        self.found.append((f"{where}: {text[:TEXT]}", node.lineno))


def unthrottled(source, module):
    """The log calls in source (of module) that pass on no rule: a list of
    (key, line number)."""
    scanner = _Scanner(module)
    scanner._body(parsed(source).body)
    return scanner.found


def everyUnthrottled():
    return [(key, f"{module}:{line}") for module, tree in packageTrees().items()
            if module.split("/")[0] in LAYERS for key, line in unthrottled(tree, module)]


class PeerLogLintTests(SynchronousTestCase):

    def test_everyLineReviewed(self):
        """Each log call that is not through a peer log (nor throttled,
        --verbose only, or a summary) is one reviewed in L{ALLOWED}."""
        unknown = [f"{where}  {key!r}" for key, where in everyUnthrottled()
                   if key not in ALLOWED and key not in NOT_YET]
        self.assertEqual(unknown, [], "log calls outside the peer log, not reviewed: "
                         "send them through link.peerLine or a PeerLog, "
                         "or add them to ALLOWED with the reason no peer can cause them")

    def test_noStaleEntries(self):
        """Each entry of the lists still names a call."""
        keys = {key for key, _ in everyUnthrottled()}
        self.assertEqual(sorted(set(ALLOWED) - keys), [])
        self.assertEqual(sorted(set(NOT_YET) - keys), [])
        functions = {key.rsplit(": ", 1)[0] for key in ALLOWED}
        self.assertFalse(SUMMARIES & functions)

    def test_findsALineInAHandler(self):
        """A handler that logs what a peer sent straight away is found; the
        same line through peerLine, a peer log, a throttle or --verbose is
        not."""
        source = '''
class Handler:
    def received(self, link, message):
        self.log.info("got {item} from a peer", item=message.item)
        link.peerLine(LogLevel.info, "got {item} from {peer}", self.log, item=1)
        self.node.overlay.peer_log.emit(self.log, LogLevel.info, "g", "got {item}")
        if self.throttle.admit(message.TYPE):
            self.log.info("admitted {item}", item=message.item)
        for each in message.items:
            if not self.throttle.admit(each):
                continue
            self.log.warn("admitted too {item}", item=each)
        if self.settings.verbose:
            self.log.info("verbose {item}", item=message.item)
        self.log.debug("debug {item}", item=message.item)
        line = "named first {item}"
        self.log.emit(LogLevel.warn, line, item=message.item)
        log.msg("legacy")
'''
        self.assertEqual(unthrottled(source, "x.py"), [
            ("x.py: Handler.received: got {item} from a peer", 4),
            ("x.py: Handler.received: named first {item}", 17),
            ("x.py: Handler.received: legacy", 18)])
