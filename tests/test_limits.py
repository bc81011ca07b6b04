"""
The registry of limits walked as a whole (docs/reliability.md, "Every
pool declared"): every option a limit names is one an operator can give;
every account a market builds (tracker, relays, nodes of each scheme,
sellers sharing files, the web view's streams) holds a declared limit;
and each such pool, filled by one stranger address group, still lets a
second group in (max-min fairness among groups); so does each transport
plugin's tracker port, whose accounts it declares.
"""

import gc
import importlib
import math
import pkgutil
import random
from pathlib import Path

from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

import twisted_bazaar
from twisted_bazaar.base.limitregistry import LIMITS
from twisted_bazaar.base.logthrottle import PeerLog
from twisted_bazaar.daemon.registry import discoveryPlugins, rolePlugins, transportPlugins
from twisted_bazaar.identity.keys import Identity
from twisted_bazaar.net.account import Account
from twisted_bazaar.net.connections import RateLimit
from twisted_bazaar.net.limits import GroupRates
from twisted_bazaar.tap import node as tapnode, tracker as taptracker
from twisted_bazaar.tap.transports import transportValues
from twisted_bazaar.testing import Market
from twisted_bazaar.transports.relay.limits import NODE_LIMITS, RelayLimits
from twisted_bazaar.net.link import LinkSettings
from twisted_bazaar.testing.market import NodeClock
from twisted_bazaar.testing.memory import MemoryConnector
from twisted_bazaar.transports.table import overConnector
from twisted_bazaar.web.stream import EventStream
from twisted_bazaar.web.view import MarketView
from twisted_bazaar.web.watch import StatusWatcher

from tests.files.helpers import scratchDir, writeFile

#: The pools a market builds as accounts (each with an owner's bound or a
#: group's share, so a stranger can fill it): what the walk covers.
MARKET_POOLS = {
    "files.connections", "files.serving", "index.entries", "link.unsent",
    "relay.circuits", "relay.pending", "relay.reservations", "seller.named",
    "seller.relayed",
    "seller.remembered", "superpeer.index", "tracker.checks", "tracker.pending",
    "tracker.registered", "tracker.relay-names", "tracker.relay-places", "web.streams"}


def declareAll():
    """Import every module of the package: each declares its limits."""
    for module in pkgutil.walk_packages(twisted_bazaar.__path__, "twisted_bazaar."):
        importlib.import_module(module.name)


def ours():
    """The limits the package declares (not the tests')."""
    return [limit for limit in LIMITS if limit.owner.startswith("twisted_bazaar.")]


def options(module):
    """The long options of a daemon's command line."""
    return {"--" + name.rstrip("=") for name in module.Options().longOpt}


class FlagsTests(SynchronousTestCase):
    def test_everyFlagIsAnOption(self):
        """The option each limit names is one bazaar-node or
        bazaar-tracker takes (a renamed option fails here)."""
        declareAll()
        taken = options(tapnode) | options(taptracker)
        flagged = [limit for limit in ours() if limit.flag is not None]
        self.assertGreaterEqual(len(flagged), 15)
        self.assertEqual([(limit.name, limit.flag) for limit in flagged
                          if limit.flag not in taken], [])

    def test_theDeclaredDefaultIsTheOptionsDefault(self):
        """
        A limit's default is its option's (for one daemon at least: the
        relay's are the tracker's, a public node's are smaller), so the
        declaration and the option cannot drift apart.  None declares
        "the option says" (a seller's --closed-limit, the search rate).
        """
        declareAll()
        defaults = {}
        for daemon in (tapnode, taptracker):
            for name, value in daemon.Options().defaults.items():
                defaults.setdefault("--" + name, []).append(value)
        plugins = [*discoveryPlugins().values(), *rolePlugins().values()]
        for plugin in plugins:
            for option in plugin.options:
                defaults.setdefault("--" + option.name, []).append(option.default)
        checked = [limit for limit in ours()
                   if limit.flag is not None and limit.default is not None]
        self.assertGreaterEqual(len(checked), 15)
        self.assertEqual([(limit.name, limit.default, defaults[limit.flag])
                          for limit in checked
                          if limit.default not in defaults[limit.flag]], [])

    def test_theSearchRateSaysWhatItSets(self):
        """
        --search-rate's help, in both daemons, names every rate the option
        sets (a bucket declared with the search rate, the forwarding
        budget): it said "searches a second" alone while it also set the
        questions', buys', chord's, punches' and UDP messages' rates.
        """
        declareAll()
        words = {"link.search": "searches;", "link.query": "questions (lookup, ask",
                 "link.buy": "buys;", "link.chord": "chord messages",
                 "link.punch": "TCP punch messages",
                 "link.udp": "UDP reach and punch messages",
                 "flood.forwarding": "searches a node passes on a second"}
        set_ = sorted(limit.name for limit in ours() if limit.flag == "--search-rate")
        self.assertEqual(set_, sorted(words))
        running = Path(__file__).parent.parent / "docs" / "running.md"
        (table,) = [line.replace("`", "") for line in running.read_text().splitlines()
                    if line.startswith("| `--search-rate` |")]
        helps = {daemon.__name__: " ".join(row[3].split())
                 for daemon in (tapnode, taptracker)
                 for row in daemon.Options.optParameters if row[0] == "search-rate"}
        self.assertEqual(len(helps), 2)
        for where, text in [*helps.items(), ("docs/running.md", table)]:
            self.assertEqual([word for word in words.values() if word not in text], [],
                             where)

    def test_eachDeclarationSaysWhatItHolds(self):
        declareAll()
        for limit in ours():
            self.assertTrue(limit.doc and limit.unit, limit)
            self.assertEqual(limit.owner, importlib.import_module(limit.owner).__name__)


class MarketBuild(SynchronousTestCase):
    """A market with a tracker and its relay, nodes of each scheme with
    their relays, sellers (one sharing a file), a buyer, and the web
    view's event streams."""

    def setUp(self):
        # What other tests left alive (held, so that no id is used again):
        # the walks below try what this market built.
        earlier = {id(thing): thing for thing in gc.get_objects()
                   if isinstance(thing, (Account, GroupRates, RateLimit))}
        market = Market(seed=4, relay=RelayLimits(), node_relay=NODE_LIMITS)
        folder = scratchDir(self)
        writeFile(folder, "song.ogg", random.Random(5).randbytes(4096))
        self.nodes = [
            market.addNode(seller={"stock": {"pear": 2}, "share": folder}),
            market.addNode(discovery="index", seller={"stock": {"fig": 1}}),
            market.addNode(discovery="superpeer", scheme={"super": True}),
            market.addNode(discovery="chord", buyer={"wants": ["pear"]})]
        self.streams = EventStream(view=None)
        market.run(5)
        # A node makes what its state answers are charged to at the first
        # state asked (status/node.py): the web view's watcher asks each.
        watcher = StatusWatcher(NodeClock(market.clock),
                                market.tracker.extensions["status"].members,
                                overConnector(MemoryConnector(market.network, "web"),
                                              market.clock),
                                MarketView(market.clock), LinkSettings(),
                                random.Random(1), interval=1.0)
        watcher.startService()
        market.run(3)
        watcher.stopService()
        market.run(2)
        self.market = market
        self.made = [thing for thing in gc.get_objects()
                     if isinstance(thing, (Account, GroupRates, RateLimit))
                     and id(thing) not in earlier]

    def built(self):
        """Every Account alive in the process, however it was made."""
        return [thing for thing in gc.get_objects() if isinstance(thing, Account)]


class MarketAccountsTests(MarketBuild):
    """The accounts a market builds."""

    def test_everyAccountIsOfADeclaredLimit(self):
        """No account without its limit in the registry, and each is one
        the registry sees (what the operator's view shows)."""
        built = self.built()
        self.assertGreater(len(built), len(MARKET_POOLS))
        for account in built:
            self.assertTrue(LIMITS.declares(account.limit), account.limit)
            self.assertIn(account, LIMITS.accounts(account.limit.name))
        self.assertLessEqual(MARKET_POOLS, {account.limit.name for account in built})

    def test_aSecondGroupGetsIn(self):
        """
        Each pool, built as its owner builds it (its bound and a group's
        share), filled by one address group as far as it is let, still
        takes a second group: whether the owner makes room (the first
        group's newest give way, L{Account.take}) or lets nothing go
        (L{Account.admits}).
        """
        self.assertEqual(strangerWalk(self, self.made), MARKET_POOLS)


class TransportPortTests(SynchronousTestCase):
    """
    The accounts each transport plugin's tracker port builds (issue 93:
    the WebSocket port's openings were in no descriptor budget and no
    walk): those it declares (C{trackerAccounts}), each declared in the
    registry with the bound the port builds it with, and each, filled by
    a stranger's group, still taking a second group.
    """

    #: The options that turn each installed plugin's tracker port on.
    TURNED_ON = {"WebSocket": ["--ws-port", "0"]}

    def test_eachPortsAccountsAreDeclaredAndWalked(self):
        plugins = transportPlugins()
        self.assertEqual(set(plugins), set(self.TURNED_ON))
        for name, plugin in plugins.items():
            options = taptracker.Options()
            options.parseOptions(["--no-udp", *self.TURNED_ON[name]])
            [values] = [values for each, values in transportValues(options)
                        if each is plugin]
            declared = plugin.trackerAccounts(values)
            self.assertTrue(declared, name)
            earlier = {id(thing) for thing in gc.get_objects()
                       if isinstance(thing, Account)}
            reactor = MemoryReactorClock()
            service = plugin.trackerService(
                reactor, Identity.generate(), Factory(), PeerLog(reactor), values,
                "127.0.0.1", self.fail)
            service.startService()
            self.addCleanup(service.stopService)
            made = [thing for thing in gc.get_objects()
                    if isinstance(thing, Account) and id(thing) not in earlier]
            self.assertEqual({account.limit.name for account in made},
                             {limit.name for limit in declared}, name)
            for account in made:
                self.assertTrue(LIMITS.declares(account.limit), account.limit)
                self.assertEqual(account.capacity, account.limit.default)
                self.assertEqual(account.group_limit, account.limit.group)
            self.assertEqual(strangerWalk(self, made),
                             {limit.name for limit in declared}, name)

    def test_theirOpeningsAreOutOfTheNodesDescriptors(self):
        """What each port declares is counted out of the registrations
        its tracker keeps (--registered-limit by default), and out of
        what the relay's circuits take a share of (with 1,024 files, below
        their cap)."""
        self.patch(taptracker, "openFiles", lambda: 1024)
        for name, plugin in transportPlugins().items():
            on, off = taptracker.Options(), taptracker.Options()
            on.parseOptions(["--no-udp", *self.TURNED_ON[name]])
            off.parseOptions(["--no-udp"])
            [values] = [values for each, values in transportValues(on) if each is plugin]
            declared = sum(limit.default for limit in plugin.trackerAccounts(values))
            circuitsOn, registeredOn = taptracker._budget(on)
            circuitsOff, registeredOff = taptracker._budget(off)
            # Counted out before the relay's circuits, which take their
            # share of what is left (two descriptors each).
            self.assertEqual(circuitsOff - circuitsOn, declared // 8, name)
            self.assertEqual(registeredOff - registeredOn,
                             declared - 2 * (circuitsOff - circuitsOn), name)


class MarketRatesTests(MarketBuild):
    """The rates per address group a market builds."""

    #: What the walk covers.
    RATES = {"net.connections", "relay.origin-opens", "status.state", "superpeer.floods",
             "superpeer.records", "superpeer.checks",
             "tracker.joins", "tracker.lookups", "tracker.questions",
             "tracker.relay-asks", "status.members", "status.state-bytes",
             "tracker.relay-reports"}

    def test_aSecondGroupStillHasItsRate(self):
        """Each rate per group, spent by one group (at one instant), still
        admits another: each of its limiters holds a declared limit."""
        covered = set()
        for thing in self.made:
            if isinstance(thing, GroupRates):
                def take(group, rates=thing):
                    return rates.take(group, 1e6)
            elif isinstance(thing, RateLimit) and thing.rate:
                take = thing.admit
            else:
                continue
            self.assertTrue(LIMITS.declares(thing.limit), thing.limit)
            spent = 0
            while take("stranger") and spent <= 10 * (thing.limit.group or thing.limit.key):
                spent += 1
            self.assertLessEqual(spent, 2 * thing.rate, thing.limit.name)
            self.assertTrue(take("other"), thing.limit.name)
            covered.add(thing.limit.name)
        self.assertLessEqual(self.RATES, covered)


def strangerWalk(testCase, made):
    """Fill each bounded pool of ours among ``made`` from one group, as
    its owner built it, and check a second group still gets in: the
    names of the limits walked."""
    covered = set()
    for account in made:
        if not isinstance(account, Account):
            continue
        limit = account.limit
        if not limit.owner.startswith("twisted_bazaar."):
            continue
        pool = Account.of(limit, account.capacity, account.group_limit,
                          account.key_limit, account.oldest_first)
        if pool.capacity == math.inf and pool.group_limit is None:
            continue
        fill(pool, "stranger")
        testCase.assertGreater(pool.held("stranger"), 0, limit.name)
        testCase.assertIsNotNone(pool.take("second", "other"), limit.name)
        testCase.assertGreater(pool.held("stranger"), 0, limit.name)
        waiting = Account.of(limit, account.capacity, account.group_limit,
                             account.key_limit)
        admitted(waiting, "stranger")
        testCase.assertTrue(waiting.admits("other"), limit.name)
        covered.add(limit.name)
    return covered


def fill(pool, group):
    """Holders of ``group`` take what they may of ``pool``, in chunks halved
    at each refusal: a bytes pool fills in a few dozen takes."""
    bound = min(pool.capacity, pool.group_limit or math.inf)
    chunk, count = max(1, int(bound) // 64), 0
    while chunk:
        count += 1
        if pool.take((group, count), group, chunk) is None:
            chunk //= 2


def admitted(pool, group):
    """Holders of ``group`` hold what L{Account.admits} lets it, in chunks."""
    bound = min(pool.capacity, pool.group_limit or math.inf)
    chunk, count = max(1, int(bound) // 64), 0
    while chunk:
        count += 1
        if pool.admits(group, chunk) and (pool.group_limit is None or
                                           pool.held(group) + chunk <= pool.group_limit):
            pool.hold((group, count), group, chunk)
        else:
            chunk //= 2
