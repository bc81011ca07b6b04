"""
``bazaar-sim``: one simulated market (L{twisted_bazaar.cli.sim}), or with
``sweep`` first a grid of them on Dask (L{twisted_bazaar.cli.sweep}).
The choice is made here, so that a run does not import the sweep that
imports it.
"""

import sys

from twisted_bazaar.base.console import tolerant
from twisted_bazaar.cli import sim, sweep


def main(argv=None):
    """Run ``bazaar-sim``; ``argv`` None: the program's own arguments."""
    tolerant()
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["sweep"]:
        return sweep.main(given[1:])
    return sim.main(argv)
