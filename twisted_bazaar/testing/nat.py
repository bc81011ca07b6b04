"""
Home routers for the in-memory network: which hosts sit behind NAT, and
what a router does to the connections that cross it.

A host at home opens connections as it likes; the other end sees them come
from its router's public address.  A router that keeps source ports (as
Linux ``MASQUERADE`` does while the port is free: endpoint-independent
mapping) shows the host's own local port; a symmetric one (``MASQUERADE
--random-fully``) draws a new port for each connection.  Nobody outside a
home can open a connection into it: the router drops the SYN, and the
dialler's connect times out.  This is the model of
L{twisted_bazaar.testing.netns}'s routers, without the kernel.
"""

import attr

#: A router that keeps each connection's source port.
KEEPS_PORTS = "keeps-ports"
#: A router that draws a random source port for each connection.
SYMMETRIC = "symmetric"
KINDS = (KEEPS_PORTS, SYMMETRIC)
#: Seconds a dial into a home waits before it fails, as a connect whose SYN
#: is dropped does (the daemons' connect timeout).
SYN_TIMEOUT = 5.0
#: The ports a symmetric router draws from.
RANDOM_PORTS = (1024, 65535)


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Router:
    """A home's router: its public address, and its kind (L{KINDS})."""

    public: str
    kind: str = KEEPS_PORTS

    def __attrs_post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"a router is one of {', '.join(KINDS)}, not {self.kind!r}")


class Homes:
    """
    The hosts that sit behind routers, one router per home.

    @ivar timeout: seconds a dial into a home takes to fail.
    """

    def __init__(self, rng, timeout=SYN_TIMEOUT):
        self.rng = rng
        self.timeout = timeout
        self._routers = {}
        #: The routers' public addresses.
        self._publics = set()

    def __len__(self):
        return len(self._routers)

    def place(self, host, router):
        """Put host behind router."""
        self._routers[host] = router
        self._publics.add(router.public)

    def isRouter(self, host):
        """Whether host is a router's public address."""
        return host in self._publics

    def routerOf(self, host):
        """The router host sits behind, or None for a public host."""
        return self._routers.get(host)

    def admits(self, from_host, host):
        """Whether a connection from from_host to host gets through: host is
        public, or both are behind the same router."""
        router = self._routers.get(host)
        return router is None or router is self._routers.get(from_host)

    def seenFrom(self, host, local_port):
        """
        Where a connection host opens from local_port is seen to come from,
        by a host outside its home: (host, port), or None for a public host.
        """
        router = self._routers.get(host)
        if router is None:
            return None
        if router.kind == KEEPS_PORTS:
            return router.public, local_port
        return router.public, self.rng.randint(*RANDOM_PORTS)
