"""
Files in the simulator: how long a bought file takes to arrive, against
the number of sellers holding it, with or without sellers that corrupt
their pieces.

    python -m twisted_bazaar.sim.files [--mib 32] [--bandwidth 10]
        [--sellers 1,2,3,5,10,20] [--seed 1] [--runs 5]
        [--discovery flood|index|superpeer|chord]
        [--json FILE]

Each run is a L{Market} of real nodes (tracker, sellers with C{--share},
one buyer with C{--downloads}) on the in-memory network and the
simulator's heap clock, with a one-way latency of 10 to 50 ms, and the
discovery scheme of C{--discovery} (flood, index, superpeer or chord) set
up as its users run it: for superpeer, L{SUPERPEERS} super-peers start
first, and the sellers and the buyer join as leaves, finding them through
the tracker (as in the main simulator); for chord, the sellers have
L{CHORD_SETTLE} seconds to form a ring and store their records before the
buyer joins (L{SETTLE} for the other schemes).  The bandwidth of each
transfer connection is the sellers' C{--transfer-rate} (on the virtual
clock), so a file of C{--mib} MiB takes C{mib / bandwidth} virtual
seconds from one seller.  The file is real (written once in a scratch
folder, and fetched into another for every run), since the nodes read
and write it as the daemons do.

A corrupting seller shares the file, hashes it, and then has its bytes
changed in place (same size, same modification time): it offers the
right hash and sends wrong bytes, which only the piece hashes can tell.
In the "one in five" series every fifth seller is one.  The time
measured runs from the purchase (the buyer's bag gets the file) to the
file in place; each row also says how many pieces each kind of seller
served.
"""

import json
import os
import random
import shutil
import sys
import tempfile

from twisted_bazaar.base.options import boundedInt, rate
from twisted_bazaar.base.usage import OneLineParser, argumentType
from twisted_bazaar.base.writable import whyNotWritable
from twisted_bazaar.sim.clock import HeapClock
from twisted_bazaar.testing import Market, MemoryNetwork

#: Virtual seconds a run may take before it counts as failed.
MAX_TIME = 600.0
STEP = 0.05
NAME = "file.bin"
#: The discovery schemes this tool knows how to set up.
SCHEMES = ("flood", "index", "superpeer", "chord")
#: Super-peers of a superpeer market, started before everyone else.
SUPERPEERS = 2
#: Virtual seconds the nodes started so far have to join before the next
#: ones start (super-peers before sellers, sellers before the buyer).
SETTLE = 3.0
#: The same for chord, whose sellers must first form a ring and store
#: their records at the file's holder: with the scheme's default periods
#: (1 s), rings of 2, 10 and 20 sellers did both within 15 s (seeds 1 to
#: 10).
CHORD_SETTLE = 20.0


def writeFile(path, size, rng):
    with open(path, "wb") as f:
        left = size
        while left:
            block = rng.randbytes(min(left, 1024 * 1024))
            f.write(block)
            left -= len(block)


def corruptInPlace(path):
    """Change every byte of the file, keeping its size and mtime."""
    stat = os.stat(path)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        for i in range(0, len(data), 4096):
            data[i] ^= 0xFF
        f.seek(0)
        f.write(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def setUpScheme(market, discovery):
    """
    The nodes a scheme needs before sellers and buyers join: L{SUPERPEERS}
    super-peers for superpeer, since a market of leaves alone finds
    nothing (the leaves learn of them from the tracker, as in the main
    simulator); none for the others.
    """
    if discovery == "superpeer":
        for _ in range(SUPERPEERS):
            market.addNode(discovery=discovery, scheme={"super": True})
        market.run(SETTLE)


def runOnce(scratch, sellers, corrupt, size, bandwidth, seed, discovery):
    """One download; a dict of what happened."""
    clean, bad = os.path.join(scratch, "clean"), os.path.join(scratch, "bad")
    # The corrupting sellers' copy starts right (they hash it), every run.
    shutil.copyfile(os.path.join(clean, NAME), os.path.join(bad, NAME))
    downloads = tempfile.mkdtemp(prefix="downloads-", dir=scratch)
    # The heap clock runs each timer at its own time (task.Clock would run
    # them at the end of each step), so rates and latencies are exact.
    market = Market(MemoryNetwork(HeapClock(), random.Random(seed), (0.01, 0.05)),
                    seed=seed)
    rate = int(bandwidth * 1024 * 1024)
    setUpScheme(market, discovery)
    nodes = []
    for index in range(sellers):
        corrupting = corrupt and index % 5 == 4
        node = market.addNode(discovery=discovery, seller={
            "stock": {}, "share": bad if corrupting else clean, "transfer_rate": rate})
        nodes.append((node, corrupting))
    market.run(CHORD_SETTLE if discovery == "chord" else SETTLE)
    if corrupt:
        corruptInPlace(os.path.join(bad, NAME))
    buyer = market.addNode(discovery=discovery,
                           buyer={"wants": [NAME], "downloads": downloads})
    role = market.role(buyer, "buyer")
    clock = market.clock
    began = clock.seconds()
    bought = None
    while clock.seconds() - began < MAX_TIME:
        market.run(STEP)
        if bought is None and role.bag:
            bought = clock.seconds()
        if NAME in role.fetcher.fetched:
            break
    done = role.fetcher.fetched.get(NAME)
    served = done[1] if done else {}
    corrupting = {node.id for node, flag in nodes if flag}
    result = {
        "sellers": sellers,
        "corrupting": len(corrupting),
        "seconds": round(clock.seconds() - bought, 2) if done and bought else None,
        "pieces_from_honest": sum(n for seller, n in served.items()
                                  if seller not in corrupting),
        "pieces_from_corrupting": sum(n for seller, n in served.items()
                                      if seller in corrupting),
        "sellers_used": len(served),
        "avoided": len(set().union(*role.fetcher.bad.values()) if role.fetcher.bad
                       else ()),
    }
    for node in list(market.nodes):
        market.stop(node)
    shutil.rmtree(downloads, ignore_errors=True)
    return result


def series(counts, corrupt, size, bandwidth, seeds, discovery):
    """For each seller count, the runs of every seed, summed up: mean and
    worst seconds, and the totals of the other figures."""
    scratch = tempfile.mkdtemp(prefix="bazaar-sim-files-")
    rows = []
    try:
        for folder in ("clean", "bad"):
            os.makedirs(os.path.join(scratch, folder))
        writeFile(os.path.join(scratch, "clean", NAME), size, random.Random(1))
        for n in counts:
            runs = [runOnce(scratch, n, corrupt, size, bandwidth, seed, discovery)
                    for seed in seeds]
            times = [run["seconds"] for run in runs if run["seconds"] is not None]
            row = {"sellers": n, "corrupting": runs[0]["corrupting"], "runs": len(runs),
                   "completed": len(times),
                   "mean_seconds": round(sum(times) / len(times), 2) if times else None,
                   "max_seconds": max(times) if times else None}
            for key in ("sellers_used", "pieces_from_honest", "pieces_from_corrupting",
                        "avoided"):
                row[key] = sum(run[key] for run in runs)
            rows.append(row)
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def table(rows):
    lines = ["sellers  corrupting  done  mean s  max s  sellers used  "
             "pieces honest/corrupt  avoided"]
    for row in rows:
        pieces = f"{row['pieces_from_honest']}/{row['pieces_from_corrupting']}"
        lines.append(f"{row['sellers']:<8} {row['corrupting']:<11} "
                     f"{row['completed']}/{row['runs']:<3} {row['mean_seconds']!s:<7} "
                     f"{row['max_seconds']!s:<6} {row['sellers_used']:<13} "
                     f"{pieces:<22} {row['avoided']}")
    return "\n".join(lines)


def parseArgs(argv):
    p = OneLineParser(prog="python -m twisted_bazaar.sim.files",
                      description=__doc__.split("\n\n")[0].strip())
    p.add_argument("--mib", type=argumentType(boundedInt(1)), default=32,
                   help="file size in MiB (default 32)")
    p.add_argument("--bandwidth", type=argumentType(rate), default=10.0,
                   help="MiB/s of each transfer connection (default 10)")
    p.add_argument("--sellers", default="1,2,3,5,10,20",
                   help="seller counts to run, comma-separated (default 1,2,3,5,10,20)")
    p.add_argument("--seed", type=argumentType(boundedInt(None)), default=1,
                   help="first random seed (default 1)")
    p.add_argument("--runs", type=argumentType(boundedInt(1)), default=5,
                   help="runs per row, with seeds seed, seed+1, ... (default 5)")
    p.add_argument("--discovery", default="flood", choices=SCHEMES,
                   help=f"discovery scheme: flood, index, superpeer ({SUPERPEERS} "
                        f"super-peers first, the sellers and the buyer their leaves) "
                        f"or chord (the sellers' ring has {CHORD_SETTLE:g} s to "
                        f"settle first); default flood")
    p.add_argument("--json", metavar="FILE",
                   help="write both series to this file (default: none, the tables "
                        "only)")
    args = p.parse_args(argv)
    try:
        args.counts = [int(n) for n in args.sellers.split(",")]
    except ValueError:
        p.error(f"--sellers wants whole numbers separated by commas, not "
                f"{args.sellers!r}")
    if min(args.counts) < 1:
        p.error(f"--sellers wants counts of 1 or more, not {args.sellers!r}")
    # Said before the runs, not as a traceback after them, as bazaar-sim
    # says it.
    why = args.json and whyNotWritable(args.json)
    if why:
        p.error(f"--json: cannot write {args.json}: {why}")
    return args


def main(argv=None):
    args = parseArgs(argv)
    size = args.mib * 1024 * 1024
    seeds = range(args.seed, args.seed + args.runs)
    report = {"mib": args.mib, "bandwidth_mib_s": args.bandwidth, "seeds": list(seeds),
              "discovery": args.discovery}
    report["clean"] = series(args.counts, False, size, args.bandwidth, seeds,
                             args.discovery)
    print("every seller honest:")
    print(table(report["clean"]))
    fives = [n for n in args.counts if n >= 5]
    report["one_in_five_corrupting"] = series(fives, True, size, args.bandwidth,
                                              seeds, args.discovery)
    print("\none seller in five corrupting its pieces:")
    print(table(report["one_in_five_corrupting"]))
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
        except OSError as e:
            sys.stderr.write(f"python -m twisted_bazaar.sim.files: error: --json: cannot "
                             f"write {args.json}: {e.strerror or e}\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
