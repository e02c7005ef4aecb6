"""SkewScout's controller, its travel accounting, the Oracle, and the study's quick mode."""
from __future__ import annotations

import copy

import pytest

from training.skewscout import Controller, SkewScout
from training.sweep import bytes_to_target, oracle


def test_controller_tightens_above_sigma_loosens_below_half_and_holds_inside():
    c = Controller(grid=[5, 10, 20, 50, 100], sigma=0.1, position=2, knob="iter_local")
    script = [0.2, 0.15, 0.07, 0.01, 0.0, 0.0, 0.0, 0.3]
    steps = [c.update(x) for x in script]
    assert steps == [-1, -1, 0, 1, 1, 1, 1, -1]
    assert [v for _, v in c.history] == [10, 5, 5, 10, 20, 50, 100, 50]
    for _ in range(10):
        c.update(0.0)
    assert c.value == 100                                  # clamps at the loosest end
    for _ in range(10):
        c.update(1.0)
    assert c.value == 5                                    # and at the tightest


def test_rotating_pairs_cover_every_other_partition():
    class Algo:
        knob, knob_grid, name = "threshold", (0.02, 0.05, 0.1), "gaia"
        v = 0.05
        def get_knob(self): return self.v
        def set_knob(self, v): self.v = v
    s = SkewScout(Algo(), sigma=0.05)
    seen = set()
    for r in range(4):
        s.round = r
        pairs = s.pairs(5)
        assert sorted(src for src, _ in pairs) == list(range(5)) and all(a != b for a, b in pairs)
        seen |= set(pairs)
    assert len(seen) == 5 * 4


def test_skewscout_in_a_real_run_counts_travel_and_moves_the_knob(tmp_path):
    from training.trainer import Trainer

    cfg = {"data": {"name": "digits", "test_fraction": 0.25},
           "partition": {"name": "label-exclusive", "num_partitions": 3},
           "model": {"name": "test_lenet_gn"}, "algorithm": {"name": "fedavg", "iter_local": 20},
           "solver": {"lr": 0.05, "batch_size": 8, "iterations": 60},
           "run": {"seed": 0, "eval_every": 20},
           "skewscout": {"enabled": True, "sigma": 0.01, "travel_every": 10, "sample_size": 50,
                         "grid": [1, 2, 5, 10, 20]}}
    t = Trainer(cfg, tmp_path / "ss")
    rows = t.run(resume=False)
    travels = 60 // 10
    assert rows[-1]["bytes_travel"] == travels * 3 * (t.model_bytes + t.buffer_bytes)
    assert rows[-1]["bytes"] == rows[-1]["bytes_algorithm"] + rows[-1]["bytes_travel"]
    assert any("skewscout_loss" in r for r in rows)
    assert t.algo.get_knob() < 20                            # label-exclusive partitions: it tightened
    plain = copy.deepcopy(cfg)
    plain["skewscout"]["enabled"] = False
    rows2 = Trainer(plain, tmp_path / "plain").run(resume=False)
    assert rows2[-1]["bytes_travel"] == 0


def test_oracle_picks_the_cheapest_run_that_reaches_the_target():
    def run(knob, accs, mb):
        return {"knob": knob, "rows": [{"acc_mean": a, "bytes": b * 1e6} for a, b in zip(accs, mb)]}
    runs = [run(5, [0.5, 0.8, 0.9], [10, 20, 30]),       # reaches 0.8 at 20 MB
            run(20, [0.6, 0.81, 0.85], [2, 4, 6]),       # reaches 0.8 at 4 MB  ← Oracle
            run(100, [0.4, 0.6, 0.7], [0.5, 1, 1.5])]    # never reaches 0.8
    best = oracle(runs, 0.8)
    assert best["knob"] == 20 and best["bytes_to_target"] == 4e6
    assert oracle(runs, 0.95) is None
    assert bytes_to_target(runs[0]["rows"], 0.85) == 30e6
    # whole run: a run counts with all its bytes when its final accuracy reaches the target
    runs.append(run(50, [0.3, 0.5, 0.82], [1, 2, 3]))   # reaches 0.8 only at the end: 3 MB whole run
    assert oracle(runs, 0.8, "whole-run")["knob"] == 50 and oracle(runs, 0.8, "whole-run")["bytes_to_target"] == 3e6
    assert oracle(runs, 0.8)["knob"] == 50                # and also first to reach it, at 3 MB
    assert oracle(runs, 0.86, "whole-run")["knob"] == 5 and oracle(runs, 0.9, "whole-run")["bytes_to_target"] == 30e6


def test_study_quick_writes_a_report_with_figures(tmp_path):
    from training.study import run_study

    s = run_study(tmp_path / "study", quick=True, seeds=2, experiments=["F2"], runs_dir=tmp_path / "runs")
    report = (tmp_path / "study" / "REPORT.md").read_text()
    assert "## F2" in report and "![F2](f2_bn_vs_gn.png)" in report
    assert (tmp_path / "study" / "f2_bn_vs_gn.png").stat().st_size > 10_000
    assert set(s["F2"]) == {"lenet_bn", "lenet_gn"}


def test_skewscout_on_torch_distributed_moves_the_knob_as_the_simulator_does(tmp_path):
    """Model travel over gloo point-to-point (3 ranks) measures the same loss, moves the knob the same way
    and counts the same travel bytes as the in-process simulator."""
    from training.runner import run_training

    c = {"data": {"name": "digits", "test_fraction": 0.25},
         "partition": {"name": "label-exclusive", "num_partitions": 3},
         "model": {"name": "test_lenet_bn"},
         "algorithm": {"name": "gaia", "threshold": 0.1},
         "solver": {"lr": 0.05, "batch_size": 8, "iterations": 12},
         "run": {"seed": 0, "eval_every": 4},
         "skewscout": {"enabled": True, "travel_every": 4, "sigma": 0.02, "sample_size": 60}}
    sim = run_training(copy.deepcopy(c), tmp_path / "sim", resume=False)
    c["run"]["backend"] = "dist"
    dist = run_training(c, tmp_path / "dist", resume=False)
    assert [r["knob_after"] for r in sim] == [r["knob_after"] for r in dist]
    assert len({r["knob_after"] for r in sim}) > 1                       # the knob did move
    assert [r["bytes_travel"] for r in sim] == [r["bytes_travel"] for r in dist] and sim[-1]["bytes_travel"] > 0
    for a, b in zip(sim, dist):
        assert abs(a["skewscout_loss"] - b["skewscout_loss"]) <= 0.04
