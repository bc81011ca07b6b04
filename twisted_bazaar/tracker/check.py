"""
The connect-back check: before it introduces a node, or lists what the
node sells, the tracker connects to the address the node advertised and
asks ``whoareyou``; only a node there that answers with the registered id
passes, and, if the node proved a key, only one that proves that key to
the checker, in this check (L{twisted_bazaar.identity.proofs}: the proof
names the checker's key and both nonces, so no proof made for another
check, another checker or another context passes).  A super-peer checks
its leaves the same way (L{twisted_bazaar.schemes.superpeer.superpeer}),
with the key each leaf proved on its link.
"""

from twisted.internet import defer
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.base.lan import peerHost
from twisted_bazaar.base.peerhost import probesAnother
from twisted_bazaar.reach.peerhosts import HostRefused
from twisted_bazaar.reach.vetting import NotNamed, RelayRefused
from twisted_bazaar.identity.proofs import CHECK
from twisted_bazaar.transports.connector import connectAny
from twisted_bazaar.transports.path import CLAIMED, DIRECT, Path
from twisted_bazaar.net.capabilities import IRelayedTransport
from twisted_bazaar.net.handshake import OPENING, LinkHandshake, channelKey
from twisted_bazaar.net.link import ILinkOwner, Link


@implementer(ILinkOwner)
class AddressCheck:
    """
    One check of one address: the owner of the probing link.

    @ivar result: a Deferred firing with True if the node listening at
        the address says it is node_id, else False (never fails).
    """

    def __init__(self, node_id, key, identity, clock, settings, peer_log=None, node=None):
        """
        @param key: the key node_id proved, which the node at the address
            must prove again; or None (the id alone is checked).
        @param identity: the checker's L{Identity}, which the node's proof
            is made for; or None (a checker without a key checks the id
            alone).
        @param peer_log: the checker's L{PeerLog}, which the lines the
            node at the address causes (a broken frame, say) go through:
            a registrant that fails its checks on purpose, again and
            again, gets a few an interval logged.
        @param node: the node that checks, if a node does (a super-peer).
        """
        self.node_id = node_id
        #: The key node_id proved, or None.
        self.key = key
        #: The checker's side of the check's handshake (L{LinkHandshake}):
        #: with a nonce, if it asks for a proof (it knows a key to check,
        #: and has one of its own).
        self.handshake = LinkHandshake()
        self.handshake.begin(identity if key is not None else None, CHECK)
        self.clock = clock
        self.settings = settings
        self.peer_log = peer_log
        #: The node that checks (a super-peer), whose sends its link's are
        #: (L{LinkSettings.statsOf}); None for a tracker.
        self.node = node
        self.link = None
        self._connecting = None
        self.result = defer.Deferred()
        #: The IP address the check reached the node at, once it passed
        #: dialling it directly (not through a relay), else None: its
        #: registered host resolved, when that is a name.
        self.reached = None
        #: Why the check dialled nothing (the host is one the checker does
        #: not dial for the node; for a super-peer's, the relay the leaf
        #: named is one the tracker does not name for it), once it failed
        #: so; else None.
        self.refused = None
        #: Whether the check passed through a relay's circuit (the way the
        #: dialer took, which a leaf's word does not decide): its line
        #: says so, not that the node listens at its address.
        self.relayed = False
        self._direct = False
        #: When the check began, on its clock (L{startBy}).
        self._began = None
        #: The timer that ends a check whose failure is held (L{_hold}).
        self._deadline = None

    def start(self, dial, host, port, hosts=None, seen=None, holdFailure=0.0):
        """
        The tracker's check: connect to host:port and ask; returns
        L{result}.  A tracker has no node, so no book of paths and no
        dialer: it dials the address the node registered (its word, a
        claim) by its own transports, directly, the host vetted first by
        the tracker's own rules for a registered host (C{hosts}).  Never
        through a relay: a node held at one has its checks stopped until
        it asks again (``checkme``), and then its own address is dialled,
        so a check that passes found it listening there.

        @param dial: C{dial(path, expectedKey, protocolFactory, options)},
            the tracker's transports'
            (L{twisted_bazaar.transports.table.Transports.dial}, built over
            its connector).
        @param hosts: a Deferred firing with the addresses to dial instead
            of host, in order, until one connects (host vetted: a name
            resolved, only addresses the checker dials for the node); or
            failing with L{HostRefused}, why there are none (L{refused}).
        @param seen: the IP address the node's connection to the checker
            comes from, with C{hosts}.
        @param holdFailure: seconds after it began within which the check,
            once it dialled an address of C{hosts} other than C{seen}
            (L{probesAnother}: a neighbour's, whose port a registrant could
            probe), fails only at their end (L{_hold}).
        """
        def connect(protocol):
            if hosts is None:
                return dial(Path(DIRECT, host, port, word=CLAIMED), None, protocol)
            return hosts.addCallback(connectAny, lambda address: dialAt(address, protocol))

        def dialAt(address, protocol):
            if holdFailure and probesAnother(address, seen):
                self._hold(holdFailure)
            return dial(Path(DIRECT, address, port, word=CLAIMED), None, protocol)

        return self.startBy(connect, True)

    def startBy(self, connect, direct, holdFailure=0.0):
        """
        Connect by C{connect(protocolFactory)} (a Deferred; failing with
        L{HostRefused} when the host is one the checker does not dial for
        the node, or, a super-peer's, with L{RelayRefused} or L{NotNamed}
        when the relay is not one the tracker names for it) and ask;
        returns L{result}.  A super-peer's check of a
        leaf connects by its node's dialer (L{Dialer.checkAt
        <twisted_bazaar.reach.dialer.Dialer.checkAt>}).

        @param direct: whether it dials the node's own address, not
            through a relay (then L{reached} says where it reached it).
        @param holdFailure: if not 0, the seconds after it began within
            which the check fails only at their end, unless it dials
            nothing (L{_hold}).
        """
        self.link = Link(self, self.clock, self.settings, inbound=False)
        self._direct = direct
        self._began = self.clock.seconds()
        if holdFailure:
            self._hold(holdFailure)
        link = self.link
        connecting = connect(lambda: link)
        self._connecting = connecting
        connecting.addErrback(self._failed)
        return self.result

    def cancel(self):
        """Give the check up: stop connecting, or close its connection;
        the result is False."""
        self._unhold()
        self._done(False)
        # Cancels the dial a vetting of hosts chained, too.
        self._connecting.cancel()
        self.link.close("check abandoned", routine=True)

    def _hold(self, seconds):
        """
        From now on the check fails exactly ``seconds`` after it began,
        unless it passes sooner: a port that refused at once, a service
        that closed and a silent port look alike to whoever is told, and
        the checker's slot for it (held until the result) is held as long,
        so that failing fast runs no more probes.  A pass is told at once.
        """
        if self._deadline is None and not self.result.called:
            delay = max(0.0, self._began + seconds - self.clock.seconds())
            self._deadline = self.clock.callLater(delay, self._expire)

    def _unhold(self):
        deadline, self._deadline = self._deadline, None
        if deadline is not None and deadline.active():
            deadline.cancel()

    def _expire(self):
        self._deadline = None
        self.cancel()

    def _failed(self, reason):
        if reason.check(HostRefused, RelayRefused, NotNamed):
            # Dialled nothing: the rule that refused is the node's to know.
            self.refused = str(reason.value)
            self._unhold()
        self._done(False)

    def _done(self, passed):
        """Tell the result, but a failure while one is held (L{_hold}):
        its deadline tells it."""
        if self.result.called or not passed and self._deadline is not None:
            return
        self._unhold()
        self.result.callback(passed)

    # -- the link's owner -----------------------------------------------------------

    def linkMade(self, link):
        handshake = self.handshake
        link.send(wire.WhoAreYou(handshake.ownKey, handshake.nonce))

    def messageReceived(self, link, message):
        passed = (type(message) is wire.ThisIsMe and message.id == self.node_id
                  and self._passes(message))
        if passed and self._direct:
            self.reached = peerHost(link.transport) or None
        self.relayed = passed and IRelayedTransport(link.transport, None) is not None
        self._done(passed)
        link.close("address checked", routine=True)

    def _passes(self, hello):
        """
        The answer's id and key go together, and, if this check asks for
        a proof, it proves, to this checker in this check, the key we
        know.
        """
        handshake = self.handshake
        if handshake.phase != OPENING or handshake.hear(
                hello, channel=channelKey(self.link.transport)) is not None:
            return False
        if handshake.proves and not (hello.key == self.key
                                     and handshake.checkProof(hello.sig)):
            return False
        handshake.establish()
        return True

    def linkLost(self, link, reason):
        self._done(False)
