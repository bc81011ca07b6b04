"""
The tracker's messages of UDP reach and UDP punching (docs/protocol.md,
"Hole punching over UDP"), over a node's tracker connection: here, below
both, because the tracker (L{twisted_bazaar.tracker.udpreach}) and a
node's punches (L{twisted_bazaar.reach.punch.udp}) speak them.

- ``udpcheck`` (node): where do my datagrams come from?  Answered by
  ``udpprobe`` (the tracker's two UDP ports and a token), or by
  ``error{noudp}`` from a tracker with no UDP port.
- The node sends the token in one datagram from one UDP socket to each
  port (L{probeDatagram}); the tracker answers ``udpreach`` over the
  connection, never over UDP: a spoofed datagram makes it send nothing
  anywhere.
- ``udppunch`` (node): punch to that node; the tracker sends each of the
  two ``udppunchgo``: the other's id, where it saw the other's datagrams
  come from, and the punch's nonce; each starts as it arrives.
- ``udppunchnear`` (node): this punch's sounding was answered from the
  other's host (the two routers are on one segment): the tracker passes
  it to the other end of the punch it started with that nonce, and both
  follow their patient plans.

The datagrams of the punch itself are
L{twisted_bazaar.reach.punch.udp.plan}'s.
"""

import struct

from twisted_bazaar.wire.codec import (
    Message,
    checkHost,
    checkId,
    checkNodeId,
    checkPort,
    errorCode,
    field,
    message,
)

errorCode("noudp", "no UDP reach or punch now: the info says why")

#: The rate bucket of these messages on the tracker connection (its
#: rate: L{twisted_bazaar.net.limits.UDP_LIMIT}).
BUCKET = "udp"
#: A probe datagram to the tracker: magic, then the token.
_PROBE = struct.Struct("!4sq")
_MAGIC = b"BZT1"

#: The ``info`` of the ``noudp`` of a tracker with no UDP port: a node
#: asks it no check for a while.  Any other refusal of a check (its
#: address group's rate) passes within a second or two.
NO_UDP_PORTS = ("this tracker takes no UDP datagrams (it was started with "
                "--no-udp, or could not take its UDP ports)")


def probeDatagram(token):
    """The bytes a node sends each of the tracker's UDP ports."""
    return _PROBE.pack(_MAGIC, token)


def tokenOf(data):
    """The token of a probe datagram, or None for any other bytes."""
    if len(data) != _PROBE.size:
        return None
    magic, token = _PROBE.unpack(data)
    return token if magic == _MAGIC else None


@message("udpcheck", bucket=BUCKET)
class UdpCheck(Message):
    """A node asks where the tracker sees its datagrams come from."""


@message("udpprobe", bucket=BUCKET)
class UdpProbe(Message):
    """
    The tracker's answer to ``udpcheck``: send ``token`` (L{probeDatagram})
    from one UDP socket to the tracker's ``port`` and ``second`` port, at
    the tracker connection's host, within 10 s.
    """

    token: int = field(checkId)
    port: int = field(checkPort)
    second: int = field(checkPort)


@message("udpreach", bucket=BUCKET)
class UdpReached(Message):
    """
    Where the tracker saw the node's probe datagrams come from:
    ``seenHost``, and the port of each (``seenPort`` to its first port,
    ``seenSecond`` to its second; 0: none came from the node's host).
    """

    seen_host: str = field(checkHost)
    seen_port: int = field(checkPort)
    seen_second: int = field(checkPort)


@message("udppunch", bucket=BUCKET)
class UdpPunchAsk(Message):
    """A node asks the tracker to start a UDP punch with node ``id``."""

    id: int = field(checkNodeId)


@message("udppunchgo", bucket=BUCKET)
class UdpPunchGo(Message):
    """
    The tracker tells each end of a UDP punch the other (``id``), where it
    saw the other's datagrams come from (``host``, ``port``, ``second``, as
    in its ``udpreach``), and the punch's ``nonce``: start probing now.
    """

    id: int = field(checkNodeId)
    host: str = field(checkHost)
    port: int = field(checkPort)
    second: int = field(checkPort)
    nonce: int = field(checkId)


@message("udppunchnear", bucket=BUCKET)
class UdpPunchNear(Message):
    """
    From a node: the punch ``nonce`` with node ``id`` goes patient, its
    sounding answered from that node's host; from the tracker, to that
    node: the same of the punch with node ``id``, the sender.
    """

    id: int = field(checkNodeId)
    nonce: int = field(checkId)
