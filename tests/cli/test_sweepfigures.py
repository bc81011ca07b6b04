"""
Tests for L{twisted_bazaar.cli.sweepfigures}: which grid gives which
figure, and a grid that gives none, or a figure not drawn, told and
failed.
"""

import importlib.util
import os

import pytest

from twisted_bazaar.cli import sweep, sweepfigures
from tests.cli.test_sweepreport import metrics

# Looked for, not imported: importing matplotlib (0.25 CPU-s) at
# collection cost every worker of a parallel run, most of which run none
# of these tests.
if importlib.util.find_spec("matplotlib") is None:
    pytest.skip("matplotlib is not installed", allow_module_level=True)


def test_figures(tmp_path):
    """Runs with adversaries give the figure of success against their
    fraction, for their size and seed; honest runs of several sizes, the
    figure of how a run grows."""
    attack = [metrics(), metrics(adversaries=0.1, adversary=["withhold"], success=0.9)]
    growth = [metrics(nodes=30, seed=2), metrics(nodes=40, seed=2)]
    said, complete = sweepfigures.drawFigures(str(tmp_path), attack + growth)
    assert said == [f"--plot: {tmp_path}/success-30-seed1.png",
                    f"--plot: {tmp_path}/growth-seed2.png"]
    assert complete
    assert sorted(os.listdir(tmp_path)) == ["growth-seed2.png", "success-30-seed1.png"]


def test_schemesAndSeedsAtOneSize(tmp_path):
    """Several schemes and seeds at one size, the grid a user tries first:
    the schemes side by side."""
    runs = [metrics(discovery=scheme, seed=seed, success=0.5 + seed / 10)
            for scheme in ("flood", "chord") for seed in (1, 2, 3)]
    said, complete = sweepfigures.drawFigures(str(tmp_path), runs)
    assert (said, complete) == ([f"--plot: {tmp_path}/schemes-30.png"], True)
    assert os.path.getsize(tmp_path / "schemes-30.png") > 0
    assert sweepfigures.schemeRows(runs)["chord"] == [
        (1, 0.6, 100.0, 9.5), (2, 0.7, 100.0, 9.5), (3, 0.8, 100.0, 9.5)]


def test_natGrid(tmp_path):
    """Several --nat fractions: the figure python -m twisted_bazaar.sim.plot
    draws from the same files."""
    runs = [metrics(nat=fraction, discovery=scheme) for fraction in (0.0, 0.3, 0.6)
            for scheme in ("flood", "index")]
    for run in runs:
        run["nat"] = {"relayed_bytes": 1000}
    said, complete = sweepfigures.drawFigures(str(tmp_path), runs)
    assert said[0] == f"--plot: {tmp_path}/nat-30-seed1.png"
    assert complete
    assert os.path.getsize(tmp_path / "nat-30-seed1.png") > 0


def test_nothingToDrawSaysWhichGridDoes(tmp_path):
    said, complete = sweepfigures.drawFigures(str(tmp_path), [metrics()])
    assert not complete
    assert said == [f"--plot: nothing to draw: this grid makes no figure; "
                    f"{sweepfigures.GRIDS}"]
    assert os.listdir(tmp_path) == []


def test_figureNotDrawn(tmp_path):
    """A figure that cannot be drawn is reported, and the others drawn."""
    twice = [metrics(nodes=30), metrics(nodes=30), metrics(nodes=40)]
    said, complete = sweepfigures.drawFigures(str(tmp_path), twice)
    assert said == [f"--plot: {tmp_path}/growth-seed1.png not drawn: two runs of flood "
                    "with 30 nodes"]
    assert not complete
    said, complete = sweepfigures.drawFigures(
        str(tmp_path), [metrics(discovery="chord"), metrics(), metrics(drop=0.1)])
    assert said == [f"--plot: {tmp_path}/schemes-30.png not drawn: two runs of flood "
                    "with seed 1: the grid varies a flag this figure does not draw"]
    assert not complete


def test_helpSaysWhichGridGivesWhichFigure():
    text = " ".join(sweep.parser().format_help().split())
    assert " ".join(sweepfigures.GRIDS.split()) in text
