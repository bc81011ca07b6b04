"""
``bazaar buy``: a one-shot buyer.

L{OneShotBuy} runs a node with the buyer role and C{exit_when_done}, on
the daemons' own L{NodeService}, until every unit is bought (the node
asks to stop: L{Node.requestStop}) or the deadline passes; then it stops
the node in order and says what happened.  It takes its clock, endpoints
and connector as parameters, so a test runs it in a L{Market}.

With a downloads folder, a shared file bought is fetched into it, and
the buy is done only once the verified file is there.  The deadline
bounds the purchase; a download under way when it passes goes on for as
long as it brings pieces, and gives up after C{give_up} seconds without
one (L{twisted_bazaar.roles.files.fetch}), which ends the buy with the
reason.  Each purchase is said as it is made (``announce``), before its
file is fetched; a L{Progress} shows the downloads as they go.

Its state and its key live in memory: a buy still out when the deadline
passes is forgotten, although the seller may yet sell it.  It joins a
market of daemons as a client of their scheme (L{schemeSettings}): on a
chord ring, it takes as neighbours only nodes whose ids solve the least
puzzle a ring of daemons has.  Its fresh key is not made to solve the
ring's, so (unless it does by chance) it is off the ring: no node takes
it as a neighbour or gives it records to hold, and it asks the ring as
any node does.

A purchase that ends short (the deadline, a download given up, Ctrl-C:
L{OneShotBuy.interrupt}) fails with a L{BuyError}, which carries what was
bought all the same: ``bazaar`` shows both.
"""

import hashlib
import random

from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from twisted_bazaar.base.defaults import DEFAULT_DEADLINE
from twisted_bazaar.base.words import counted
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.wire.ids import SHORT, wireId
from twisted_bazaar.status.client import ClientError
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.daemon.build import buildNode, configured, serveTransport
from twisted_bazaar.daemon.registry import discoveryPlugins, rolePlugins
from twisted_bazaar.daemon.services import NodeService
from twisted_bazaar.roles.files.options import DEFAULT_GIVE_UP
from twisted_bazaar.roles.want import DONE, countedHint
from twisted_bazaar.schemes.interfaces import IClientValues
from twisted_bazaar.tap.endpoints import listenInterface
from twisted_bazaar.transports.plugin import trackerWay
from twisted_bazaar.tap.shortfall import EmptySearches, shortfall, wayOut
from twisted_bazaar.tap.transports import nodeMaker

#: Seconds between updates of the downloads' progress.
PROGRESS_INTERVAL = 0.5


class BuyError(ClientError):
    """
    A purchase that ended short, saying why.

    @ivar result: what was bought all the same (L{OneShotBuy.result}).
    @ivar started: whether its node started (a port it could not listen
        on ends it before any seller is asked).
    @ivar unfound: whether it ended for want of a seller (another scheme's
        might have one), not on its own downloads folder or download, nor
        before its node registered (it asked nobody).
    """

    def __init__(self, why, result, started=True, unfound=True):
        super().__init__(why)
        self.result = result
        self.started = started
        self.unfound = unfound


class OneShotBuy:
    """
    Buy ``quantity`` units of one item, then stop.

    @ivar node: the buying L{Node}.
    @ivar buyer: its L{twisted_bazaar.roles.buyer.Buyer}.
    """

    log = Logger()

    def __init__(self, clock, connector, listen, tracker, tracker_address, item,
                 quantity=1, deadline=DEFAULT_DEADLINE, discovery="flood",
                 host="", rng=None, listen_description=None, identity=None,
                 downloads=None, give_up=DEFAULT_GIVE_UP, progress=None,
                 notice=None, scheme_settings=None, punch=None, quic=None,
                 transports=(), tracker_kinds=(), announce=None, tracker_at=None,
                 refused=None):
        """
        @param listen: the server endpoint the node listens on (peers
            answer its searches through links to it).
        @param tracker: the client endpoint of the tracker.
        @param tracker_address: the tracker as the messages say it.
        @param identity: the node's key pair (L{Identity}); a fresh one
            unless given.  It signs the buys, which keyed sellers require.
        @param downloads: the folder to fetch a shared file bought into
            (None: files are bought, not fetched).
        @param give_up: seconds a download may go without progress.
        @param progress: a L{twisted_bazaar.cli.progress.Progress} to show
            the downloads on, or None.
        @param notice: told ``notice(text)`` when the market has answered
            that nobody offers the item now (its first search found
            nothing), so that a user need not wait for the deadline to
            learn it; or None.
        @param scheme_settings: the discovery scheme's settings: by
            default a client's of a market of daemons (L{schemeSettings});
            a market of in-process nodes gives theirs.
        @param punch: (what its TCP transport dials punches from a port
            by, the seconds a trade waits for one, whether it punches),
            for a node that hole-punches over the relayed links it opens,
            as a daemon's does (L{twisted_bazaar.daemon.build.plugPunching}:
            without ``quic`` its refusals say it serves no UDP); None: it
            punches none.
        @param quic: the service of the node's QUIC socket
            (L{twisted_bazaar.daemon.quic.QuicService}, not yet serving a
            node), whose transport the node dials by and which punches
            over UDP where a TCP punch failed; None: none.
        @param transports: (plugin, values) of each transport plugin
            (L{twisted_bazaar.transports.plugin.ITransportPlugin}) and its
            node options' values, as a node daemon takes them: each the
            options turn on is the node's too (dialled by, served), and
            one that cannot serve ends the purchase with its reason.
        @param tracker_kinds: the endpoint kinds of the tracker's address:
            a transport the tracker is reached by is dialled by too.
        @param tracker_at: the tracker's L{Address
            <twisted_bazaar.base.address.Address>}: reached by a transport
            plugin's kind, the node keeps its reservation at the tracker's
            relay that way, and punches with nobody (L{trackerWay}), as a
            node daemon does.
        @param announce: told ``announce(line)``, the purchase's line
            (L{boughtLine}), as each purchase is made: a file's comes
            before its download, which may take long; or None.
        @param refused: why no file may be fetched into ``downloads``, or
            None: a file's offers found end the purchase before anything
            is bought (L{Fetcher.refuseFiles
            <twisted_bazaar.roles.files.fetch.Fetcher.refuseFiles>}).
        """
        self.clock = clock
        self.item = item
        self.quantity = quantity
        self.deadline = deadline
        self.tracker_address = tracker_address
        rng = rng if rng is not None else random.Random()
        scheme = discoveryPlugins()[discovery]
        settings = scheme_settings or schemeSettings(discovery)
        buyer = rolePlugins()["buyer"]
        # A transport's port listens on --listen's interface, as a node's.
        interface = listenInterface(listen_description) if listen_description else ""
        self._hints = wayOut(plugin for plugin, _ in transports)
        # A plugin's fault is said in one line, as the node daemon says it.
        makers = [nodeMaker(plugin, clock, values, interface, self._cannotListen,
                            tracker_kinds)
                  for plugin, values in transports]
        added = [make(connector.channel, connector.peerLog)
                 for make in makers if make is not None]
        parts = buildNode(clock, rng, connector, NodeConfig(host=host),
                          identity=identity or Identity.generate(),
                          scheme=(scheme, settings),
                          roles=[(buyer, configured(buyer, {
                              "want": [item], "quantity": quantity,
                              "exit-when-done": True, "downloads": downloads,
                              "download-give-up": give_up}))],
                          punch=punch if punch is None else (*punch, quic is not None),
                          more=(() if quic is None else (quic.transport,))
                          + tuple(each.transport for each in added))
        self.downloads = downloads
        self.node = parts.node
        self.buyer = parts.roles["buyer"]
        self.fetcher = self.buyer.fetcher
        if announce is not None:
            self.buyer.tellPurchases(lambda purchase: announce(self._boughtLine(purchase)))
            if self.fetcher is not None:
                self.fetcher.tellResumed(lambda name, seller: announce(
                    resumedLine(name, wireId(seller))))
        if self.fetcher is not None:
            self.fetcher.onGaveUp = self._gaveUp
            if refused is not None:
                self.fetcher.refuseFiles(refused)
        self.progress = progress
        self._showing = None
        self.service = NodeService(clock, self.node, listen, tracker,
                                   onFailure=self._cannotListen,
                                   listen_description=listen_description,
                                   tracker_address=tracker_address,
                                   onStopRequested=self._stopRequested,
                                   services=parts.services, roles=parts.roles,
                                   tracker_ways=(trackerWay(
                                       [plugin for plugin, _ in transports], tracker_at),))
        if quic is not None:
            quic.serve(self.node, parts.punching, self._cannotListen)
            quic.setServiceParent(self.service)
        for each in added:
            serveTransport(each, self.node).setServiceParent(self.service)
        self._finished = defer.Deferred()
        #: When the purchase began, by the clock (set by L{run}).
        self.started = None
        self._timer = None
        self._ending = False
        #: Whether a port of its node could not listen (it ended unstarted).
        self._unstarted = False
        #: Whether its downloads folder or a download ended it (no seller
        #: of another scheme would have done better).
        self._fetchFailed = False
        self._searches = EmptySearches()
        self.node.addObserver(self._searches)
        if notice is not None:
            self.node.addObserver(_NothingOffered(self, notice))

    def run(self, started=None):
        """
        Start the node and buy.

        @param started: when the purchase began, by the clock (its
            questions to the tracker may come first); default: now.
        @return: a Deferred firing, once the node has stopped, with a
            dict of what was bought (L{result}), or failing with a
            L{BuyError} saying why not.
        """
        self.started = self.clock.seconds() if started is None else started
        spent = self.clock.seconds() - self.started
        self._timer = self.clock.callLater(max(0, self.deadline - spent), self._expired)
        if self.progress is not None and self.fetcher is not None:
            self._showing = LoopingCall(self._show)
            self._showing.clock = self.clock
            self._showing.start(PROGRESS_INTERVAL, now=False)
        self.service.startService()
        return self._finished

    def _boughtLine(self, purchase):
        # A file is bought once, whatever the quantity asked: a purchase of
        # other content after the first could not be fetched is its one
        # unit too, as the buyer's log says (L{Want.reopen}).
        if purchase.sha256 is not None:
            total = quantity = 1
        else:
            total, quantity = sum(each.units for each in self.buyer.bag), self.quantity
        return boughtLine(purchase.item, purchase.units, wireId(purchase.seller),
                          total, quantity)

    def _show(self):
        self.progress.show([row for row in self.fetcher.downloadsHeld()
                            if row["state"] != "failed"], self.clock.seconds())

    def _gaveUp(self, why):
        self._fetchFailed = True
        self.clock.callLater(0, self._end, why)

    def _cannotListen(self, why):
        # Its node's port, or a transport's (its onFailure), says so.
        self._unstarted = True
        self.clock.callLater(0, self._end, why)

    def _stopRequested(self, why):
        self.clock.callLater(0, self._end, None)

    def _expired(self):
        """The deadline: a purchase not done ends here; a download of a
        file bought goes on, bounded by its own give-up."""
        self._timer = None
        if self.buyer.satisfied:
            self._end(None)
        elif (self.fetcher is not None and self.fetcher.downloads
                and all(want.state == DONE for want in self.buyer.wants)):
            return
        else:
            self._end(self.shortfall() or "not done: no reason known")

    def shortfall(self, within=True):
        """Why the purchase is not done, in one line."""
        return shortfall(self.node, self.buyer, self._searches, self.tracker_address,
                         f" within {self.deadline:g} s" if within else "", self._hints)

    def interrupt(self, why):
        """
        End the purchase now (the command was told to stop: Ctrl-C,
        SIGTERM), failing with why and what it still lacked, and stop the
        node in order (it leaves the tracker).

        @return: a Deferred firing once the node has stopped.
        """
        lacking = self.shortfall(within=False)
        self._end(f"{why}: {lacking}" if lacking else why)
        stopped = defer.Deferred()

        def passOn(result):
            stopped.callback(None)
            return result

        self._finished.addBoth(passOn)
        return stopped

    @defer.inlineCallbacks
    def _end(self, failure):
        if self._ending:
            return
        self._ending = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._showing is not None:
            self._showing.stop()
            self._showing = None
            self.progress.done(self.fetcher.fetched)
        if self.service.running:
            yield self.service.stopService()
        if failure:
            self._finished.errback(BuyError(failure, self.result(),
                                            started=not self._unstarted,
                                            unfound=(not self._fetchFailed
                                                     and self.node.wasRegistered)))
        else:
            self._finished.callback(self.result())

    def result(self):
        """What was bought: the node's id, the item, each purchase (with
        its units), and each file fetched (its path, the SHA-256 of its
        bytes, and the pieces each seller served, with the bytes that
        came from it through a relay and when its pieces moved to a
        direct connection, if they did; a file of the content offered found
        in place already, with no pieces and C{in_place} true: found before
        a purchase, nothing was bought)."""
        fetched = self.fetcher.fetched if self.fetcher is not None else {}
        paths = self.fetcher.paths if self.fetcher is not None else {}
        present = self.fetcher.present if self.fetcher is not None else {}
        # A file is bought once, whatever the quantity asked; a buyer that
        # never started has no want yet.
        wants = self.buyer.wants
        node = self.node.id
        return {"node": wireId(node) if node is not None else None, "item": self.item,
                "quantity": wants[0].quantity if wants else self.quantity,
                "purchases": [{"buy_id": p.buy_id, "seller": wireId(p.seller),
                               "units": p.units}
                              for p in self.buyer.bag],
                "files": [{"name": name, "path": path, "sha256sum": plainSha256(path),
                           "pieces": [_served(seller, n, paths.get(name, {}).get(seller))
                                      for seller, n in sorted(served.items())]}
                          for name, (path, served) in sorted(fetched.items())]
                + [{"name": name, "path": path, "sha256sum": plainSha256(path),
                    "pieces": [], "in_place": True}
                   for name, path in sorted(present.items()) if name not in fetched]}


def _served(seller, pieces, path):
    """A file's row of what seller served: its pieces, the bytes of them
    that came through a relay (``relayed_bytes``), and the seconds after
    the download's start that the rest moved to a direct connection
    (``moved_after``, null if they did not)."""
    relayed, moved = path if path is not None else (0, None)
    return {"seller": wireId(seller), "pieces": pieces, "relayed_bytes": relayed,
            "moved_after": None if moved is None else round(moved, 3)}


def schemeSettings(discovery):
    """The settings of the discovery scheme named, for a client of a market
    of daemons whose options it does not know: the daemons' defaults, with
    the ``client`` values of an L{IClientValues} plugin over them (a chord
    client takes peers whose ids solve the least puzzle a ring of daemons
    may have, where an in-process node takes any)."""
    plugin = discoveryPlugins()[discovery]
    values = plugin.client if IClientValues.providedBy(plugin) else {}
    return configured(plugin, values, inProcess=False)


class _NothingOffered(NodeObserver):
    """Says once, when a search for the item finds nothing before any is
    bought, that no seller offers it now: sold out, or never sold."""

    def __init__(self, purchase, notice):
        self.purchase = purchase
        self.notice = notice
        self.told = False

    def offersFound(self, item, offers):
        purchase = self.purchase
        if offers or self.told or item != purchase.item or purchase.buyer.bag:
            return
        self.told = True
        left = purchase.deadline - (purchase.clock.seconds() - purchase.started)
        self.notice(f"no seller offers {item} now (sold out, or not sold here: a "
                    f"search found nothing); searching again for up to {left:.0f} s "
                    f"(--timeout), Ctrl-C to stop{countedHint(item)}")


def plainSha256(path):
    """
    The SHA-256 of a file's bytes, as ``sha256sum`` prints it: the
    ``sha256`` of offers on the wire is the file's content id, the hash
    of its pieces' hashes (protocol.md §19.4), which no common tool prints.
    None if the file cannot be read.
    """
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def _short(text):
    """A node id's wire text as people read it (L{shortId})."""
    return text[:SHORT] if len(text) == 32 else text


def boughtLine(item, units, seller, total, quantity):
    """One purchase as text: the units it bought, from whom (a wire id),
    and how many so far of how many asked."""
    return (f"bought {counted(item, units)} from node {_short(seller)} "
            f"({total} of {quantity})")


def resumedLine(name, seller):
    """A file paid for in an earlier run, resumed (said where a first buy
    says its purchase): from whom, and that it is not bought again."""
    return (f"resuming {name}, bought from node {_short(seller)} in an earlier run "
            "(not bought again)")


def renderBuy(obj):
    """What a buy says at its end, as text: a line per file fetched (or
    found in place already: before its purchase, nothing bought).  Its
    purchases were said as they were made (C{OneShotBuy}'s announce), a
    file's before its download."""
    lines = []
    # A file found in place before any purchase was not paid for again.
    how = "not fetched again" if obj.get("purchases") else "nothing bought"
    for entry in obj.get("files", ()):
        if entry.get("in_place"):
            lines.append(f"{entry['name']} is in place already: {entry['path']}, verified "
                         f"({how}); its sha256sum: {entry.get('sha256sum') or '?'}")
            continue
        served = ", ".join(f"{row['pieces']} piece{'s' if row['pieces'] != 1 else ''} "
                           f"from node {_short(row['seller'])}" for row in entry["pieces"])
        lines.append(f"downloaded {entry['name']} into {entry['path']}, verified "
                     f"({served}); its sha256sum: {entry.get('sha256sum') or '?'}")
    return "\n".join(lines)
