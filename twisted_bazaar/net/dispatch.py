"""
What the core itself answers, of the messages a node's link table
(L{twisted_bazaar.net.overlay.Overlay}) is handed: an address check
before any handshake (``whoareyou``), and, on an established link, every
message no part of the node registered a handler for (see
L{twisted_bazaar.core.node.Node.takeFrom}).  The table hands a message
here only after its parts' handlers (L{twisted_bazaar.net.handlers})
declined it: this runs for the few messages that are the core's own.
"""

from twisted.logger import LogLevel

from twisted_bazaar import wire
from twisted_bazaar.identity.proofs import CHECK
from twisted_bazaar.net.handshake import PLAIN, channelKey
from twisted_bazaar.wire.ids import wireId


def answerCheck(node, link, ask, handshakeOf):
    """
    The tracker (or a super-peer) checks that this node listens where it
    said: answer with thisisme, proving this node's key to the checker
    when it names its own key and nonce, and close.  A key named must be
    the one the connection's channel proved: the proof is for whoever
    holds the connection, never for a key a stranger names (a whoareyou
    without a key gets no proof).

    @param handshakeOf: link -> its L{twisted_bazaar.net.handshake.LinkHandshake},
        made if it has none yet.
    """
    if (ask.key is None) != (ask.nonce is None):
        link.protocolError("wtf", "whoareyou names the checker's key and nonce "
                           "together, or neither", close=True)
        return
    proven = channelKey(link.transport)
    if ask.key is not None and proven is not PLAIN and ask.key != proven:
        link.protocolError("wtf", "whoareyou names a key that is not the one this "
                           "connection's channel proved", close=True)
        return
    state = handshakeOf(link)
    if ask.key is None or not state.begin(node.identity, CHECK):
        link.send(node.introduction())
    else:
        link.send(node.introduction(nonce=state.nonce,
                                    sig=state.prove(ask.key, ask.nonce)))
    link.close("told the checker who listens here", routine=True)


def unhandled(table, link, message):
    """
    A message on an established link of ``table`` (the node's
    L{twisted_bazaar.net.overlay.Overlay}) that no part of the node takes:
    a path-routed one goes to the node's path router, the core's own
    types to their handler in L{_CORE}, and any other type is answered
    with ``error{wtf}``.

    Every message a node relays comes this way: the table's logger is
    only looked up for a line (each look-up of a C{twisted.logger.Logger} on an
    instance makes one).
    """
    if message.ROUTED:
        table.node.paths.received(link, message)
        return
    handler = _CORE.get(type(message))
    if handler is None:
        link.protocolError("wtf", f"this node does not handle {message.TYPE}")
    else:
        handler(table, link, message)


def _error(table, link, error):
    """An error with a path goes to the path router; one about the link
    itself is logged (through the peer log, on the table's logger)."""
    if error.path is not None:
        table.node.paths.received(link, error)
    else:
        link.peerLine(LogLevel.info, "{peer} says {code}: {info}", table.log,
                      code=error.code, info=error.info)


def _dc(table, link, message):
    link.close("peer said dc", routine=True)


def _again(table, link, hello):
    """A ``thisisme`` again must name the peer the link belongs to."""
    if hello.id != link.peer_id:
        link.protocolError("wtf", f"this link belongs to node {wireId(link.peer_id)}",
                           close=True)


#: The core's own types on an established link: message class ->
#: function(table, link, message).
_CORE = {wire.Error: _error, wire.Dc: _dc, wire.ThisIsMe: _again}
