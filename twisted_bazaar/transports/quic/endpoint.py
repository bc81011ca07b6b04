"""
A node's QUIC socket (L{QuicEndpoint}): one UDP port for every QUIC
connection it opens and accepts, each datagram routed to its connection
by the connection id it names.

Before any state is held for a stranger, its address is proven (QUIC's
stateless retry, RFC 9000 §8.1.2, the UDP answer to the SYN gate of
L{twisted_bazaar.net.syngate}): a first Initial packet is answered with a
token sealed for its source address alone, and only an Initial that
brings it back from that address makes a connection.  A spoofed source
never sees the token, so it makes the node hold nothing and answer with
one small packet to each large one it sends.

A source is charged only where it is proven.  A Retry is charged to no
address group: the group a tokenless Initial names is its sender's word,
and a forger naming an honest group's addresses would spend that
group's share and shut it out.  The node's Retries are bounded a second
in all instead (L{QUIC_RETRIES}: the CPU of sealing tokens, whatever
sources are claimed, kept in one bucket that no number of groups cycles
past).  An Initial bringing back a token the node made for its address
is charged to that address's group (L{QUIC_INITIALS}), and so are the
connections and the streams peers open, in the registry of limits
(L{QUIC_CONNECTIONS}, L{QUIC_STREAMS}).
"""

import errno
import os
import socket

from qh3._hazmat import Buffer
from qh3.quic.packet import (
    SMALLEST_MAX_DATAGRAM_SIZE,
    QuicErrorCode,
    QuicPacketType,
    encode_quic_retry,
    pull_quic_header,
)
from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import MessageLengthError
from twisted.internet.interfaces import ISystemHandle
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.addressgroup import addressGroup
from twisted_bazaar.base.limitregistry import declare
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.limits import GroupRates, TokenBucket
from twisted_bazaar.transports.quic.connection import Connection, QuicSilent, QuicUnanswered
from twisted_bazaar.transports.quic.errors import QuicOtherFamily
from twisted_bazaar.transports.quic.pathmtu import datagramSize, fragmentPastPath, routeMtu
from twisted_bazaar.transports.quic.retrytoken import RetryTokens
from twisted_bazaar.transports.quic.segments import Segmenter, batches
from twisted_bazaar.transports.quic.stack import (
    READ_SIZE,
    Quic,
    clientConfiguration,
    serverConfiguration,
    warmUp,
)

__all__ = ["QuicEndpoint", "QUIC_CONNECTIONS", "QUIC_INITIALS", "QUIC_RETRIES", "QUIC_STREAMS",
           "CONNECT_TIMEOUT", "STREAMS_A_CONNECTION", "STREAM_WAIT"]

QUIC_CONNECTIONS = declare(
    "quic.connections", 256, "connections",
    "QUIC connections peers opened to this node (each a TLS state, its streams and "
    "up to its window, 2 MiB, of what the peer sent: 512 MiB in all, 64 MiB a group), "
    "held only once the peer's address is proven", group=32, owner=__name__)
QUIC_INITIALS = declare(
    "quic.initials", 100, "datagrams/s",
    "first packets of new QUIC connections that bring back a Retry's token made for "
    "their address (each may make a connection), from one address group",
    group=100, owner=__name__)
QUIC_RETRIES = declare(
    "quic.retries", 5000, "datagrams/s",
    "Retries answering new QUIC connections' tokenless first packets, all sources "
    "together (each seals a token: the node's CPU; charged to no address group, "
    "which an unproven source only claims)", owner=__name__)
QUIC_STREAMS = declare(
    "quic.streams", 4096, "streams",
    "QUIC streams peers opened to this node (each a protocol connected, as a TCP "
    "connection is)", group=256, owner=__name__)

#: Seconds a dial may take to finish QUIC's handshake.
CONNECT_TIMEOUT = 5.0
#: Seconds an accepted connection may go without a stream before it is
#: closed (the channel's own handshake timeout, as on TCP).
STREAM_WAIT = 10.0
#: Streams a peer may open at once on one connection.
STREAMS_A_CONNECTION = 8
#: Bytes of the connection ids this node chooses (qh3's default).
CID_LENGTH = 8
#: Bytes under which a datagram is no QUIC packet (a short header with
#: this node's connection id, a packet number, and AEAD's 16-byte tag,
#: past the 4 bytes header protection samples after the packet number's
#: start): a hole punch's probes and acks are shorter
#: (L{twisted_bazaar.reach.punch.udp.plan}), and go to L{QuicEndpoint.foreign}.
SHORTEST_PACKET = 1 + CID_LENGTH + 4 + 16
#: Bytes of the UDP socket's buffers asked for: a burst of a window's
#: datagrams on loopback is not dropped by the kernel.
SOCKET_BUFFER = 4 * 1024 * 1024
#: Bytes of datagrams the UDP port reads in one turn of the reactor
#: (Twisted's default, 256 KiB, is 4 of 64 KiB): what was read in a turn
#: is answered at its end, one flush and acknowledgement for all of it
#: (connection.py), so a window's burst read in one turn is 10 % less
#: CPU a MiB on loopback (docs/architecture.md, "QUIC").  At 1,452 bytes
#: a datagram it is some 700 of them, a turn of ~20 ms at most.
READ_BUDGET = 1024 * 1024


class QuicEndpoint(DatagramProtocol):
    """
    One UDP socket's QUIC connections: see the module's docstring.

    @ivar clock: the node's clock (every QUIC timer is on it).
    @ivar retry: whether a stranger's address is proven before a
        connection is made (on, but in a test of what it guards).
    @ivar connections: the L{Account} of the connections peers opened.
    @ivar streams: the L{Account} of the streams they opened.
    @ivar foreign: ``foreign(endpoint, data, addr)``, given each datagram
        too short to be QUIC's (a punch's: L{SHORTEST_PACKET}), or None:
        they are dropped; given at construction by the endpoint's owner
        (L{twisted_bazaar.daemon.quic.QuicService}).
    """

    log = Logger()
    #: Twisted logs no "Starting protocol" line for each (a punch over UDP
    #: opens 255).
    noisy = False

    def __init__(self, clock, retry=True, routeMtu=routeMtu, foreign=None):
        """
        @param routeMtu: ``routeMtu(host)``, the MTU of the route to host
            or None (L{twisted_bazaar.transports.quic.pathmtu.routeMtu}).
        @param foreign: see L{foreign}.
        """
        self.clock = clock
        self.retry = retry
        self.routeMtu = routeMtu
        #: service (ALPN) -> the factory of its streams' protocols.
        self.services = {}
        self._server = None
        self._tokens = RetryTokens()
        #: connection id -> its L{Connection}.
        self._routes = {}
        self._open = set()
        self.connections = Account.of(QUIC_CONNECTIONS)
        self.streams = Account.of(QUIC_STREAMS)
        #: The rate of new connections' first packets of each address group,
        #: counted once a token proves the address.
        self.initials = GroupRates(QUIC_INITIALS)
        #: The node's Retries a second, every source's together.
        self.retries = TokenBucket(QUIC_RETRIES.default, clock.seconds())
        self.foreign = foreign
        #: The socket's L{Segmenter}, None where it has no GSO (or is no
        #: reactor's socket).
        self.segmenter = None

    def startProtocol(self):
        warmUp()
        if ISystemHandle.providedBy(self.transport):
            # A UDP port of the reactor: it reads datagrams as large as the
            # peers are told they may send (Twisted's default is 8 KiB),
            # and its own go unfragmented.
            self.transport.maxPacketSize = READ_SIZE
            self.transport.maxThroughput = READ_BUDGET
            handle = self.transport.getHandle()
            fragmentPastPath(handle)
            self.segmenter = Segmenter.of(handle)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                try:
                    handle.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
                except OSError:
                    pass

    def serve(self, service, factory):
        """Accept streams asking for service (an ALPN) with factory's
        protocols."""
        self.services[service] = factory
        self._server = serverConfiguration(sorted(self.services))

    def serveAs(self, other):
        """Serve what ``other`` (a L{QuicEndpoint}) serves, with its
        certificate: one more of a node's sockets (a punch's), made
        without a certificate of its own (0.4 ms a service); its
        connections, streams, Initials and Retries charged to ``other``'s
        accounts and rates, so that a node's shares and its Retries are the
        same however many sockets it has."""
        self.services = other.services
        self._server = other._server
        self.connections = other.connections
        self.streams = other.streams
        self.initials = other.initials
        self.retries = other.retries

    def hostAddress(self):
        host = self.transport.getHost()
        return (IPv6Address if ":" in host.host else IPv4Address)("UDP", host.host,
                                                                  host.port)

    def sendDatagram(self, data, addr):
        """Send data to addr: False if it is too large for the path (the
        kernel refused it, as it does a datagram past the route's MTU
        with the don't-fragment bit set), else True."""
        try:
            self.transport.write(data, addr)
        except MessageLengthError:
            # A reactor's port says EMSGSIZE so.
            return False
        except OSError as e:
            # Else a full socket buffer, or a host unreachable: a datagram
            # lost, which QUIC resends.
            return e.errno != errno.EMSGSIZE
        return True

    def sendDatagrams(self, datagrams):
        """Send datagrams, ``[(data, addr), ...]`` (a connection's burst):
        runs of them in one system call each where the socket segments
        (L{twisted_bazaar.transports.quic.segments}), else one at a time.  False
        if one was too large for the path (as L{sendDatagram})."""
        fitted = True
        segmenter = self.segmenter
        for addr, size, run in batches(datagrams):
            if len(run) > 1 and segmenter is not None and segmenter.send(addr, size, run):
                continue
            for data in run:
                fitted = self.sendDatagram(data, addr) and fitted
        return fitted

    def datagramSize(self, host, peerReads=None):
        """Bytes of the datagrams to send to host, the peer reading at
        most peerReads (L{twisted_bazaar.transports.quic.pathmtu.datagramSize})."""
        return datagramSize(host, peerReads, self.routeMtu)

    # -- routing -----------------------------------------------------------------------

    def routeTo(self, cid, connection):
        self._routes[cid] = connection

    def unroute(self, cid):
        self._routes.pop(cid, None)

    def forget(self, connection):
        """connection ended: nothing routes to it, nothing is charged."""
        for cid in [cid for cid, each in self._routes.items() if each is connection]:
            del self._routes[cid]
        self._open.discard(connection)
        self.connections.release(connection)
        for stream_id in list(connection.streams):
            self.streams.release((connection, stream_id))

    def datagramReceived(self, data, addr):
        if len(data) < SHORTEST_PACKET:
            if self.foreign is not None:
                self.foreign(self, data, addr)
            return
        if data[0] & 0xC0 == 0x40:
            # A short header (RFC 9000 §17.3: its fixed bit set), nearly
            # every datagram of a transfer: routed by the connection id
            # after its first byte, without parsing its header (which its
            # connection does anyway).  One naming no connection goes the long way, and is
            # dropped there.
            connection = self._routes.get(data[1:1 + CID_LENGTH])
            if connection is not None:
                connection.datagramReceived(data, addr)
                return
        try:
            header = pull_quic_header(Buffer(data=data), host_cid_length=CID_LENGTH)
        except ValueError:
            return
        connection = self._routes.get(header.destination_cid)
        if connection is not None:
            connection.datagramReceived(data, addr)
            return
        if (self._server is None or header.packet_type != QuicPacketType.INITIAL
                or len(data) < SMALLEST_MAX_DATAGRAM_SIZE
                or header.version not in self._server.supported_versions):
            # Nothing served, or no new connection's first packet (one of
            # an unknown version goes unanswered: no reflection).
            return
        self._initial(header, data, addr)

    def _initial(self, header, data, addr):
        now = self.clock.seconds()
        original, retried = header.destination_cid, None
        if self.retry:
            if not header.token:
                self._retry(header, addr, now)
                return
            try:
                original = self._tokens.validate(addr, header.destination_cid,
                                                 header.token, now)
            except ValueError:
                return
            retried = header.destination_cid
        group = addressGroup(addr[0])
        if not self.initials.take(group, now):
            # More than its group's rate, its address proven (or, with no
            # Retry, claimed): dropped.
            return
        victims = self.connections.makeRoom(group)
        if victims is None:
            return
        for victim in victims:
            victim.close(QuicErrorCode.CONNECTION_REFUSED,
                         "making room for another address group")
            self.connections.release(victim)
        quic = Quic(size=self.datagramSize(addr[0]), configuration=self._server,
                    original_destination_connection_id=original,
                    retry_source_connection_id=retried)
        connection = Connection(self, quic, addr, group, accept=self._accept)
        self.connections.hold(connection, group)
        connection.expectStream(STREAM_WAIT)
        self._open.add(connection)
        self.routeTo(header.destination_cid, connection)
        self.routeTo(quic.host_cid, connection)
        connection.datagramReceived(data, addr)

    def _retry(self, header, addr, now):
        """Answer a tokenless Initial from addr with a Retry, within the
        node's Retries a second (L{QUIC_RETRIES}); past them, nothing.
        No address group is charged: addr is only what the datagram
        claims."""
        if not self.retries.take(now):
            return
        source = os.urandom(CID_LENGTH)
        token = self._tokens.create(addr, header.destination_cid, source, now)
        self.sendDatagram(encode_quic_retry(
            version=header.version, source_cid=source,
            destination_cid=header.source_cid,
            original_destination_cid=header.destination_cid, retry_token=token), addr)

    def _accept(self, connection, service, stream_id):
        factory = self.services.get(service)
        if factory is None or len(connection.streams) >= STREAMS_A_CONNECTION:
            return None
        holder = (connection, stream_id)
        if self.streams.makeRoom(connection.group, holder=holder) != []:
            return None
        protocol = factory.buildProtocol(connection.peerAddress())
        if protocol is not None:
            self.streams.hold(holder, connection.group)
        return protocol

    def streamGone(self, connection, stream_id):
        self.streams.release((connection, stream_id))

    # -- dialling ------------------------------------------------------------------------

    def connect(self, host, port, service, protocol, timeout=CONNECT_TIMEOUT):
        """
        Open a QUIC connection to host:port (an IP address) asking for
        service, and one stream of it for protocol.

        @return: a Deferred firing with protocol, connected, once QUIC's
            handshake is done; failing with L{QuicSilent} when it is not
            within ``timeout`` seconds, L{QuicUnanswered} when the peer
            refused it, L{QuicOtherFamily} (at once) for an address of
            the other family.
        """
        unsendable = self._otherFamily(host)
        if unsendable is not None:
            # Twisted's UDP port refuses to write there: a dial made the
            # connection and its timer, then raised past them both.
            return defer.fail(QuicOtherFamily(string=unsendable))
        addr = (host, port)
        quic = Quic(size=self.datagramSize(host), configuration=clientConfiguration(service))
        connection = Connection(self, quic, addr, addressGroup(host))
        self._open.add(connection)
        self.routeTo(quic.host_cid, connection)
        quic.connect(addr, now=self.clock.seconds())
        d = connection.handshake
        timer = self.clock.callLater(timeout, connection.giveUp,
                                     f"no QUIC answer from {hostPort(host, port)} within "
                                     f"{timeout:g} s", QuicSilent)

        def done(result):
            if timer.active():
                timer.cancel()
            return result

        d.addBoth(done)
        d.addCallback(lambda connection: connection.openStream(protocol) and protocol)
        connection.flush()
        return d

    def _otherFamily(self, host):
        """Why this socket sends nothing to IP address host, or None: a
        socket of one family writes to no address of the other (a node
        listening on ``tcp6:`` has its QUIC port on IPv6, and a peer the
        tracker names at an IPv4 address is reached over TCP alone)."""
        mine = "IPv6" if ":" in self.transport.getHost().host else "IPv4"
        theirs = "IPv6" if ":" in host else "IPv4"
        if mine == theirs:
            return None
        return (f"this node's QUIC port is on {mine} only: it sends nothing to the "
                f"{theirs} address {host}")

    def stop(self):
        """Close every connection (their peers are told); a dial under way
        fails with L{QuicUnanswered}."""
        for connection in list(self._open):
            if connection.handshake is not None:
                connection.giveUp("the node's QUIC socket closed")
                continue
            connection.close(why="stopping")
            connection.stopTimers()
            connection.ended = True
            self.forget(connection)


__all__ += ["QuicSilent", "QuicUnanswered"]
