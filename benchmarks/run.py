"""
``make bench [QUICK=1]``: run every benchmark but the opt-in ones, print a
table of the figures against their goals, and write
benchmarks/results/latest.json.

    python -m benchmarks.run [--quick] [--only codec,relay,...] [--out FILE]

QUICK (the flag, or QUICK=1 in the environment) takes fewer repeats, a
shorter idle stretch, skips the simulator's scale series, and runs its
goal runs (``simgoals``, ``simattack``, ``simmillion``) with small N.
The benchmarks of OPT_IN run only when ``--only`` names them.  A
benchmark that fails is reported as such and the others still run; the
exit status is then 1.
"""

import datetime
import json
import os
import sys
import time
import traceback
from pathlib import Path

from benchmarks import (
    accountfull,
    aria2,
    bulk,
    codec,
    flood,
    handshakes,
    idle,
    indexmem,
    purchase,
    quic,
    relay,
    simattack,
    simgoals,
    simmillion,
    simscale,
    transfer,
    webview,
)
from benchmarks.harness import Figure, machine, summary
from twisted_bazaar.base.usage import OneLineParser

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
#: A one-minute load average above this at the start earns a warning.
BUSY_LOAD = 0.5


def _sim(quick, report):
    """The scale series (full mode only); its 10,000-node row gives the
    two sim figures."""
    rows = [] if quick else simscale.scaleSeries()
    report["sim_scale"] = rows
    return simscale.figures(rows)


#: name -> (figures it yields, how to run it).
BENCHMARKS = {
    "codec": (["codec_ratio"], lambda quick, report: codec.run(quick)),
    "relay": (["relay_ratio"], lambda quick, report: relay.run(quick)),
    "handshakes": (["handshakes_per_s", "handshakes_in_flight_per_s"], lambda quick, report: handshakes.run(quick)),
    "flood": (["flood_cpu_share"], lambda quick, report: flood.run(quick)),
    "purchase": (["purchase_ratio"], lambda quick, report: purchase.run(quick)),
    "idle": (["idle_cpu_percent"], lambda quick, report: idle.run(quick)),
    "transfer": (["transfer_ratio"], lambda quick, report: transfer.run(quick)),
    "quic": (["quic_purchase_ratio", "quic_transfer_ratio", "quic_mtu_transfer_ratio"],
             lambda quick, report: quic.run(quick)),
    "bulk": (["bulk_10k_one_seller_s", "bulk_10k_five_sellers_s"],
             lambda quick, report: bulk.run(quick)),
    "aria2": (["transfer_vs_aria2"], lambda quick, report: aria2.run(quick)),
    "indexmem": (["index_bytes_per_entry"], lambda quick, report: indexmem.run(quick)),
    "account": ([accountfull.NAME], lambda quick, report: accountfull.run(quick)),
    "webview": ([webview.NAME], lambda quick, report: webview.run(quick)),
    "sim": (["sim_10k_wall_s", "sim_10k_rss_mb"], _sim),
    "simgoals": (simgoals.names(), simgoals.run),
    "simattack": (simattack.names(), simattack.run),
    "simmillion": (simmillion.names(), simmillion.run),
}
#: Run only when --only names them: simmillion's runs take 15 to 20
#: minutes and 10 to 14 GiB each (those measured, docs/simulator.md).
OPT_IN = ("simmillion",)
#: The report's lists of simulator runs, each printed under the table.
SIM_RUNS = ("sim_goals", "sim_attack", "sim_million")


def _load():
    return [round(each, 2) for each in os.getloadavg()]


def quickFromEnvironment():
    return os.environ.get("QUICK", "").strip() not in ("", "0")


def parseArgs(argv):
    p = OneLineParser(prog="python -m benchmarks.run",
                      description=summary(__doc__))
    p.add_argument("--quick", action="store_true", default=quickFromEnvironment(),
                   help="fewer repeats, the simulator with small N only (also QUICK=1)")
    p.add_argument("--only", default=",".join(name for name in BENCHMARKS
                                              if name not in OPT_IN),
                   help=f"comma-separated subset of: {', '.join(BENCHMARKS)} "
                        f"(default: all but the opt-in, run only when named "
                        f"here: {', '.join(OPT_IN)})")
    p.add_argument("--out", type=Path, default=RESULTS,
                   help="where to write the JSON (default: %(default)s)")
    args = p.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def runAll(names, quick, report, say):
    figures = []
    for name in names:
        expected, bench = BENCHMARKS[name]
        say(f"running {name} ...")
        began = time.monotonic()
        try:
            figures += bench(quick, report)
        except Exception as e:
            traceback.print_exc()
            report["errors"][name] = f"{type(e).__name__}: {e}"
            figures += [Figure(figure, note=f"FAILED: {type(e).__name__}: {e}"[:200])
                        for figure in expected]
        report["seconds"][name] = round(time.monotonic() - began, 1)
    return figures


def _value(figure):
    if figure.value is None:
        return "-"
    return f"{figure.value:,.3f}".rstrip("0").rstrip(".") + (
        f" {figure.unit}" if figure.unit not in ("", "x") else "")


def table(figures):
    met = {True: "yes", False: "NO", None: "-"}
    rows = [("figure", "value", "goal", "meets", "measured")]
    rows += [(f.name, _value(f), f.goalText(), met[f.met], f.note) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths))
                     + "  " + row[4] for row in rows)


def scaleTable(rows):
    lines = ["nodes    edges    wall s   peak RSS MB  messages/search  success"]
    for row in rows:
        lines.append(f"{row['nodes']:<8} {row['edges']:<8} {row['wall_s']:<8} "
                     f"{row['peak_rss_mb']:<12} {row['messages_per_search']:<16} "
                     f"{row['success_rate']}")
    return "\n".join(lines)


def main(argv=None):
    args = parseArgs(argv)
    began = time.monotonic()
    report = {"quick": args.quick,
              "started": datetime.datetime.now(datetime.timezone.utc)
              .isoformat(timespec="seconds"),
              "machine": machine(), "seconds": {}, "errors": {},
              # Other work on the machine skews every figure; this shows how much.
              "load_average": {"start": _load()}}

    def say(text):
        print(text, file=sys.stderr, flush=True)

    info = report["machine"]
    say(f"benchmarks{' (QUICK)' if args.quick else ''} on {info['nproc']} x "
        f"{info['cpu_model']}, Python {info['python']}, Twisted {info['twisted']}")
    load = report["load_average"]["start"][0]
    if load > BUSY_LOAD:
        say(f"note: load average {load:.2f}: something else is running, so the "
            "figures will be noisy")
    figures = runAll(args.only, args.quick, report, say)
    report["figures"] = {f.name: f.asJSON() for f in figures}
    report["seconds"]["total"] = round(time.monotonic() - began, 1)
    report["load_average"]["end"] = _load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(figures))
    if report.get("sim_scale"):
        print()
        print(scaleTable(report["sim_scale"]))
    for row in (row for key in SIM_RUNS for row in report.get(key, [])):
        print(f"{row['figure']}: {' '.join(row['command'])}")
    print(f"\n{report['seconds']['total']:g} s in all; wrote {args.out}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
