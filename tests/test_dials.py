"""
Every dial of the product to a peer goes through a table of transports
(transports/relay/connector.py's C{RelayedConnector}, one C{IPathTransport} a
kind of path), so a transport added for a kind serves each of them: the
dialer's ways, the tracker's check, reservations, the relay probe
(docs/architecture.md, "Adding a transport").  This reads the product's
source (ast) for a client dial made around it: Twisted's and the socket
module's ways to open a connection (L{DIAL_CALLS}), and a dial on the
connector a node was given, under its transports (C{node.connector.connect},
C{dialer.connector.connector.connect}, a name bound to either, or the
method passed on); and fails on any not in L{ALLOWED}, each with the
reason it is the transport itself or no dial of a peer.
"""

import ast
import pathlib

from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar

PACKAGE = pathlib.Path(twisted_bazaar.__file__).parent

#: What opens a client connection outside the transports.
DIAL_CALLS = frozenset({
    "connectTCP", "connectSSL", "connectUNIX", "HostnameEndpoint", "TCP4ClientEndpoint",
    "TCP6ClientEndpoint", "SSL4ClientEndpoint", "UNIXClientEndpoint", "clientFromString",
    "connectProtocol", "create_connection"})
#: The name a dial on the connector under the transports is reported as.
RAW = "node.connector.connect"

#: 'module: what' -> why it is allowed.
ALLOWED = {
    "daemon/services.py: HostnameEndpoint":
        "the TCP connector itself (EndpointConnector.connect): what the direct "
        "transport dials through",
    "daemon/node.py: clientFromString":
        "the node daemon's connections to its trackers (--tracker), its sessions' "
        "set-up: a tracker is no peer reached by a path",
    "cli/bazaar.py: clientFromString":
        "bazaar buy's connection to its tracker (--tracker), its session's set-up",
    "cli/restock.py: UNIXClientEndpoint":
        "the running node's control socket on this machine (UNIX): no peer",
    "cli/restock.py: connectProtocol":
        "the running node's control socket on this machine (UNIX): no peer",
    "cli/sweep.py: create_connection":
        "bazaar-sim sweep's check that a Dask scheduler answers: no peer of the market",
    "status/client.py: clientFromString":
        "a status client's questions to the tracker (--tracker, TLS perhaps), as typed: "
        "a tracker is no peer reached by a path; a node is asked through the "
        "transports (its connector argument)",
    "status/client.py: connectProtocol":
        "a status client's questions to the tracker, as above",
}


def _called(node):
    """The name a call or reference ends with (``x.y.connectTCP``: connectTCP)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _underTransports(node, bound):
    """Whether node is the connector under a node's transports:
    ``[...]node.connector``, ``[...].connector.connector``, or a name in
    ``bound`` (assigned one of those)."""
    if isinstance(node, ast.Name):
        return node.id in bound
    if not (isinstance(node, ast.Attribute) and node.attr == "connector"):
        return False
    return _called(node.value) in ("node", "connector")


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _own(scope):
    """The nodes of scope's own body: not those of a function in it (a
    scope of its own)."""
    for child in ast.iter_child_nodes(scope):
        yield child
        if not isinstance(child, _SCOPES):
            yield from _own(child)


def _boundNames(scope):
    """The names scope assigns the connector under the transports
    (``connector = node.connector``)."""
    bound = set()
    for node in _own(scope):
        if (isinstance(node, ast.Assign) and _underTransports(node.value, ())
                and all(isinstance(target, ast.Name) for target in node.targets)):
            bound.update(target.id for target in node.targets)
    return bound


def dials(source):
    """(line, what) of every dial in source around the transports."""
    tree = ast.parse(source)
    found = []
    for scope in [tree] + [node for node in ast.walk(tree) if isinstance(node, _SCOPES)]:
        bound = _boundNames(scope)
        for node in _own(scope):
            if isinstance(node, ast.Call) and _called(node.func) in DIAL_CALLS:
                found.append((node.lineno, _called(node.func)))
            elif (isinstance(node, ast.Attribute) and node.attr == "connect"
                  and _underTransports(node.value, bound)):
                found.append((node.lineno, RAW))
    return sorted(found)


def everyDial():
    """'module: what' -> the lines, of every dial around the transports."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        for line, what in dials(path.read_text()):
            found.setdefault(f"{module}: {what}", []).append(line)
    return found


class DialsTests(SynchronousTestCase):
    def test_noDialAroundTheTransports(self):
        """No dial of the product goes around the transports, but those
        allowed (each with its reason)."""
        around = {where: lines for where, lines in everyDial().items()
                  if where not in ALLOWED}
        self.assertEqual(around, {}, "dials around the transports (dial through the "
                         "node's dialer, or a table of transports: RelayedConnector)")

    def test_eachAllowedStillThere(self):
        """Every place allowed still dials so: one that no longer does is
        taken off the list, which stays the list of what is left."""
        self.assertEqual(sorted(set(ALLOWED) - set(everyDial())), [])

    def test_findsEachKind(self):
        """What the walk finds: a Twisted dial by attribute or by name, a
        dial on the connector under a node's transports or the dialer's,
        through a name bound to it, or its method passed on; a dial
        through the transports (the dialer's table), a listen, or another
        object's connect is none."""
        source = '''
def a(reactor, node, self):
    reactor.connectTCP("h", 1, factory)
    connectProtocol(endpoint, protocol)
    node.connector.connect("h", 1, protocol)
    self.node.connector.connect("h", 1, protocol)
    self.dialer.connector.connector.connect("h", 1, protocol)
    openCircuit(node.connector.connect, relay)

def b(node):
    connector = node.connector
    connector.connect("h", 1, protocol)

def c(node, sqlite3, sellers):
    node.dialer.connector.connect("h", 1, protocol)
    node.connector.listen(factory)
    sqlite3.connect("path")
    sellers.connect(seller)
    connector = node.dialer.connector
    connector.connect("h", 1, protocol)
'''
        self.assertEqual(dials(source), [
            (3, "connectTCP"), (4, "connectProtocol"), (5, RAW), (6, RAW), (7, RAW),
            (8, RAW), (12, RAW)])

    def test_theCallersBefore(self):
        """The four dials this walk was written for, as they were made
        around the transports (the reservation's two, the relay probe's):
        each found."""
        reservation = '''
def at(self, host, port, hold):
    d = self._connecting = self.node.connector.connect(host, port, hold)

def incoming(self, node, host, port, end):
    connector = node.connector
    d = connector.connect(host, port, end)
'''
        probe = '''
def __init__(self, node, relay):
    self._d = openCircuit(node.connector.connect, relay, node.id)
'''
        self.assertEqual([what for _, what in dials(reservation) + dials(probe)],
                         [RAW, RAW, RAW])
