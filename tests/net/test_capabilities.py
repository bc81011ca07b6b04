"""
A transport's and a connector's capabilities as interfaces: the channel's
transport provides L{ISecureTransport}, a wrapper answers for what it
wraps (its own first), and readers see only what is declared.
"""

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.internet.interfaces import ISystemHandle
from zope.interface import alsoProvides, implementer
from zope.interface.verify import verifyObject

from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.capabilities import (
    IPathCapability,
    ISecureTransport,
    conformThrough,
)
from twisted_bazaar.channel.session import ChannelKey
from twisted_bazaar.net.encrypted import EncryptedProtocol
from twisted_bazaar.net.handshake import PLAIN, channelHash, channelKey
from twisted_bazaar.testing.capabilities import secured

from tests.net.test_encrypted import Recorder, encryptedPair


@implementer(ISecureTransport)
class _Proved:
    def __init__(self, key):
        self.peerKey = key
        self.handshakeHash = b"h" * 32


class _Wrapper:
    """Wraps a transport, answering for it as the channel does."""

    def __init__(self, wrapped):
        self.wrapped = wrapped

    def __conform__(self, interface):
        return conformThrough(self, self.wrapped, interface)


class SecureTransportTests(SynchronousTestCase):
    def test_channelProvidesIt(self):
        """Both ends of a channel provide ISecureTransport, each naming the
        other's key and the same handshake hash."""
        alice, bob = Identity.generate(), Identity.generate()
        client, server, pump = encryptedPair(Clock(), alice, bob)
        pump.flush()
        for end in (server, client):
            verifyObject(ISecureTransport, end)
        self.assertEqual(channelKey(server), bob.key)
        self.assertEqual(channelKey(client), alice.key)
        self.assertEqual(channelHash(server), channelHash(client))
        self.assertEqual(len(channelHash(server)), 32)

    def test_undeclaredIsPlain(self):
        """A transport with a peerKey attribute but no declaration is a
        connection without the channel: nothing is read off it."""
        transport = StringTransport()
        transport.peerKey = b"k" * 32
        transport.handshakeHash = b"h" * 32
        self.assertIs(channelKey(transport), PLAIN)
        self.assertIsNone(channelHash(transport))
        self.assertIsNone(channelKey(secured(StringTransport())))

    def test_wrapperAnswersForThePathUnderIt(self):
        """A wrapper answers for itself first (the inner channel's key, not
        the one under it), then for a capability of the path under it
        (IPathCapability), and for no other: a channel's socket is not its
        transport's, or a file would go around it unencrypted."""
        path = _Path()
        self.assertIs(_IPath(_Wrapper(path)), path)
        self.assertIsNone(_IPath(_Wrapper(StringTransport()), None))
        self.assertIsNone(_IPath(_Wrapper(None), None))
        self.assertIsNone(ISecureTransport(_Wrapper(_Proved(b"i" * 32)), None))
        channel = EncryptedProtocol(Recorder(), ChannelKey.generate(Identity.generate()),
                                    True, Clock())
        under = secured(StringTransport(), b"o" * 32)
        alsoProvides(under, ISystemHandle, _IPath)
        channel.makeConnection(under)
        self.assertIs(ISecureTransport(channel), channel)
        self.assertIs(_IPath(channel), under)
        self.assertIsNone(ISystemHandle(channel, None))


class _IPath(IPathCapability):
    """A capability of the path under a connection."""


@implementer(_IPath)
class _Path:
    pass
