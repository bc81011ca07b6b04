"""
Hole punching: two nodes that share a link (through a relay) coordinate
over it to open a direct TCP connection by simultaneous open, as libp2p's
DCUtR does, and run the encrypted channel and the link handshake on it.

The initiator (L{Puncher.punch}) sends ``punchConnect`` with its public
host and the local port it will dial from, and starts a clock; the other
side checks it, answers ``punchReply`` with its own, and waits.  The
initiator takes the round trip, sends ``punchSync``, and dials half a
round trip later; the other side dials as the sync arrives: both SYNs
leave together, each opens the way through its own router for the
other's, and the two connects meet in one connection.  A failed dial is
tried again with a new exchange, at most L{ATTEMPTS} times in all; after
that the nodes stay on the link they have.  Each dial's path is announced
to the node's dialer as found (L{twisted_bazaar.reach.sources.Found}),
which dials it: the path met, with the TCP transport's options from a
port and opener; the puncher produces paths and holds no dialler.

On the punched connection, the end that opened the shared link opens the
channel, and the node runs a link of the shared link's direction (it is
given the shared link to build it), so that the direct link and the
relayed one run the same way: the overlay's duplicate rule then keeps
the newer (L{twisted_bazaar.net.overlay.Overlay._replaces}), the direct
one.  A punch for ``files`` (L{FILES}) opens a transfer connection
instead, over any link the two share, direct or relayed: the initiator
(a buyer) opens the channel and runs the protocol it was given (its
transfer client), the other side runs its transfer port's protocol.

What keeps it from being abused: a node dials only the host a third
party saw the peer's connection come from (the tracker, for a node
daemon: L{twisted_bazaar.reach.punch.witness}; for files over a
direct link, the host that link's connection comes from), given by the
caller, never a host the peer or a relay names (one named otherwise is
refused), and no port below L{LOWEST_PORT}; only a peer whose key its
link proved, and the punched connection's channel must prove that key
before this side seals anything; and only so often per peer, per address
group and in all (L{twisted_bazaar.reach.punch.budgets.dials}).  Each refusal
is an ``error{nopunch}`` saying why, one line through the peer log, and
nothing kept.  Every timer belongs to a punch, cancelled when it ends.
"""

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from twisted_bazaar import wire
from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.words import plural
from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.identity.keys import decode
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.lan import peerHost, sameHost
from twisted_bazaar.transports.interface import DialOptions
from twisted_bazaar.transports.path import DIRECT, SEEN, Path
from twisted_bazaar.transports.relay.messages import FILES
from twisted_bazaar.transports.tcp.fromport import DIAL_TIMEOUT
from twisted_bazaar.reach.punch.budgets.dials import CANNOT_PUNCH, PunchLimits, asHeard
from twisted_bazaar.reach.punch.tcp.mapping import UNKNOWN
from twisted_bazaar.reach.punch.tcp.messages import PunchConnect, PunchReply, PunchSync
from twisted_bazaar.reach.sources import Found
from twisted_bazaar.wire.ids import shortId

#: Dials one punch makes at most: the first and two retries.
ATTEMPTS = 3
#: Seconds the initiator waits for a punchReply, the other side for the
#: punchSync.
ANSWER_TIMEOUT = 10.0
#: Seconds one dial may take, its TCP connection and its channel's
#: handshake both, before the punch gives it up.
DIAL_DEADLINE = 2 * DIAL_TIMEOUT
#: The lowest port a punch dials: none of the well-known services'.
LOWEST_PORT = 1024
#: The local ports a punch dials from (a fresh one each attempt), below
#: Linux's range of ports given to outgoing connections, so that one
#: drawn is seldom taken.
PUNCH_PORTS = (20000, 32768)
#: Nonces are drawn below this.
NONCE_LIMIT = 2**62


class PunchFailed(Exception):
    """No direct connection: why."""

    def __str__(self):
        return self.args[0]


class _Punch:
    """One punch this node started, over one link: for a link (the
    ``purpose`` None), or for ``files``, its connection run by
    ``protocol``."""

    def __init__(self, link, host, key, purpose=None, protocol=None):
        self.link = link
        self.purpose = purpose
        self.protocol = protocol
        #: The peer's host, as a third party saw it.
        self.host = host
        #: The key the punched connection must prove (32 raw bytes).
        self.key = key
        self.done = None
        #: Dials it makes at most: a punch for files makes one (the link
        #: it goes over was punched already; on failure, the relay).
        self.attempts = ATTEMPTS if purpose is None else 1
        self.attempt = 0
        self.nonce = None
        self.port = None
        self.sent = None
        self.rtt = None
        #: Whether the punchSync of the current attempt was sent.
        self.synced = False
        self.timer = None
        self.dialing = None
        self.over = False


class _Answer:
    """One punch the peer started, answered: what this node dials when
    the peer's punchSync comes."""

    def __init__(self, link, host, key, nonce, peer_port, port, purpose=None):
        self.link = link
        self.purpose = purpose
        self.host = host
        self.key = key
        self.nonce = nonce
        self.peer_port = peer_port
        self.port = port
        #: Whether the peer's punchSync came.
        self.synced = False
        self.timer = None
        self.dialing = None
        self.over = False


class Puncher:
    """
    A node's hole punches, both those it starts and those it answers.

    The node has it take the punch messages (its L{takes} table), tells
    L{setMapping} what the tracker's address check says of its router,
    hands L{refused} the ``error{nopunch}`` its peers send, and calls
    L{linkLost} for each link that closes and L{stop} when it stops.
    """

    log = Logger()
    #: Whether this node serves UDP at all: one that does not (no QUIC
    #: socket, ``--no-quic``) says in each refusal that no UDP punch can
    #: work with it either, whatever its router does (L{_refuse}).
    udp = True

    def __init__(self, clock, rng, found, buildProtocol, witness, limits=None,
                 transfers=lambda: None, direct=None, unwitnessed=None,
                 answers=None, udp=True):
        """
        @param found: C{found(found)}, told each punch's path (a
            L{Found <twisted_bazaar.reach.sources.Found>}: the host and port
            met, from the punch's port: the options), a Deferred of its
            connection: the node's dialer's sources' (L{Sources.found
            <twisted_bazaar.reach.sources.Sources.found>}), which the
            dialer dials; the puncher produces paths, and dials none
            itself.
        @param buildProtocol: C{buildProtocol(link)}, the protocol to run
            on a connection punched to link's peer: a node's new
            L{twisted_bazaar.net.link.Link} of link's direction and
            purpose, which the overlay's handshake then establishes.
        @param witness: C{witness(link)}, the host a third party (the
            relay of a relayed link) saw link's peer connect from, or
            None: the only host a punch the peer starts dials (for
            ``files``, over a direct link: where its connection comes
            from, as this node sees it).
        @param transfers: C{transfers()}, the factory of this node's
            transfer port (whose protocol a ``files`` punch runs), or None
            while it serves no files.
        @param direct: C{direct(link)}, where a direct link's own
            connection comes from (L{directPeer}), which a ``files`` punch
            with no witness dials; "" for a link that is not direct.
        @param unwitnessed: C{unwitnessed(link)}, why link's peer has no
            witness (the refusal's reason), or None: a generic one.
        @param answers: C{answers(peer_id)}, told when an answer to a punch
            peer_id started begins or ends (L{answering} changed), or None.
        @param udp: whether this node serves UDP (L{udp}).
        """
        if not udp:
            self.udp = False
        self.clock = clock
        self.rng = rng
        self.found = found
        self.buildProtocol = buildProtocol
        self.witness = witness
        self.transfers = transfers
        self.direct = directPeer if direct is None else direct
        self.unwitnessed = unwitnessed
        self.answers = answers if answers is not None else _nobody
        self.limits = limits if limits is not None else PunchLimits(clock)
        self.mapping = UNKNOWN
        #: link -> the L{_Punch} this node started over it.
        self._punches = {}
        #: link -> the L{_Answer} to the punch its peer started.
        self._answers = {}

    def setMapping(self, mapping):
        """
        What a check of this node's address says of punching from it (a
        L{twisted_bazaar.reach.punch.tcp.mapping.PunchMapping}); the first
        that says it cannot, after one that said it could or nothing, is
        logged.
        """
        if not mapping.punchable and mapping is not UNKNOWN and (
                self.mapping.punchable or self.mapping is UNKNOWN):
            self.log.info("this node will not hole-punch: {why}", why=mapping.why)
        self.mapping = mapping

    # -- starting a punch -------------------------------------------------------

    def punch(self, link, host, purpose=None, protocol=None):
        """
        Punch a direct connection to link's peer, whose connection a third
        party saw come from ``host``: for a link, or with ``purpose``
        L{FILES}, a connection to the peer's transfer port, run by
        ``protocol`` (this side opens its channel).

        @return: a Deferred firing with the protocol running on the punched
            connection once its channel proved the peer's key, or failing
            with L{PunchFailed}; cancelling it ends the punch.
        """
        why = self._whyNot(link)
        if why is None and not host:
            why = self._noWitness(link, "no third party has said where the peer's "
                                  "connection comes from")
        if why is None and link in self._punches:
            why = "a punch with this peer is under way already"
        if why is not None:
            link.peerLine(LogLevel.info, _GAVE_UP[purpose], self.log, why=why)
            return defer.fail(PunchFailed(why))
        punch = self._punches[link] = _Punch(link, host, decode(link.key), purpose,
                                             protocol)
        punch.done = defer.Deferred(lambda _: self._end(punch))
        self._attempt(punch)
        return punch.done

    def _attempt(self, punch):
        why = self.limits.admit(punch.link.key, addressGroup(punch.host))
        if why is not None:
            self._fail(punch, why)
            return
        punch.attempt += 1
        punch.synced = False
        punch.nonce = self.rng.randrange(1, NONCE_LIMIT)
        punch.port = self.rng.randrange(*PUNCH_PORTS)
        punch.sent = self.clock.seconds()
        punch.timer = self.clock.callLater(ANSWER_TIMEOUT, self._unanswered, punch)
        punch.link.send(PunchConnect(punch.nonce, self.mapping.host, punch.port,
                                     punch.purpose))

    def replyReceived(self, link, reply):
        """The peer's address for this node's punch: sync, and dial half
        the round trip later."""
        punch = self._punches.get(link)
        if punch is None or punch.nonce != reply.nonce or punch.synced:
            self._refuse(link, reply.nonce, "no punch of this node with that nonce "
                         "waits for a punchReply")
            return
        why = _wrongAddress(reply, punch.host)
        if why is not None:
            self._refuse(link, reply.nonce, why)
            self._fail(punch, why)
            return
        punch.timer.cancel()
        punch.synced = True
        punch.rtt = self.clock.seconds() - punch.sent
        link.send(PunchSync(punch.nonce))
        punch.timer = self.clock.callLater(punch.rtt / 2, self._dialPunch, punch,
                                           reply.port)

    def _dialPunch(self, punch, peer_port):
        punch.timer = None
        punch.dialing = self._dial(punch, punch.host, peer_port)
        punch.dialing.addCallbacks(self._punched, self._missed, (punch, peer_port), None,
                                   (punch,))

    def _punched(self, protocol, punch, peer_port):
        punch.dialing = None
        self._end(punch)
        punch.link.peerLine(
            LogLevel.info, "punched a {what} to {punched} (attempt {attempt} of "
            "{attempts}, round trip {rtt:.0f} ms)", self.log,
            what=_WHAT[punch.purpose], punched=_punchedTo(punch, peer_port),
            attempt=punch.attempt, attempts=punch.attempts, rtt=punch.rtt * 1000)
        punch.done.callback(protocol)

    def _missed(self, failure, punch):
        punch.dialing = None
        if punch.over:
            return
        # In the project's words, without Twisted's stop: the line goes on.
        why = inWords(failure)
        if punch.attempt >= punch.attempts:
            self._fail(punch, f"no direct connection after "
                       f"{plural(punch.attempts, 'attempt')} (the last: {why})")
            return
        punch.link.peerLine(LogLevel.debug, "punch attempt {attempt} to {peer} failed: "
                            "{why}; trying again", self.log, attempt=punch.attempt,
                            why=why)
        self._attempt(punch)

    def _unanswered(self, punch):
        punch.timer = None
        self._fail(punch, f"no punchReply within {ANSWER_TIMEOUT:g} s")

    def refused(self, link, error):
        """
        The peer refused this node's punch (its ``error{nopunch}``, whose
        ``id`` is the punch's nonce): the punch ends.

        @return: whether the error was about a punch of this node's.
        """
        punch = self._punches.get(link)
        if punch is None or error.code != "nopunch" or error.id != punch.nonce:
            return False
        self._fail(punch, f"the peer refused: {asHeard(error.info)}")
        return True

    def _fail(self, punch, why):
        self._end(punch)
        punch.link.peerLine(LogLevel.info, _GAVE_UP[punch.purpose], self.log, why=why)
        punch.done.errback(PunchFailed(why))

    def _end(self, punch):
        """Cancel what punch still has running, and forget it."""
        punch.over = True
        if self._punches.get(punch.link) is punch:
            del self._punches[punch.link]
        _stop(punch)

    # -- answering the peer's punch --------------------------------------------

    def answering(self, link):
        """Whether a punch for a link, started by link's peer, is under
        way here."""
        answer = self._answers.get(link)
        return answer is not None and answer.purpose is None

    def connectReceived(self, link, connect):
        """
        The peer starts a punch: answer with this node's address, or
        refuse, saying why.  A new one replaces the last one the peer
        started (its retry).
        """
        why = self._whyNot(link)
        host = None
        if why is None:
            why = self._whyNotFor(connect.purpose)
        if why is None:
            host = self.witness(link)
            if not host and connect.purpose == FILES:
                host = self.direct(link)
            if not host:
                why = self._noWitness(link, "no third party has told this node where "
                                      "your connection comes from")
        if why is None:
            why = _wrongAddress(connect, host)
        if why is None:
            why = self.limits.admit(link.key, addressGroup(host), toPeer=True)
        if why is not None:
            self._refuse(link, connect.nonce, why)
            return
        self._endAnswer(self._answers.get(link))
        answer = self._answers[link] = _Answer(link, host, decode(link.key),
                                               connect.nonce, connect.port,
                                               self.rng.randrange(*PUNCH_PORTS),
                                               connect.purpose)
        answer.timer = self.clock.callLater(ANSWER_TIMEOUT, self._unsynced, answer)
        link.send(PunchReply(connect.nonce, self.mapping.host, answer.port))
        self.answers(link.peer_id)

    def syncReceived(self, link, sync):
        """The peer's word to dial: dial it now."""
        answer = self._answers.get(link)
        if answer is None or answer.nonce != sync.nonce or answer.synced:
            self._refuse(link, sync.nonce, "no punch of yours with that nonce waits for "
                         "a punchSync here")
            return
        answer.timer.cancel()
        answer.timer = None
        answer.synced = True
        answer.dialing = self._dial(answer, answer.host, answer.peer_port)
        answer.dialing.addCallbacks(self._answerPunched, self._answerMissed, (answer,),
                                    None, (answer,))

    #: The punch messages it takes (the node's C{takeFrom}): message class
    #: -> function(puncher, link, message).
    takes = {PunchConnect: connectReceived, PunchReply: replyReceived,
             PunchSync: syncReceived}

    def _answerPunched(self, protocol, answer):
        answer.dialing = None
        self._endAnswer(answer)
        answer.link.peerLine(LogLevel.info, "punched a {what} to {punched} (its punch)",
                             self.log, what=_WHAT[answer.purpose],
                             punched=_punchedTo(answer, answer.peer_port))

    def _answerMissed(self, failure, answer):
        answer.dialing = None
        if answer.over:
            return
        self._endAnswer(answer)
        answer.link.peerLine(LogLevel.debug, "the dial of {peer}'s punch failed: {why}",
                             self.log, why=inWords(failure))

    def _unsynced(self, answer):
        answer.timer = None
        self._endAnswer(answer)
        answer.link.peerLine(LogLevel.debug, "{peer} sent no punchSync within "
                             "{timeout:g} s", self.log, timeout=ANSWER_TIMEOUT)

    def _endAnswer(self, answer):
        if answer is None:
            return
        answer.over = True
        if self._answers.get(answer.link) is answer:
            del self._answers[answer.link]
            self.answers(answer.link.peer_id)
        _stop(answer)

    # -- both ----------------------------------------------------------------------

    def _whyNot(self, link):
        """Why this node will not punch with link's peer, or None."""
        if not self.mapping.punchable:
            return CANNOT_PUNCH + self.mapping.why
        if link.key is None:
            return "this node punches only with a peer whose key its link proved"
        return None

    def _noWitness(self, link, generic):
        """Why link's peer has no witness to dial: what L{unwitnessed}
        says, else ``generic``."""
        why = None if self.unwitnessed is None else self.unwitnessed(link)
        return why or generic

    def _whyNotFor(self, purpose):
        """Why this node takes no punch for purpose, or None."""
        if purpose is None:
            return None
        if purpose != FILES:
            return f"a punch is for a link or for {FILES!r}, not {purpose!r}"
        if self.transfers() is None:
            return "this node serves no files"
        return None

    def _protocolOf(self, punch, host, port):
        """What runs on punch's connection, and whether this side opens
        its channel: a link of the shared link's direction (the end that
        opened it opens the channel), or for ``files`` the initiator's
        protocol (it opens) or this node's transfer port's; None when the
        transfer port takes no connection from host now (its rate)."""
        link = punch.link
        if punch.purpose is None:
            return self.buildProtocol(link), not link.inbound
        if isinstance(punch, _Punch):
            return punch.protocol, True
        factory = self.transfers()
        protocol = None if factory is None else factory.buildProtocol(
            IPv4Address("TCP", host, port))
        return protocol, False

    def _dial(self, punch, host, port):
        """
        Dial host:port from punch's port, the channel to prove punch's
        key (L{_protocolOf} says who opens it); given up after
        L{DIAL_DEADLINE} seconds.
        """
        protocol, opener = self._protocolOf(punch, host, port)
        if protocol is None:
            return defer.fail(PunchFailed("this node's transfer port takes no more "
                                          "connections from that address group now"))
        dialing = self.found(Found(punch.link.peer_id, Path(DIRECT, host, port, word=SEEN),
                                   punch.key, lambda: protocol,
                                   DialOptions(fromPort=punch.port, opener=opener)))
        expired = []

        def expire():
            expired.append(True)
            dialing.cancel()

        deadline = self.clock.callLater(DIAL_DEADLINE, expire)

        def settled(result):
            if deadline.active():
                deadline.cancel()
            if expired and isinstance(result, Failure):
                return Failure(PunchFailed(f"no connection within {DIAL_DEADLINE:g} s"))
            return result

        return dialing.addBoth(settled)

    def _refuse(self, link, nonce, why):
        """Refuse the peer's punch message of nonce, saying why, and that
        no UDP punch can work with this node either when none can (its
        datagrams do not leave, or it serves no UDP: its peer then asks
        the tracker for none)."""
        link.send(wire.Error("nopunch", why, id=nonce,
                             udp=None if self.mapping.udp and self.udp else False))
        link.peerLine(LogLevel.info, "refused a punch of {peer}: {why}", self.log,
                      why=why)

    def linkLost(self, link):
        """The shared link closed: what punches it carried end."""
        punch = self._punches.get(link)
        if punch is not None:
            self._fail(punch, "the link closed")
        self._endAnswer(self._answers.get(link))

    def stop(self):
        """End every punch, cancelling its timers and dials."""
        for link in list(self._punches):
            self.linkLost(link)
        for answer in list(self._answers.values()):
            self._endAnswer(answer)


#: What a punch for each purpose opens, as its log lines name it.
_WHAT = {None: "direct connection", FILES: "transfer connection"}
#: The line of a punch given up, for each purpose.
_GAVE_UP = {None: "no hole punched to {peer}: {why}; staying on the link there is",
            FILES: "no transfer connection punched to {peer}: {why}; the files go "
                   "through the relay"}


def directPeer(link):
    """Where link's connection comes from, as this node sees it (a direct
    link's peer, or its router), or "": an IP address in the one spelling
    a punch dials (L{peerHost}: a dual-stack socket's IPv4-mapped
    ``::ffff:a.b.c.d`` as ``a.b.c.d``, which the punch's IPv4 socket
    reaches)."""
    return peerHost(link.transport)


def _wrongAddress(message, observed):
    """Why a punchConnect or punchReply's address is not one to dial, or
    None: its host must be where a third party saw the peer's connection
    come from (the same address however spelt: L{sameHost}; the host
    dialled is ``observed``, never the message's), and its port no
    well-known one."""
    if not sameHost(message.host, observed):
        return (f"the host named, {message.host!r}, is not where your connection was "
                f"seen from ({observed}): a punch dials only that host")
    if message.port < LOWEST_PORT:
        return f"a punch dials no port below {LOWEST_PORT}, not {message.port}"
    return None


def _punchedTo(punch, port):
    """The peer as its punched connection reaches it: the address dialled,
    not the relayed link's (the relay's).  A link whose peer has no id
    (a rendezvous of two bare peers, as tests/e2e's punch tool) names
    "the peer", as the peer log does."""
    peer_id = punch.link.peer_id
    who = "the peer" if peer_id is None else f"node {shortId(peer_id)}"
    return f"{who} at {hostPort(punch.host, port)}"


def _stop(punch):
    """Cancel a punch's timer and dial."""
    timer, punch.timer = punch.timer, None
    if timer is not None and timer.active():
        timer.cancel()
    dialing, punch.dialing = punch.dialing, None
    if dialing is not None:
        dialing.cancel()


def _nobody(peer_id):
    """Whom a puncher tells of its answers when told no one."""
