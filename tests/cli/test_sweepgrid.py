"""
Tests for L{twisted_bazaar.cli.sweepgrid}: the runs a sweep's flags make,
each checked as ``bazaar-sim`` checks a run, and their names.
"""

import pytest

from twisted_bazaar.cli import sweepgrid
from twisted_bazaar.cli.sweepgrid import grid, names

TINY = ["--searches", "3", "--start", "warm", "--crypto", "fast"]


def argvs(argv):
    return [point.argv for point in grid(argv)]


def test_everyCombination():
    """Every combination of the lists is a run, in the order of the
    flags; a flag of one value is in every run."""
    assert argvs(["--nodes", "30,40", "--seed", "1,2", "--items", "2"]) == [
        ["--nodes", "30", "--seed", "1", "--items", "2"],
        ["--nodes", "30", "--seed", "2", "--items", "2"],
        ["--nodes", "40", "--seed", "1", "--items", "2"],
        ["--nodes", "40", "--seed", "2", "--items", "2"],
    ]


def test_formsOfAFlag():
    """--flag=a,b is a list too; a flag that takes no value is left as it
    is."""
    attack = ["--adversaries", "0", "--adversary", "withhold"]
    points = grid(["--nodes=30,40", "--no-baseline", "--discovery", "flood,index",
                   *attack])
    assert [p.argv for p in points] == [
        ["--nodes=30", "--no-baseline", "--discovery", "flood", *attack],
        ["--nodes=30", "--no-baseline", "--discovery", "index", *attack],
        ["--nodes=40", "--no-baseline", "--discovery", "flood", *attack],
        ["--nodes=40", "--no-baseline", "--discovery", "index", *attack],
    ]
    assert points[1].varied == [("--nodes", "30"), ("--discovery", "index")]
    assert points[1].args.discovery == "index"


def test_aPrefixIsNoFlag():
    """A prefix of a flag is refused, as bazaar-sim refuses it, saying
    what it may have meant."""
    with pytest.raises(ValueError) as caught:
        grid(["--nodes", "30", "--disc", "flood,index"])
    assert str(caught.value).endswith(
        "unrecognized arguments: --disc flood,index (did you mean --discovery?)")


def test_repeatedFlagEachALists():
    """Each --adversary of a run is a list of its own: one kind from
    each, the kinds of a run taken in turn as bazaar-sim takes them."""
    points = grid(["--nodes", "60", "--searches", "5", "--adversaries", "0.1",
                   "--adversary", "withhold,notyet", "--adversary", "squat"])
    assert [p.args.adversary for p in points] == [["withhold", "squat"],
                                                   ["notyet", "squat"]]


def test_refusedAsARunIs():
    """A value a single run refuses is refused, with bazaar-sim's reason
    naming the flag, and the run's values."""
    with pytest.raises(ValueError) as caught:
        grid(["--nodes", "30,1", "--seed", "4"])
    assert str(caught.value) == ("--nodes 1: argument --nodes: wants a whole number at "
                                 "least 2, not 1")
    with pytest.raises(ValueError, match=r"^--discovery nope: argument --discovery: "
                       "invalid choice: 'nope'"):
        grid(["--discovery", "flood,nope"])


def test_refusedByTheRunsChecks():
    """The checks bazaar-sim makes after parsing (the simulation's own)
    refuse a grid's run too."""
    with pytest.raises(ValueError, match=r"^--adversaries 0.5: --adversaries 0.5 of 30 "
                       "nodes is 15 nodes, and only 7 neither buy nor sell"):
        grid(["--nodes", "30", "--searches", "20", "--adversaries", "0.1,0.5",
              "--adversary", "withhold"])
    with pytest.raises(ValueError, match=r"^--start warm: --start warm builds the overlay "
                       "of a generated --topology"):
        grid(["--topology", "tracker", "--start", "cold,warm"])
    with pytest.raises(ValueError, match="--chord-successors 3: --chord-successors"):
        grid(["--discovery", "flood", "--chord-successors", "3,4"])


@pytest.mark.parametrize("flags, reason", [
    (["--start", "warm,cold", "--shards", "2"],
     "--start cold: --shards runs a warm start only so far: add --start warm"),
    (["--start", "warm", "--shards", "2", "--latency-ms", "10,0"],
     "--latency-ms 0: --shards needs a positive minimum --latency-ms"),
    (["--start", "warm", "--shards", "2", "--drop", "0,0.1"],
     "--drop 0.1: --shards"),
    (["--start", "warm", "--seed", "1,2", "--shard-engine", "local"],
     "--seed 1: --shard-engine places the shards of a run: add --shards N"),
])
def test_refusedAsAShardedRunIs(flags, reason):
    """A sharded run's own checks refuse a grid's run before any starts
    (before, the sweep started its cluster and each such run failed on
    it, exit 1, as if the run had been tried)."""
    with pytest.raises(ValueError) as caught:
        grid(["--nodes", "30", "--searches", "3", "--crypto", "fast", *flags])
    assert str(caught.value).startswith(reason)


def test_emptyValue():
    with pytest.raises(ValueError, match=r"^--nodes 30,,40: a list with an empty value$"):
        grid(["--nodes", "30,,40"])


@pytest.mark.parametrize("flag", [["--json", "x.json"], ["--plot", "x.png"], ["--quiet"],
                                  ["--discovery", "chord", "--experiment", "pathlength"]])
def test_flagsASweepSets(flag):
    """--json, --plot, --quiet and --experiment are refused, naming the
    flag and no run: the sweep sets the first three itself, for every run.
    Before, the refusal named the first run of the grid, as if the flag
    were wrong there alone (``--discovery flood --seed 1: --quiet: ...``)."""
    for nodes in ("30", "30,40"):
        with pytest.raises(ValueError) as caught:
            grid(["--nodes", nodes, *flag])
        assert str(caught.value).startswith([f for f in flag if f.startswith("--")][-1])


def test_names():
    """A run is named after the values it varies, or by --name from its
    flags (a list's kinds joined by +)."""
    points = grid(["--nodes", "30,40", "--adversaries", "0.1", "--adversary", "withhold",
                   *TINY])
    assert names(points) == ["nodes-30", "nodes-40"]
    assert names(points, "{discovery}-{adversary}-{adversaries}-{nodes}") == [
        "flood-withhold-0.1-30", "flood-withhold-0.1-40"]
    assert names(grid(TINY)) == ["run"]
    assert sweepgrid.name(grid(["--latency-ms", "10..50"])[0], "{latency_ms}") == "10+50"


def test_namesRefused():
    """A --name that names no flag, or names two runs alike, is refused."""
    points = grid(["--nodes", "30,40", *TINY])
    with pytest.raises(ValueError, match=r"^--name \{nope\}: no flag 'nope'"):
        names(points, "{nope}")
    with pytest.raises(ValueError, match=r"^two runs would be flood.json \(--nodes 30, "
                       r"and --nodes 40\): --name names too few flags$"):
        names(points, "{discovery}")
    with pytest.raises(ValueError, match="a list gives the same value twice"):
        names(grid(["--seed", "1,1", *TINY]))


def test_nameKeepsToOneFile():
    """A name is a file name: no separator of folders in it."""
    point = grid(["--scheme-option", "query-ttl=2,query-ttl=3", "--discovery", "superpeer"])[0]
    assert sweepgrid.name(point, "a/{discovery} x") == "a_superpeer_x"
