"""
A one-question client for the ``bazaar`` command: connect, introduce
itself, ask one question, take the answer, say ``dc``.

It speaks through the same L{Link} as the daemons (framing, decoding,
answering pings), so it obeys docs/protocol.md like any peer.  Where it
connects is an L{Address} (L{twisted_bazaar.base.address}), in any form a
user types.  A node it asks must be who it says (its ``thisisme`` names
the key its channel proved) and, when the client knows which node it
wants, that node: a stranger at the address (a proxy) is refused.  A
question answered ``busy`` (over the answerer's rate, protocol.md §12a)
is asked again on the same link once the wait it names is over, for as
long as the client's timeout allows.
"""

import os
import random

from twisted.internet import defer
from twisted.internet.endpoints import connectProtocol
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.status.messages import BUSY, NodeState, State
from twisted_bazaar.identity.operator import operatorProof
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import CLOSED_IN_HANDSHAKE, EncryptedClientEndpoint
from twisted_bazaar.net.byname import clientEndpoint
from twisted_bazaar.net.handshake import PLAIN, LinkHandshake, channelHash, channelKey
from twisted_bazaar.net.link import BrokenHere, IChannelUp, ILinkOwner, Link, LinkSettings
from twisted_bazaar.net.reconnect import (
    NO_TLS,
    OTHER_HOST,
    inWords,
    otherHost,
    spokeNoTLS,
    tlsReasons,
)
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.base.address import (
    Address, endpointArguments, endpointHostPort, hostPort, splitEndpoint)
from twisted_bazaar.base.defaults import DEFAULT_TIMEOUT
from twisted_bazaar.base.lan import canonical, isLocal, peerHost
from twisted_bazaar.reach.ownpaths import ownPaths
from twisted_bazaar.reach.race import FirstProven
from twisted_bazaar.reach.ways import along, asTyped, relayedAlong, relayedPath
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import CONFIGURED, DIRECT, LAN, NAMED, RELAYED, Path
from twisted_bazaar.wire.framing import overLimit
from twisted_bazaar.wire.ids import KEYLESS_LIMIT, NO_ID, wireId

#: Ids a status client says it is on a node's link: keyless ids above
#: every id the tracker gives out (2^31), so that they are nobody's, and
#: within 10 decimal digits (L{twisted_bazaar.wire.ids.KEYLESS_LIMIT}).
CLIENT_IDS = (2**31, KEYLESS_LIMIT)


#: Who askTracker asks, in words.
TRACKER = "the tracker"


class ClientError(Exception):
    """The question could not be answered; the text says why."""


class WrongPort(ClientError):
    """What answered is known, and is not what was asked for: a relay's
    port, or the tracker's where a node was asked for."""


class NotTheNodeDialled(ClientError):
    """A node that proved who it is answered, and it is not the node
    dialled (``answered``: its id)."""

    def __init__(self, why, answered):
        super().__init__(why)
        self.answered = answered


#: The start of what a relay says to a connection that does not open or
#: accept a circuit (protocol.md §5a): only a relay says it.
RELAY_REFUSAL = "a relay takes relayConnect or relayAccept"
#: Where to find what the user meant, by who was asked.
LOOK_FOR = {TRACKER: "the tracker's own port is the one its log says it listens on "
                     "(tracker listening on HOST:PORT; 7700 by default)",
            "a node": "bazaar status lists the nodes and where they listen"}


def nodeRefusal(link, hello, dialled=None):
    """
    Why a node's ``thisisme`` on a status link is not to be believed, or
    None: its id and key must go together and name the key the channel
    proved (L{LinkHandshake.hear}), and the id must be the one dialled, if
    the dialler knows it (a node's id, from the tracker): otherwise
    whatever answers at the address (a proxy) would be taken for it.
    """
    fault = LinkHandshake().hear(hello, channel=channelKey(link.transport))
    if fault is not None:
        return f"its thisisme is refused: {fault}"
    if dialled is not None and hello.id != dialled:
        return (f"it is node {wireId(hello.id)}, not node {wireId(dialled)}, "
                "which was asked for")
    return None


@implementer(ILinkOwner, IChannelUp)
class _Asker:
    """
    The owner of one Link: hello, question, answer.  The hello and the
    question are each a message, or a function of the link giving one (a
    proof bound to its channel); a node that answers is checked (L{nodeRefusal}) unless it is
    the tracker (``thisisyou``).
    """

    def __init__(self, hello, question, answer_type, done, dialled=None,
                 asked="a node", address="the address", clock=None, deadline=None,
                 rng=random):
        """
        @param asked: who is asked, in words (``the tracker``, ``a node``).
        @param address: where, in words.
        @param clock: the clock of the waits a ``busy`` names, and
            ``deadline`` (its seconds) the time past which none is waited
            for; without a clock, a ``busy`` fails the question.
        @param rng: draws each wait's jitter (up to half as long again),
            so that askers told the same wait do not all come back at once.
        """
        self.hello = hello
        self.question = question
        self.answer_type = answer_type
        self.done = done
        self.dialled = dialled
        self.asked = asked
        #: The address in words, with a transport's kind (``KIND:HOST:PORT``).
        self.address = named(address)
        #: The client endpoint string dialled (L{tlsHint}).
        self.endpoint = getattr(address, "endpoint", str(address))
        self.clock = clock
        self.deadline = deadline
        self.rng = rng
        #: Times the question was asked, and answered busy.
        self.asks = 0
        self.busy = 0
        #: The call that asks again, while a busy's wait runs.
        self._again = None
        #: Whether this asker's way is the one asked (the first proven,
        #: L{FirstProven.proven}); set by L{ask}.
        self.proven = lambda: True
        done.addBoth(self._stopWaiting)

    def linkMade(self, link):
        hello = self.hello
        if not callable(hello):
            link.send(hello)
        elif (channelHash(link.transport) is not None
              or channelKey(link.transport) == PLAIN):
            # Up already, or a plain connection, which has no channel to
            # wait for.
            self.channelUp(link)

    def channelUp(self, link):
        """The channel's handshake is done: a hello made from it (a proof
        bound to its hash) is said now, before anything else."""
        hello, self.hello = self.hello, None
        if callable(hello):
            link.send(hello(link))

    def _ask(self, link):
        self._again = None
        self.asks += 1
        question = self.question
        link.send(question(link) if callable(question) else question)

    def _stopWaiting(self, result):
        if self._again is not None and self._again.active():
            self._again.cancel()
        self._again = None
        return result

    def _busy(self, link, message):
        """
        The question was over the answerer's rate: ask again once the
        wait it names (and a jitter) is over, if that is before the
        deadline; else fail at once, saying so.  Whether it was taken.
        """
        if (message.code != BUSY or message.retry_after is None or self.clock is None
                or link.peer_id is None):
            return False
        self.busy += 1
        wait = message.retry_after / 1000 * (1 + self.rng.random() / 2)
        if self.deadline is not None and self.clock.seconds() + wait > self.deadline:
            self._fail(link, f"{self.busyStory()}; its next answer would come after "
                             f"the timeout: ask again later, or give a longer --timeout")
            return True
        self._again = self.clock.callLater(wait, self._ask, link)
        return True

    def busyStory(self):
        """What the busy answers said, in words."""
        times = "once" if self.asks == 1 else f"{self.asks} times"
        return (f"{self.asked} was busy: asked {times}, answered busy "
                f"{'every time' if self.busy == self.asks else f'{self.busy} times'} "
                f"(it answers a few such questions a second)")

    def messageReceived(self, link, message):
        handler = _TAKES.get(type(message))
        if handler is not None:
            handler(self, link, message)
        elif link.peer_id is not None and type(message) is self.answer_type:
            if not self.done.called:
                self.done.callback(message)
            link.disconnect()

    def _refused(self, link, error):
        if self._busy(link, error):
            return
        why = f"refused: {error.code}: {error.info}"
        if link.peer_id is None and error.code == "notiy" and self.asked == TRACKER:
            # Only a node says notiy (protocol.md §13).
            why = f"{self.address} did not answer as {TRACKER}: a node did ({why})"
        elif error.code == "wtf" and error.info.startswith(RELAY_REFUSAL):
            self._wrongPort(link, "a relay's port (a relay only carries circuits "
                                  "between nodes)")
            return
        self._fail(link, why)

    def _named(self, link, answer):
        if self.asked != TRACKER:
            # Only the tracker answers a thisisme with thisisyou (§3).
            self._wrongPort(link, "the tracker's port")
        elif link.peer_id is None:
            self._introduced(link, answer)

    def _hello(self, link, hello):
        if link.peer_id is not None:
            return
        why = nodeRefusal(link, hello, self.dialled)
        if why is not None:
            why = f"the node that answered is not to be asked: {why}"
            proven = LinkHandshake().hear(hello, channel=channelKey(link.transport)) is None
            self._fail(link, why, (lambda text: NotTheNodeDialled(text, hello.id))
                       if proven else ClientError)
            return
        self._introduced(link, hello)

    def _introduced(self, link, hello):
        """What was asked answered who it is: the question goes, if this
        way to it is the first proven (L{FirstProven}); else it closes."""
        if not self.proven():
            link.close()
            return
        link.identified(hello.id)
        self._ask(link)

    def _fail(self, link, why, error=ClientError):
        if not self.done.called:
            self.done.errback(error(why))
        link.close()

    def _wrongPort(self, link, what):
        """What answered is plain, and is not what was asked for."""
        self._fail(link, f"{self.address} is {what}, not {self.asked}'s: "
                         f"{LOOK_FOR.get(self.asked, '')}".rstrip(": "), WrongPort)

    def linkLost(self, link, reason):
        if self.done.called:
            return
        if link.peer_id is None and channelHash(link.transport) is None:
            # Lost before the channel was up: whatever is there is not
            # what was asked for (a web server, another program), or did
            # not prove the key pinned.
            self.done.errback(ClientError(
                f"{self.address} did not answer as {self.asked}: "
                f"{tlsHint(reason, self.asked, self.endpoint)}"))
        else:
            self.done.errback(ClientError(self.tooLarge(reason) or (
                f"the connection closed before an answer: {inWords(reason)}")))

    def tooLarge(self, reason):
        """What happened, and what to do, when what was asked sent a frame
        over this client's limit (a daemon run with a larger
        ``--frame-limit`` fits its answers to its own), or None."""
        over = reason.check(BrokenHere) and overLimit(reason.value.args[0])
        if not over:
            return None
        length, limit = over
        return (f"{self.asked} sent an answer of {length} bytes, larger than bazaar "
                f"takes ({limit} bytes, its frame limit): it runs with a "
                f"--frame-limit above {limit}, and fits its answers to that; run it "
                f"with --frame-limit {limit} or less (the default) for bazaar to read them")


def tlsHint(reason, asked, endpoint):
    """
    Why a connection to ``endpoint`` (its client endpoint string) ended
    before the channel was up, in words: a TLS handshake's failure as
    its reasons (not pyOpenSSL's list of tuples) and what to check; a
    tracker reached over plain TCP that closed it, with the hint that a
    tracker listening with TLS is reached with ``tls:``.
    """
    if reason.check("OpenSSL.SSL.Error"):
        if spokeNoTLS(reason.value):
            return f"the TLS handshake failed: {tlsReasons(reason.value)} ({NO_TLS})"
        return (f"the TLS handshake failed: {tlsReasons(reason.value)} (trustRoots= "
                "names a folder of the certificates to trust: the tracker's own, if "
                "self-signed, or its issuer's)")
    if reason.check(OTHER_HOST):
        return otherHost(reason.value)
    why = reason.getErrorMessage()
    if asked == TRACKER and why == CLOSED_IN_HANDSHAKE and not endpoint.startswith(
            ("tls:", "ssl:")):
        host, port = endpointHostPort(["tcp", *splitEndpoint(endpoint.removeprefix("tcp:"))])
        why += (f"; a tracker listening with TLS (ssl:) is reached at "
                f"tls:{hostPort(host, port)}:trustRoots=DIR")
    return why


def named(address):
    """An address as the lines name it: an L{Address}'s label keeps a
    transport's kind (``KIND:HOST:PORT``: its host and port alone name
    another port, the tracker's TCP one); other words are as given."""
    return getattr(address, "label", address)


def _endpoint(reactor, address, timeout):
    """The client endpoint of address, or a ClientError saying why it
    cannot be made (a tls: endpoint's trustRoots= that is no folder of
    PEM certificates, say), not a traceback."""
    try:
        return clientEndpoint(reactor, address.withTimeout(timeout))
    except Exception as e:
        raise ClientError(endpointFault(address.endpoint, e)) from None


def endpointFault(endpoint, error):
    """
    Why the client endpoint string C{endpoint} could not be made, as the
    C{error} its parser raised says it, in one line: C{cannot use
    ENDPOINT: WHY} (a tls: endpoint's trustRoots= that cannot be listed,
    or holds a file that is no PEM certificate, say).
    """
    # A folder that cannot be listed is Twisted's UnlistableError of the
    # OSError that says why.
    cause = getattr(error, "originalException", error)
    if isinstance(cause, OSError):
        why = f"{cause.filename}: {cause.strerror}"
    elif type(error).__module__.startswith("OpenSSL"):
        why = (f"{notACertificate(endpoint) or 'a file there'} is no PEM certificate "
               f"({tlsReasons(error)})")
    else:
        why = str(error) or type(error).__name__
    if "trustRoots=" in endpoint:
        return (f"cannot use {endpoint}: {why} (a tls: endpoint's trustRoots= names a "
                "folder holding PEM certificates only)")
    return f"cannot use {endpoint}: {why}"


def notACertificate(endpoint):
    """
    The file of a tls: endpoint's trustRoots= folder that is no PEM
    certificate, or None: one of those Twisted reads (a name ending in
    ``.pem``), whose certificate cannot be loaded, as Twisted's own
    error names no file.
    """
    # Only here: an OpenSSL error means pyOpenSSL is installed.
    from twisted.internet.ssl import Certificate

    keywords, _ = endpointArguments(splitEndpoint(endpoint)[1:])
    folder = keywords.get("trustRoots")
    try:
        names = sorted(os.listdir(folder)) if folder else ()
    except OSError:
        return None
    for name in names:
        path = os.path.join(folder, name)
        if name.rsplit(".", 1)[-1].lower() != "pem" or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as f:
                Certificate.loadPEM(f.read())
        except OSError:
            continue
        except Exception:
            return path
    return None


def ask(reactor, address, hello, question, answer_type, timeout=DEFAULT_TIMEOUT,
        expected=None, dialled=None, asked="a node", relay=None, rng=random, pin=None,
        transports=None, lan=(), reached=None, paths=()):
    """
    Ask one question at an L{Address}, of whoever answers there, or only
    of the holder of the key C{expected} (32 raw bytes: a pinned tracker),
    or only of node C{dialled} (an id: see L{nodeRefusal}); with C{relay}
    (``HOST:PORT``), of node C{dialled} through that relay (protocol.md
    §5a).

    Without C{transports} it connects to the address as typed (an endpoint
    string: the tracker's, TLS perhaps).  With them (a node's kind,
    L{twisted_bazaar.transports.table.Transports}) the address's host and
    port are dialled by them, or the circuit through C{relay}, and, first,
    node C{dialled} at each of C{lan} (its local addresses, as the tracker
    named them to this asker) at the address's port, by the race of a
    client without a node (L{FirstProven}, which dials them): the first
    of those ways whose node proves itself is asked, the others closed.
    Beside the address, node C{dialled}'s C{paths} of other kinds (a
    transport plugin's, as the tracker named them: a port of its own)
    that C{transports} dial, each for the node's links: where a firewall
    lets only that transport out, the address is never reached; the
    relayed path of C{paths} through C{relay} names the relay's ways,
    tried before its port (L{relayedAlong}).

    @param asked: who is asked, in words, for the reason a connection to
        something else fails (``the tracker``; ``a node``).
    @param rng: draws the jitter of the waits a ``busy`` answer names.
    @param pin: in place of C{expected}, the L{KeyPin} of the key the
        peer must prove, told the key proven first (a client that asks
        the same tracker again and again pins it as a node does).
    @param reached: told ``reached(way)`` (a
        L{ClientWay <twisted_bazaar.reach.ways.ClientWay>}) of the way that won.
    @return: a Deferred firing with the answer, or failing with
        L{ClientError} (with the reason) on refusal, a lost connection,
        an unreachable address, or after ``timeout`` seconds; a ``busy``
        answer is waited out and the question asked again meanwhile.
    """
    if transports is None and (relay is not None or lan):
        # Dialled as typed, a relay or a local address would be ignored:
        # the question would go to the address itself.
        raise ValueError("a relay or local addresses are dialled by transports")
    asking = _Question(reactor, address, asked, timeout, reached, lambda mine: _Asker(
        hello, question, answer_type, mine, dialled, asked, address, reactor,
        reactor.seconds() + timeout, rng))
    if transports is None:
        endpoint = EncryptedClientEndpoint(
            _endpoint(reactor, address, timeout), ChannelKey.generate(),
            reactor, timeout, expected=expected, pin=pin)
        asking.way(lambda link: asTyped(str(address), link,
                                        lambda link: connectProtocol(endpoint, link)))
    else:
        for host in lan:
            asking.way(lambda link, host=host: along(
                Path(LAN, host, address.port, word=NAMED), link,
                str(Address.tcp(host, address.port))))
        for path in paths:
            if path.kind != RELAYED and transports.canDial(path):
                asking.way(lambda link, path=path: along(
                    path, link, str(Address.tcp(path.host, path.port))))
        if relay is None:
            asking.way(lambda link: along(
                Path(DIRECT, address.host, address.port, word=CONFIGURED), link,
                str(address)))
        else:
            relayed = relayedPath(paths, relay, address.host, address.port)
            asking.way(lambda link: relayedAlong(relayed, link, relay,
                                                 DialOptions(target=dialled)))
    return asking.ask(transports)


class _Question:
    """
    One question asked over the ways given (L{way}), raced
    (L{FirstProven}): each way has its own link and L{_Asker}; the
    answer on the first whose node proves itself is the question's.

    @ivar done: the Deferred of the answer (see L{ask}); cancelling it
        stops every way.
    """

    def __init__(self, clock, address, asked, timeout, reached, askerFor):
        """
        @param askerFor: makes a way's L{_Asker}, given the Deferred it
            fires.
        """
        self.clock = clock
        self.address = named(address)
        self.asked = asked
        self.timeout = timeout
        self.reached = reached
        self.askerFor = askerFor
        #: (its L{ClientWay <twisted_bazaar.reach.ways.ClientWay>}, its asker, its
        #: link), in the order given.
        self.tries = []
        self.race = None
        #: Why the last way (the relay, or the address) failed, if it did,
        #: and why the way that failed latest did.
        self.lastWhy = self.latestWhy = None
        self.done = defer.Deferred(self._stop)

    def way(self, wayOf):
        """Add a way: C{wayOf(link)}, the L{ClientWay
        <twisted_bazaar.reach.ways.ClientWay>} (L{along}, L{asTyped}) that
        connects a link of its own."""
        mine = defer.Deferred()
        asker = self.askerFor(mine)
        link = Link(asker, self.clock, LinkSettings(handshake_timeout=self.timeout),
                    inbound=False)
        way = wayOf(link)
        asker.proven = lambda: self.race.proven(way)
        mine.addCallbacks(self._answered, self._lost, callbackArgs=(way,),
                          errbackArgs=(way,))
        self.tries.append((way, asker, link))

    def ask(self, transports):
        """Start the ways (those along a path dialled by transports); the
        Deferred of the answer."""
        self.race = FirstProven(self.clock, transports, [way for way, _, _ in self.tries],
                                self._allFailed, self._unreachable)
        self.race.begin()
        self.done.addTimeout(self.timeout, self.clock)
        return self.done.addErrback(self._timedOut)

    def _stop(self, _):
        """Given up (cancelled, or the timeout): every way is closed."""
        self.race.stop()
        for _, _, link in self.tries:
            link.close()

    def _unreachable(self, way, reason):
        asker = next(asker for each, asker, _ in self.tries if each is way)
        if not asker.done.called:
            asker.done.errback(ClientError(f"cannot reach {self.address}: "
                                           f"{inWords(reason)}"))

    def _answered(self, answer, way):
        if self.race.winner is way and not self.done.called:
            if self.reached is not None:
                self.reached(way)
            self.done.callback(answer)

    def _lost(self, why, way):
        self.latestWhy = why
        if way is self.tries[-1][0]:
            self.lastWhy = why
        if self.race.failed(way) and not self.done.called:
            # The winner lost before its answer.
            self.done.errback(why)

    def _allFailed(self):
        """Every way failed: the last's reason (the relay's, or the
        address's) is the one told; a local address's failure is only a
        first try."""
        if not self.done.called:
            self.done.errback(self.lastWhy if self.lastWhy is not None else self.latestWhy)

    def _timedOut(self, reason):
        reason.trap(defer.TimeoutError)
        why = f"no answer from {self.address} within {self.timeout:g} s"
        winner = [asker for way, asker, _ in self.tries if way is self.race.winner]
        if winner and winner[0].busy:
            why += f": {winner[0].busyStory()}"
        transports = [link.transport for _, _, link in self.tries
                      if link.transport is not None]
        if transports and all(channelHash(each) is None for each in transports):
            why += (": nothing there answered the encrypted channel's handshake, "
                    f"which {self.asked} answers at once")
        raise ClientError(why)


def askTracker(reactor, address, question, answer_type, timeout=DEFAULT_TIMEOUT,
               key=None, pin=None, scopes=None):
    """Register with the tracker (the holder of C{key}, if given, or of
    the key C{pin} holds, a L{KeyPin}) as a client that takes no links
    (port 0) and says it is one (purpose ``status``: its join and leave
    are no news in the tracker's log), naming its local address as a
    node does (L{trackerHello}), then ask; C{scopes} (a
    L{TrackerScopes <twisted_bazaar.reach.peerhosts.TrackerScopes>}), if
    given, is told where the connection left from."""
    hello = trackerHello if scopes is None else (
        lambda link: trackerHello(link, scopes))
    return ask(reactor, address, hello, question, answer_type, timeout, key,
               asked=TRACKER, pin=pin)


def trackerHello(link, scopes=None):
    """A status client's ``thisisme`` to the tracker on link: with a path
    of kind ``lan``, the local address its connection leaves from, if it is one (a machine
    at home), as a node names it (protocol.md §5, "Local addresses"), so
    that the tracker's ``memberlist`` names the local addresses of the
    nodes of its home (§12a)."""
    local = getattr(link.transport.getHost(), "host", "")
    if scopes is not None:
        scopes.leftFrom(canonical(local), peerHost(link.transport))
    return wire.ThisIsMe(NO_ID, 0, "", purpose=STATUS,
                         paths=ownPaths(lan=(canonical(local),)) if isLocal(local) else None)


def askNode(reactor, address, question, answer_type, timeout=DEFAULT_TIMEOUT,
            rng=random, dialled=None, relay=None, operator=None, transports=None, lan=(),
            reached=None, paths=()):
    """Open a ``status`` link to a node (node C{dialled}, if given;
    through C{relay}, for a node reached through one; over the LAN first
    at C{lan}, its local addresses: see L{ask}), then ask; with
    C{operator} (the node's own L{Identity}), as its operator from the
    link's first message on, which takes one of the operator's own
    slots (L{operatorHello}); at its C{paths} of other kinds too
    (L{ask})."""
    client = rng.randrange(*CLIENT_IDS)
    hello = (wire.ThisIsMe(client, 0, "", purpose=STATUS) if operator is None
             else operatorHello(client, operator))
    return ask(reactor, address, hello, question, answer_type, timeout,
               dialled=dialled, relay=relay, rng=rng, transports=transports, lan=lan,
               reached=reached, paths=paths)


def askState(reactor, address, timeout=DEFAULT_TIMEOUT, dialled=None, operator=None,
             rng=random, relay=None, transports=None, lan=(), reached=None, paths=()):
    """
    Ask a node its ``state``: as its operator with C{operator} (the node's
    own L{Identity}, whose proof is bound to this connection's channel:
    L{twisted_bazaar.identity.operator}), as a stranger otherwise; through
    C{relay} for a node reached through one, over the LAN first at
    C{lan}, and at its C{paths} of other kinds (L{ask}).

    @return: a Deferred firing with the L{NodeState}; with C{operator}, a
        public one (the node did not take the proof) fails with
        L{ClientError}.
    """
    if operator is None:
        return askNode(reactor, address, State(), NodeState, timeout, rng, dialled,
                       relay, transports=transports, lan=lan, reached=reached,
                       paths=paths)

    def whole(state):
        if state.public:
            raise ClientError(f"node {wireId(state.id)} did not take this key's "
                              "proof that the asker is its operator: it answered "
                              "with its public facts only")
        return state

    return askNode(reactor, address, operatorQuestion(operator), NodeState, timeout,
                   rng, dialled, relay, operator, transports, lan,
                   reached, paths).addCallback(whole)


def operatorHello(client, identity):
    """The ``thisisme`` of a status client (id ``client``) that proves its
    asker the node's operator (the holder of identity, the node's key), as
    a function of the link it is said on: the node gives it one of its
    operator's own slots, which no stranger spends (protocol.md §12a)."""

    def hello(link):
        binding = channelHash(link.transport)
        return wire.ThisIsMe(client, 0, "", purpose=STATUS, operator=None if binding is None
                             else operatorProof(identity, binding))

    return hello


def operatorQuestion(identity):
    """The ``state`` of the operator whose key is identity's, as a
    function of the link it is asked on: its proof signs that link's
    channel (none without a channel: nothing to bind it to)."""

    def question(link):
        binding = channelHash(link.transport)
        if binding is None:
            return State()
        return State(operator=operatorProof(identity, binding))

    return question


#: What a status client takes besides its answer: message class ->
#: function(client, link, message).
_TAKES = {wire.Error: _Asker._refused, wire.ThisIsYou: _Asker._named,
          wire.ThisIsMe: _Asker._hello}
