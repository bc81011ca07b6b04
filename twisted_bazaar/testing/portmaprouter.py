"""
A home router that maps ports when asked, for the end-to-end tests of
port mapping: Debian's miniupnpd (UPnP IGD, NAT-PMP and PCP) in the
router's namespace of a L{twisted_bazaar.testing.netns.NetBed} home, its
firewall and NAT written with nftables, where miniupnpd's nftables
backend adds its rules (docs/shared recipe ``upnp-router.sh`` does the
same by hand).

The router's WAN address is on the bed's private public net, and
miniupnpd maps nothing for a router whose WAN address is a reserved one
unless ``ext_ip`` names a routable-looking address: that value is only a
label it reports as its external address.  Nothing dials it (the router
has no route there): a node learns where it is reached from the
tracker's check, never from its router's word.
"""

import os
import shutil
import subprocess

#: The label miniupnpd reports as its external address (never dialled).
EXTERNAL_LABEL = "100.128.0.1"
#: UPnP IGD on and NAT-PMP (with PCP) on, or NAT-PMP (with PCP) alone.
UPNP = "upnp"
NATPMP = "natpmp"
KINDS = (UPNP, NATPMP)

RULES = """
table inet filter {{
  chain forward {{ type filter hook forward priority 0; policy accept;
    jump miniupnpd; iifname "wan" oifname "lan" ct state new drop; }}
  chain miniupnpd {{ }}
  chain input {{ type filter hook input priority 0; policy accept;
    iifname "wan" ct state new,invalid drop; }}
  chain prerouting {{ type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd; }}
  chain postrouting {{ type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd; oifname "wan" masquerade{masquerading}; }}
  chain prerouting_miniupnpd {{ }}
  chain postrouting_miniupnpd {{ }}
}}
"""


def missing():
    """Why such a router cannot be made here, or None."""
    for command, package in (("miniupnpd", "miniupnpd"), ("nft", "nftables")):
        if shutil.which(command) is None:
            return (f"no {command} command: the port mapping router needs it "
                    f"(apt-get install {package})")
    return None


def portMappingRouter(run, router, lan, kind, folder, symmetric=False):
    """
    Make the namespace ``router`` a home's router between its devices
    ``wan`` and ``lan`` (the home's net ``lan``.0/24) that maps ports
    when its hosts ask (``kind``: L{UPNP} or L{NATPMP}), and start its
    miniupnpd, writing its files and log into ``folder``.  Returns the
    daemon's process (whoever made the router ends it).

    Unmapped, the router keeps a flow's source port where it can, or,
    ``symmetric``, draws a random one for each flow (nftables'
    ``masquerade fully-random``, as ``MASQUERADE --random-fully``): no
    punch, over TCP or UDP, meets two such routers, and a mapped port is
    then the only way in.
    """
    if kind not in KINDS:
        raise ValueError(f"a port mapping router is one of {', '.join(KINDS)}, "
                         f"not {kind!r}")
    inRouter = ("ip", "netns", "exec", router)
    run(*inRouter, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    rules = os.path.join(folder, f"{router}.nft")
    with open(rules, "w") as f:
        f.write(RULES.format(masquerading=" fully-random" if symmetric else ""))
    run(*inRouter, "nft", "-f", rules)
    config = os.path.join(folder, f"{router}-miniupnpd.conf")
    with open(config, "w") as f:
        f.write("\n".join([
            "ext_ifname=wan", "listening_ip=lan", f"ext_ip={EXTERNAL_LABEL}",
            f"enable_upnp={'yes' if kind == UPNP else 'no'}", "enable_natpmp=yes",
            "secure_mode=yes", "system_uptime=yes",
            f"allow 1024-65535 {lan}.0/24 1024-65535", "deny 0-65535 0.0.0.0/0 0-65535",
            ""]))
    log = open(os.path.join(folder, f"{router}-miniupnpd.log"), "wb")
    try:
        # A pid file of its own: miniupnpd refuses to start where another
        # one's (the default /var/run/miniupnpd.pid) names a live process.
        pid = os.path.join(folder, f"{router}-miniupnpd.pid")
        return subprocess.Popen([*inRouter, "miniupnpd", "-f", config, "-d", "-P", pid],
                                stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()
