"""
Options a plugin adds to ``bazaar-node`` (L{PluginOption}), and parsers for
option values, shared by the daemons' flags and the plugins'.

Each parser takes the text a user typed and returns a value, or raises
ValueError with a reason a user can act on.  Each carries a ``coerceDoc``
for --help.
"""

import attr
from zope.interface import Attribute, Interface


class IConfigurablePlugin(Interface):
    """
    What every plugin that adds options to ``bazaar-node`` declares (roles
    and discovery schemes), so twistd can offer, check and build it.
    """

    name = Attribute("The value of --role or --discovery that selects it.")
    description = Attribute("One line for --help.")
    options = Attribute("A sequence of PluginOption it adds.")

    def configure(config):
        """
        Check this plugin's options and turn them into settings for build.

        @param config: option name -> parsed value, for this plugin's
            options (defaults filled in).
        @raise ValueError: with a reason, for a bad combination.
        """

    def build(node, settings):
        """Attach the plugin to ``node`` and return what it built."""


@attr.s(frozen=True, auto_attribs=True)
class PluginOption:
    """
    A command-line option (and TOML config key) a role or scheme plugin
    adds to ``bazaar-node``.

    @ivar parse: turns the flag's text into a value; raises ValueError with
        a reason for bad input.
    @ivar repeatable: the flag may be given many times; the value is a list.
    @ivar flag: the option takes no value: given, it is True; else False.
    @ivar listens: its value is a port the daemon listens on: a start that
        cannot take it fails (exit 1, one line), as one whose --listen
        port is taken does (tests/test_failed_starts.py gives each such
        option a taken port).
    @ivar metavar: what its value looks like in a command's usage
        (``PORT``, ``ID=HOST:PORT``); None: its name in capitals.
    """

    name: str
    help: str
    parse: object = str
    default: object = None
    repeatable: bool = False
    flag: bool = False
    listens: bool = False
    metavar: str = None


def optionDefaults(options):
    """option name -> default, as a plugin's configure() receives them when
    nothing was given (repeatable options: an empty list; flags: False)."""
    return {option.name: [] if option.repeatable else False if option.flag
            else option.default for option in options}


def _number(accepts, wants, doc):
    """A parser for a number for which accepts(value) holds; what it
    wants (e.g. "a fraction from 0 to 1") goes in the error."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")  # no range accepts it
        if not accepts(value):
            raise ValueError(f"wants {wants}, not {text!r}")
        return value

    parse.coerceDoc = doc
    return parse


def _positive(unit, doc):
    """A parser for a positive, finite number of ``unit``."""
    return _number(lambda value: 0 < value < float("inf"),
                   f"a positive number {unit}", doc)


#: Seconds: a positive, finite number.
seconds = _positive("of seconds", "Seconds, a positive number.")
#: Seconds, or 0 for "never": a finite number, 0 or more.
secondsOrNone = _number(lambda value: 0 <= value < float("inf"),
                        "a number of seconds, 0 or more",
                        "Seconds, 0 or more (0: never).")
#: Events per second: a positive, finite number.
rate = _positive("per second", "Per second, a positive number.")
#: A probability or a share: a number from 0 to 1.
fraction = _number(lambda value: 0 <= value <= 1, "a fraction from 0 to 1",
                   "A fraction from 0 to 1.")


def boundedSeconds(low, high):
    """A parser for seconds from low to high."""
    return _number(lambda value: low <= value <= high,
                   f"a number of seconds from {low:g} to {high:g}",
                   f"Seconds, from {low:g} to {high:g}.")


def boundedInt(low, high=None):
    """A parser for a whole number from low to high (no upper bound if
    high is None; none at all if low is None too: a seed)."""
    bound = (f" from {low} to {high}" if high is not None
             else f" at least {low}" if low is not None else "")

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"wants a whole number{bound}, not {text!r}")
        if ((low is not None and value < low)
                or (high is not None and value > high)):
            raise ValueError(f"wants a whole number{bound}, not {value}")
        return value

    parse.coerceDoc = f"A whole number{bound}."
    return parse
