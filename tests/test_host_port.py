"""
An address is shown as a user reads and gives it: ``HOST:PORT``, an IPv6
host in brackets (``[::1]:7700``), by L{twisted_bazaar.base.address.hostPort}
alone.  ``::1:7700`` cannot be split again, and about forty log lines and
messages once wrote it so, each joining a host and a port by hand.

This test reads the source and finds every text that does: an f-string
with a value, a colon, then a value that names a port, and every log
format (any string) with ``{...}:{...port...}`` in it.  Each is a fault
unless it is in L{ALLOWED}, with the reason it is no address a user reads.
"""

import ast
import re

from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.base import logthrottle
from twisted_bazaar.base.address import hostPort
from twisted_bazaar.base.logthrottle import PEER_BURST, PeerLog, peerFields
from twisted_bazaar.channel.session import UpgradeRequired
from twisted_bazaar.core.topology import dialWhy
from twisted_bazaar.net.opening import dialFailure
from twisted_bazaar.reach.punch.udp.go import reachedWhy
from twisted_bazaar.reach.reachable.reaching import UNREACHABLE
from twisted_bazaar.transports.websocket.endpoints import url
from twisted_bazaar.transports.path import DIRECT, SEEN, UDP, Path

from tests.helpers import parsed
from tests.packagesource import packageTrees

#: A log format's (or any text's) host and port fields joined by a colon.
FORMAT_PAIR = re.compile(r"\{[^{}]*\}:\{[^{}]*port[^{}]*\}")

#: module: the start of the f-string's source -> why it is no address a
#: user reads.
ALLOWED = {
    "base/address.py: f'[{host}]:{port}'": "hostPort itself",
    "base/address.py: f'{host}:{port}'": "hostPort itself",
    "base/address.py: f'tcp:{escaped(host)}:{port}'":
        "an endpoint string, its host's colons escaped as Twisted's parser reads them",
    "testing/netns.py: f'{host}:{port}'":
        "iptables' --to-destination of an IPv4 router's DNAT rule in a test",
}


def _namesPort(value):
    return "port" in ast.unparse(value.value).lower()


def _joinsByHand(node):
    """Whether an f-string joins a value and a port by a colon."""
    parts = node.values
    for before, colon, after in zip(parts, parts[1:], parts[2:]):
        if (isinstance(before, ast.FormattedValue) and isinstance(colon, ast.Constant)
                and str(colon.value).endswith(":")
                and isinstance(after, ast.FormattedValue) and _namesPort(after)):
            return True
    return False


def handJoined(source, module):
    """The texts of ``source`` (a module's) that join a host and port by
    hand: C{"MODULE: TEXT"}, TEXT the start of the f-string's source or
    the string's repr."""
    found = []
    for node in ast.walk(parsed(source)):
        if isinstance(node, ast.JoinedStr) and _joinsByHand(node):
            found.append(f"{module}: {ast.unparse(node)[:80]}")
        elif (isinstance(node, ast.Constant) and type(node.value) is str
              and FORMAT_PAIR.search(node.value)):
            found.append(f"{module}: {node.value[:80]!r}")
    return found


def _package():
    return [found for module, tree in packageTrees().items()
            for found in handJoined(tree, module)]


class HandJoinedTests(SynchronousTestCase):

    def test_noTextJoinsAHostAndPortByHand(self):
        faults = [text for text in _package() if text not in ALLOWED]
        self.assertEqual(faults, [], "show a host and port with base/address.hostPort "
                         "(a peer log's where=(host, port) for a line a throttle may drop)")

    def test_eachAllowedStillThere(self):
        found = set(_package())
        self.assertEqual([key for key in ALLOWED if key not in found], [])

    def test_findsAnFString(self):
        self.assertEqual(handJoined('x = f"at {peer.host}:{peer.port}: {why}"\n', "m.py"),
                         ["m.py: f'at {peer.host}:{peer.port}: {why}'"])

    def test_findsALogFormat(self):
        self.assertEqual(
            handJoined('log.info("seen from {seen_host}:{seen_port}", seen_host=h)\n',
                       "m.py"), ["m.py: 'seen from {seen_host}:{seen_port}'"])

    def test_leavesOtherColonsAlone(self):
        self.assertEqual(handJoined('x = f"{kind}:{name}"\ny = "{id}: {why}"\n'
                                    'z = f"at {hostPort(host, port)}: {why}"\n', "m.py"), [])


class LazyWhereTests(SynchronousTestCase):
    """A peer log's line that gives ``where`` as (host, port) (the
    tracker's joined line, said of every registration) gets its text only
    when the line is written (L{peerFields})."""

    def test_madeWhenWritten(self):
        for host in ("10.0.0.1", "::1", "example.org"):
            self.assertEqual(peerFields({"where": (host, 7700)})["where"],
                             hostPort(host, 7700))

    def test_shownAsAPeersText(self):
        """A host is shown as a peer's text is (a control character
        escaped)."""
        where = peerFields({"where": ("::1\x1b[2J", 7700)})["where"]
        self.assertEqual(type(where), str)
        self.assertNotIn("\x1b", where)
        self.assertTrue(where.startswith("[::1"))

    def test_notMadeForALineDropped(self):
        """A line its throttle drops makes no text of it."""
        log = PeerLog(Clock())
        made = []
        self.patch(logthrottle, "hostPort", lambda *where: made.append(where) or "")
        for _ in range(PEER_BURST + 5):
            log.emit(Logger(observer=lambda event: None), LogLevel.info, "10.0.0.0/24",
                     "node joined from {where}", where=("10.0.0.1", 7700))
        self.assertEqual(len(made), PEER_BURST)


class IPv6ShownTests(SynchronousTestCase):
    """A line or message of each kind, with an IPv6 peer: in brackets."""

    def test_aFailedDialAndItsReason(self):
        """A failed dial names the address; the line that names it itself
        takes that prefix off (core/topology's C{dialWhy})."""
        reason = Failure(ConnectionRefusedError())
        failed = dialFailure(reason, "2001:db8::2", 7701)
        self.assertTrue(str(failed).startswith("[2001:db8::2]:7701: "), str(failed))
        self.assertNotIn("2001:db8::2", dialWhy(Failure(failed), "2001:db8::2", 7701))

    def test_aPath(self):
        self.assertEqual(str(Path(DIRECT, "::1", 7701, word=SEEN)), "direct [::1]:7701 (seen)")

    def test_aPunchNotMade(self):
        self.assertIn("path at [::1]:7701: no punch", reachedWhy(Path(UDP, "::1", 7701)))

    def test_theChannelsUpgradeAnswer(self):
        self.assertEqual(UpgradeRequired("HTTP at HOST:PORT").at("::1", 80),
                         "HTTP at [::1]:80")

    def test_aWebSocketURL(self):
        self.assertEqual(url("::1", 7790), "ws://[::1]:7790/")

    def test_theReachLine(self):
        """A node's line of its tracker's reach check, with both addresses."""
        event = dict(log_format=UNREACHABLE, where=hostPort("2001:db8::5", 9001),
                     seen=hostPort("2001:db8::9", 40000), behind="behind NAT?")
        self.assertIn("at [2001:db8::5]:9001 (behind NAT?)", formatEvent(event))
        self.assertIn("connect from [2001:db8::9]:40000", formatEvent(event))
