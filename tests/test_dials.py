"""
Every dial of the product to a peer goes by a transport of its path's
kind (transports/interface.py's C{ITransport}, found by kind in
transports/table.py's C{Transports}), so the transport of a kind serves
each of them: the dialer's ways, the tracker's check, reservations, the
relay probe (docs/architecture.md, "Adding a transport").  This reads
the product's source (ast) for a client dial made around them: Twisted's
and the socket module's ways to open a connection (L{DIAL_CALLS}), and a
dial on the connector a node was given, under its transports
(C{node.connector.connect}, C{dialer.connector.connector.connect}, a name
bound to either, or the method passed on); and fails on any not in
L{ALLOWED}, each with the reason it is the transport itself or no dial
of a peer.

It also reads for a connector's, a transport's or a table's own
``connect`` or ``dial``, called or passed on, outside the transports and
the dialer (L{ConnectsTests}): those allowed say why (a tracker has no
dialer), and none is made around the node's dialer (issue 81, "The
dialer alone dials": the punches and the status client's race were the
last); and for a class built on Twisted's internal C{tcp.Connector}
anywhere.  The punchers and the views (L{ASKERS}) ask and never dial:
no ``dial`` or ``connect`` of anything but a node's dialer is called
there, and no connector is held (L{AskersTests}).  A scheme or a role
dials a peer by its id and a purpose, never by a C{Peer} of its own
making (L{ByIdTests}).
"""

import functools
import ast

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import parsed
from tests.packagesource import packageTrees


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
    "transports/websocket/transport.py: HostnameEndpoint":
        "the WebSocket transport itself (WebSocketTransport.dial): the TCP connection "
        "under the WebSocket it dials a path over",
    "transports/websocket/parser.py: HostnameEndpoint":
        "the ws: endpoint string's TCP connection (--tracker ws:HOST:PORT, the node "
        "daemon's connection to its tracker): a tracker is no peer reached by a path",
    "net/byname.py: clientFromString":
        "a tracker's address as typed (clientEndpoint): the node daemon's connections "
        "to its trackers (--tracker), bazaar buy's, and a status client's questions "
        "to the tracker (TLS perhaps); a tracker is no peer reached by a path, and a "
        "node is asked through the transports (the status client's connector)",
    "net/byname.py: TCP4ClientEndpoint":
        "the same, a tracker's host name dialled at each of its addresses (ByNameEndpoint)",
    "net/byname.py: TCP6ClientEndpoint":
        "the same, a tracker's host name dialled at each of its addresses (ByNameEndpoint)",
    "cli/restock.py: UNIXClientEndpoint":
        "the running node's control socket on this machine (UNIX): no peer",
    "cli/restock.py: connectProtocol":
        "the running node's control socket on this machine (UNIX): no peer",
    "cli/daskscheduler.py: create_connection":
        "bazaar-sim sweep's and --shards' check that a Dask scheduler answers: no peer "
        "of the market",
    "sim/shardstream.py: create_connection":
        "a sharded simulation's stream from one shard's Dask worker to another's: "
        "no peer of the market",
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
    """(line, what) of every dial in source (text or its tree) around the
    transports."""
    tree = parsed(source)
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


@functools.cache  # one walk of the package a worker: the source is fixed
def survey():
    """module -> its L{dials}, L{connects} and L{connectorSubclasses}."""
    return {module: (dials(tree), connects(tree), connectorSubclasses(tree))
            for module, tree in packageTrees().items()}


def everyDial():
    """'module: what' -> the lines, of every dial around the transports."""
    found = {}
    for module, (found_dials, _, _) in survey().items():
        for line, what in found_dials:
            found.setdefault(f"{module}: {what}", []).append(line)
    return found


#: Where a connector's ``connect`` or a transport's ``dial`` may be
#: called: the transports themselves, and the dialer and its ways (its
#: policy), the one caller of them for a node, and of the dial of a
#: client without a node (the status client's, the web view's
#: watcher's: its ways, reach/ways.py's ClientWay, raced by the dialer's
#: race).
TRANSPORTS = ("transports/", "reach/dialer.py", "reach/ways.py")

#: 'module: receiver' -> why a connector is dialled there, outside
#: TRANSPORTS, though no node's dial is made around its dialer.
CONNECTS_ALLOWED = {
    "tracker/checks.py: tracker.transports":
        "the tracker's checks of nodes' addresses: a tracker has no node and no dialer, "
        "so they dial by its own transports (Transports.dial passed to the check)",
    "sim/build.py: sim.network":
        "the simulator's memory network, connecting a node to its tracker",
    "testing/memory.py: self.network":
        "the memory network's connector itself (MemoryConnector)",
    "testing/punchdial.py: network":
        "the memory network's punch dialler itself (MemoryPunchDialer)",
    "daemon/services.py: endpoint":
        "the TCP connector itself (EndpointConnector.connect)",
    "net/encrypted.py: self.endpoint":
        "the encrypted channel's client endpoint wrapping the one it is given",
    "net/reconnect.py: self.endpoint":
        "a node's connection to its tracker (--tracker): no peer reached by a path",
    "net/reconnect.py: endpoint":
        "the probe of a tracker's port before reconnecting to it: no peer",
    "net/byname.py: endpoint":
        "a tracker's host name dialled at one of its addresses, then the next "
        "(ByNameEndpoint: --tracker NAME:PORT): no peer reached by a path",
    "tap/hinted.py: self._endpoint":
        "a node's tracker of a transport's kind (--tracker KIND:HOST:PORT), its "
        "failures hinted: no peer reached by a path",
}



def _source(node):
    return ast.unparse(node)


def connects(source):
    """(line, receiver) of every ``RECEIVER.connect`` or ``RECEIVER.dial``
    in source, called or passed on, whose receiver is a connector, a
    transport, a table of transports or a network (its text names one:
    ``connector``, ``transport``, ``network``, ``endpoint``,
    ``connectors[0]``)."""
    found = set()
    for node in ast.walk(parsed(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("connect", "dial"):
            receiver = _source(node.value)
            if any(word in receiver.lower() for word in
                   ("connector", "transport", "network", "endpoint")):
                found.add((node.lineno, receiver))
    return sorted(found)


def everyConnect():
    """'module: receiver' -> lines, of every connector's connect called
    outside TRANSPORTS."""
    found = {}
    for module, (_, found_connects, _) in survey().items():
        if module.startswith(TRANSPORTS):
            continue
        for line, receiver in found_connects:
            found.setdefault(f"{module}: {receiver}", []).append(line)
    return found


def connectorSubclasses(source):
    """(line, class) of each class in source built on Twisted's
    C{tcp.Connector} (or any C{...Connector} of C{twisted.internet})."""
    tree = parsed(source)
    internal = {alias.asname or alias.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "twisted.internet.tcp"
                for alias in node.names if alias.name == "Connector"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                text = _source(base)
                if text in internal or text.endswith("tcp.Connector"):
                    found.append((node.lineno, node.name))
    return found


class ConnectsTests(SynchronousTestCase):
    """Only the transports and the dialer call a connector's connect or a
    transport's dial; nothing builds on Twisted's internal connectors."""

    def test_noConnectOutsideTheTransportsAndTheDialer(self):
        around = {where: lines for where, lines in everyConnect().items()
                  if where not in CONNECTS_ALLOWED}
        self.assertEqual(around, {}, "a connector's connect called outside transports/ "
                         "and the dialer: ask the node's dialer")

    def test_eachListedStillThere(self):
        """A place that no longer dials so leaves its list: the list stays
        what is left."""
        self.assertEqual(sorted(set(CONNECTS_ALLOWED) - set(everyConnect())), [])

    def test_noSubclassOfTwistedsConnector(self):
        """Nothing builds on Twisted's internal connector, the transports
        neither (a dial from a port makes its own socket and hands it to
        the reactor: transports/tcp/fromport.py)."""
        found = {}
        for module, (_, _, subclasses) in survey().items():
            for line, name in subclasses:
                found[f"{module}: {name}"] = line
        self.assertEqual(found, {})

    def test_findsEachKind(self):
        """A connector's, a transport's, a table's, a network's or an
        endpoint's connect or dial is found, called or passed on, whatever
        the name is reached by; sqlite's, a download's sellers' or the
        dialer's is not; a subclass of tcp.Connector is found by either
        spelling."""
        source = '''
def a(self, node, connector, sellers, sqlite3):
    self.node.dialer.connector.connect("h", 1, link)
    connector.connect("h", 1, link)
    connectors[0].connect("h", 1, link)
    transports.dial(path, None, factory)
    self.network.connect("h", 1, protocol)
    sellers.connect(seller)
    sqlite3.connect("path")
    check.start(tracker.transports.dial, "h", 1)
    node.dialer.transports.of(DIRECT).dial(path, None, factory)
    self.node.dialer.dialPath(path, None, factory)
    node.dialer.dial(peer, purpose)
'''
        self.assertEqual(connects(source), [
            (3, "self.node.dialer.connector"), (4, "connector"), (5, "connectors[0]"),
            (6, "transports"), (7, "self.network"), (10, "tracker.transports"),
            (11, "node.dialer.transports.of(DIRECT)")])
        subclass = '''
from twisted.internet import tcp
from twisted.internet.tcp import Connector as Base
class A(tcp.Connector): pass
class B(Base): pass
class C(object): pass
'''
        self.assertEqual(connectorSubclasses(subclass), [(4, "A"), (5, "B")])


class DialsTests(SynchronousTestCase):
    def test_noDialAroundTheTransports(self):
        """No dial of the product goes around the transports, but those
        allowed (each with its reason)."""
        around = {where: lines for where, lines in everyDial().items()
                  if where not in ALLOWED}
        self.assertEqual(around, {}, "dials around the transports (dial through the "
                         "node's dialer, or by transports: Transports.dial)")

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


#: The packages that ask the node's dialer for their dials and dial
#: nothing themselves: the punchers (they produce paths: the dialer dials
#: them, from a port or from the punched socket, by its transports' options)
#: and the views (the status client and the web view's watcher dial by the
#: race of a client without a node, reach/race.py's FirstProven).
ASKERS = ("reach/punch/", "status/", "web/")
#: What an asker may call to reach a peer: the node's dialer's.
DIALER = "node.dialer"
#: What dials, called on anything but the node's dialer.
DIAL_METHODS = frozenset({"connect", "dial", "connectTo"})



def _receiverIsDialer(node):
    """Whether a call's receiver is a node's dialer (``node.dialer``,
    ``self.node.dialer``): not another's called dialer (a punch's from-port
    dialler was ``self.dialer``)."""
    text = _source(node)
    return text == DIALER or text.endswith("." + DIALER)


def asked(source):
    """(line, what) in source of each dial an asker must not make itself
    (``X.connect``, ``X.dial``, ``X.connectTo`` with X not a node's
    dialer: the method's name, with its receiver's text), and of each name
    of a connector it holds or is given (a name, an attribute, an
    argument, or a keyword, spelt with ``connector``)."""
    found = set()
    for node in ast.walk(parsed(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DIAL_METHODS
                and not _receiverIsDialer(node.func.value)):
            found.add((node.lineno, f"{_source(node.func.value)}.{node.func.attr}"))
        name = (node.id if isinstance(node, ast.Name) else
                node.attr if isinstance(node, ast.Attribute) else
                node.arg if isinstance(node, (ast.arg, ast.keyword)) else None)
        if name and "connector" in name.lower():
            found.add((node.lineno, name))
    return sorted(found)


def everyAsked():
    """'module: what' -> lines, of L{asked} in every asker's module."""
    found = {}
    for module, tree in packageTrees().items():
        if not module.startswith(ASKERS):
            continue
        for line, what in asked(tree):
            found.setdefault(f"{module}: {what}", []).append(line)
    return found


class AskersTests(SynchronousTestCase):
    """The punchers and the views ask the node's dialer (or, with no
    node, the race of a client without one): they dial nothing and hold
    no connector."""

    def test_noAskerDialsOrHoldsAConnector(self):
        self.assertEqual(everyAsked(), {}, "a puncher or a view dials, or holds a connector: "
                         "produce the path and announce it to the node's dialer "
                         "(Sources.found, with its options), or race it by "
                         "reach/race.py's FirstProven")

    def test_findsEachKind(self):
        """What the punches and the status race did before (a from-port
        dialler's dial, a punched socket's connector's connect, the
        transports' dial) is found, and a connector held or given; the
        node's dialer asked (its dial, its dialPath, its connectTo), a
        dial given at construction (dialPath) or the race's begin are
        not: the dialer is known by its place, the node's, for a
        puncher's own ``dialer`` was the from-port dialler."""
        source = '''
class Puncher:
    def __init__(self, dialer, connector):
        self.dialer = dialer
        self.connector = connector

    def old(self, punch, met, link, transports):
        self.dialer.dial(punch.port, "h", 1, protocol, True, key)
        self.puncher.dialer.dial(0, "h", 1, protocol, True, key)
        connectors = self.sockets.connectorsOf(kept)
        connectors[0].connect(met.host, met.port, link, expected=key)
        transports.dial(path, None, lambda: link)

    def new(self, path, link):
        self.node.dialer.dialPath(path, key, lambda: link, options)
        self.dialPath(path, key, lambda: link, options)
        self.node.dialer.dial(peer, purpose)
        node.dialer.connectTo("h", 1, 2, "files")
        race.begin()
'''
        self.assertEqual(asked(source), [
            (3, "connector"), (5, "connector"), (8, "self.dialer.dial"),
            (9, "self.puncher.dialer.dial"), (10, "connectors"), (10, "connectorsOf"),
            (11, "connectors"), (11, "connectors[0].connect"), (12, "transports.dial")])


#: The packages whose parts name a peer by id and a purpose, never by a
#: host and port of their own making (issue 81: "a dial names a peer id
#: and a purpose").
BY_ID = ("schemes/", "roles/")


def addressed(source):
    """(line, what) for each dial of a peer by an address the part made
    itself in source: the dialer's C{Peer} imported, or the node's
    C{dial} called."""
    found = []
    for node in ast.walk(parsed(source)):
        if (isinstance(node, ast.ImportFrom) and node.module in (
                "twisted_bazaar.reach.dialer", "twisted_bazaar.core.node")
                and any(alias.name == "Peer" for alias in node.names)):
            found.append((node.lineno, f"{node.module}.Peer"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "dial" and _called(node.func.value) == "node"):
            found.append((node.lineno, f"{_source(node.func.value)}.dial"))
    return found


class ByIdTests(SynchronousTestCase):
    """A scheme's or a role's dial names the peer's id and a purpose
    (node.connectTo, node.transferTo, what it heard fed into the book
    first: node.heard), or an address the operator configured
    (node.connectAt); it makes no C{Peer} of its own."""

    def test_schemesAndRolesDialById(self):
        found = {}
        for module, tree in packageTrees().items():
            if module.startswith(BY_ID):
                for line, what in addressed(tree):
                    found.setdefault(f"{module}: {what}", []).append(line)
        self.assertEqual(found, {}, "a scheme or role dials a Peer of its own making: "
                         "feed what it heard into the book (node.heard) and dial by id "
                         "(node.connectTo, node.transferTo)")

    def test_findsEachKind(self):
        """The dialer's Peer imported (from the dialer or the node) and the
        node's dial called are found; a chord Peer, a dial by id and the
        dialer's own dial are not."""
        source = '''
from twisted_bazaar.reach.dialer import Peer
from twisted_bazaar.core.node import OVERLAY, Peer
from twisted_bazaar.schemes.chord.ring import Peer
self.node.dial(Peer(None, host, port, vouched=True), purpose)
node.dial(peer, purpose)
self.node.connectTo(peer_id, purpose)
self.node.connectAt(host, port, purpose)
self.node.dialer.dial(peer, purpose)
'''
        self.assertEqual(addressed(source), [
            (2, "twisted_bazaar.reach.dialer.Peer"), (3, "twisted_bazaar.core.node.Peer"),
            (5, "self.node.dial"), (6, "node.dial")])
