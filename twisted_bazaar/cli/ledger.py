"""
``bazaar-ledger [--json] DIR``: print a node's state from its data dir.

It opens the database read-only, so it works while the node runs and
never locks the node out.
"""

import json
import os
import sys
from datetime import datetime

from twisted_bazaar.base.text import jsonText, shown
from twisted_bazaar.base.words import plural
from twisted_bazaar.base.console import tolerant
from twisted_bazaar.cli.common import addVersion, emit
from twisted_bazaar.base.usage import OneLineParser, UsageError


def parser():
    p = OneLineParser(
        prog="bazaar-ledger",
        description="Print a twisted-bazaar node's state from its --data-dir: "
        "node id, inventory, sales (seller; copies of shared files sold over "
        "15 minutes ago as a count by file), bag and pending buys (buyer: "
        "buys sent and not answered, which the node resends while it runs).")
    p.add_argument("directory", metavar="DIR", help="the node's --data-dir (or the "
                   "bazaar.sqlite file in it)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: node_id, inventory, sales, copies "
                   "(file -> copies sold and no longer among the sales), bag, "
                   "pending")
    addVersion(p)
    return p


def _when(seconds):
    """A time as local date and time with its offset from UTC
    (``2026-11-27 13:43:14 +01:00``), so that operators in two zones read
    the same moment from it; one no calendar holds (a damaged ledger's
    1e300, NaN) as the seconds it is."""
    try:
        moment = datetime.fromtimestamp(seconds).astimezone()
    except (OverflowError, ValueError, OSError):
        return f"{seconds!r} s"
    return f"{moment:%Y-%m-%d %H:%M:%S} {_offset(moment.utcoffset().total_seconds())}"


def _offset(seconds):
    """``+01:00``, ``-05:00``, ``+05:30``; an old zone's odd seconds
    (``+00:09:21``) kept."""
    sign = "-" if seconds < 0 else "+"
    minutes, second = divmod(int(abs(seconds)), 60)
    shown = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return shown + (f":{second:02d}" if second else "")


def _times(line):
    """`` x5`` for a buy of 5 units; nothing for one."""
    return f" x{line['units']}" if line["units"] != 1 else ""


def _counted(entries, what):
    """The units of a ledger's entries, as the buyer's log (``all wants
    met: 3 in the bag``) and the node's start (``bag: 3 (apple x2, fig
    x1)``) count them, and how many entries hold them when that differs
    (``3 (2 purchases)``)."""
    units = sum(entry["units"] for entry in entries)
    return f"{units}" if units == len(entries) else \
        f"{units} ({plural(len(entries), what)})"


def render(state):
    """The human-readable form, each item's name L{shown}: a name is a
    peer's text (a seller's file, an item a buyer asked for), and one
    holding escape sequences or a newline would be obeyed by the terminal
    or read as a line of the ledger's own."""
    lines = [f"node id: {state['node_id'] if state['node_id'] is not None else '-'}"]
    inventory = state["inventory"]
    lines.append("inventory: " + (", ".join(f"{shown(item)} {units}" for item, units
                                            in inventory.items()) or "-"))
    lines.append(f"sales: {_counted(state['sales'], 'sale')}")
    for sale in state["sales"]:
        lines.append(f"  {_when(sale['time'])}  buy {sale['buy_id']}  {shown(sale['item'])}"
                     f"{_times(sale)} to {sale['buyer']}")
    if state["copies"]:
        lines.append("copies sold before, counted: " + ", ".join(
            f"{shown(item)} {sold}" for item, sold in state["copies"].items()))
    lines.append(f"bag: {_counted(state['bag'], 'purchase')}")
    for purchase in state["bag"]:
        lines.append(f"  {_when(purchase['time'])}  buy {purchase['buy_id']}  "
                     f"{shown(purchase['item'])}{_times(purchase)} from "
                     f"{purchase['seller']}")
    lines.append(f"pending buys: {len(state['pending'])}")
    for buy in state["pending"]:
        lines.append(f"  buy {buy['buy_id']}  {shown(buy['item'])}{_times(buy)} from "
                     f"{buy['seller']}  not answered yet, {_until(buy['expires'])}")
    return "\n".join(lines)


def _until(expires):
    """How long a pending buy's seller may still sell it."""
    if expires is None:
        return "recorded before buys expired: its seller sells it no more"
    return f"its seller may sell it until {_when(expires)}"


def main(argv=None):
    """
    Print the state; exit 0.  A failure is one line on stderr, with
    --json also the object ``{"error": REASON}`` on stdout, as the
    ``bazaar`` commands do: exit 2 for bad arguments (and a line ``see
    bazaar-ledger --help``), 1 for a data dir it cannot read.
    """
    tolerant()
    words = sys.argv[1:] if argv is None else argv
    try:
        args = parser().parse_args(words)
    except UsageError as refused:
        if "--json" in words:
            emit(jsonText({"error": refused.reason}))
        return refused.code
    # Imported once the line is parsed: the store brings Twisted, which
    # --help needs not.
    from twisted_bazaar.store import StoreError, readState

    try:
        state = readState(args.directory)
    except StoreError as e:
        why = str(e)
        from twisted_bazaar.daemon.tracker import TRACKER_KEY_FILE, isTrackersDir

        if os.path.isdir(args.directory) and isTrackersDir(args.directory):
            why += (f": it is a tracker's state directory ({TRACKER_KEY_FILE}); give a "
                    "node's --data-dir")
        sys.stderr.write(f"bazaar-ledger: error: {why}\n")
        if args.json:
            emit(jsonText({"error": why}))
        return 1
    if args.json:
        emit(json.dumps(state, sort_keys=False))
    else:
        emit(render(state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
