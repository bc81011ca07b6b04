"""
Kernel TCP keepalive on a connection that stays quiet while its peer
counts on it: a node's reservation at a public node's relay, over which
only the relay speaks, to announce a circuit.  A home router that
restarted, or dropped the idle flow, forgets the connection's mapping;
what the relay sends is then dropped at the router, unseen, until the
node sends, and nothing the node runs sent on that connection: it was
unreachable until its next relay probe, 300 s at worst, while it sold
files no buyer could fetch (issue 96, s57-user2's router restarted).  A
probe after L{IDLE} s of quiet is such a send: a router that keeps the
source port maps the flow again and the relay's bytes come in; one that
draws another port draws the relay's reset, and an unanswered probe ends
the connection after L{COUNT} more: either way the node knows within
about half a minute.
"""

import socket

from twisted.internet.interfaces import ITCPTransport

#: Seconds of quiet before the first probe, then seconds between
#: unanswered ones, and how many unanswered end the connection.
IDLE = 25
INTERVAL = 5
COUNT = 3
#: Wrapping transports (the channel, a plugin transport's stream) walked down
#: to the TCP connection under them, at most.
DEPTH = 4


def tcpUnder(transport):
    """The TCP transport under ``transport`` (itself, or the one a
    wrapping transport's C{transport} holds, down to L{DEPTH}), or None:
    QUIC, a test's transport."""
    for _ in range(DEPTH):
        if transport is None or ITCPTransport.providedBy(transport):
            return transport
        transport = getattr(transport, "transport", None)
    return None


def keepAlive(transport, idle=IDLE, interval=INTERVAL, count=COUNT):
    """Probe the TCP connection under ``transport`` after ``idle`` s of
    quiet, where the platform lets the times be set (Linux's
    C{TCP_KEEPIDLE}; elsewhere its own defaults).  Whether there was one."""
    tcp = tcpUnder(transport)
    if tcp is None:
        return False
    tcp.setTcpKeepAlive(1)
    handle = tcp.getHandle()
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval),
                        ("TCP_KEEPCNT", count)):
        option = getattr(socket, name, None)
        if option is not None:
            try:
                handle.setsockopt(socket.IPPROTO_TCP, option, value)
            except OSError:  # already closed: its connectionLost comes
                return False
    return True
