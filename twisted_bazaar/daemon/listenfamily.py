"""
A node that listens on IPv4 only (``--listen tcp:0``, the default) but
reaches its tracker over IPv6 is checked at that IPv6 address, where
nothing listens: the tracker's check fails, the node says it is "not
reachable from outside ... (behind NAT?)" and runs relayed, though no
router is in the way.  L{IPv4Only} says the cause and the way out, once.
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
