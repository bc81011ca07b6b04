"""
Every limit a peer can fill, declared once, beside the module that owns
it: its name, its default, the unit it counts, the share one address
group (or one key) may hold, and the option that sets it.

go-libp2p's resource manager is the model: each pool a stranger can make
a process hold is one entry here, so an operator can see every pool (and
what each holds, through the accounts built from them), a test can walk
the registry and try each pool as a stranger, and a pool nobody declared
is a bug a test finds, not a table nobody bounded.

A declaration is data and nothing else; the owner builds its account (or
rate bucket) from it (L{twisted_bazaar.net.account.Account.of}), and the
options that change a default name the limit they change.  The registry
also keeps, weakly, the accounts built from each limit: what a process
holds against its limits, for the operator's view and the metrics.
"""

import itertools
import weakref

import attr


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Limit:
    """
    One pool a peer can fill, or one rate it can spend.

    @ivar name: dotted, owner first (C{"relay.circuits"}): unique.
    @ivar default: the pool's size (or the rate, for a rate) when no
        option changes it; None: unbounded unless an option says.
    @ivar unit: what it counts (C{"circuits"}, C{"bytes"},
        C{"messages/s"}).
    @ivar doc: one line: what a peer holds in it, and why it is bounded.
    @ivar group: most one address group (an IPv4 /16, an IPv6 /32) may
        hold, or for a rate counted per group, the rate of one group; None:
        only max-min fairness among groups bounds it.
    @ivar key: most one proven key may hold; None: no bound of its own
        (keys are free: a bound per key never replaces one per group).
    @ivar flag: the option that sets C{default} (C{"--relay-circuits"}),
        or None.
    @ivar owner: the module that declared it.
    """

    name: str
    default: object
    unit: str
    doc: str
    group: object = None
    key: object = None
    flag: object = None
    owner: str = ""


class Registry:
    """The declared limits, by name."""

    def __init__(self):
        self._limits = {}
        #: name -> the accounts built from it that are still alive, by the
        #: order they were built in.
        self._built = {}
        self._count = itertools.count()

    def declare(self, name, default, unit, doc, group=None, key=None, flag=None,
                owner=""):
        """
        Declare a limit once: the same name declared again with other
        facts is a programming error (two owners of one pool, or two
        defaults for one limit), raised at import.
        """
        limit = Limit(name, default, unit, doc, group, key, flag, owner)
        known = self._limits.setdefault(name, limit)
        if known != limit:
            raise ValueError(f"limit {name!r} declared twice: by {known.owner} "
                             f"and by {owner}")
        return known

    def declares(self, limit):
        """Whether ``limit`` is the one declared here under its name."""
        return isinstance(limit, Limit) and self._limits.get(limit.name) is limit

    def built(self, account):
        """An account of one of these limits was built (see L{accounts})."""
        built = self._built.setdefault(account.limit.name, weakref.WeakValueDictionary())
        built[next(self._count)] = account

    def accounts(self, name):
        """
        The accounts of the limit ``name`` alive in this process, oldest
        first: what the operator's view and the metrics show against the
        limit (a daemon runs one node, so these are its accounts).
        """
        alive = self._built.get(name)
        return list(alive.values()) if alive is not None else []

    def get(self, name, default=None):
        """The limit declared as ``name``, or ``default``."""
        return self._limits.get(name, default)

    def __getitem__(self, name):
        return self._limits[name]

    def __contains__(self, name):
        return name in self._limits

    def __iter__(self):
        """The limits, by name."""
        return iter(sorted(self._limits.values(), key=lambda limit: limit.name))

    def __len__(self):
        return len(self._limits)


#: The process's one registry.
LIMITS = Registry()
declare = LIMITS.declare
