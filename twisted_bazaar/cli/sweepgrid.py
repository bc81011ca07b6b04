"""
The grid of a sweep: a single run's flags, a comma list where a run takes
one value, made into one argument list a run for every combination, each
checked as ``bazaar-sim`` checks a run before it starts.
"""

import itertools

from twisted_bazaar.cli import chordsim, sim, simshards

#: Flags of a single run that a sweep sets itself, or has no use for.
REFUSED = {
    "json": "--json: a sweep writes each run's --json in --out",
    "plot": "--plot FILE: a sweep's --plot draws its figures in --out",
    "quiet": "--quiet: a sweep's runs are quiet already",
    "experiment": "--experiment: a sweep runs markets; run a chord experiment "
                  "with bazaar-sim alone (its --sizes, --fractions, --rates take lists)",
}


class Point:
    """One run of the grid: its arguments, the values it varies, its flags."""

    def __init__(self, argv, varied, args):
        self.argv = argv
        self.varied = varied
        self.args = args

    def label(self):
        """The values this run varies, as flags (``--nodes 30 --seed 2``)."""
        return " ".join(f"{flag} {value}" for flag, value in self.varied) or "the run"


def optionAction(parser, name):
    """The action of an option given by its whole name, as bazaar-sim
    takes it (no prefix), or None."""
    return parser._option_string_actions.get(name)


def _longName(action):
    return next(option for option in action.option_strings if option.startswith("--"))


def slots(argv, parser):
    """
    argv's tokens, each as the list of its alternatives, and the flag each
    list of several values belongs to: ([[token, ...], ...], {slot: flag}).

    @raise ValueError: naming the flag, for a list with an empty value.
    """
    result, flags = [], {}
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        action = optionAction(parser, token.partition("=")[0]) if token.startswith("--") else None
        if action is None or action.nargs == 0 or i + 1 >= len(tokens) and "=" not in token:
            result.append([token])
            i += 1
            continue
        flag = _longName(action)
        if "=" in token:
            name, _, value = token.partition("=")
            prefix, start = f"{name}=", i
        else:
            result.append([token])
            prefix, start, value = "", i + 1, tokens[i + 1]
        values = value.split(",")
        if len(values) > 1 and "" in values:
            raise ValueError(f"{flag} {value}: a list with an empty value")
        if len(values) > 1:
            flags[len(result)] = flag
        result.append([prefix + v for v in values])
        i = start + 1
    return result, flags


def runFlags(argv):
    """
    A run's flags parsed and checked as ``bazaar-sim`` checks them before
    a run starts.

    @raise ValueError: with the reason ``bazaar-sim`` would give.
    """
    p = sim.parser()

    def refuse(message):
        raise ValueError(message)

    p.error = refuse
    args = p.parse_args(argv)
    for dest, reason in REFUSED.items():
        if getattr(args, dest):
            raise ValueError(reason)
    scheme_options = sim.allSchemeOptions(args)
    chordsim.refuseDaemonOnly(scheme_options)
    config = sim.simulation(args, scheme_options, p).config
    try:
        # A sharded run's own refusals (a cold start, --shard-engine without
        # --shards) failed each run after the sweep had started.
        simshards.check(args, config)
    except simshards.Refused as reason:
        raise ValueError(str(reason)) from None
    return args


def grid(argv):
    """
    Every run of the grid argv describes, checked.

    @raise ValueError: naming the run and the flag, for the first run a
        single ``bazaar-sim`` would refuse (a flag the sweep refuses for
        every run, L{REFUSED}, alone).
    """
    alternatives, flags = slots(argv, sim.parser())
    points = []
    for choice in itertools.product(*(range(len(a)) for a in alternatives)):
        run = [a[c] for a, c in zip(alternatives, choice)]
        varied = [(flag, run[slot].partition("=")[2] if run[slot].startswith("--")
                   else run[slot]) for slot, flag in flags.items()]
        point = Point(run, varied, None)
        try:
            point.args = runFlags(run)
        except ValueError as reason:
            if str(reason) in REFUSED.values():
                raise  # the sweep's own flag, whichever run it met first
            raise ValueError(f"{point.label()}: {reason}") from None
        points.append(point)
    return points


def _shown(value):
    """A flag's value as a run's name shows it."""
    if isinstance(value, (list, tuple)):
        return "+".join(_shown(v) for v in value) or "none"
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def name(point, template=None):
    """
    The file name (without ``.json``) of a run: template formatted with
    its flags (``{discovery}-{nodes}``), or its varied values.

    @raise ValueError: naming --name, for a template that names no flag.
    """
    if template is None:
        text = "_".join(f"{flag.lstrip('-')}-{value}" for flag, value in point.varied)
        text = text or "run"
    else:
        values = {key: _shown(value) for key, value in vars(point.args).items()}
        try:
            text = template.format(**values)
        except KeyError as missing:
            raise ValueError(f"--name {template}: no flag {missing.args[0]!r} (a run's "
                             "flags by their long names, - as _: {nodes}, "
                             "{discovery}, {adversaries}...)") from None
        except (ValueError, IndexError) as reason:
            raise ValueError(f"--name {template}: {reason}") from None
    return "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in text)


def names(points, template=None):
    """
    Each run's name, in the grid's order.

    @raise ValueError: for two runs of one name.
    """
    result = [name(point, template) for point in points]
    seen = {}
    for point, text in zip(points, result):
        if text in seen:
            raise ValueError(f"two runs would be {text}.json ({seen[text].label()}, and "
                             f"{point.label()}): "
                             + ("--name names too few flags" if template else
                                "a list gives the same value twice"))
        seen[text] = point
    return result
