"""
A node that listens on IPv4 only (``--listen tcp:0``, the default) but
reaches its tracker over IPv6 is checked at that IPv6 address, where
nothing listens: the tracker's check fails, the node says it is "not
reachable from outside ... (behind NAT?)" and runs relayed, though no
router is in the way.  L{onTrackersFamily} keeps that from happening
where the trackers' family is known at start (each at an IPv6 address);
L{IPv4Only} says the cause and the way out, once, where it was not (a
tracker named by a host name, reached over IPv6).
"""

from twisted.internet.abstract import isIPv6Address
from twisted.logger import Logger

from twisted_bazaar.events import NodeObserver
from twisted_bazaar.reach.reachable.reachability import PRIVATE

#: The line, after the tracker's check failed at an IPv6 address.
LINE = ("this node listens on IPv4 only (--listen {listen}), and the tracker "
        "checked it at the IPv6 address it came from ({host}), where nothing "
        "listens: that, not NAT, is why it cannot be dialled; --listen tcp6:{port} "
        "listens on IPv6 too (and on IPv4, where the system maps it)")


#: ``--listen``'s default: any free port, on IPv4 only.
ANY_IPV4 = "tcp:0"
#: The same on IPv6, and on IPv4 where the system maps it (Linux does).
ANY_IPV6 = "tcp6:0"


def onTrackersFamily(listen, trackers):
    """
    The ``--listen`` a node (a daemon's, ``bazaar buy``'s) takes:
    ``tcp:0`` becomes ``tcp6:0`` where every tracker (an L{Address
    <twisted_bazaar.base.address.Address>}) is at an IPv6 address.  The
    tracker checks the node, and sellers dial it, at the IPv6 address its
    connection comes from, where an IPv4 port is not: the node ran
    relayed, and a buyer had no inbound path for what needs one.  A
    tracker named by a host name leaves it as it is: its family is known
    only once it is reached (L{IPv4Only} says so then).
    """
    if listen == ANY_IPV4 and trackers and all(
            isIPv6Address(tracker.host) for tracker in trackers):
        return ANY_IPV6
    return listen


class IPv4Only(NodeObserver):
    """Hears the tracker's checks of a node whose listening port is IPv4
    only, and says why one at an IPv6 address failed."""

    log = Logger()

    def __init__(self, listen):
        """
        @param listen: the node's ``--listen``, as given (``tcp:0``).
        """
        self.listen = listen
        self.said = False

    def reachChanged(self, reach, local_port):
        if self.said or reach.state != PRIVATE or not isIPv6Address(reach.host):
            return
        self.said = True
        port = self.listen.split(":")[1:2]
        self.log.warn(LINE, listen=self.listen, host=reach.host,
                      port=port[0] if port and port[0].isdigit() else 0)
