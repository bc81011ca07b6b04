"""
Queries among super-peers: the flood, the answers from each index, and
the origin's gathering of hits, with dynamic querying.

Each super-peer floods ``spQuery`` to its super-peer neighbours only (a
L{FloodRouter} on links of purpose C{super}): at most once per id, on
while the ttl lasts.  Every super-peer it reaches answers from its own
index with one ``spHit``, path-routed back to the origin, and says
nothing when it has no seller.

The origin answers from its own index first.  Then it floods: once with
the full ttl, or, with dynamic querying, first with a small probe ttl,
widening (doubling the ttl, up to the full one) only while too few hits
came back within a round's wait.  The gathering ends as soon as enough
distinct sellers are known, or at the deadline: every wait is a timer,
nothing polls.
"""

from collections import OrderedDict

from twisted.internet import defer

from twisted_bazaar import wire
from twisted_bazaar.core.records import fittedSellers
from twisted_bazaar.net.fitting import frameLimit
from twisted_bazaar.routing.flood import FloodRouter, OfPurpose
from twisted_bazaar.schemes.superpeer.messages import MAX_HITS, SUPER, SpHit, SpQuery


#: spQuery travels between super-peers only: leaves never see one.
superLinks = OfPurpose(SUPER)


class _Gathering:
    """One query at its origin: the hits so far, its rounds, its timers."""

    def __init__(self, item, asker):
        self.item = item
        self.asker = asker
        #: seller -> (host, port, record, namedBy: the address group of the
        #: leaf or the link whose word named it), in the order they came.
        self.hits = OrderedDict()
        self.ids = []
        self.ttl = 0
        self.round_call = None
        self.deadline_call = None
        self.finished = None

    def add(self, sellers, namedBy):
        """Take (seller, host, port, record) of each of sellers, named by
        C{namedBy(seller)}."""
        for seller, *found in sellers:
            if seller != self.asker and found[1]:
                self.hits.setdefault(seller, tuple(found) + (namedBy(seller),))

    def sellers(self):
        return [(seller,) + address for seller, address in self.hits.items()]


class QueryFlood:
    """
    One super-peer's part in queries.

    @param lookup: C{lookup(item, limit, near=None)} -> (seller, host,
        port, record) from this super-peer's own index (its LAN-only
        leaves for an asker at host C{near} alone).
    @param leafGroup: C{leafGroup(seller)}, the address group of the leaf
        whose registration named seller in that index, or None.
    @ivar ttl: the full hop limit.
    @ivar probe_ttl: the first round's ttl with dynamic querying, or None
        for a single flood with the full ttl.
    @ivar round_wait: seconds a round waits per hop of its ttl before
        widening.
    """

    def __init__(self, node, lookup, ttl, enough, deadline, probe_ttl, round_wait,
                 seen_limit, leafGroup=lambda seller: None):
        self.node = node
        self.lookup = lookup
        self.leafGroup = leafGroup
        self.ttl = ttl
        self.enough = enough
        self.deadline = deadline
        self.probe_ttl = probe_ttl
        self.round_wait = round_wait
        #: flood id -> its L{_Gathering}.
        self._gatherings = {}
        self.router = FloodRouter(node, SpQuery, self._arrived, superLinks, seen_limit)

    # -- every super-peer ------------------------------------------------------

    def _arrived(self, query):
        """A query reached this super-peer: answer from the index, if it
        knows a seller."""
        sellers = self.lookup(query.item, MAX_HITS)
        if sellers:
            origin = query.return_path[0]
            link = self.node.linkTo(origin)
            path = ((self.node.id, origin) if link is not None and superLinks(link)
                    else query.return_path[::-1])
            limit = frameLimit(self.node.linkTo(path[1]))
            self.node.route(fittedSellers(SpHit(query.id, query.item, path,
                                                tuple(sellers)), limit))

    # -- the origin --------------------------------------------------------------

    def ask(self, item, asker, deadline=None, flood=True, near=None):
        """
        Gather sellers of item for ``asker`` (left out of the answer);
        without ``flood``, from this super-peer's own index only; its
        LAN-only leaves for an asker whose link comes from host ``near``
        alone (a flood's super-peers name none: they do not know the
        asker).

        @return: a Deferred firing with [(seller, host, port, record,
            namedBy)], namedBy the address group of whoever named it (the
            leaf, for this index's; the link a hit came over), best first
            (this index's first, then in order of arrival); cancelling it
            ends the query.
        """
        gathering = _Gathering(item, asker)
        gathering.finished = defer.Deferred(lambda d: self._end(gathering))
        gathering.add(self.lookup(item, MAX_HITS, near), self.leafGroup)
        if not flood or len(gathering.hits) >= self.enough or not self.router.links():
            self._finish(gathering)
        else:
            wait = self.deadline if deadline is None else min(deadline, self.deadline)
            gathering.deadline_call = self.node.clock.callLater(wait, self._finish,
                                                                gathering)
            self._round(gathering, self.probe_ttl or self.ttl)
        return gathering.finished

    def _round(self, gathering, ttl):
        node = self.node
        query_id = node.rng.randrange(1, wire.ID_LIMIT)
        gathering.ids.append(query_id)
        gathering.ttl = ttl
        self._gatherings[query_id] = gathering
        self.router.start(SpQuery(query_id, gathering.item, (node.id,), ttl))
        if ttl < self.ttl:
            gathering.round_call = node.clock.callLater(ttl * self.round_wait,
                                                        self._widen, gathering)

    def _widen(self, gathering):
        """A round ended with too few hits: flood again, further."""
        gathering.round_call = None
        self._round(gathering, min(gathering.ttl * 2, self.ttl))

    def hitArrived(self, hit, namedBy=None):
        """An spHit ended its path here, over a link of address group
        ``namedBy``."""
        gathering = self._gatherings.get(hit.id)
        if gathering is None or gathering.item != hit.item:
            return
        gathering.add(hit.sellers, lambda seller: namedBy)
        if len(gathering.hits) >= self.enough:
            self._finish(gathering)

    def _end(self, gathering):
        for call in (gathering.round_call, gathering.deadline_call):
            if call is not None and call.active():
                call.cancel()
        gathering.round_call = gathering.deadline_call = None
        for query_id in gathering.ids:
            self._gatherings.pop(query_id, None)

    def _finish(self, gathering):
        self._end(gathering)
        if not gathering.finished.called:
            gathering.finished.callback(gathering.sellers())

    def stop(self):
        """End every query in progress with what it has."""
        for gathering in list(self._gatherings.values()):
            self._finish(gathering)
