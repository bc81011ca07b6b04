"""
``bazaar-sim``: one simulated market (L{twisted_bazaar.cli.sim}), or with
``sweep`` first a grid of them on Dask (L{twisted_bazaar.cli.sweep}).
The choice is made here, so that a run does not import the sweep that
imports it.
"""

import sys

from twisted_bazaar.base.console import tolerant
from twisted_bazaar.daemon.pluginfault import PluginFault


#: The status of a run stopped by Ctrl-C (128 + SIGINT, as a shell
#: reports it), as ``bazaar``'s.
INTERRUPTED = 130


def main(argv=None):
    """Run ``bazaar-sim``; ``argv`` None: the program's own arguments.

    Ctrl-C ends it in one line, not the traceback of wherever the run
    was: a run's ``--json`` is put in place only once it ends, so none
    is left half-written (L{twisted_bazaar.cli.sim.main}).
    """
    tolerant()
    given = sys.argv[1:] if argv is None else argv
    try:
        # Imported here: the simulator looks its discovery schemes up as it
        # is imported (its --discovery choices), and a scheme plugin that
        # cannot be used (two of one name) is said in one line.
        from twisted_bazaar.cli import sim, sweep

        if given[:1] == ["sweep"]:
            return sweep.main(given[1:])
        return sim.main(argv)
    except PluginFault as fault:
        sys.stderr.write(f"bazaar-sim: error: {fault}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\nbazaar-sim: stopped by SIGINT (Ctrl-C); a run writes "
                         "its --json only once it ends\n")
        return INTERRUPTED
