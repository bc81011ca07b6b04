"""
The superpeer scheme's topology: links of one purpose to super-peers.

A leaf keeps ``wanted`` links of purpose C{leaf} to super-peers; a
super-peer keeps links of purpose C{super} to other super-peers.  Both
try the addresses named with ``--superpeer-neighbour`` first, then ask
the tracker for a super-peer of the scheme (``nodereq{scheme, super}``),
one question or connection at a time, backing off while nobody new is to
be had.  A named address that failed is tried again after the backoff.

A leaf's link serves once its super-peer has taken its register, or at
once when the leaf has nothing to list and registers nothing (see
L{SuperPeerLinks.confirmed}): one closed before that was a refusal (the
index is ``full``, the leaf has too many items, its address is
``claimed``...), and is tried again only after the backoff, which starts
over only once a super-peer takes the leaf.  Without it a refused leaf
would link and register again at once, for ever.

A leaf lets go of a super-peer whose answers came to nothing (see
L{twisted_bazaar.schemes.superpeer.standing}) through L{letGo}: its link
closes, and the tracker is asked not to name it, nor any of the last
L{SHUNNED_KEPT} let go, again; one it names all the same (it has no
other) is taken back, and kept for L{TAKEN_BACK_KEPT} seconds.  A
super-peer the operator named is kept.

The tracker answers questions in order, so one lost message would leave a
question unanswered and the next answered in its place: a question not
answered within L{QUESTION_TIMEOUT} is asked again, and the first answer
to either is taken (any super-peer named is as good as another).
"""

from twisted.logger import Logger
from zope.interface import implementer

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.slotservice import SlotService
from twisted_bazaar.wire.ids import shortId
from twisted_bazaar import wire
from twisted_bazaar.base.backoff import Backoff
from twisted_bazaar.base.sparing import NO_MEMBERS, NOTHING, own, ownSet
from twisted_bazaar.base.lately import Recent
from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.asking import TrackerSilent
from twisted_bazaar.core.topology import ITopology, dialWhy
from twisted_bazaar.schemes.superpeer.messages import SUPER

#: Seconds to wait for the tracker's answer before asking again: less than
#: a question's own wait (the handshake timeout, core/questions.py), so the
#: first question still takes the first answer.
QUESTION_TIMEOUT = 5.0
#: Super-peers let go that the tracker is asked not to name again.
SHUNNED_KEPT = 32
#: Seconds a super-peer taken back (the tracker had no other) is kept,
#: however fruitless its answers: let go, it was named again at once, and
#: a leaf searching for what nobody sells said both every two searches.
TAKEN_BACK_KEPT = 300.0


class _LetGoLately(Recent):
    """
    The super-peers a leaf let go lately (L{SHUNNED_KEPT}), and the one
    it took back as the tracker had no other: (its id, until when it is
    kept), or None.
    """

    def __init__(self):
        super().__init__(SHUNNED_KEPT)
        self.takenBack = None

    def takeBack(self, peer_id, now):
        """peer_id is linked to again though let go (the tracker has no
        other): kept until TAKEN_BACK_KEPT from now."""
        self.discard(peer_id)
        self.takenBack = (peer_id, now + TAKEN_BACK_KEPT)

    def kept(self, peer_id, now):
        """Whether peer_id was taken back less than TAKEN_BACK_KEPT ago."""
        return self.takenBack is not None and self.takenBack[0] == peer_id and (
            now < self.takenBack[1])


@implementer(ITopology)
class SuperPeerLinks(SlotService, NodeObserver):
    """
    @ivar named: (host, port) addresses to link to first, in order.
    @ivar wanted: links of ``purpose`` to keep.
    """

    log = Logger()

    # Slots, not a dict: every node of a simulated super-peer run holds one.
    __slots__ = ("node", "scheme", "purpose", "wanted", "named", "_named_ids", "_down",
                 "_asking", "_question_call", "_unanswered", "_connecting", "_backoff",
                 "confirm", "_unconfirmed", "_shunned", "noneNamed")

    def __init__(self, node, scheme, purpose, wanted, named=(), retry_min=1.0,
                 retry_max=60.0, confirm=False):
        """
        @param confirm: whether a new link serves only once L{confirmed}
            (a leaf's), else as soon as it is made.
        """
        SlotService.__init__(self)
        self.node = node
        self.scheme = scheme
        self.purpose = purpose
        self.wanted = wanted
        #: Read, never written: a tuple (none: the one empty tuple, where
        #: an empty list was 56 bytes of every leaf).
        self.named = tuple(named)
        # Its tables and sets are the shared empty ones until written
        # (base/sparing.py): a leaf of a warm run never fills them.
        #: (host, port) -> the peer id a named address turned out to be.
        self._named_ids = NOTHING
        #: named addresses that failed since the last backoff.
        self._down = NO_MEMBERS
        #: the question to the tracker in progress, and its timer.
        self._asking = None
        self._question_call = None
        #: older questions, still unanswered: their answer is as good (a
        #: list from the first; an empty one was 56 bytes of every node).
        self._unanswered = ()
        #: the link being opened (or, as the service starts, the store's
        #: first write awaited: L{startService}).
        self._connecting = None
        self._backoff = Backoff(node.clock, node.rng, retry_min, retry_max)
        self.confirm = confirm
        #: Peers linked that have yet to be confirmed.
        self._unconfirmed = NO_MEMBERS
        #: The super-peers let go lately (L{letGo}): made when first needed.
        self._shunned = None
        #: Why the tracker named no super-peer at the last question, said
        #: once until one is linked (L{whyNone}), or None.
        self.noneNamed = None
        node.addObserver(self)

    def peers(self):
        """Peers linked for this purpose."""
        return self.node.peersOf(self.purpose)

    # -- node events -------------------------------------------------------------

    def trackerRegistered(self):
        self.seek()

    def nodeReady(self):
        self.seek()

    def linkRemoved(self, peer_id):
        if peer_id in self._unconfirmed:
            self._unconfirmed.discard(peer_id)
            self.log.info("super-peer {peer} closed the link before taking this node; "
                          "seeking another after a pause", peer=shortId(peer_id))
            ownSet(self, "_down").update(address for address, known in self._named_ids.items()
                              if known == peer_id)
            self._retryLater()
            return
        self.seek()

    def confirmed(self, peer_id):
        """The link to peer_id serves (its super-peer took this leaf's
        register, or the leaf has nothing to list): the backoff starts
        over."""
        self._unconfirmed.discard(peer_id)
        self._backoff.reset()

    def nodeStopping(self):
        self.stopService()

    def letGo(self, peer_id, why):
        """
        Close the link to peer_id, whose answers came to nothing (why),
        and link to another super-peer, which the tracker is asked not to
        make peer_id.

        @return: False, keeping the link, for a super-peer the operator
            named (``--superpeer-neighbour``), or one taken back lately
            (L{TAKEN_BACK_KEPT}); else True.
        """
        link = self.node.linkTo(peer_id)
        if link is None or link.purpose != self.purpose:
            return False
        if peer_id in self._named_ids.values():
            return False
        if self._shunned is None:
            self._shunned = _LetGoLately()
        elif self._shunned.kept(peer_id, self.node.clock.seconds()):
            return False
        self._shunned.add(peer_id)
        self.log.info("letting super-peer {peer} go: {why}", peer=shortId(peer_id),
                      why=why)
        link.disconnect(f"letting super-peer {shortId(peer_id)} go: {why}")
        return True

    # -- seeking -------------------------------------------------------------------

    def seek(self):
        """Open one more link if the node lacks any: a named address first,
        else one the tracker names."""
        node = self.node
        if self._asking is not None or self._connecting is not None:
            return
        if not self.running or node.stopping:
            return
        if node.id is None or len(self.peers()) >= self.wanted:
            return
        linked = set(self.peers())
        for address in self.named:
            if address not in self._down and self._named_ids.get(address) not in linked:
                self._connect(address[0], address[1], None, address)
                return
        membership = node.membership
        if membership is None or not membership.isRegistered:
            return
        # One let go whose link still closes is both: named once, as the
        # tracker requires (protocol.md §3, "ids").
        shunned = list(self._shunned or ())[::-1]
        exclude = tuple(dict.fromkeys([*sorted(linked), *shunned]))[: wire.MAX_EXCLUDE]
        question = self._asking = membership.ask(
            wire.NodeReq(exclude, scheme=self.scheme, superpeer=True))
        self._question_call = node.clock.callLater(QUESTION_TIMEOUT, self._askAgain)
        question.addCallbacks(self._introduced, self._noAnswer,
                              callbackArgs=(question,), errbackArgs=(question,))

    def _askAgain(self):
        """No answer in time: keep the question, and ask another."""
        self._question_call = None
        self._unanswered = [*self._unanswered, self._asking]
        self._asking = None
        self.seek()

    def _settle(self, question):
        """A question got its answer (or failed): it is no longer awaited."""
        if question is self._asking:
            self._asking = None
            if self._question_call is not None and self._question_call.active():
                self._question_call.cancel()
            self._question_call = None
        elif question in self._unanswered:
            self._unanswered.remove(question)

    def _noAnswer(self, reason, question):
        self._settle(question)
        # TrackerGone: the next registration asks again; a cancel: stopped;
        # no answer in time (TrackerSilent): ask again later.
        if reason.check(TrackerSilent) and self._asking is None:
            self._retryLater()

    def _introduced(self, reply, question):
        self._settle(question)
        if self._connecting is not None:
            return
        if self._asking is not None:
            # An older question's answer came first: take it.
            self._question_call.cancel()
            self._question_call = None
            self._unanswered = [*self._unanswered, self._asking]
            self._asking = None
        if reply.id < 0 and not self.peers():
            self._noneNamed()
        elif reply.id >= 0:
            self.noneNamed = None
        if reply.id < 0 or reply.id == self.node.id or reply.id in self.peers():
            self._retryLater()
            return
        if reply.id in (self._shunned or ()):
            # Named though excluded: the tracker has no other (protocol.md
            # §12), and a leaf with none has its stock listed nowhere.
            self._shunned.takeBack(reply.id, self.node.clock.seconds())
            self.log.info("the tracker names no super-peer but those this node let "
                          "go: taking super-peer {peer} back, and keeping it for "
                          "{kept:.0f} s", peer=shortId(reply.id), kept=TAKEN_BACK_KEPT)
        self._connect(reply.host, reply.port, reply.id, None)

    def _noneNamed(self):
        """The tracker knows no super-peer to name, and none is linked:
        say why once (a market of leaves alone searches nothing)."""
        let_go = " but those this node let go" if self._shunned else ""
        if self.purpose == SUPER:
            # A super-peer itself: the way out of a leaf's line is what it did.
            why = (f"the tracker names no other live super-peer{let_go} (this "
                   "node's leaves search its own index alone until another "
                   f"--discovery {self.scheme} --super node starts)")
        else:
            why = (f"the tracker names no live super-peer{let_go} (a node started with "
                   f"--discovery {self.scheme} --super serves as one)")
        if why != self.noneNamed:
            self.log.info("{why}; asking again later", why=why)
        self.noneNamed = why

    def _connect(self, host, port, peer_id, address):
        """Link to peer_id where the tracker named it (its nodereply, in
        the book of paths already: a refusal of its host charged to the
        tracker connection's address group), or to whoever answers at
        the ``address`` (host, port) the operator named (a
        --superpeer-neighbour, whose id is not known yet: the node dials
        it however it is named, L{INode.connectAt
        <twisted_bazaar.core.node.INode.connectAt>})."""
        if address is not None:
            self._connecting = self.node.connectAt(host, port, self.purpose)
        else:
            # The reply is in the book of paths already (the session wrote it).
            self._connecting = self.node.connectTo(peer_id, self.purpose)
        self._connecting.addCallbacks(self._connected, self._failed,
                                   callbackArgs=(address,),
                                   errbackArgs=(host, port, address))

    def _connected(self, peer_id, address):
        self._connecting = None
        if peer_id not in self.peers():
            # Already linked for another purpose (a buyer's direct link):
            # that link does not serve, and asking again would name it again.
            self._retryLater()
            return
        if address is not None:
            own(self, "_named_ids")[address] = peer_id
        if self.confirm:
            ownSet(self, "_unconfirmed").add(peer_id)
        else:
            self._backoff.reset()
        self.seek()

    def _failed(self, reason, host, port, address):
        self._connecting = None
        if not self.running:
            return
        self.log.info("could not link to super-peer at {where}: {why}",
                      host=host, port=port, where=hostPort(host, port), why=dialWhy(reason, host, port))
        if address is not None:
            ownSet(self, "_down").add(address)
            self.seek()
        self._retryLater()

    def _retryLater(self):
        """Seek again later, with exponential backoff and jitter, giving
        the named super-peers that failed another chance then."""
        if self.running:
            self._backoff.schedule(self._retry)

    def _retry(self):
        self._down = NO_MEMBERS
        self.seek()

    # -- IService --------------------------------------------------------------------

    def startService(self):
        super().startService()
        # A named super-peer is dialled before the tracker is asked, and a
        # leaf registers its stock on the link at once: only once the
        # store takes writes (its writer process answered), as the node
        # registers with its tracker (daemon/services.py), or a sale its
        # writer could not yet record makes its buyer give it up.  The
        # wait is held as the link being opened: seek waits, stop cancels.
        writing = self.node.store.whenWriting()
        if not writing.called:
            self._connecting = writing
        writing.addCallbacks(self._writing, self._notWriting,
                             callbackArgs=(writing,), errbackArgs=(writing,))

    def _writing(self, _, writing):
        if self._connecting is writing:
            self._connecting = None
        self.seek()

    def _notWriting(self, failure, writing):
        """Stopped meanwhile (or the writer did not start, which ends the
        daemon)."""
        if self._connecting is writing:
            self._connecting = None

    def stopService(self):
        if not self.running:
            return None
        super().stopService()
        self._backoff.cancel()
        if self._question_call is not None and self._question_call.active():
            self._question_call.cancel()
        self._question_call = None
        for pending in [self._asking, self._connecting, *self._unanswered]:
            if pending is not None:
                pending.cancel()
        return None
