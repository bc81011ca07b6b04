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

Several hosts may sit behind one router, on its LAN, each at a local
address of its own (L{Homes.place} with ``lan``): they reach each other
at those addresses, and nobody else does (a local address dialled from
another home is a host of that home's own LAN, or none).  A router does
not hairpin: a host dialling its own router's public address reaches
nothing, as with most home routers.
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
        #: host -> its local address, for the hosts placed with one.
        self._lans = {}
        #: (router's public address, local address) -> the host at that address on the
        #: router's LAN.
        self._atLan = {}

    def __len__(self):
        return len(self._routers)

    def place(self, host, router, lan=None):
        """Put host behind router, at local address ``lan`` on its LAN
        (None: at none its neighbours could dial)."""
        self._routers[host] = router
        self._publics.add(router.public)
        if lan is not None:
            self._lans[host] = lan
            self._atLan[(router.public, lan)] = host

    @property
    def lans(self):
        """Whether some host sits at a local address."""
        return bool(self._lans)

    def lanOf(self, host):
        """host's local address, or None."""
        return self._lans.get(host)

    def onLan(self, from_host, address):
        """The host at local address ``address`` on from_host's LAN (its
        router's), or None."""
        router = self._routers.get(from_host)
        if router is None:
            return None
        return self._atLan.get((router.public, address))

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
