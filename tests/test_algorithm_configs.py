"""The shipped example configs of issue 14's algorithms run through `flickr-mammal train` and `sweep`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.cli import main
from training.runner import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
NEW = ("dsgd", "dsgdm", "qgm", "ssp", "fedprox", "scaffold", "fedbn")
TINY = ["--set", "solver.iterations=4", "--set", "run.eval_every=2", "--set", "data.test_fraction=0.9"]


def tiny_model(path: Path) -> list[str]:
    """The config's own model family at test size (test_lenet_gn / test_lenet_bn)."""
    return ["--set", f"model.name=\"test_{load_config(path)['model']['name']}\""]


@pytest.mark.parametrize("name", [n if n == "qgm" else pytest.param(n, marks=pytest.mark.slow) for n in NEW])
def test_each_new_algorithm_has_an_example_config_that_trains(name, tmp_path, capsys):
    """Fast tier: qgm (a torus from [topology]); the others in the slow tier (about 10 s each on 2 busy cores)."""
    path = CONFIGS / f"digits_{name}.toml"
    cfg = load_config(path)
    assert cfg["algorithm"]["name"] == ("fedavg" if name == "fedbn" else name)
    assert main(["train", str(path), "--out", str(tmp_path), "--json", *TINY, *tiny_model(path)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["iteration"] == 4 and row["bytes"] > 0 and len(row["acc"]) == cfg["partition"]["num_partitions"]
    if name == "fedbn":
        assert cfg["model"]["bn_stats"] == "local"


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW)
def test_each_new_config_sweeps(name, tmp_path, capsys):
    """`sweep` grids the knob (gossip_every, iter_local, ssp's staleness) and adds BSP (without [topology])."""
    path = CONFIGS / f"digits_{name}.toml"
    grid = "0,2" if name == "ssp" else "1,2"
    assert main(["sweep", str(path), "--out", str(tmp_path), "--grid", grid, "--json", "--target", "0.0",
                 *TINY, *tiny_model(path)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["runs"]) == 3 and res["bsp"] is not None and res["oracle"] is not None
    assert sorted(r["knob"] for r in res["runs"] if r["label"] != "bsp") == [int(v) for v in grid.split(",")]
