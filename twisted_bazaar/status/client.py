"""
A one-question client for the ``bazaar`` command: connect, introduce
itself, ask one question, take the answer, say ``dc``.

It speaks through the same L{Link} as the daemons (framing, decoding,
answering pings), so it obeys docs/protocol.md like any peer.  Where it
connects is an L{Address} (L{twisted_bazaar.base.address}), in any form a
user types.
"""

import random

from twisted.internet import defer
from twisted.internet.endpoints import clientFromString, connectProtocol
from zope.interface import implementer

from twisted_bazaar import wire
from twisted_bazaar.net.channel import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedClientEndpoint
from twisted_bazaar.net.link import ILinkOwner, Link, LinkSettings
from twisted_bazaar.net.recent import STATUS
from twisted_bazaar.wire.ids import KEYLESS_LIMIT, NO_ID

#: Seconds a question may take, unless told otherwise.
DEFAULT_TIMEOUT = 10.0
#: Ids a status client says it is on a node's link: keyless ids above
#: every id the tracker gives out (2^31), so that they are nobody's, and
#: within 10 decimal digits (L{twisted_bazaar.wire.ids.KEYLESS_LIMIT}).
CLIENT_IDS = (2**31, KEYLESS_LIMIT)


class ClientError(Exception):
    """The question could not be answered; the text says why."""


@implementer(ILinkOwner)
class _Asker:
    """The owner of one Link: hello, question, answer."""

    def __init__(self, hello, question, answer_type, done):
        self.hello = hello
        self.question = question
        self.answer_type = answer_type
        self.done = done

    def linkMade(self, link):
        link.send(self.hello)

    def messageReceived(self, link, message):
        kind = type(message)
        if kind is wire.Error:
            self._fail(link, f"refused: {message.code}: {message.info}")
        elif link.peer_id is None:
            if kind in (wire.ThisIsYou, wire.ThisIsMe):
                link.identified(message.id)
                link.send(self.question)
        elif kind is self.answer_type:
            if not self.done.called:
                self.done.callback(message)
            link.disconnect()

    def _fail(self, link, why):
        if not self.done.called:
            self.done.errback(ClientError(why))
        link.close()

    def linkLost(self, link, reason):
        if not self.done.called:
            self.done.errback(ClientError(
                f"the connection closed before an answer: {reason.getErrorMessage()}"))


def ask(reactor, address, hello, question, answer_type, timeout=DEFAULT_TIMEOUT,
        expected=None):
    """
    Ask one question at an L{Address}, of whoever answers there, or only
    of the holder of the key C{expected} (32 raw bytes: a pinned tracker).

    @return: a Deferred firing with the answer, or failing with
        L{ClientError} (with the reason) on refusal, a lost connection,
        an unreachable address, or after ``timeout`` seconds.
    """
    endpoint = EncryptedClientEndpoint(
        clientFromString(reactor, address.withTimeout(timeout)),
        ChannelKey.generate(), reactor, timeout, expected=expected)
    done = defer.Deferred()
    link = Link(_Asker(hello, question, answer_type, done), reactor,
                LinkSettings(handshake_timeout=timeout), inbound=False)
    connecting = connectProtocol(endpoint, link)

    def unreachable(reason):
        if not done.called:
            done.errback(ClientError(f"cannot reach {address}: "
                                     f"{reason.getErrorMessage()}"))

    connecting.addErrback(unreachable)

    def timedOut(reason):
        reason.trap(defer.TimeoutError)
        if link.transport is not None:
            link.close()
        raise ClientError(f"no answer from {address} within {timeout:g} s")

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
               answer_type, timeout, key)


def askNode(reactor, address, question, answer_type, timeout=DEFAULT_TIMEOUT,
            rng=random):
    """Open a ``status`` link to a node, then ask."""
    hello = wire.ThisIsMe(rng.randrange(*CLIENT_IDS), 0, "", purpose=STATUS)
    return ask(reactor, address, hello, question, answer_type, timeout)
