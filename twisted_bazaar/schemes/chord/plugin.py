"""
The chord scheme as --discovery finds it (its options, their settings,
the puzzle a daemon's key must solve), and its tracker extension as the
tracker finds it.
"""

from twisted.plugin import IPlugin
from zope.interface import implementer

from twisted_bazaar.base.options import PluginOption, boundedInt, seconds
from twisted_bazaar.schemes.chord.settings import (
    DAEMON_PUZZLE,
    LEAST_PUZZLE,
    MAX_SUCCESSORS,
    MOST_PATHS,
    MOST_PUZZLE,
    ChordSettings,
)
from twisted_bazaar.schemes.interfaces import (
    IClientValues,
    IDiscoveryPlugin,
    IInProcess,
    IKeyTest,
)
from twisted_bazaar.tracker.extension import ITrackerExtensionPlugin

_DEFAULTS = ChordSettings()


@implementer(IPlugin, IDiscoveryPlugin, IKeyTest, IInProcess, IClientValues)
class ChordScheme:
    name = "chord"
    description = "a Chord ring: records stored at the node that holds the item's key"
    options = (
        PluginOption("chord-successors", "length r of the successor list; each record "
                     "is kept on its holder and r replicas",
                     boundedInt(2, MAX_SUCCESSORS), _DEFAULTS.successors),
        PluginOption("chord-holders", "nodes a store or a request for sellers "
                     "reaches: the item's holder and the next ones, which keep "
                     "its replicas (no more than --chord-successors, or refused); a buyer takes "
                     "any valid signed record any of them names",
                     boundedInt(1, MAX_SUCCESSORS), _DEFAULTS.holders),
        PluginOption("chord-paths", "disjoint paths of a detour: a lookup for "
                     "sellers or a store that the ring's routing did not answer "
                     "usefully is asked again by this node, hop by hop over that "
                     "many paths that share no node, and then of the holders found "
                     "directly; 0: no detours",
                     boundedInt(0, MOST_PATHS), _DEFAULTS.paths),
        PluginOption("chord-puzzle", "leading zero bits the SHA-256 of a node's "
                     "id must have for it to count on the ring (every node of a "
                     "ring gives the same): a node makes a key that solves it, "
                     f"about 2^bits tries once; at least {LEAST_PUZZLE}",
                     boundedInt(LEAST_PUZZLE, MOST_PUZZLE), DAEMON_PUZZLE),
        PluginOption("chord-stabilize", "seconds between two stabilizations "
                     "(ask the successor for its predecessor and list, notify it)",
                     seconds, _DEFAULTS.stabilize),
        PluginOption("chord-fix-fingers", "seconds between two finger checks or "
                     "lookups while the fingers change",
                     seconds, _DEFAULTS.fix_fingers),
        PluginOption("chord-ping", "seconds between two pings of the first "
                     "successor and the predecessor", seconds, _DEFAULTS.ping),
        PluginOption("chord-missed", "pings in a row a neighbour may miss before "
                     "it counts as dead", boundedInt(1, 100), _DEFAULTS.missed),
        PluginOption("chord-probe", "seconds between two questions to the "
                     "tracker for the chord node that follows this one, which "
                     "merge rings that formed apart", seconds, _DEFAULTS.probe),
        PluginOption("chord-refresh", "seconds between two stores of a seller's "
                     "records", seconds, _DEFAULTS.refresh),
        PluginOption("chord-expiry", "seconds a record lives unless stored again "
                     "(more than --chord-refresh)", seconds, _DEFAULTS.expiry),
        PluginOption("chord-lookup-timeout", "seconds to wait for the answer to a "
                     "lookup or a store", seconds, _DEFAULTS.lookup_timeout),
        PluginOption("chord-quit-timeout", "seconds a leaving node waits for its "
                     "successor to confirm the records it hands over",
                     seconds, _DEFAULTS.quit_timeout),
        PluginOption("chord-links", "slots for ring links (successors, "
                     "predecessor, and nodes that have this one as theirs)",
                     boundedInt(4, 10000), _DEFAULTS.links),
        PluginOption("chord-max-records", "most records this node holds",
                     boundedInt(1, 10**8), _DEFAULTS.max_records),
        PluginOption("chord-finger-links", "slots for finger links (opened to "
                     "pass a request on to a finger, by this node or to it)",
                     boundedInt(1, 10000), _DEFAULTS.finger_links),
        PluginOption("chord-finger-idle", "seconds a finger link may carry no "
                     "request before it is closed", seconds, _DEFAULTS.finger_idle),
        PluginOption("chord-max-period", "longest period of stabilization, pings "
                     "and finger lookups: each doubles from its base while the ring "
                     "around the node does not change, up to this, and drops back "
                     "when it does", seconds, _DEFAULTS.max_period),
    )

    def configure(self, config):
        """
        @raise ValueError: if records would expire before being refreshed,
            a lifetime is over a day, or more holders are asked than there
            are successors.
        """
        if config["chord-expiry"] <= config["chord-refresh"]:
            raise ValueError(f"--chord-expiry ({config['chord-expiry']:g} s) must be "
                             f"more than --chord-refresh ({config['chord-refresh']:g} s), "
                             "or records expire before they are stored again")
        if config["chord-expiry"] > 86400:
            raise ValueError("--chord-expiry must be at most 86400 s (a day)")
        holders, successors = config["chord-holders"], config["chord-successors"]
        if holders > successors:
            raise ValueError(f"--chord-holders {holders} must be no more than "
                             f"--chord-successors {successors}: give --chord-holders "
                             f"{successors} or fewer (its default is {_DEFAULTS.holders})")
        return ChordSettings(
            successors=config["chord-successors"],
            holders=holders,
            paths=config["chord-paths"],
            puzzle=config["chord-puzzle"],
            stabilize=config["chord-stabilize"],
            fix_fingers=config["chord-fix-fingers"], ping=config["chord-ping"],
            missed=config["chord-missed"], probe=config["chord-probe"], refresh=config["chord-refresh"],
            expiry=config["chord-expiry"],
            lookup_timeout=config["chord-lookup-timeout"],
            quit_timeout=config["chord-quit-timeout"], links=config["chord-links"],
            max_records=config["chord-max-records"],
            finger_links=config["chord-finger-links"],
            finger_idle=config["chord-finger-idle"],
            max_period=config["chord-max-period"])

    #: Option values of an in-process node (tests, the simulator), over
    #: the options' defaults: no puzzle, as their keys are drawn, not made.
    inProcess = {"chord-puzzle": 0}
    #: Option values of a client that joins a market of daemons without
    #: knowing their options (``bazaar buy``), over the daemons' defaults:
    #: it takes peers whose ids solve the least puzzle a ring of daemons
    #: may have, so that it finds the nodes of every such ring, and no
    #: id drawn more cheaply.
    client = {"chord-puzzle": LEAST_PUZZLE}

    def keyTest(self, settings):
        """
        What a daemon's key must pass to be this node's: its id solves the
        ring's puzzle.  A function of an L{Identity} returning why it does
        not (None if it does), or None when any key will do.
        """
        bits = settings.puzzle
        if not bits:
            return None
        from twisted_bazaar.schemes.chord.ring import solves

        def refusal(identity):
            if solves(identity.id, bits):
                return None
            return (f"its id does not solve the chord ring's puzzle of {bits} bits "
                    "(--chord-puzzle): move the file away, and the node makes a key "
                    "whose id does")

        return refusal

    def build(self, node, settings):
        from twisted_bazaar.schemes.chord.node import ChordDiscovery

        return ChordDiscovery(node, settings)


@implementer(IPlugin, ITrackerExtensionPlugin)
class ChordTrackerPlugin:
    """The tracker's introductions of chord nodes (L{tracker.ChordExtension
    <twisted_bazaar.schemes.chord.tracker.ChordExtension>})."""

    name = "chord"

    def build(self, tracker):
        from twisted_bazaar.schemes.chord.tracker import ChordExtension

        return ChordExtension(tracker)
