"""
Where ``bazaar-sim`` puts what a run found (``--json``, ``--plot``).

Both are checked before the run, so that a run of an hour does not end
in a traceback about its output; both are written whole (a ``.part``
beside the file, renamed), so a write that fails leaves an earlier file
as it was.  A write that still fails once the run has ended (a full
disk) is said in one line, and the metrics go to stdout instead: the
run is not lost.
"""

import json
import os
import sys

from twisted_bazaar.base.writable import PART, whyNotWritable


class OutputError(Exception):
    """An output that cannot be written; the message is one line."""


def plotFormat(path):
    """
    The image format matplotlib writes for --plot's name, from its suffix.

    @raise OutputError: for a name without the suffix of a format
        matplotlib writes (it would add ``.png`` to a name without one,
        and refuse any other only after the run).
    """
    from matplotlib.figure import Figure

    known = Figure().canvas.get_supported_filetypes()
    suffix = os.path.splitext(path)[1][1:].lower()
    if suffix not in known:
        raise OutputError(f"--plot {path}: name an image file ending in one of "
                          f"{', '.join('.' + kind for kind in sorted(known))}")
    return suffix


def checkWritable(flag, path):
    """
    @raise OutputError: unless a file can be written at path (as its
        ``.part``, removed at once).
    """
    why = whyNotWritable(path)
    if why is not None:
        raise OutputError(f"{flag}: cannot write {path}: {why}")


def check(args):
    """
    Check the run's --json and --plot before it starts.

    @return: the --plot's format, or None.
    @raise OutputError: for either that cannot be written.
    """
    fmt = None
    if args.plot:
        fmt = plotFormat(args.plot)
        checkWritable("--plot", args.plot)
    if args.json:
        checkWritable("--json", args.json)
    return fmt


def writeWhole(flag, path, write):
    """
    write(part) writes the file at part, which is then put at path.

    @raise OutputError: if either fails; no ``.part`` is left.
    """
    part = path + PART
    try:
        write(part)
        os.replace(part, path)
    except OSError as e:
        try:
            os.unlink(part)
        except OSError:
            pass
        raise OutputError(f"{flag}: cannot write {path}: {e.strerror or e}") from None


def save(args, result, draw, stdout=None, stderr=None):
    """
    Write result as --json and draw(target, format) as --plot, each whole.
    A --json that cannot be written is said on stderr and the result
    written on stdout instead; a --plot that cannot, said on stderr.

    @return: 0, or 1 if either failed.
    """
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    status = 0
    if args.json:
        def writeJSON(part):
            with open(part, "w", encoding="utf-8") as out:
                json.dump(result, out, indent=2, sort_keys=True)
                out.write("\n")

        try:
            writeWhole("--json", args.json, writeJSON)
        except OutputError as e:
            stderr.write(f"bazaar-sim: error: {e}; the metrics follow on stdout\n")
            json.dump(result, stdout, indent=2, sort_keys=True)
            stdout.write("\n")
            status = 1
    if args.plot:
        fmt = plotFormat(args.plot)
        try:
            writeWhole("--plot", args.plot, lambda part: draw(part, fmt))
        except OutputError as e:
            stderr.write(f"bazaar-sim: error: {e}\n")
            status = 1
    return status
