"""
Tests for L{twisted_bazaar.reach.punch.udp.run}: the table of a node's
runs, and a datagram of a punch or a check written from one of the
node's QUIC sockets.
"""

import socket
from types import SimpleNamespace

from twisted.internet.error import InvalidAddressError
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.reach.punch.udp.run import Run, RunTable, _familyOf, write


class RunTableTests(SynchronousTestCase):
    def test_byPeerAndByNonce(self):
        table, run = RunTable(), Run(7, None, True, 77, 0.0)
        table.add(run)
        self.assertEqual((7 in table, len(table), table.get(7), table.byNonce(77),
                          table.runs()), (True, 1, run, run, [run]))
        self.assertEqual((8 in table, table.get(8), table.byNonce(78)), (False, None, None))

    def test_aRunReplacedIsNotRemovedForItsPeer(self):
        """A run no longer its peer's (another took its place) is forgotten
        by its nonce only: the run in its place, and its dial, stay."""
        table = RunTable()
        first, second = Run(7, None, True, 77, 0.0), Run(7, None, True, 78, 1.0)
        table.add(first)
        table.add(second)
        table.dialling(7)
        table.remove(first)
        self.assertEqual((table.get(7), table.byNonce(77), table.byNonce(78),
                          table.linking(7)), (second, None, second, True))
        table.remove(second)
        self.assertEqual((len(table), table.byNonce(78), table.linking(7)),
                         (0, None, False))

    def test_aFailedDialIsNoLongerLinking(self):
        table = RunTable()
        table.add(Run(7, None, True, 77, 0.0))
        table.dialling(7)
        table.dialFailed(7)
        self.assertFalse(table.linking(7))


class WriteTests(SynchronousTestCase):
    def test_aHostOfTheOtherFamilyIsNoTraceback(self):
        """A node listening on IPv6 alone, asked by its tracker at an IPv4
        address to send its check's datagrams: none can go, and the
        tracker's message handler raises nothing (it had closed the
        tracker link with a traceback: tests/e2e/test_files_live.py,
        test_fileOverIPv6, with UDP on by default)."""

        def refuse(data, address):
            raise InvalidAddressError(address[0], "IPv6 port write() called with IPv4")

        endpoint = SimpleNamespace(transport=SimpleNamespace(write=refuse))
        self.assertIsNone(write(endpoint, b"probe", "127.0.0.1", 7701))

    def test_aClosedSocketSendsNothing(self):
        """A socket the punch closed (None: it met on another) is skipped."""
        self.assertIsNone(write(None, b"probe", "127.0.0.1", 7701))

    def test_ttlForOneDatagram(self):
        """A datagram with a TTL of its own leaves with it (and an IPv6
        socket's hop limit, for its peers of either family); the socket's
        own comes back for the next, even when the write fails."""
        for family, options in ((socket.AF_INET, {(socket.IPPROTO_IP, socket.IP_TTL)}),
                                (socket.AF_INET6, {(socket.IPPROTO_IP, socket.IP_TTL),
                                                   (socket.IPPROTO_IPV6,
                                                    socket.IPV6_UNICAST_HOPS)})):
            held = {option: 64 for option in options}
            sock = SimpleNamespace(
                family=family, getsockopt=lambda level, name: held[(level, name)],
                setsockopt=lambda level, name, value: held.__setitem__((level, name), value))
            written = []

            def send(data, address):
                written.append((data, address, dict(held)))
                raise OSError("no buffer space")

            endpoint = SimpleNamespace(transport=SimpleNamespace(socket=sock, write=send))
            write(endpoint, b"probe", "198.51.100.7", 7701, 2)
            self.assertEqual(written, [(b"probe", ("198.51.100.7", 7701),
                                        {option: 2 for option in options})])
            self.assertEqual(held, {option: 64 for option in options})
            write(endpoint, b"ack", "198.51.100.7", 7701)
            self.assertEqual(written[-1][2], {option: 64 for option in options})


class _Bound:
    """A socket's family and the address it is bound to."""

    def __init__(self, family, host):
        self.family = family
        self.host = host

    def getsockname(self):
        return (self.host, 4433)


class SoundingAddressTests(SynchronousTestCase):
    def familyOf(self, family, host, peer):
        endpoint = SimpleNamespace(transport=SimpleNamespace(socket=_Bound(family, host)))
        return _familyOf(endpoint, peer)

    def test_besideTheNodesSocket(self):
        """A sounding's socket takes the peer's family, at the QUIC
        socket's address where that is one of the family's and not a
        wildcard; else any address."""
        self.assertEqual(self.familyOf(socket.AF_INET, "192.168.1.2", "203.0.113.9"),
                         (socket.AF_INET, "192.168.1.2"))
        self.assertEqual(self.familyOf(socket.AF_INET, "0.0.0.0", "203.0.113.9"),
                         (socket.AF_INET, ""))
        self.assertEqual(self.familyOf(socket.AF_INET6, "::", "2001:db8::9"),
                         (socket.AF_INET6, ""))
        self.assertEqual(self.familyOf(socket.AF_INET6, "2001:db8::2", "203.0.113.9"),
                         (socket.AF_INET, ""))
