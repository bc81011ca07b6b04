"""
The transfer port on the real reactor, where its node listens: over IPv6
loopback when the node listens on C{tcp6:...:interface=::1}.  A plain
pytest function on the real reactor (pytest-twisted), bounded by a
timeout; it never sleeps.
"""

import socket

import pytest
import pytest_twisted

from twisted_bazaar.net.connections import ConnectionManager
from twisted_bazaar.core.node import NodeConfig
from twisted_bazaar.daemon.services import EndpointConnector
from twisted_bazaar.files.client import TransferClient
from twisted_bazaar.files.server import TransferService
from tests.files.helpers import fileId, writeFile
from tests.files.test_transfer import FakeShare

TIMEOUT = 10.0


def _ipv6Loopback():
    """Why ::1 cannot be used here, or None if it can."""
    if not socket.has_ipv6:
        return "this Python has no IPv6"
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        return f"cannot bind to ::1: {e.strerror or e}"
    return None


#: Why this machine cannot run the test, or None.
NO_IPV6 = _ipv6Loopback()


class _Node:
    """What a TransferService uses of its node."""

    def __init__(self, reactor, connector):
        self.clock = reactor
        self.connector = connector
        self.config = NodeConfig()
        self.connections = ConnectionManager(reactor)


@pytest.mark.skipif(NO_IPV6 is not None, reason=str(NO_IPV6))
@pytest_twisted.inlineCallbacks
def test_transferPortOnIPv6Loopback(tmp_path):
    from twisted.internet import reactor

    readers_before = set(reactor.getReaders())
    calls_before = set(reactor.getDelayedCalls())
    data = b"over IPv6\n" * 1000
    share = FakeShare(writeFile(str(tmp_path), "f", data))
    connector = EndpointConnector(reactor, interface="::1")
    service = TransferService(_Node(reactor, connector), share)
    client = None
    try:
        port = yield service.startService()
        assert service._listening.getHost().host == "::1"
        client = yield connector.connect("::1", port, TransferClient(reactor))
        about = yield client.head(fileId(data)).addTimeout(TIMEOUT, reactor)
        assert (about.size, about.pieces) == (len(data), share.digest.pieces)
    finally:
        if client is not None:
            client.close()
        yield service.stopService()
    assert set(reactor.getReaders()) <= readers_before
    assert [call for call in reactor.getDelayedCalls()
            if call.active() and call not in calls_before] == []
