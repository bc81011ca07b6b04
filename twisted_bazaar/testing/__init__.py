"""
Fakes for testing code built on twisted-bazaar (this project's tests, and
yours): an in-memory network on a fake clock (L{memory}), a market of real
nodes on it (L{market}), and live ``twistd`` daemons on loopback for
end-to-end tests (L{daemons}).
"""

from twisted_bazaar.testing.market import Market, NodeClock  # noqa: F401
from twisted_bazaar.testing.memory import (  # noqa: F401
    Faults,
    MemoryClientEndpoint,
    MemoryConnector,
    MemoryNetwork,
    MemoryServerEndpoint,
    MemoryTransport,
    cutLink,
)
