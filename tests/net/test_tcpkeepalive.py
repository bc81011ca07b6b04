"""
Kernel TCP keepalive under a wrapping transport
(L{twisted_bazaar.net.tcpkeepalive}): found through the channel, set with
the times asked, and nothing where no TCP connection is under.
"""

import socket

from twisted.internet.interfaces import ITCPTransport
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_bazaar.net.tcpkeepalive import IDLE, keepAlive, tcpUnder


@implementer(ITCPTransport)
class TcpTransport(StringTransport):
    """A TCP connection's transport whose handle is a real, unconnected
    socket: the options set on it are read back."""

    def __init__(self, handle):
        super().__init__()
        self.keepalive = 0
        self.handle = handle

    def setTcpKeepAlive(self, enabled):
        self.keepalive = enabled

    def getHandle(self):
        return self.handle


def wrapping(inner):
    """A transport wrapping inner, as the channel does."""
    outer = StringTransport()
    outer.transport = inner
    return outer


class KeepAliveTests(SynchronousTestCase):
    def setUp(self):
        self.socket = socket.socket()
        self.addCleanup(self.socket.close)

    def test_setThroughTheChannel(self):
        """The TCP connection under a wrapper is probed after IDLE s of
        quiet (where the platform names the option)."""
        tcp = TcpTransport(self.socket)
        self.assertTrue(keepAlive(wrapping(tcp)))
        self.assertEqual(tcp.keepalive, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            self.assertEqual(self.socket.getsockopt(socket.IPPROTO_TCP,
                                                    socket.TCP_KEEPIDLE), IDLE)

    def test_noTcpUnder(self):
        """No TCP connection under (QUIC, a test's transport): nothing."""
        self.assertIsNone(tcpUnder(wrapping(StringTransport())))
        self.assertFalse(keepAlive(wrapping(StringTransport())))

    def test_closedSocket(self):
        """A socket closed already is let be: its connectionLost comes."""
        self.socket.close()
        self.assertFalse(keepAlive(TcpTransport(self.socket)))
