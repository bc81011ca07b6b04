"""
Downloads in a user's words: sizes, one line per download (``bazaar
node``), and ``bazaar buy``'s progress: a bar redrawn in place on a
terminal, plain lines now and then when its output is not one.

Plain logic: each function takes a download as a node's state says it
(a dict of L{twisted_bazaar.status.messages.DOWNLOAD_KEYS}).
"""

from twisted_bazaar.base.text import shown

#: Width of the bar, in characters.
BAR = 24
#: Seconds between plain progress lines (output that is not a terminal).
PLAIN_INTERVAL = 5.0


def byteSize(n):
    """``n`` bytes, in the largest binary unit it fills: ``1.5 MiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _percent(entry):
    return 100 * entry["have"] // entry["size"] if entry["size"] else 100


def eta(entry):
    """Seconds left at the current rate, in words; ``?`` with no rate."""
    if not entry["rate"]:
        return "?"
    left = int((entry["size"] - entry["have"]) / entry["rate"] + 0.5)
    minutes, secs = divmod(left, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def _sellers(entry):
    n = entry["sellers"]
    return f"{n} seller{'s' if n != 1 else ''}"


def downloadLine(entry):
    """One download in one line: name, bytes, rate, sellers, state and why."""
    line = (f"{entry['name']}  {byteSize(entry['have'])} of "
            f"{byteSize(entry['size'])} ({_percent(entry)}%)  "
            f"{byteSize(entry['rate'])}/s  {_sellers(entry)}  {entry['state']}")
    return line + (f": {entry['why']}" if entry["why"] else "")


def progressBar(entry):
    """A download as a bar, for a terminal line redrawn in place."""
    filled = BAR * entry["have"] // entry["size"] if entry["size"] else BAR
    bar = "#" * filled + "-" * (BAR - filled)
    line = (f"{entry['name']} [{bar}] {_percent(entry):3}% "
            f"{byteSize(entry['have'])}/{byteSize(entry['size'])} "
            f"{byteSize(entry['rate'])}/s ETA {eta(entry)} {_sellers(entry)}")
    if entry["state"] != "fetching" or entry["why"]:
        # A download fetching says why no piece comes too: it waits for a
        # direct path to a seller (its relayed connection held), say.
        line += f" ({entry['state']}{': ' + entry['why'] if entry['why'] else ''})"
    return line


def progressLine(entry):
    """A download as a plain line, for output that is not a terminal."""
    return (f"{entry['name']}: {byteSize(entry['have'])} of {byteSize(entry['size'])} "
            f"({_percent(entry)}%), {byteSize(entry['rate'])}/s, ETA {eta(entry)}, "
            f"{_sellers(entry)}, {entry['state']}"
            + (f": {entry['why']}" if entry["why"] else ""))


class Progress:
    """
    Shows the downloads of a one-shot buy as they go: call L{show} with
    their states now and then (every second or so), and L{done} at the end.

    @param write: writes text to the output.
    @param terminal: whether the output is a terminal (a bar redrawn in
        place) or not (a plain line every PLAIN_INTERVAL seconds).
    @param columns: gives the terminal's width, which the bar is cut to
        (None: not cut).
    """

    def __init__(self, write, terminal, columns=None):
        self.write = write
        self.terminal = terminal
        self.columns = columns
        self._width = 0
        self._lastPlain = None
        self._shown = []

    def show(self, downloads, now):
        if not downloads:
            return
        if self.terminal:
            self._shown = list(downloads)
            self._redraw(self._shown)
        elif self._lastPlain is None or now - self._lastPlain >= PLAIN_INTERVAL:
            self._lastPlain = now
            for entry in downloads:
                self.write(shown(progressLine(entry)) + "\n")

    def _redraw(self, downloads):
        # A download's why may quote a seller: shown, as the line is
        # written raw.
        # Cut to the terminal, less a column: a longer line wraps, and the
        # next carriage return goes back to the start of its last row only.
        most = None if self.columns is None else max(self.columns() - 1, 1)
        line = shown("  ".join(progressBar(entry) for entry in downloads), most)
        self.write("\r" + line.ljust(min(self._width, most or self._width)))
        self._width = len(line)

    def done(self, finished=()):
        """
        End the bar's line, so what follows starts on a line of its own.

        @param finished: names of the downloads that completed since the
            bar was last drawn: drawn whole first, so the last bar a user
            sees of a file fetched says 100%, not where the last redraw
            happened to catch it.
        """
        if self.terminal and self._width:
            finished = set(finished)
            if any(entry["name"] in finished for entry in self._shown):
                self._redraw([dict(entry, have=entry["size"], state="done", why="")
                              if entry["name"] in finished else entry
                              for entry in self._shown])
            self.write("\n")
            self._width = 0
            self._shown = []
