"""
``bazaar``'s command line: its parser, the defaults and help it shows,
its argument types, and L{main}, the console script.

It imports no more than its help needs, so that ``bazaar --help``,
``bazaar COMMAND --help`` and a refused command line are answered
without loading the node (a second of imports on a busy machine).  The
defaults it shows are defined in a module of no imports
(L{twisted_bazaar.base.defaults}), which the modules they are the
defaults of import them from; an argument type that needs more imports
it when it is first called, at parse time, for an option given.
L{main} imports the commands (L{twisted_bazaar.cli.bazaar}: the node,
Twisted's reactor) only once the line is parsed.
"""

import argparse
import importlib
import re
import sys

from twisted_bazaar.base.defaults import (
    DEFAULT_DEADLINE,
    DEFAULT_GIVE_UP,
    DEFAULT_TIMEOUT,
    DEFAULT_TRACKER_PORT,
)
from twisted_bazaar.base.heldsignals import heldSignals
from twisted_bazaar.base.suggest import didYouMean
from twisted_bazaar.base.words import plural
from twisted_bazaar.base.console import tolerant
from twisted_bazaar.cli.common import (
    SERVERS, UNSERVED, WEB_LISTEN, addVersion, emit, joinDashedValues)
from twisted_bazaar.base.usage import (
    DefaultsShown, OneLineParser, UsageError, argumentType, commandParser)

DEFAULT_TRACKER = f"127.0.0.1:{DEFAULT_TRACKER_PORT}"
#: The commands, by name (L{twisted_bazaar.cli.bazaar.COMMANDS} runs them).
COMMAND_NAMES = ("status", "list", "node", "buy", "restock", "web")


def later(module, name, *made_with):
    """
    An argparse type (L{argumentType}) of the parser ``name`` of
    ``module`` (or, given ``made_with``, of the parser ``name`` makes of
    them, as L{twisted_bazaar.base.options.boundedInt} does), the module
    imported when the type is first called: when an option is given,
    not when the parser is made or its help printed.
    """
    made = []

    def argument(text):
        if not made:
            parse = getattr(importlib.import_module(module), name)
            made.append(argumentType(parse(*made_with) if made_with else parse))
        return made[0](text)

    return argument


def _trackerAddress(text):
    """--tracker: HOST:PORT, or a client endpoint over TCP or TLS, or over
    an installed transport, as a node's --tracker takes it (each transport
    plugin's ``trackerKinds``: the plugins are read only for an address
    that is none of the first, so a help or a plain address loads none)."""
    from twisted_bazaar.base.address import TCP_OR_TLS, addressType

    why = "bazaar reaches the tracker over TCP, with or without TLS, or an installed transport"
    try:
        return argumentType(addressType(TCP_OR_TLS, why))(text)
    except argparse.ArgumentTypeError:
        return argumentType(addressType(TCP_OR_TLS + _transportKinds(), why))(text)


def _transportKinds():
    """The client endpoint kinds of the installed transports, as a node's
    --tracker takes them."""
    from twisted_bazaar.daemon.registry import transportPlugins
    from twisted_bazaar.tap.transports import trackerKinds

    return trackerKinds(transportPlugins().values())[0]


def transportOptions(buy, plugins):
    """Give ``bazaar buy``'s parser each transport plugin's node options,
    a section each (``the NAME transport``), as ``twistd bazaar-node``
    takes them: the buying node is a node of the market, reached the same
    ways.  Each option's value is under its name, ``-`` as ``_``."""
    for plugin in sorted(plugins, key=lambda plugin: plugin.name):
        if not plugin.nodeOptions:
            continue
        group = buy.add_argument_group(f"the {plugin.name} transport")
        for option in plugin.nodeOptions:
            flag, words = f"--{option.name}", _asArgument(option)
            if option.flag:
                group.add_argument(flag, action="store_true", help=words)
            elif option.repeatable:
                group.add_argument(flag, type=argumentType(option.parse), action="append",
                                   default=[], metavar=option.metavar,
                                   help=f"{words} (repeatable)")
            else:
                group.add_argument(flag, type=argumentType(option.parse),
                                   default=option.default, metavar=option.metavar,
                                   help=words)


def _asArgument(option):
    """A plugin option's help as this command's own options word theirs:
    without the value's form it may begin with (``ID=HOST:PORT: ...``),
    which the usage shows, and with a lower-case start but for a word in
    capitals (``TCP``), as the daemons' sentences are not."""
    help = option.help.removeprefix(f"{option.metavar}: ")
    if help[1:2].islower():
        return help[:1].lower() + help[1:]
    return help


_ID_TEXT = re.compile(r"[0-9a-fA-F]{1,32}")


def _nodeTarget(text):
    """A node's ADDRESS, or the text of its ID (or a prefix of it)."""
    from twisted_bazaar.base.address import TCP, addressType

    try:
        return addressType(TCP, "other nodes and this command reach a node over "
                           "plain TCP")(text)
    except ValueError as reason:
        if _ID_TEXT.fullmatch(text):
            return text.lower()
        raise argparse.ArgumentTypeError(
            f"{reason}; nor is it a node's id (hex or decimal digits)") from None


def _timeout(text):
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"wants seconds in (0, 3600], not {text!r}")
    return value


def _scheme(name):
    from twisted_bazaar.daemon.registry import discoveryPlugins

    known = discoveryPlugins()
    if name not in known:
        raise argparse.ArgumentTypeError(f"unknown discovery scheme {name!r}"
                                         f"{didYouMean([name], known)} "
                                         f"(known: {', '.join(sorted(known))})")
    return name


def _quantity(text):
    """--quantity: a count of units, as bounded as every count of units
    (L{twisted_bazaar.wire.trade.MAX_QUANTITY})."""
    from twisted_bazaar.base.options import boundedInt
    from twisted_bazaar.wire.trade import MAX_QUANTITY

    return argumentType(boundedInt(1, MAX_QUANTITY))(text)


def _listen(text):
    from twisted_bazaar.tap.endpoints import NODE_LISTEN_KINDS, checkServerEndpoint

    try:
        text = checkServerEndpoint(text, NODE_LISTEN_KINDS,
                                   "other nodes connect to a node over plain TCP",
                                   udpBeside=True)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _webListen(text):
    """--listen of bazaar web: an endpoint, on loopback unless it names an
    interface, that Twisted can build (a kind it knows, a port that is a
    number, an ``ssl:`` key that is there): a bad one is a bad argument,
    refused before the tracker is asked, not once it answered (or, with
    no tracker there, not at all).  Building it listens nowhere, so it
    needs no reactor."""
    from twisted.internet.endpoints import serverFromString

    from twisted_bazaar.tap.endpoints import checkServerEndpoint, loopbackByDefault, pemFault

    try:
        text = loopbackByDefault(checkServerEndpoint(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    try:
        serverFromString(None, text)
    except Exception as e:
        raise argparse.ArgumentTypeError(f"bad endpoint {text}: {pemFault(e) or e}") from None
    return text


#: The types of the options that parse as the daemons' options do.
_trackerKey = later("twisted_bazaar.identity.keys", "publicKey")
_item = later("twisted_bazaar.roles.buyer", "parseItem")
_downloadsFolder = later("twisted_bazaar.daemon.statefolders", "clientDownloads")
_seconds = later("twisted_bazaar.base.options", "seconds")
_port = later("twisted_bazaar.base.options", "boundedInt", 0, 65535)
_hostNames = later("twisted_bazaar.base.httphosts", "hostNames")
_stock = later("twisted_bazaar.roles.seller", "parseSell")


#: Seconds --timeout allows unless given, per command: each question of
#: status, list and node; the whole purchase of buy.
TIMEOUTS = {"status": DEFAULT_TIMEOUT, "list": DEFAULT_TIMEOUT,
            "node": DEFAULT_TIMEOUT, "buy": DEFAULT_DEADLINE,
            "restock": DEFAULT_TIMEOUT, "web": DEFAULT_TIMEOUT}


def _common(timeout_help, tracker=True):
    """The options every command takes, before or after its name: a parent
    parser whose options set nothing unless given (L{parse} fills in the
    defaults), so that one given before the command is not undone by the
    command's own default.  ``restock`` asks no tracker (``tracker``
    false): it takes the tracker's options unlisted, to refuse them by
    name (L{parse}) wherever they are given, not to take the address for
    an ITEM=N."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("options of every command")
    if not tracker:
        for option in ("--tracker", "--tracker-key"):
            common.add_argument(option, action="append", default=argparse.SUPPRESS,
                                help=argparse.SUPPRESS)
    else:
        group.add_argument("--tracker", type=_trackerAddress, action="append",
                           default=argparse.SUPPRESS, metavar="ADDRESS",
                           help="the tracker: HOST:PORT, or a client endpoint over "
                           "TCP or TLS (tcp:, ssl:, tls:) or an installed transport, as "
                           f"twistd bazaar-node's --tracker, such as tcp:{DEFAULT_TRACKER} "
                           f"(default: {DEFAULT_TRACKER}); "
                           "status and list take it again, for a market of several "
                           "trackers, and ask each")
        group.add_argument("--tracker-key", type=_trackerKey,
                           action="append", default=argparse.SUPPRESS, metavar="KEY",
                           help="the tracker's key, as it logs it when it starts: "
                           "a tracker that does not prove it is not asked (default: "
                           "whoever answers at --tracker); once per --tracker, in "
                           "the same order")
    group.add_argument("--timeout", type=_timeout, default=argparse.SUPPRESS,
                       metavar="S", help=timeout_help)
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print one JSON object instead of text")
    return common


def parser(transports=()):
    """bazaar's parser; ``bazaar buy`` with the node options of the
    transport plugins given (L{transportOptions}: L{parse} reads them for
    a buy, not for a help, which loads no plugin)."""
    question = (f"seconds each question may take (default: "
                f"{DEFAULT_TIMEOUT:g})")
    p = OneLineParser(
        prog="bazaar", description="Look at a running twisted-bazaar market.",
        epilog="The options of every command may come before or after its name; "
        "`bazaar COMMAND --help` tells more.",
        parents=[_common(f"{question}; for buy, the whole purchase (default: "
                         f"{DEFAULT_DEADLINE:g})")])
    addVersion(p)
    commands = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    asking = [_common(question)]
    status = commands.add_parser("status", parents=asking, help="the tracker's live "
                                 "nodes, with their scheme and address")
    listing = commands.add_parser("list", parents=asking, help="what is on offer: the "
                                  "tracker's index and every live node's stock")
    for asker in (status, listing):
        asker.add_argument("--data-dir", metavar="DIR",
                           help="a node's --data-dir: ask only the tracker whose key "
                           "the node keeps there (known_tracker); without it, or "
                           "--tracker-key, the key the tracker proves first is "
                           "pinned for the command's other questions")
    node = commands.add_parser(
        "node", parents=asking, help="one node's state: its public facts (links, "
        "stock, shared files), or all of it (bag, buys, messages, downloads) to its "
        "operator",
        description="Ask one node its state.  Anyone is told its public facts: "
        "its address, scheme, overlay links, stock and shared files.  Its "
        "operator, who gives the node's --data-dir (and can read its key there), "
        "is told the rest too: every link, its bag, pending buys, last messages, "
        "downloads and copies of its files sold.")
    node.add_argument("address", type=_nodeTarget, metavar="ADDRESS|ID", nargs="?",
                      help="the node's listening address: HOST:PORT, or a "
                      "client endpoint such as tcp:127.0.0.1:45951; or its id, "
                      "or at least 4 characters that start only its id (the "
                      "tracker says where it listens; the node must prove that "
                      "id). Default, with --data-dir: the node whose key is there")
    node.add_argument("--data-dir", metavar="DIR",
                      help="the node's --data-dir: prove its key there, to be "
                      "told the node's whole state as its operator")
    buy = commands.add_parser(
        "buy", formatter_class=DefaultsShown,
        parents=[_common(f"seconds the whole purchase may take (default: "
                         f"{DEFAULT_DEADLINE:g})")],
        help="join the market as a buyer, buy ITEM, and leave",
        description="Join the market as a buyer node (state in memory), buy "
        "--quantity units of ITEM (a shared file: once, and fetch it into "
        "--downloads, with a progress bar on a terminal), stop, and exit 0; "
        "exit 1 with the reason when they are not bought within --timeout "
        "seconds, or the file's download gives up.",
        epilog="It also takes each installed transport's node options, and "
        "its endpoints for --tracker, as twistd bazaar-node does: each "
        "transport's options are listed above, under 'the NAME transport'.")
    buy.add_argument("item", type=_item, metavar="ITEM",
                     help="what to buy")
    buy.add_argument("--quantity", type=_quantity, default=1,
                     metavar="N", help="units to buy, of a counted item: a shared "
                     "file is bought once")
    buy.add_argument("--downloads", type=_downloadsFolder,
                     default=argparse.SUPPRESS,
                     metavar="DIR", help="folder to fetch a shared file into; the "
                     "buy is done once the verified file is there (default: the "
                     "current folder, which only a file bought is written to, and "
                     "not one holding a daemon's key or store)")
    buy.add_argument("--download-give-up", type=_seconds,
                     default=DEFAULT_GIVE_UP, metavar="S",
                     help="seconds a download may go without progress (a verified "
                     "piece, or 10 KiB of pieces over 10 s) before the buy gives up, saying why (--timeout bounds the "
                     "purchase, not a download under way)")
    buy.add_argument("--discovery", type=_scheme, default=argparse.SUPPRESS,
                     metavar="SCHEME",
                     help="the market's discovery scheme (default: the one the "
                     "tracker's live nodes claim by the most address groups' "
                     "votes, a vote a group, or flood in an empty market)")
    buy.add_argument("--listen", type=_listen, default="tcp:0", metavar="ENDPOINT",
                     help="endpoint the buying node listens on for peers (tcp:0, "
                     "any free port; on IPv6 where --tracker is at an IPv6 address)")
    buy.add_argument("--host", type=later("twisted_bazaar.base.address", "parseHost"),
                     default=None,
                     help="host name or address peers should use to reach the "
                     "buying node (default: the address the tracker is reached "
                     "from); a name must resolve")
    buy.add_argument("--no-punch", action="store_true",
                     help="do not hole-punch to a seller behind a relay: a file "
                     "comes through the relay.  By default the buy goes at once over "
                     "whatever way there is, the buying node punches (TCP, and UDP "
                     "with QUIC) in the background, as a node daemon does, and a "
                     "file's remaining pieces move to the punched path when it comes")
    buy.add_argument("--punch-wait", action=_Gone, note="nothing waits for a hole "
                     "punch now: a file starts at once through the relay and moves "
                     "to the punched path when it comes; --no-punch turns punching "
                     "off")
    quic = buy.add_mutually_exclusive_group()
    quic.add_argument("--quic-port", type=_port,
                      default=None, metavar="PORT",
                      help="UDP port to serve QUIC on (0, and by default: a free "
                      "one): a seller the tracker names a QUIC port for is reached "
                      "over QUIC when TCP does not connect, and one at another home "
                      "is punched over UDP: at once while the tracker's check of this "
                      "node's address is out (at home, its first 5 s), else where no "
                      "TCP punch meets (not with --no-punch)")
    quic.add_argument("--no-quic", action="store_true",
                      help="serve no QUIC and dial none: TCP (and relays) only")
    transportOptions(buy, transports)
    view = commands.add_parser(
        "web", parents=asking, help="serve the market's web view, as the operator of "
        "the node whose --data-dir is given",
        description="Serve the web view of the market (the page twistd bazaar-tracker "
        "--web serves) until stopped (Ctrl-C: exit 0).  Given a node's --data-dir, it "
        "asks that node as its operator, and its page shows what only its operator "
        "is told: its bag, pending buys, downloads and recent messages.")
    view.add_argument("--data-dir", metavar="DIR",
                      help="a node's --data-dir: prove its key there, to be told "
                      "that node's whole state (default: a stranger to every node)")
    view.add_argument("--listen", type=_webListen, default=WEB_LISTEN,
                      metavar="ENDPOINT", help="where to serve the page: loopback "
                      "only unless it names an interface= (default: "
                      f"{WEB_LISTEN})")
    view.add_argument("--names", type=_hostNames, default=(),
                      metavar="NAMES", help="host names the page also answers to, "
                      "separated by commas (the names other machines reach it by): "
                      "it answers to loopback's names and the addresses it listens "
                      "on, and refuses any other (DNS rebinding)")
    view.add_argument("--poll", type=_seconds, default=1.0, metavar="S",
                      help="seconds between questions to each node (default: 1)")
    stock = commands.add_parser(
        "restock", parents=[_common(question, tracker=False)],
        help="set a running seller's stock, keeping its ledger (its owner only)",
        description="Set each ITEM's units on the seller node running with "
        "--data-dir DIR (or, with --add, add to them), keeping its ledger: the "
        "change is on disk, and offered, when the command exits 0.  It speaks to "
        "the node over DIR/control.sock, which only the user running the node "
        "can open.")
    stock.add_argument("--data-dir", required=True, metavar="DIR",
                       help="the seller's --data-dir")
    stock.add_argument("--add", action="store_true",
                       help="add N units to each ITEM instead of setting them to N")
    stock.add_argument("stock", nargs="+", type=_stock,
                       metavar="ITEM=N", help="an item and its units (repeatable)")
    return p


#: Options whose value may begin with "-": a key is base64url, so one in
#: 64 begins with it, and argparse would take it for an option.
DASHED_VALUES = ("--tracker-key",)


class _Gone(argparse.Action):
    """An option that is gone: refused, with what to do now (its
    ``note``), rather than as an unknown word."""

    def __init__(self, option_strings, dest, note, **kwargs):
        super().__init__(option_strings, dest, nargs="?", help=argparse.SUPPRESS,
                         **kwargs)
        self.note = note

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string} is gone: {self.note}")


def parse(argv=None):
    """The command line, with the defaults of the options every command
    takes filled in where they were not given."""
    words = sys.argv[1:] if argv is None else argv
    p = parser(_buyTransports(words))
    _dataDirFirst(p, words)
    args = p.parse_args(joinDashedValues(words, DASHED_VALUES))
    command = commandParser(p, args)
    if args.command == "node" and args.address is None and args.data_dir is None:
        command.error("node wants ADDRESS|ID, or --data-dir DIR of a node you run")
    if args.command == "restock":
        if hasattr(args, "tracker") or hasattr(args, "tracker_key"):
            command.error("restock asks no tracker: it speaks to the seller over "
                          "DIR/control.sock; leave out --tracker and --tracker-key")
        named = [item for item, _ in args.stock]
        twice = sorted({item for item in named if named.count(item) > 1})
        if twice:
            command.error(f"restock names {', '.join(twice)} more than once")
    if args.command != "restock":
        _trackersOf(command, args)
    if not hasattr(args, "timeout"):
        args.timeout = TIMEOUTS[args.command]
    if not hasattr(args, "json"):
        args.json = False
    return args


def _buyTransports(words):
    """The transport plugins, for a command line of ``bazaar buy`` (its
    help lists their options); else none (every other command, and
    bazaar's own help, load no plugin)."""
    named = [word for word in words if word in COMMAND_NAMES]
    if named[:1] != ["buy"]:
        return ()
    from twisted_bazaar.daemon.registry import transportPlugins

    return tuple(transportPlugins().values())


def _dataDirFirst(p, words):
    """Refuse ``--data-dir`` before the command's name, saying where it
    goes: argparse took its value for the command (``invalid choice:
    'D'``)."""
    for word in words:
        if word in COMMAND_NAMES or word in ("-h", "--help"):
            return
        if word.partition("=")[0] == "--data-dir":
            named = [each for each in words if each in COMMAND_NAMES]
            command = named[0] if named else "COMMAND"
            p.error(f"--data-dir follows the command's name: bazaar {command} "
                    "--data-dir DIR (an option of node, status, list, web and "
                    "restock, not of every command)")


def _trackersOf(p, args):
    """The trackers to ask (``args.trackers``, each with its key in
    ``args.tracker_keys``), and the first (``args.tracker`` and
    ``args.tracker_key``), which ``node`` and ``buy`` ask alone."""
    args.trackers = getattr(args, "tracker", None) or [_trackerAddress(DEFAULT_TRACKER)]
    for i, tracker in enumerate(args.trackers):
        if any(other.endpoint == tracker.endpoint for other in args.trackers[:i]):
            p.error(f"--tracker {tracker} is named twice")
    keys = getattr(args, "tracker_key", None) or []
    if keys and len(keys) != len(args.trackers):
        p.error(f"--tracker-key: {plural(len(keys), 'key')} for "
                f"{plural(len(args.trackers), 'tracker')}; give one --tracker-key per "
                "--tracker, in the same order, or none")
    if len(args.trackers) > 1 and args.command not in ("status", "list"):
        p.error(f"{args.command} asks one tracker: give --tracker once")
    args.tracker_keys = keys or [None] * len(args.trackers)
    args.tracker, args.tracker_key = args.trackers[0], args.tracker_keys[0]


def main(argv=None, reactor=None):
    """
    Run the command the arguments name (L{twisted_bazaar.cli.bazaar.run},
    imported once they are parsed) and say what came of it: the answer
    (or what a failed buy bought all the same) on stdout, the reason it
    failed on stderr; with --json, one JSON object on stdout in either
    case (a failure's reason in its ``error``).

    @param reactor: the reactor to run on (default: the global one).
    @return: the exit status: 0 answered, 1 failed, 2 for bad arguments
        (the reason on stderr, and with --json in an object's ``error``
        too), 128 + the signal's number when a signal stopped it.
    """
    tolerant()
    words = sys.argv[1:] if argv is None else argv
    args = None
    try:
        # A Ctrl-C as the words are read comes once they are, when it is
        # known whether they name a server (L{SERVERS}).
        with heldSignals():
            args = parse(words)
        from twisted_bazaar.cli import bazaar
    except UsageError as refused:
        _inJson(words, refused.reason)
        return refused.code
    except KeyboardInterrupt:
        # Ctrl-C as the command loads (half a second on a busy machine):
        # one line, as once it runs (L{bazaar.run}), not a traceback; a
        # server's ordinary end, as it is once it listens.
        if args is not None and args.command in SERVERS:
            _inJson(words, UNSERVED)
            return 0
        _inJson(words, "interrupted by SIGINT")
        sys.stderr.write("bazaar: error: interrupted by SIGINT\n")
        return INTERRUPTED
    return bazaar.run(args, reactor, own=argv is None)


#: The status of a command stopped by Ctrl-C (128 + SIGINT, as a shell
#: reports it), as L{twisted_bazaar.cli.bazaar.run}'s.
INTERRUPTED = 130


def _inJson(words, reason):
    """With --json, why the command did not run, as an object's
    ``error`` (or, given an object, that object)."""
    if "--json" in words:
        from twisted_bazaar.base.text import jsonText

        emit(jsonText(reason if isinstance(reason, dict) else {"error": reason}))


if __name__ == "__main__":
    sys.exit(main())
