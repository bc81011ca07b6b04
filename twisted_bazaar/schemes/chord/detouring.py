"""
A Chord node's detours (L{DisjointLookup}): asked hop by hop by this
node when routing did not answer usefully (a find's, L{Lookups
<twisted_bazaar.schemes.chord.lookups.Lookups>}; a store no holder
answered, L{Publisher <twisted_bazaar.schemes.chord.adverts.Publisher>}),
with the ``chordNext`` questions they ask, and this node's answers to
others' (a node on the ring only).  L{Detouring} is a part of
L{ChordDiscovery <twisted_bazaar.schemes.chord.node.ChordDiscovery>},
reaching the scheme through L{IRingHost
<twisted_bazaar.schemes.chord.upkeep.IRingHost>}; a detour's logic (whom
to ask next) is L{twisted_bazaar.schemes.chord.detour}'s.
"""

from twisted.internet import defer

from twisted_bazaar.base.deferreds import ignoreCancelled
from twisted_bazaar.schemes.chord.detour import DisjointLookup, besideKey
from twisted_bazaar.schemes.chord.messages import ChordNext, ChordNextIs
from twisted_bazaar.schemes.chord.question import Question
from twisted_bazaar.schemes.chord.settings import FINGER, MAX_SUCCESSORS

#: A detour's wait for one node (its link and its answer), as a share of
#: the lookup timeout: a node that drops questions costs its path that.
HOP_SHARE = 1 / 3


class Detouring:
    """
    Take detours, ask their steps, and answer others'.

    @ivar host: the L{IRingHost <twisted_bazaar.schemes.chord.upkeep.IRingHost>}.
    @ivar _nexts: nonce -> the L{Question} of a detour's step
        (L{_askNext}): made when first needed (a large simulated ring
        would hold an empty dict a node).
    """

    __slots__ = ("host", "_nexts")

    def __init__(self, host):
        self.host = host
        self._nexts = None

    def stop(self):
        """End every detour's step asked."""
        nexts, self._nexts = self._nexts or {}, None
        for question in nexts.values():
            question.end().callback(None)

    def _hopWait(self):
        return self.host.settings.lookup_timeout * HOP_SHARE

    def _detour(self, key, ask, counts=None):
        """
        Find key's holders round the nodes that drop or lie
        (L{DisjointLookup}), and ask each one found with ``ask(peer)`` (a
        Deferred firing with its answer, or None); an answer counts as a
        holder's only if ``counts(answer)`` (if given) says so, else the
        next node is asked in its place.  A Deferred firing with the
        answers, once nothing more is asked; cancelling it ends every
        question in progress.
        """
        host = self.host
        node, settings, ring = host.node, host.settings, host.ring
        lookup = DisjointLookup(key, node.id, ring.known() if ring else (),
                                settings.paths, settings.holders)
        answers = []
        running = set()

        def cancel(_):
            for each in list(running):
                each.cancel()

        finished = defer.Deferred(cancel)

        def own(d, then, peer, *args):
            running.add(d)
            d.addBoth(lambda result: (running.discard(d), result)[1])
            d.addCallback(then, peer, *args)
            d.addErrback(ignoreCancelled)

        def step():
            # A question that fails at once (no link to be had) answers
            # within own(), and calls step() again from there: each pass
            # looks again whether the detour has ended meanwhile.
            if finished.called:
                return
            if host.stopped:
                # The node is leaving: nothing more is asked.
                finished.callback(answers)
                return
            for index, peer in lookup.nextQuestions():
                own(self._askNext(peer, key), told, peer, index)
                if finished.called:
                    return
            for peer in lookup.nextHolders():
                own(ask(peer), heard, peer)
                if finished.called:
                    return
            for peer in lookup.nextBackQuestions():
                own(self._askNext(peer, besideKey(peer)), toldBack, peer)
                if finished.called:
                    return
            if lookup.finished and not running:
                finished.callback(answers)

        def told(nodes, peer, index):
            if nodes is None:
                lookup.failed(index, peer)
            else:
                lookup.answered(index, peer, nodes)
            step()

        def toldBack(nodes, peer):
            if nodes is None:
                lookup.backFailed(peer)
            else:
                lookup.backAnswered(peer, nodes)
            step()

        def heard(answer, peer):
            if answer is not None:
                answers.append(answer)
            if answer is None or (counts is not None and not counts(answer)):
                lookup.holderFailed(peer)
            else:
                lookup.holderAnswered(peer)
            step()

        step()
        return finished

    def _linkTo(self, peer):
        """A Deferred firing with the link to peer (opened as a finger
        link if there is none), or None if there is none within a hop's
        wait."""
        node = self.host.node
        link = node.linkTo(peer.id)
        if link is not None:
            return defer.succeed(link)
        node.heard(peer.id, peer.host, peer.port, namedBy=self.host.naming.namerOf(peer))
        connecting = node.connectTo(peer.id, FINGER)
        timer = node.clock.callLater(self._hopWait(), connecting.cancel)

        def done(result):
            if timer.active():
                timer.cancel()
            return node.linkTo(peer.id)

        return connecting.addBoth(done)

    def _askNext(self, peer, key):
        """Ask peer ``chordNext`` for key: a Deferred firing with the
        nodes it names, or None (no link, or no answer within a hop's
        wait)."""
        nonce = self.host.newNonce()

        def cancel(_):
            question = self._nexts.pop(nonce, None) if self._nexts else None
            if question is not None:
                question.end()

        answered = defer.Deferred(cancel)
        if self._nexts is None:
            self._nexts = {}
        timer = self.host.node.clock.callLater(self._hopWait(), self._nextTold, None,
                                          ChordNextIs(nonce, None))
        question = self._nexts[nonce] = Question(nonce, answered, timer, peer.id)

        def linked(link):
            if not self._nexts or self._nexts.get(nonce) is not question:
                return
            if link is None:
                self._nextTold(None, ChordNextIs(nonce, None))
            else:
                link.send(ChordNext(nonce, key))

        question.connecting = self._linkTo(peer).addCallback(linked)
        question.connecting.addErrback(ignoreCancelled)
        return answered

    def _nextAsked(self, link, message):
        """Answer a detour's step (a node on the ring only)."""
        host = self.host
        if host.joined and not host.stopped:
            nodes = host.ring.nearKey(message.key)[:MAX_SUCCESSORS]
            link.send(ChordNextIs(message.nonce, tuple(nodes)))

    def _nextTold(self, link, message):
        """A ``chordNextIs`` came (link None: the question's time is up,
        or it has no link): it ends the question of its nonce, if that
        was asked of the link's peer."""
        question = self._nexts.get(message.nonce) if self._nexts else None
        if question is None or (link is not None and link.peer_id != question.peer_id):
            return
        del self._nexts[message.nonce]
        question.end().callback(message.nodes if link is not None else None)

    def _nextNamed(self, link, message):
        """A ``chordNextIs`` came: the peers it names are the link's word
        (L{Naming}), and it ends its question (L{_nextTold})."""
        self.host.naming.note(link, message)
        self._nextTold(link, message)

    def detourTo(self, key, build, counts=None):
        """A detour to key that sends ``build(id)`` (a direct request or
        store) to each holder it finds: a Deferred firing with their
        answers (L{_detour}, and ``counts`` as it has it)."""
        return self._detour(key, lambda peer: self._askDirect(peer, build), counts)

    def _askDirect(self, peer, build):
        """Send ``build(id)`` to peer over a link to it: a Deferred firing
        with its answer, or None."""
        return self._linkTo(peer).addCallback(
            lambda link: None if link is None else self.host.router.start(
                build, self._hopWait(), via=peer.id))

    #: The detours' steps a node takes on its links: message class ->
    #: function(detouring, link, message).
    takes = {ChordNext: _nextAsked, ChordNextIs: _nextNamed}
