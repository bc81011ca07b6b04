"""
A one-question client for the ``bazaar`` command: connect, introduce
itself, ask one question, take the answer, say ``dc``.

It speaks through the same L{Link} as the daemons (framing, decoding,
answering pings), so it obeys docs/protocol.md like any peer.  Where it
connects is an L{Address} (L{twisted_bazaar.base.address}), in any form a
user types.  A node it asks must be who it says (its ``thisisme`` names
the key its channel proved) and, when the client knows which node it
wants, that node: a stranger at the address (a proxy) is refused.
"""

import random

from twisted.internet import defer
from twisted.internet.endpoints import clientFromString, connectProtocol
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.status.messages import NodeState, State
from twisted_bazaar.status.operator import operatorProof
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedClientEndpoint
from twisted_bazaar.net.handshake import LinkHandshake, channelHash, channelKey
from twisted_bazaar.net.link import ILinkOwner, Link, LinkSettings
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.base.address import Address
from twisted_bazaar.traversal.connector import openCircuit
from twisted_bazaar.traversal.messages import NODE
from twisted_bazaar.wire.ids import KEYLESS_LIMIT, NO_ID, wireId

#: Seconds a question may take, unless told otherwise.
DEFAULT_TIMEOUT = 10.0
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


@implementer(ILinkOwner)
class _Asker:
    """
    The owner of one Link: hello, question, answer.  The question is a
    message, or a function of the link giving one (a proof bound to its
    channel); a node that answers is checked (L{nodeRefusal}) unless it is
    the tracker (``thisisyou``).
    """

    def __init__(self, hello, question, answer_type, done, dialled=None,
                 asked="a node", address="the address"):
        """
        @param asked: who is asked, in words (``the tracker``, ``a node``).
        @param address: where, in words.
        """
        self.hello = hello
        self.question = question
        self.answer_type = answer_type
        self.done = done
        self.dialled = dialled
        self.asked = asked
        self.address = address

    def linkMade(self, link):
        link.send(self.hello)

    def messageReceived(self, link, message):
        handler = _TAKES.get(type(message))
        if handler is not None:
            handler(self, link, message)
        elif link.peer_id is not None and type(message) is self.answer_type:
            if not self.done.called:
                self.done.callback(message)
            link.disconnect()

    def _refused(self, link, error):
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
            self._fail(link, f"the node that answered is not to be asked: {why}")
            return
        self._introduced(link, hello)

    def _introduced(self, link, hello):
        """What was asked answered who it is: the question goes."""
        link.identified(hello.id)
        question = self.question
        link.send(question(link) if callable(question) else question)

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
        why = reason.getErrorMessage()
        if link.peer_id is None and channelHash(link.transport) is None:
            # Lost before the channel was up: whatever is there is not
            # what was asked for (a web server, another program), or did
            # not prove the key pinned.
            self.done.errback(ClientError(
                f"{self.address} did not answer as {self.asked}: {why}"))
        else:
            self.done.errback(ClientError(
                f"the connection closed before an answer: {why}"))


def ask(reactor, address, hello, question, answer_type, timeout=DEFAULT_TIMEOUT,
        expected=None, dialled=None, asked="a node", relay=None):
    """
    Ask one question at an L{Address}, of whoever answers there, or only
    of the holder of the key C{expected} (32 raw bytes: a pinned tracker),
    or only of node C{dialled} (an id: see L{nodeRefusal}); with C{relay}
    (``HOST:PORT``), of node C{dialled} through that relay (protocol.md
    §5a).

    @param asked: who is asked, in words, for the reason a connection to
        something else fails (``the tracker``; ``a node``).
    @return: a Deferred firing with the answer, or failing with
        L{ClientError} (with the reason) on refusal, a lost connection,
        an unreachable address, or after ``timeout`` seconds.
    """
    channel = ChannelKey.generate()

    def connect(where, protocol):
        endpoint = EncryptedClientEndpoint(
            clientFromString(reactor, where.withTimeout(timeout)), channel, reactor,
            timeout, expected=None if relay is not None else expected)
        return connectProtocol(endpoint, protocol)

    done = defer.Deferred()
    link = Link(_Asker(hello, question, answer_type, done, dialled, asked,
                       str(address)), reactor,
                LinkSettings(handshake_timeout=timeout), inbound=False)
    if relay is None:
        connecting = connect(address, link)
    else:
        connecting = openCircuit(
            lambda host, port, end: connect(Address.tcp(host, port), end), relay,
            dialled, NODE, link, reactor, channel, expected, timeout=timeout)

    def unreachable(reason):
        if not done.called:
            done.errback(ClientError(f"cannot reach {address}: "
                                     f"{reason.getErrorMessage().rstrip('.')}"))

    connecting.addErrback(unreachable)

    def timedOut(reason):
        reason.trap(defer.TimeoutError)
        why = f"no answer from {address} within {timeout:g} s"
        if link.transport is not None:
            if channelHash(link.transport) is None:
                why += (": nothing there answered the encrypted channel's handshake, "
                        f"which {asked} answers at once")
            link.close()
        raise ClientError(why)

    done.addTimeout(timeout, reactor)
    done.addErrback(timedOut)
    return done


def askTracker(reactor, address, question, answer_type, timeout=DEFAULT_TIMEOUT,
               key=None):
    """Register with the tracker (the holder of C{key}, if given) as a
    client that takes no links (port 0) and says it is one (purpose
    ``status``: its join and leave are no news in the tracker's log), then
    ask."""
    return ask(reactor, address, wire.ThisIsMe(NO_ID, 0, "", purpose=STATUS), question,
               answer_type, timeout, key, asked=TRACKER)


def askNode(reactor, address, question, answer_type, timeout=DEFAULT_TIMEOUT,
            rng=random, dialled=None, relay=None):
    """Open a ``status`` link to a node (node C{dialled}, if given;
    through C{relay}, for a node reached through one), then ask."""
    hello = wire.ThisIsMe(rng.randrange(*CLIENT_IDS), 0, "", purpose=STATUS)
    return ask(reactor, address, hello, question, answer_type, timeout,
               dialled=dialled, relay=relay)


def askState(reactor, address, timeout=DEFAULT_TIMEOUT, dialled=None, operator=None,
             rng=random, relay=None):
    """
    Ask a node its ``state``: as its operator with C{operator} (the node's
    own L{Identity}, whose proof is bound to this connection's channel:
    L{twisted_bazaar.status.operator}), as a stranger otherwise; through
    C{relay} for a node reached through one.

    @return: a Deferred firing with the L{NodeState}; with C{operator}, a
        public one (the node did not take the proof) fails with
        L{ClientError}.
    """
    if operator is None:
        return askNode(reactor, address, State(), NodeState, timeout, rng, dialled,
                       relay)

    def whole(state):
        if state.public:
            raise ClientError(f"node {wireId(state.id)} did not take this key's "
                              "proof that the asker is its operator: it answered "
                              "with its public facts only")
        return state

    return askNode(reactor, address, operatorQuestion(operator), NodeState, timeout,
                   rng, dialled, relay).addCallback(whole)


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
