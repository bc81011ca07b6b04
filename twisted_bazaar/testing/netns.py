"""
A network of Linux network namespaces for end-to-end tests: hosts on a
public net, and homes, each a host behind a router of its own that does
NAT, as a house's router does (``iptables`` ``MASQUERADE``).

Everything lives in namespaces this module makes, named after a tag: the
public net is a bridge inside a namespace of its own, so nothing is
added to the caller's namespace and nothing made here can reach outside.
The public net is ``10.47.0.0/24`` (and ``fd47::/64`` for its hosts on
IPv6: L{NetBed.public}'s ``families``); home number k is ``192.168.k.0/24``
behind a router whose public (WAN) address is on the public net.  Hosts
on the public net have no route into any home, and each router drops
every new connection from its WAN side to its home: a node at home
reaches out, nobody reaches in (but through a port its router forwards,
if asked to).  A ``plain`` router has no firewall: what comes unasked to
it reaches its own stack (and Linux conntrack keeps an entry for it, as
behind many a home router's plain ``MASQUERADE``).  A ``far`` home's
router is on a net of its own (``10.47.1.0/24``), one router (an ISP's)
away from the public net: a datagram between it and any other home
crosses that router.  L{NetBed.remove} deletes the
namespaces, and with them every link, bridge and rule.

It needs root, ``ip`` (iproute2) and, for homes, ``iptables``:
L{missing} says what of that is lacking here.
"""

import os
import re
import shutil
import subprocess

import attr

from twisted_bazaar.testing.portmaprouter import portMappingRouter

#: Seconds one ``ip`` or ``iptables`` command may take.
COMMAND_TIMEOUT = 30.0
#: The public net's first three octets; its hosts and routers are .1 on.
PUBLIC_NET = "10.47.0"
#: The public net's IPv6 prefix (a /64): a host's address ends in its number.
PUBLIC_NET6 = "fd47::"
#: The far net's: an ISP's router (.254) away from the public net.
FAR_NET = "10.47.1"


class NetBedError(Exception):
    """A command that builds the network failed: it, and what it said."""


def run(*args):
    """Run a command; raise L{NetBedError} naming it and its error output
    if it fails."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if done.returncode:
        raise NetBedError(f"{' '.join(args)}: exit status {done.returncode}: "
                          f"{done.stderr.strip()}")
    return done


def missing(nat=False):
    """
    Why namespaces (and, with ``nat``, NAT routers) cannot be made here,
    or None if they can: no ``ip``, not root, no namespaces, no
    ``iptables``, or no NAT in the kernel.
    """
    if shutil.which("ip") is None:
        return "no ip command (iproute2): network namespaces need it"
    if os.geteuid() != 0:
        return "not root: making network namespaces and links needs root"
    if nat and shutil.which("iptables") is None:
        return "no iptables command: the NAT routers need it (apt-get install iptables)"
    probe = f"bazaarprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    try:
        if nat:
            masquerade = subprocess.run(
                ["ip", "netns", "exec", probe, "iptables", "-t", "nat", "-A",
                 "POSTROUTING", "-o", "lo", "-j", "MASQUERADE", "--random-fully"],
                capture_output=True, text=True)
            if masquerade.returncode:
                return f"iptables cannot NAT here: {masquerade.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def tagOf(pid):
    """The tag of the test beds made in process pid: their namespaces are
    named ``bz`` TAG ROLE (L{NetBed}), a role being letters."""
    return pid % 100000


def removeLeft(pids):
    """
    Delete the namespaces still there of the beds made in these processes
    (tagged L{tagOf}): a process killed before it removed its bed (a
    stopped run's) leaves them.  Nothing, where none can be made.
    """
    if shutil.which("ip") is None or os.geteuid() != 0:
        return
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT)
    tags = {str(tagOf(pid)) for pid in pids}
    for line in listed.stdout.splitlines():
        name = (line.split() or [""])[0]
        made = re.fullmatch(r"bz(\d+)[a-z]+", name)
        if made and made[1] in tags:
            subprocess.run(["ip", "netns", "del", name], capture_output=True,
                           timeout=COMMAND_TIMEOUT)


@attr.s(frozen=True, auto_attribs=True)
class Host:
    """A namespace with one address (IPv4's, or IPv6's on a host of IPv6
    alone) and its IPv6 one if it has one: run a daemon there with
    L{wrapper}."""

    namespace: str
    address: str
    address6: str = None

    @property
    def wrapper(self):
        """The command prefix that runs a command in this host's namespace."""
        return ("ip", "netns", "exec", self.namespace)


@attr.s(frozen=True, auto_attribs=True)
class Home:
    """A host at home, and its router's public (WAN) address: the address
    the public net sees the host's connections come from."""

    host: Host
    router: Host
    public_address: str

    def forgetUnasked(self, seconds):
        """
        The router's conntrack keeps the entry of a UDP flow that saw
        datagrams one way only (what came unasked, a mapping no datagram
        answered) ``seconds`` s, not Linux's 30: its namespace's own
        ``nf_conntrack_udp_timeout``, so that a test of a punch that
        outlasts those entries waits seconds.  It holds for datagrams
        from now on.
        """
        run(*self.router.wrapper, "sysctl", "-qw",
            f"net.netfilter.nf_conntrack_udp_timeout={int(seconds)}")

    def rejectUnasked(self):
        """
        The router answers a UDP datagram that comes unasked to it with
        ICMP port unreachable and keeps no entry of it (``iptables -I
        INPUT -i wan -p udp -j REJECT``: the datagram is dropped before
        conntrack confirms its entry), as OpenWrt's wan zone does: it
        answers a punch's sounding as a plain router does, and loses no
        race.
        """
        run(*self.router.wrapper, "iptables", "-I", "INPUT", "-i", "wan", "-p", "udp",
            "-j", "REJECT")


class NetBed:
    """
    The namespaces of one test, made on demand: L{public} hosts, and
    L{home}s behind their NAT routers.  L{remove} undoes all of it,
    whatever was made.
    """

    def __init__(self, tag, rate=None):
        """
        @param rate: each home's link to the public net shaped to this
            rate both ways (tc's words: ``1gbit``, ``100mbit``), as a home's
            line is; None, as fast as the machine moves bytes.
        """
        self.tag = tag
        self.rate = rate
        #: Every namespace made, in order.
        self.namespaces = []
        #: The daemons of the routers that map ports, to end at removal.
        self.daemons = []
        self._wan = None
        self._public = 0
        self._homes = 0
        #: The namespaces plugged into the public net, and the ISP's
        #: address there (None: no far home yet).
        self._onPublic = []
        self._isp = None
        self._far = 0

    def _namespace(self, role):
        namespace = f"bz{self.tag}{role}"
        run("ip", "netns", "add", namespace)
        self.namespaces.append(namespace)
        run("ip", "-n", namespace, "link", "set", "lo", "up")
        return namespace

    def _plugPublic(self, namespace, device, families=None):
        """A link from namespace's device to the public net's bridge, with
        the next public address of each of families (4, 6; None: IPv4's,
        the namespace's IPv6 left as it is); returns the IPv4 address
        (None without 4)."""
        if self._wan is None:
            self._wan = self._namespace("wan")
            run("ip", "-n", self._wan, "link", "add", "br0", "type", "bridge")
            run("ip", "-n", self._wan, "link", "set", "br0", "up")
        self._public += 1
        port, address = f"p{self._public}", f"{PUBLIC_NET}.{self._public}"
        run("ip", "-n", namespace, "link", "add", device, "type", "veth", "peer", "name",
            port, "netns", self._wan)
        run("ip", "-n", self._wan, "link", "set", port, "master", "br0", "up")
        if families is None or 4 in families:
            run("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", device)
        else:
            address = None
        if families is not None and 6 in families:
            # nodad: usable at once, not after duplicate detection's second.
            run("ip", "-n", namespace, "addr", "add",
                f"{PUBLIC_NET6}{self._public}/64", "dev", device, "nodad")
        elif families is not None:
            run("ip", "netns", "exec", namespace, "sysctl", "-qw",
                "net.ipv6.conf.all.disable_ipv6=1")
        run("ip", "-n", namespace, "link", "set", device, "up")
        self._onPublic.append(namespace)
        if self._isp is not None:
            _routeFar(namespace, self._isp)
        return address

    def _plugFar(self, namespace, device):
        """A link from namespace's device to the far net (made with its
        ISP's router on first use), with its next address; returns it."""
        if self._isp is None:
            isp = self._namespace("isp")
            public = self._plugPublic(isp, "wan")
            run("ip", "-n", self._wan, "link", "add", "br1", "type", "bridge")
            run("ip", "-n", self._wan, "link", "set", "br1", "up")
            run("ip", "-n", isp, "link", "add", "far", "type", "veth", "peer", "name",
                "pfar", "netns", self._wan)
            run("ip", "-n", self._wan, "link", "set", "pfar", "master", "br1", "up")
            run("ip", "-n", isp, "addr", "add", f"{FAR_NET}.254/24", "dev", "far")
            run("ip", "-n", isp, "link", "set", "far", "up")
            run("ip", "netns", "exec", isp, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            self._isp = public
            for each in self._onPublic:
                if each != isp:
                    _routeFar(each, public)
        self._far += 1
        address = f"{FAR_NET}.{self._far}"
        port = f"f{self._far}"
        run("ip", "-n", namespace, "link", "add", device, "type", "veth", "peer", "name",
            port, "netns", self._wan)
        run("ip", "-n", self._wan, "link", "set", port, "master", "br1", "up")
        run("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", device)
        run("ip", "-n", namespace, "link", "set", device, "up")
        run("ip", "-n", namespace, "route", "add", "default", "via", f"{FAR_NET}.254")
        return address

    def _shape(self, router):
        """The router's link to the public net (the last one plugged) held
        to L{rate} both ways: its own side's egress is the home's upload,
        the bridge's port's the download (a token bucket, tc's tbf, with
        a burst of 4 ms of the rate, at least 64 KiB)."""
        if self.rate is None:
            return
        for namespace, device in ((router, "wan"), (self._wan, f"p{self._public}")):
            run("ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", device,
                "root", "tbf", "rate", self.rate, "burst", _burst(self.rate),
                "latency", "20ms")

    def public(self, name, families=None):
        """A host on the public net, with an IPv4 address, or one of each
        of families: (4,), IPv4 alone (IPv6 off); (6,), IPv6 alone; (4,
        6), both."""
        namespace = self._namespace(name)
        address = self._plugPublic(namespace, "eth0", families)
        address6 = (f"{PUBLIC_NET6}{self._public}" if families and 6 in families
                    else None)
        return Host(namespace, address or address6, address6)

    def home(self, name, symmetric=False, forward=None, portmap=None, folder=None,
             plain=False, far=False):
        """
        A host behind a NAT router of its own: the router keeps a
        connection's source port where it can (an endpoint-independent
        mapping), or, ``symmetric``, draws a random one for each
        (``MASQUERADE --random-fully``), as a symmetric NAT does.  With
        ``forward`` (a TCP port, or a tuple of them), the router forwards
        that port of its public address to the same port of the host, as
        a user sets up by hand; nothing else comes in, and what comes unasked to the
        router itself is dropped without an answer (``plain``: no such
        rules, what comes unasked reaches the router's own stack; and no
        forwarded port).  ``far``: the router is on the far net, an ISP's
        router away from the public net and its other homes (its line not
        shaped).  With ``portmap``
        (L{twisted_bazaar.testing.portmaprouter.KINDS}), the router is
        instead one that maps ports when the host asks (miniupnpd, its
        files in ``folder``), and keeps ports otherwise (draws them,
        ``symmetric``).
        """
        self._homes += 1
        lan = f"192.168.{self._homes}"
        router = self._namespace(f"{name}r")
        wan = (self._plugFar if far else self._plugPublic)(router, "wan")
        if not far:
            self._shape(router)
        namespace = self._namespace(name)
        run("ip", "-n", router, "link", "add", "lan", "type", "veth", "peer", "name",
            "eth0", "netns", namespace)
        run("ip", "-n", router, "addr", "add", f"{lan}.1/24", "dev", "lan")
        run("ip", "-n", router, "link", "set", "lan", "up")
        run("ip", "-n", namespace, "addr", "add", f"{lan}.2/24", "dev", "eth0")
        run("ip", "-n", namespace, "link", "set", "eth0", "up")
        run("ip", "-n", namespace, "route", "add", "default", "via", f"{lan}.1")
        if portmap is None and plain:
            _masquerade(router, symmetric)
        elif portmap is None:
            _nat(router, symmetric, forward, f"{lan}.2")
        else:
            self.daemons.append(portMappingRouter(run, router, lan, portmap, folder,
                                                  symmetric))
        return Home(Host(namespace, f"{lan}.2"), Host(router, wan), wan)

    def household(self, name, hosts=2):
        """
        Several hosts behind one NAT router, on one LAN (a bridge in the
        router's namespace), as the machines of one home: the router keeps
        source ports, and does not hairpin (a host's connection to the
        router's public address reaches the router itself, where nothing
        listens: it is refused).  A L{Home} per host, all with the one
        router and public address.
        """
        self._homes += 1
        lan = f"192.168.{self._homes}"
        router = self._namespace(f"{name}r")
        wan = self._plugPublic(router, "wan")
        self._shape(router)
        run("ip", "-n", router, "link", "add", "lan", "type", "bridge")
        run("ip", "-n", router, "addr", "add", f"{lan}.1/24", "dev", "lan")
        run("ip", "-n", router, "link", "set", "lan", "up")
        homes = []
        for number in range(1, hosts + 1):
            namespace = self._namespace(f"{name}{number}")
            run("ip", "-n", router, "link", "add", f"l{number}", "type", "veth", "peer",
                "name", "eth0", "netns", namespace)
            run("ip", "-n", router, "link", "set", f"l{number}", "master", "lan", "up")
            address = f"{lan}.{number + 1}"
            run("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            run("ip", "-n", namespace, "link", "set", "eth0", "up")
            run("ip", "-n", namespace, "route", "add", "default", "via", f"{lan}.1")
            homes.append(Home(Host(namespace, address), Host(router, wan), wan))
        _nat(router)
        return tuple(homes)

    def remove(self):
        """Delete every namespace made (their links, the bridge and the
        routers' rules go with them), after ending the routers' daemons."""
        for daemon in self.daemons:
            daemon.terminate()
            try:
                daemon.wait(COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        self.daemons = []
        for namespace in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        self.namespaces = []


def _burst(rate):
    """tbf's burst for a rate in tc's words: 4 ms of it, at least 64 KiB
    (the kernel's timer must let a bucket's worth go at each tick)."""
    units = {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bit": 1}
    for unit, scale in units.items():
        if rate.endswith(unit):
            bits = float(rate[:-len(unit)]) * scale
            break
    else:
        raise ValueError(f"a rate in tc's words, as 1gbit or 100mbit, not {rate!r}")
    return str(max(64 * 1024, int(bits / 8 * 0.004)))


def _routeFar(namespace, isp):
    """namespace (on the public net) reaches the far net through isp."""
    run("ip", "-n", namespace, "route", "add", f"{FAR_NET}.0/24", "via", isp)


def _masquerade(router, symmetric=False):
    """The namespace ``router`` forwards, and masquerades what leaves by
    ``wan`` (a random port per connection, ``symmetric``): nothing else."""
    inRouter = ("ip", "netns", "exec", router)
    run(*inRouter, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    run(*inRouter, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j",
        "MASQUERADE", *(("--random-fully",) if symmetric else ()))


def _nat(router, symmetric=False, forward=None, host=None):
    """
    Make the namespace ``router`` a home's router between its devices
    ``wan`` and ``lan``: it forwards, masquerades what leaves by ``wan``
    (a random port per connection, ``symmetric``), forwards TCP port
    ``forward`` (or each of a tuple) of its public address to ``host``'s,
    if given, and lets nothing else in.
    """
    inRouter = ("ip", "netns", "exec", router)
    _masquerade(router, symmetric)
    forwarded = () if forward is None else (
        forward if isinstance(forward, tuple) else (forward,))
    for port in map(str, forwarded):
        run(*inRouter, "iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan", "-p",
            "tcp", "--dport", port, "-j", "DNAT", "--to-destination", f"{host}:{port}")
        run(*inRouter, "iptables", "-A", "FORWARD", "-i", "wan", "-o", "lan", "-p",
            "tcp", "-d", host, "--dport", port, "-j", "ACCEPT")
    run(*inRouter, "iptables", "-A", "FORWARD", "-i", "wan", "-o", "lan", "-m",
        "conntrack", "--ctstate", "NEW", "-j", "DROP")
    # What comes unasked to the router itself is dropped, not answered
    # with a reset, as a home router's firewall does: a reset would
    # kill the mapping a hole punch's simultaneous open needs.
    run(*inRouter, "iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack",
        "--ctstate", "NEW,INVALID", "-j", "DROP")
