"""
An object's attributes are written by its own methods (issue 81,
"Checks that say what they mean"): this reads the product's source (ast)
for every assignment (``=``, augmented, annotated, a ``for``'s or a
``with``'s target) to an attribute, and fails on one written onto
another object that is not listed in L{NOT_YET}.

What the rule allows, and why:
  - ``self.x = ...`` and ``cls.x = ...``: an object's own state, one
    attribute deep (``self.a.b = ...`` writes into the object ``self.a``).
  - ``x.attr = ...`` where ``x`` is a name the same function (or a
    function enclosing it; at a module's top level, the module) bound to
    an object it built: a call of a class, read by its name in CapWords
    (leading underscores aside: ``_Call(...)``), or of ``__new__``; or a
    function or class it defines (``def check``, then ``check.fast =
    True``).  A builder wiring what it made, before anyone else holds it,
    writes nothing of another's.  Only that object's own attribute:
    ``x.a.b = ...`` is a write into ``x.a``.  A function writing into an
    object its module built is writing shared state: listed.
Anything else (a record fetched from a table, an argument, a collaborator
reached through a chain) is another object's state written from outside:
give it a method, return a value its owner applies, or publish an event.

The reading goes by names, not types: a function named in CapWords that
returns a shared object would pass as a builder (none does today).
"""

import functools
import ast

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import parsed
from tests.packagesource import packageTrees

#: module -> the targets it still writes onto another object, as found
#: when this check came (a list that only shrinks, and stays exact: a
#: place no longer writing leaves it, L{test_eachListedStillThere}).
#: What they are: fields of records a class keeps in its own tables,
#: written by the class rather than by a method of the record (the book's
#: held paths, the TCP punches, the buyer's records, chord's adverts and
#: dials, the super-peer's gatherings, the timers' and the simulated
#: clocks' entries); a link's handshake state set by the overlay and
#: its greeting; builders wiring what they were handed rather than made
#: (daemon/build.py's parts, a daemon's node and tracker, metrics/, tap/);
#: issue 81's reach hooks held by another change (reach/reachable/
#: reservation.py's node.relay, the
#: dialer's ways' state) and files/server.py's transferFactory; the
#: simulator's and the test harness's wiring (sim/, testing/); and
#: settings patched into a library's objects (transports/quic/stack.py,
#: tap/exitstatus.py, sim/crypto.py; base/wallclock.py, the reactor's
#: clock split: Twisted's reactors read time.time and offer no other way
#: to choose their clock; daemon/importfaults.py, which stands
#: in for twisted.plugin's log for the length of a look-up and puts it
#: back: Twisted's plugin look-up offers no other way to hear a plugin
#: module's import failure without its traceback at each look-up).
NOT_YET = {
    "base/wallclock.py": ("reactor.seconds", "reactor.wallSeconds"),
    "cli/arguments.py": (
        "args.json", "args.timeout", "args.tracker", "args.tracker_key",
        "args.tracker_keys", "args.trackers"),
    "cli/buy.py": ("self._showing.clock", "self.fetcher.onGaveUp"),
    "cli/sweep.py": ("progress.failed", "progress.finished", "progress.running"),
    "cli/sweepgrid.py": ("p.error",),
    "daemon/build.py": (
        "parts.offering", "parts.portmapping", "parts.punching", "parts.reservations"),
    "daemon/importfaults.py": ("twistedPlugin.log",),
    "daemon/node.py": ("self.relay.port", "service.lock"),
    "daemon/services.py": ("node.stopper",),
    "daemon/site.py": ("channel.requestFactory", "request.guarded", "request.site"),
    "daemon/tracker.py": ("self.tracker.udp.ports", "tracker.relay"),
    "files/server.py": ("self.node.transferFactory",),
    "metrics/node.py": ("node.config.link.traffic", "node.store"),
    "metrics/tracker.py": ("tracker.settings.traffic",),
    "net/fairshare.py": ("share.capacity",),
    "net/greeting.py": ("link.address", "link.key", "link.peer_id", "link.purpose"),
    "net/link.py": (
        "batch.depth", "owner.linkContext", "seldom.charged", "seldom.dropped",
        "seldom.errors", "seldom.held", "seldom.pongs", "seldom.waiting"),
    "net/overlay.py": ("link.address", "link.key", "link.purpose"),
    "net/syngate.py": ("rates.gates",),
    "net/timers.py": ("entry._due", "entry.function", "entry.subject", "resident._due"),
    "reach/book.py": (
        "held.at", "held.failed", "held.host", "held.lan", "held.more",
        "held.named", "held.noted", "held.port", "held.relay", "held.word"),
    "reach/punch/tcp/exchange.py": (
        "answer.dialing", "answer.over", "answer.synced", "answer.timer",
        "punch.attempt", "punch.dialing", "punch.nonce", "punch.over", "punch.port",
        "punch.rtt", "punch.sent", "punch.synced", "punch.timer"),
    "reach/punch/udp/runs.py": ("run.linger", "run.path"),
    "roles/buyer/answers.py": ("record.bought", "record.committing", "record.routed"),
    "roles/buyer/doubts.py": (
        "record.asking", "record.holding", "record.unresolved", "record.watching"),
    "roles/buyer/role.py": (
        "record.routed", "record.want", "record.watching",
        "self.book.record(buy_id).want", "want.offers"),
    "roles/buyer/sending.py": ("record.watching", "self.book.record(message.id).routed"),
    "roles/files/download.py": ("self.watch.problem",),
    "roles/files/fetch.py": ("buyer.fetcher",),
    "roles/files/pieces.py": ("download.watch.have", "download.watch.problem"),
    "roles/files/sellers.py": ("download.watch.problem",),
    "roles/files/shop.py": ("seller.files",),
    "schemes/chord/adverts.py": (
        "advert.holder", "advert.interval", "advert.lookup", "advert.timer"),
    "schemes/chord/detour.py": ("path.asking", "path.done", "path.steps"),
    "schemes/chord/messages.py": ("checkFingers.toWire", "checkSuccessors.toWire"),
    "schemes/chord/routing.py": ("dial.timer", "dial.waiting"),
    "schemes/index/node.py": ("lookup.pause",),
    "schemes/superpeer/discovery.py": (
        "self.side.flood", "self.side.letGo", "self.side.onServing"),
    "schemes/superpeer/leaf.py": ("find.superpeer",),
    "schemes/superpeer/query.py": (
        "gathering.deadline_call", "gathering.round_call", "gathering.ttl"),
    "sim/attack.py": (
        "node.identity", "self.attack.finds", "self.attack.honest_finds",
        "self.attack.honest_holders", "self.attack.lookups_answered"),
    "sim/build.py": (
        "self.sim.failed_links", "sim.direct", "sim.homes", "sim.market",
        "sim.nodes", "sim.punches"),
    "sim/chord.py": ("node.clock.stopped", "tally.lost", "tally.ok", "tally.wrong"),
    "sim/clock.py": (
        "call._state", "call.args", "call.delayed_time", "call.func", "call.kw",
        "call.time"),
    "sim/crypto.py": ("keys.Ed25519PrivateKey", "keys.Ed25519PublicKey"),
    "sim/files.py": ("args.counts",),
    "sim/homes.py": ("network.homes",),
    "sim/metrics.py": ("node.store", "self.record.floods"),
    "sim/punches.py": ("counts.punched", "self.counts.moved", "self.counts.started"),
    "sim/runner.py": ("node.clock.stopped",),
    "sim/shardbuild.py": ("network.placement", "sim.market"),
    "sim/shardclock.py": (
        "call._state", "call.args", "call.delayed_time", "call.func", "call.kw",
        "call.time"),
    "sim/shardnet.py": ("ends[0].ctx", "ends[1].ctx"),
    "sim/warm.py": ("side.told", "sim.nodes"),
    "status/client.py": ("asker.proven",),
    "tap/exitstatus.py": ("UnixApplicationRunner._waitForStart",),
    "tap/node.py": ("fetcher.onGaveUp",),
    "tap/tracker.py": ("service.relayService",),
    "testing/capabilities.py": (
        "transport.handshakeHash", "transport.peerKey", "transport.relayAt",
        "transport.relayedFrom"),
    "testing/market.py": (
        "node.clock.stopped", "self.tracker.relay", "self.tracker.relay.port"),
    "testing/memory.py": (
        "first_end.other", "second_end.other", "self.network.bytes_written",
        "server_end.other"),
    "testing/punchdial.py": ("dial.over", "dial.timers"),
    "testing/stopping.py": (
        "_stopper.interrupted", "_stopper.worker", "self._timer.daemon",
        "session.exitstatus", "tempfile.tempdir"),
    "tracker/relays.py": ("name.timer",),
    "tracker/service.py": ("link.purpose",),
    "transports/quic/endpoint.py": (
        "connection.ended", "self.transport.maxPacketSize",
        "self.transport.maxThroughput"),
    "transports/quic/stack.py": (
        "bridge.serialize_transport_parameters", "bridge.tls._supported_groups",
        "bridge.tls.handshake_extensions", "configuration.verify_mode",
        "parameters.max_udp_payload_size"),
    "transports/quic/connection.py": ("stream.disconnecting",),
    "transports/relay/relay.py": (
        "end.early", "end.gate", "end.other", "end.reserved", "old.reserved",
        "reservation.group", "reservation.tell", "self._reserved[node_id].end",
        "self.relay.refused", "self.relay.relayed"),
    "web/watch.py": (
        "doubt.failures", "doubt.retryAt", "self._loop.clock", "session.doubted"),
    "wire/codec.py": ("e.answerable",),
}

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _flat(target, into):
    if isinstance(target, (ast.Tuple, ast.List)):
        for each in target.elts:
            _flat(each, into)
    elif isinstance(target, ast.Starred):
        _flat(target.value, into)
    else:
        into.append(target)
    return into


def assigned(node):
    """Every target node (an ast node) assigns to, tuples unpacked."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor,
                           ast.comprehension)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars]
    else:
        return []
    found = []
    for target in targets:
        _flat(target, found)
    return found


def _own(scope):
    """The nodes of scope, not those of the scopes nested in it."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))


def _builds(value):
    """Whether value is a call that builds an object: a class's (by its
    CapWords name) or C{__new__}."""
    if not isinstance(value, ast.Call):
        return False
    called = value.func
    name = (called.id if isinstance(called, ast.Name)
            else called.attr if isinstance(called, ast.Attribute) else "")
    return name == "__new__" or name.lstrip("_")[:1].isupper()


def _built(scope):
    """The names scope binds to what it built or defines."""
    names = set()
    for node in _own(scope):
        if isinstance(node, _DEFINITIONS):
            names.add(node.name)
        elif isinstance(node, ast.Assign) and _builds(node.value):
            names.update(target.id for target in node.targets
                         if isinstance(target, ast.Name))
    return names


def foreignWrites(source):
    """(line, target) of each assignment in source to an attribute of
    another object, as the module's docstring says, in order."""
    found = []

    def visit(scope, outer):
        built = outer | _built(scope)
        # A class's body binds no name its methods see; what a module
        # built is its state, not a function's own to wire.
        inner = outer if isinstance(scope, (ast.ClassDef, ast.Module)) else built
        for node in _own(scope):
            for target in assigned(node):
                if not isinstance(target, ast.Attribute):
                    continue
                owner = target.value
                if isinstance(owner, ast.Name) and (owner.id in ("self", "cls")
                                                    or owner.id in built):
                    continue
                found.append((node.lineno, ast.unparse(target)))
            if isinstance(node, _SCOPES):
                visit(node, inner)

    visit(parsed(source), set())
    return sorted(found)


@functools.cache  # one walk of the package a worker: the source is fixed
def everyWrite():
    """module -> the sorted targets it writes onto another object."""
    found = {}
    for module, tree in packageTrees().items():
        targets = {target for _, target in foreignWrites(tree)}
        if targets:
            found[module] = tuple(sorted(targets))
    return found


class ForeignWriteTests(SynchronousTestCase):
    def test_noneUnlisted(self):
        unlisted = {}
        for module, targets in everyWrite().items():
            more = sorted(set(targets) - set(NOT_YET.get(module, ())))
            if more:
                unlisted[module] = more
        self.assertEqual(unlisted, {}, "another object's attributes written from "
                         "outside: give it a method, return a value its owner "
                         "applies, or publish an event")

    def test_eachListedStillThere(self):
        """A write gone leaves the list: it only shrinks, and stays exact."""
        found = everyWrite()
        gone = {module: sorted(set(targets) - set(found.get(module, ())))
                for module, targets in NOT_YET.items()}
        self.assertEqual({module: targets for module, targets in gone.items() if targets},
                         {})

    def test_findsEachKind(self):
        """An argument's, a chain's, a fetched record's, a loop's, a
        name's bound to another's; not self's or cls's own."""
        source = '''
def f(self, link, held):
    link.purpose = "p"
    self.node.relay = "r"
    self.a.b.c += 1
    record = self.records[1]
    record.done = True
    for self.x.y in ():
        pass
    self.host = "h"
    cls.count = 1
    link.key, self.x = 1, 2
    with open() as held.file:
        pass
'''
        self.assertEqual(foreignWrites(source), [
            (3, "link.purpose"), (4, "self.node.relay"), (5, "self.a.b.c"),
            (7, "record.done"), (8, "self.x.y"), (12, "link.key"), (13, "held.file")])

    def test_aBuilderWiresWhatItMade(self):
        """What a function (or a function around it; at the top level,
        the module) built or defined, it may wire: one attribute deep."""
        source = '''
def check(value):
    return value
check.fast = True

def build(node):
    parts = NodeParts(node)
    parts.punching = 1
    call = _Call(1)
    call.time = 2
    raw = Record.__new__(Record)
    raw.at = 3
    parts.node.host = "h"
    def told():
        parts.told = True
    told.__doc__ = "told"

class Made:
    made = Thing()
    def method(self):
        made.x = 1

shared = Thing()
shared.ready = False
def later():
    shared.ready = True
'''
        self.assertEqual(foreignWrites(source), [(13, "parts.node.host"), (21, "made.x"),
                                                 (26, "shared.ready")])
