"""
What a sweep shows and leaves: its progress line and the summary table
of its runs (CSV and Markdown); its figures are L{sweepfigures}'.
"""

import csv
import json
import os
import time

#: The summary's columns of each run's metrics: (column, read from the
#: --json).
METRICS = [
    ("success_rate", lambda m: m["success_rate"]),
    ("purchases", lambda m: m["purchases"]),
    ("searches", lambda m: m["searches"]),
    ("double_sells", lambda m: m["double_sells"]),
    ("messages_per_search", lambda m: m["messages_per_search"]),
    ("latency_ms_p50", lambda m: m["latency_ms"]["p50"]),
    ("latency_ms_p95", lambda m: m["latency_ms"]["p95"]),
    ("virtual_s", lambda m: m["virtual_s"]),
    ("wall_s", lambda m: m["wall_s"]),
    ("peak_rss_mb", lambda m: m["peak_rss_mb"]),
]


def duration(seconds):
    """Seconds as a person reads them: ``1 h 2 min``, ``3 min 4 s``, ``5 s``."""
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"


class Progress:
    """
    The sweep's progress: runs done, running and failed, and the time
    left at the pace of the runs done so far in this sweep.  On a
    terminal one line, redrawn; elsewhere a line each time a run ends.
    """

    def __init__(self, stream, total, already, clock=time.monotonic):
        self.stream = stream
        self.total = total
        self.already = already
        self.clock = clock
        self.started = clock()
        self.finished = self.failed = self.running = 0
        self.tty = stream.isatty()
        self._last = None

    def line(self):
        done = self.already + self.finished
        left = self.total - done - self.failed
        text = (f"sweep: {done} of {self.total} runs done, {self.running} running, "
                f"{self.failed} failed")
        ended = self.finished + self.failed
        if left and ended:
            pace = (self.clock() - self.started) / ended
            text += f", about {duration(pace * left)} left"
        elif left:
            text += ", time left not known until a run ends"
        return text

    def show(self):
        text = self.line()
        ended = (self.finished, self.failed)
        if self.tty:
            self.stream.write(f"\r{text}\033[K")
        elif ended != self._last:
            self.stream.write(text + "\n")
        self._last = ended
        self.stream.flush()

    def say(self, text):
        """A line of its own (a run that failed), the progress line after it."""
        self.stream.write(("\r\033[K" if self.tty else "") + text + "\n")
        self.show()

    def finish(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def readResult(path):
    """A run's --json, or None if it cannot be read as one."""
    try:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        for _, read in METRICS:
            read(result)
        return result
    except (OSError, ValueError, KeyError, TypeError):
        return None


def rows(runs, axes):
    """
    The summary's header and rows: for each run (name, varied values,
    result or None, error or None), its name, values and metrics.
    """
    header = ["run", *(flag.lstrip("-") for flag in axes),
              *(column for column, _ in METRICS), "error"]
    table = []
    for run_name, varied, result, error in runs:
        values = dict(varied)
        cells = [run_name, *(values.get(flag, "") for flag in axes)]
        if result is not None:
            cells += [read(result) for _, read in METRICS] + [""]
        else:
            cells += [""] * len(METRICS) + [error or "not run"]
        table.append(cells)
    return header, table


def _writeWhole(path, write):
    """write(file) at path.part, then renamed to path; no part left if it fails."""
    part = path + ".part"
    try:
        with open(part, "w", encoding="utf-8", newline="") as f:
            write(f)
        os.replace(part, path)
    except BaseException:
        try:
            os.unlink(part)
        except OSError:
            pass
        raise


def writeSummary(folder, name, header, table):
    """
    name.csv and name.md in folder, each written whole (a ``.part``
    renamed): a write that fails (a full disk) leaves an earlier summary
    as it was, not an empty file; their paths.
    """
    paths = os.path.join(folder, name + ".csv"), os.path.join(folder, name + ".md")

    def writeCSV(f):
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(table)

    def writeMarkdown(f):
        for cells in [header, ["---"] * len(header), *table]:
            f.write("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |\n")

    for path, write in zip(paths, (writeCSV, writeMarkdown)):
        _writeWhole(path, write)
    return paths
