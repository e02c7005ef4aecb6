"""SkewScout's controller and its travel accounting (the Oracle and the study: tests/test_study.py)."""
from __future__ import annotations

import copy

import pytest

from training.skewscout import Controller, SkewScout, probes
from training.skewscout.settings import SkewScoutConfig


def test_paper_rule_tightens_above_sigma_loosens_below_half_and_holds_inside():
    c = Controller(grid=[5, 10, 20, 50, 100], sigma=0.1, position=2, rule="paper")
    script = [0.2, 0.15, 0.07, 0.01, 0.0, 0.0, 0.0, 0.3]
    steps = [c.update(x) for x in script]
    assert steps == [-1, -1, 0, 1, 1, 1, 1, -1]
    assert [v for *_, v in c.history] == [10, 5, 5, 10, 20, 50, 100, 50]
    for _ in range(10):
        c.update(0.0)
    assert c.value == 100                                  # clamps at the loosest end
    for _ in range(10):
        c.update(1.0)
    assert c.value == 5                                    # and at the tightest
    with pytest.raises(ValueError, match="skewscout.rule 'later'"):
        Controller(grid=[5], sigma=0.05, position=0, rule="later")


def test_gated_rule_moves_only_beyond_z_standard_errors_of_the_band():
    """Scripted (loss, standard error): the same band as the paper's, each edge widened by 2 standard errors."""
    c = Controller(grid=[5, 10, 20, 50, 100], sigma=0.1, position=2, rule="gated")       # z = 2
    script = [(0.2, 0.01), (0.2, 0.06), (0.13, 0.01), (0.07, 0.0), (0.04, 0.01), (0.03, 0.006), (0.0, 0.0)]
    assert [c.update(loss, se) for loss, se in script] == [-1, 0, -1, 0, 0, 1, 1]
    # 0.2 - 0.02 > σ: tighten; 0.2 - 0.12 is not (noise could explain it): stay; inside the band: stay;
    # 0.04 + 0.02 is not below σ/2 = 0.05 (noise could explain it): stay; 0.03 + 0.012 is: loosen
    assert [v for *_, v in c.history] == [10, 10, 5, 5, 5, 10, 20]
    g = Controller(grid=[0.0, 0.5, 0.9], sigma=0.05, position=1, tighter_is_lower=True, z=0.0)
    assert g.update(0.06, 1.0) == -1                        # z = 0: the paper's band


def test_scaled_rule_tightens_one_step_and_loosens_by_the_losss_distance_below_the_band():
    """Round 3's default: the gated rule's gates; one step tighter, round(log2((3σ/4) / bound)) steps looser."""
    c = Controller(grid=[1, 2, 4, 8, 16, 32, 64], sigma=0.1, position=3, rule="scaled")     # z = 2, step_ratio 2
    script = [(0.6, 0.01), (0.2, 0.06), (0.03, 0.0), (0.005, 0.002), (0.0, 0.0), (0.12, 0.005), (0.35, 0.01)]
    assert [c.update(loss, se) for loss, se in script] == [-1, 0, 1, 3, 0, -1, -1]
    # 0.58 > σ: one step tighter however far; 0.08 might be noise: stay; 0.03 is 2.5× below the centre 0.075:
    # 1 step; 0.009 is 8.3× below: 3 steps, to the loosest (no step past the end); above σ: one step each time
    assert [v for *_, v in c.history] == [4, 4, 8, 64, 64, 32, 16]
    with pytest.raises(ValueError, match="step_ratio must be > 1"):
        Controller(grid=[5], sigma=0.05, position=0, step_ratio=1.0)


def test_drift_rule_goes_to_the_loosest_knob_predicted_to_hold_the_bands_centre():
    """Rule "drift": the loss scales as the knob's drift (exponent 1: as the knob value for FedAvg and Gaia); from a
    bound outside the band it moves to the loosest knob whose predicted loss is at most c = 3σ/4 (at least one
    step), and holds inside the band or where z standard errors could explain the difference."""
    c = Controller(grid=[2, 5, 10, 20, 50, 100, 200], sigma=0.1, position=3, rule="drift")    # z = 2, centre 0.075
    script = [(0.6, 0.01), (0.2, 0.06), (0.006, 0.002), (0.0, 0.0), (0.15, 0.01), (0.08, 0.0), (0.3, 0.1)]
    assert [c.update(loss, se) for loss, se in script] == [-3, 0, 2, 4, -1, 0, 0]
    # lo = 0.58 at 20: allowed drift 20 × 0.075 / 0.58 = 2.6, so 2 (three steps at once); 0.2 ± 0.12 might be
    # noise: stay; hi = 0.01 at 2: 2 × 7.5 = 15, so 10; hi = 0 at 10: the loosest; lo = 0.13 at 200:
    # 200 × 0.075 / 0.13 = 115, so 100; 0.08 is inside the band; 0.3 − 0.2 is not above σ: stay
    assert [v for *_, v in c.history] == [2, 2, 10, 200, 100, 100, 100]
    one = Controller(grid=[2, 5, 10, 20], sigma=0.1, position=1, rule="drift")
    assert one.update(0.11, 0.0) == -1 and one.update(0.049, 0.0) == 1     # at least one step, either way
    d = Controller(grid=[0.0, 0.75, 0.9375, 0.984375, 0.996, 0.999], sigma=0.1, position=1, rule="drift",
                   drifts=[1.0, 4.0, 16.0, 64.0, 250.0, 1000.0])     # DGC: drift 1 / (1 - sparsity)
    assert d.update(0.004, 0.001) == 1 and d.value == 0.9375          # 4 × 0.075 / 0.006 = 50: drift 16 fits, 64 not
    with pytest.raises(ValueError, match="growing"):
        Controller(grid=[1, 2], sigma=0.1, position=0, rule="drift", drifts=[2.0, 1.0])
    with pytest.raises(ValueError, match="exponent must be > 0"):
        Controller(grid=[1, 2], sigma=0.1, position=0, rule="drift", exponent=0.0)


def test_paired_loss_on_a_constructed_sample_where_the_answer_is_known():
    import math

    import torch

    from training.skewscout.controller import paired_loss
    # 100 examples: the local model is right on 90, the visitor on 80; they disagree on 10 (local right) + 0
    local = torch.tensor([1.0] * 90 + [0.0] * 10)
    visit = torch.tensor([1.0] * 80 + [0.0] * 20)
    loss, se = paired_loss([(local, visit)])
    assert loss == pytest.approx(0.10)
    assert se == pytest.approx(math.sqrt(0.1 * 0.9 * 100 / 99 / 100))      # sample variance of d over n
    # a binomial-proportion formula on the loss would give the same here only by chance; with disagreements both
    # ways the paired SE grows while the loss stays: 15 local-only and 5 visitor-only
    local2 = torch.tensor([1.0] * 15 + [0.0] * 5 + [1.0] * 80)
    visit2 = torch.tensor([0.0] * 15 + [1.0] * 5 + [1.0] * 80)
    loss2, se2 = paired_loss([(local2, visit2)])
    assert loss2 == pytest.approx(0.10) and se2 > se
    assert se2 == pytest.approx(float((local2 - visit2).std(correction=1)) / 10)
    # identical models: no loss and no noise; a visitor better than the local model: floored at 0 per pair
    assert paired_loss([(local, local)]) == (0.0, 0.0)
    assert paired_loss([(visit, local)])[0] == 0.0
    # pairs average their clipped losses; their variances add
    both, se_both = paired_loss([(local, visit), (visit, local)])
    assert both == pytest.approx(0.05) and se_both == pytest.approx(math.sqrt(2) * se / 2)


def test_rotating_pairs_cover_every_other_partition():
    class Algo:
        knob, knob_grid, name, delivers_average = "threshold", (0.02, 0.05, 0.1), "gaia", False
        knob_tighter_is_lower = True
        v = 0.05
        def get_knob(self): return self.v
        def set_knob(self, v): self.v = v
    s = SkewScout(Algo(), SkewScoutConfig(sigma=0.05))
    seen = set()
    for r in range(4):
        s.round = r
        pairs = s.pairs(5)
        assert sorted(src for src, _ in pairs) == list(range(5)) and all(a != b for a, b in pairs)
        seen |= set(pairs)
    assert len(seen) == 5 * 4


def trainer(config: dict, out):
    """A Trainer over a config written as a plain dict (it takes the parsed ``TrainConfig``)."""
    from training.config import parse_config
    from training.trainer import Trainer

    return Trainer(parse_config(config), out)


def _fedavg_cfg(**skewscout):
    return {"data": {"name": "digits", "test_fraction": 0.25},
            "partition": {"name": "label-exclusive", "num_partitions": 3},
            "model": {"name": "test_lenet_gn"}, "algorithm": {"name": "fedavg", "iter_local": 20},
            "solver": {"lr": 0.05, "batch_size": 8, "iterations": 60},
            "run": {"seed": 0, "eval_every": 20},
            "skewscout": {"enabled": True, "sigma": 0.01, "travel_every": 10, "sample_size": 50,
                          "grid": [1, 2, 5, 10, 20], "measure": "travel"} | skewscout}


def _spy_travels(trainer, monkeypatch):
    """(iteration, iterations since FedAvg's last averaging, its Iter_local) at every travel of this trainer."""
    seen, real = [], probes.travel_and_score

    def spy(state, pairs, sample_size, seed):
        if state.algorithm is trainer.algo:
            seen.append((trainer.iteration, trainer.algo._since_sync, trainer.algo.iter_local))
        return real(state, pairs, sample_size, seed)
    monkeypatch.setattr(probes, "travel_and_score", spy)
    return seen


def test_skewscout_in_a_real_run_counts_travel_and_moves_the_knob(tmp_path, monkeypatch):
    cfg = _fedavg_cfg(travel_budget=0)                           # 0: no cap on travel
    t = trainer(cfg, tmp_path / "ss")
    travels = _spy_travels(t, monkeypatch)
    rows = t.run(resume=False)
    assert len(travels) >= 3
    assert rows[-1]["bytes_travel"] == len(travels) * 3 * t.replicas.bytes_per_travel
    assert rows[-1]["bytes"] == rows[-1]["bytes_algorithm"] + rows[-1]["bytes_travel"]
    assert any("skewscout_loss" in r for r in rows)
    knobs = [knob for *_, knob in t.hooks[0].fn.controller.history]
    assert min(knobs) < 20                                   # label-exclusive partitions: it tightened
    # FedAvg: every travel happens on the last local step before an averaging, where the replicas have
    # drifted furthest under the current knob, and at least travel_every iterations after the previous one
    assert all(since == local - 1 or local == 1 for _, since, local in travels), travels
    assert all(b - a >= 10 for (a, *_), (b, *_) in zip(travels, travels[1:]))
    plain = copy.deepcopy(cfg)
    plain["skewscout"]["enabled"] = False
    rows2 = trainer(plain, tmp_path / "plain").run(resume=False)
    assert rows2[-1]["bytes_travel"] == 0


def test_travel_budget_caps_model_travel_at_a_share_of_the_algorithms_bytes(tmp_path, monkeypatch):
    free = trainer(_fedavg_cfg(travel_budget=0, sigma=1.0), tmp_path / "free")    # σ = 1: the knob stays put
    free_travels = _spy_travels(free, monkeypatch)
    free_rows = free.run(resume=False)
    capped = trainer(_fedavg_cfg(travel_budget=0.5, travel_at_least_every=1000, sigma=1.0), tmp_path / "capped")
    capped_travels = _spy_travels(capped, monkeypatch)
    rows = capped.run(resume=False)
    assert 0 < len(capped_travels) < len(free_travels)
    assert free_rows[-1]["bytes_travel"] > 0.5 * free_rows[-1]["bytes_algorithm"]   # uncapped it costs more
    assert rows[-1]["bytes_travel"] <= 0.5 * rows[-1]["bytes_algorithm"]
    assert rows[-1]["bytes_algorithm"] == free_rows[-1]["bytes_algorithm"]


def test_travel_budget_never_leaves_the_controller_blind_longer_than_travel_at_least_every(tmp_path, monkeypatch):
    """A loose knob sends little, so the budget alone would stop travel exactly where drift grows unseen."""
    blind = trainer(_fedavg_cfg(travel_budget=0.01, travel_at_least_every=1000, sigma=1.0), tmp_path / "blind")
    assert [it for it, *_ in _spy_travels_run(blind, monkeypatch)] == [19]   # the first only: never held back
    floor = trainer(_fedavg_cfg(travel_budget=0.01, travel_at_least_every=20, sigma=1.0), tmp_path / "floor")
    its = [it for it, *_ in _spy_travels_run(floor, monkeypatch)]
    assert its == [19, 39, 59]      # the first; then due 20 after the last, on the step before an averaging


def _spy_travels_run(trainer, monkeypatch):
    seen = _spy_travels(trainer, monkeypatch)
    trainer.run(resume=False)
    return seen


def test_bad_skewscout_settings_are_one_line_errors(tmp_path):
    from catalog.errors import UserError
    with pytest.raises(UserError, match=r"\[skewscout\] skewscout.travel_budget must be > 0"):
        trainer(_fedavg_cfg(travel_budget=-0.1), tmp_path / "x")
    with pytest.raises(UserError, match=r"travel_at_least_every \(5\) must be >= travel_every \(10\)"):
        trainer(_fedavg_cfg(travel_at_least_every=5), tmp_path / "z")
    with pytest.raises(UserError, match=r"travel_every must be >= 1"):
        trainer(_fedavg_cfg(travel_every=0), tmp_path / "y")


@pytest.mark.slow
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
         "skewscout": {"enabled": True, "travel_every": 4, "sigma": 0.02, "sample_size": 60, "rule": "paper",
                        "travel_budget": 1.0}}          # a cap, so the byte totals are gathered across ranks
    sim = run_training(copy.deepcopy(c), tmp_path / "sim", resume=False)
    c["run"]["backend"] = "dist"
    dist = run_training(c, tmp_path / "dist", resume=False)
    assert [r.get("knob_after") for r in sim] == [r.get("knob_after") for r in dist]
    assert len({r.get("knob_after") for r in sim} - {None}) > 1           # the knob did move
    assert [r["bytes_travel"] for r in sim] == [r["bytes_travel"] for r in dist] and sim[-1]["bytes_travel"] > 0
    for a, b in zip(sim, dist):
        assert abs(a.get("skewscout_loss", 0) - b.get("skewscout_loss", 0)) <= 0.04


@pytest.mark.slow
def test_shipped_skewscout_config_runs_from_the_command_line(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    toml = Path(__file__).resolve().parents[1] / "training" / "configs" / "digits_gaia_skewscout.toml"
    out = subprocess.run([sys.executable, "-m", "flows.cli", "train", str(toml), "--out", str(tmp_path / "run"),
                          "--set", "solver.iterations=80", "--set", "run.eval_every=40",
                          "--set", "skewscout.travel_every=10", "--set", "skewscout.travel_at_least_every=20",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    row = json.loads(out.stdout)
    assert row["bytes_travel"] > 0 and row["bytes"] == row["bytes_algorithm"] + row["bytes_travel"]
    assert row["knob"] in (0.02, 0.05, 0.1, 0.2, 0.3)


def test_average_measure_scores_the_delivered_average_against_the_kept_models_at_no_cost(tmp_path, monkeypatch):
    """measure = "average" (FedAvg): each partition keeps its model from the step before an averaging; once the
    average has arrived, loss = mean of max(0, kept − average) on each partition's own sample. No bytes."""
    t = trainer(_fedavg_cfg(measure="average", travel_budget=0.01), tmp_path / "avg")   # the budget does not apply
    snaps, seen = [], []
    real_snap, real_score = probes.snapshot_replicas, probes.score_against_average

    def snap(state):
        snaps.append((t.algo._since_sync, t.algo.iter_local))
        return real_snap(state)

    def score(state, before, sample_size, seed):
        assert t.algo._since_sync == 0 and t.replicas.identical()         # right after the averaging
        scores = real_score(state, before, sample_size, seed)
        for k, (kept, avg) in enumerate(scores):
            x, y = state.sample(k, sample_size, seed)
            assert float(kept.mean()) == pytest.approx(float(state.evaluate(x, y, model=before)[k]))
            assert float(avg.mean()) == pytest.approx(float(state.evaluate(x, y)[k]))
        seen.append([(float(a.mean()), float(b.mean())) for a, b in scores])
        return scores
    monkeypatch.setattr(probes, "snapshot_replicas", snap)
    monkeypatch.setattr(probes, "score_against_average", score)
    rows = t.run(resume=False)
    assert len(seen) == len(snaps) >= 2                   # travel_every 10 over 60 iterations, rounds of ≤ 20
    assert all(since == local - 1 for since, local in snaps)
    assert rows[-1]["bytes_travel"] == 0 and rows[-1]["bytes"] == rows[-1]["bytes_algorithm"]
    assert max(kept - avg for sc in seen for kept, avg in sc) > 0          # label skew: the average costs something
    last = [r for r in rows if "skewscout_loss" in r][-1]["skewscout_loss"]
    assert last == round(sum(max(0.0, a - b) for a, b in seen[-1]) / len(seen[-1]), 5)


@pytest.mark.slow
def test_average_measure_on_torch_distributed_matches_the_simulator(tmp_path):
    from training.runner import run_training

    c = {"data": {"name": "digits", "test_fraction": 0.25},
         "partition": {"name": "label-exclusive", "num_partitions": 3},
         "model": {"name": "test_lenet_gn"}, "algorithm": {"name": "fedavg", "iter_local": 4},
         "solver": {"lr": 0.05, "batch_size": 8, "iterations": 24},
         "run": {"seed": 0, "eval_every": 4},
         "skewscout": {"enabled": True, "travel_every": 4, "sigma": 0.02, "sample_size": 60, "measure": "average",
                       "grid": [1, 2, 4, 8]}}
    sim = run_training(copy.deepcopy(c), tmp_path / "sim", resume=False)
    c["run"]["backend"] = "dist"
    dist = run_training(c, tmp_path / "dist", resume=False)
    assert [r.get("knob_after") for r in sim] == [r.get("knob_after") for r in dist]
    assert any("skewscout_loss" in r for r in sim) and dist[-1]["bytes_travel"] == 0
    for a, b in zip(sim, dist):
        assert abs(a.get("skewscout_loss", 0) - b.get("skewscout_loss", 0)) <= 0.04


def test_average_measure_needs_fedavg(tmp_path):
    from catalog.errors import UserError
    cfg = _fedavg_cfg(measure="average")
    cfg["algorithm"] = {"name": "gaia", "threshold": 0.1}
    cfg["skewscout"]["grid"] = [0.05, 0.1, 0.2]
    with pytest.raises(UserError, match=r'measure "average" needs an algorithm that averages \(fedavg\), not gaia'):
        trainer(cfg, tmp_path / "g")
    class FedAvgLike:
        knob, knob_grid, name, v, delivers_average = "iter_local", (5, 10), "fedavg", 5, True
        knob_tighter_is_lower = True
        def get_knob(self): return self.v
        def set_knob(self, v): self.v = v
    assert SkewScout(FedAvgLike()).measure == "average"                  # "auto" scores what FedAvg delivers
    with pytest.raises(UserError, match=r"skewscout.measure 'both'"):
        trainer(_fedavg_cfg(measure="both"), tmp_path / "b")


def test_skewscout_resumed_from_a_checkpoint_ends_as_an_uninterrupted_run(tmp_path):
    """The hook's state (round, last travel, the controller's) is checkpointed under its key and restored."""
    cfg = _fedavg_cfg(travel_budget=0)
    cfg["run"]["checkpoint_every"] = 20
    whole = trainer(cfg, tmp_path / "whole").run(resume=False)

    def crash(state):
        raise KeyboardInterrupt
    broken = trainer(cfg, tmp_path / "resumed")
    broken.add_hook(45, crash)                   # dies after the checkpoint at 40
    with pytest.raises(KeyboardInterrupt):
        broken.run(resume=False)
    resumed = trainer(cfg, tmp_path / "resumed").run(resume=True)
    assert any("knob_after" in r for r in whole[2:])
    assert [r | {"wall_s": 0} for r in resumed] == [r | {"wall_s": 0} for r in whole]


def _dgc_loss(tmp_path, partition: str) -> float:
    from training.skewscout.controller import paired_loss
    cfg = {"data": {"name": "digits", "test_fraction": 0.25}, "partition": {"name": partition, "num_partitions": 3},
           "model": {"name": "test_lenet_gn"}, "algorithm": {"name": "dgc", "sparsity": 0.999},
           "solver": {"lr": 0.05, "batch_size": 8, "iterations": DGC_ITERATIONS},
           "run": {"seed": 0, "eval_every": DGC_ITERATIONS}}
    t = trainer(cfg, tmp_path / partition)
    t.run(resume=False)
    assert t.replicas.identical()                 # DGC's replicas apply only the exchanged average
    loss, se = paired_loss(probes.travel_and_score(t.hook_state(), [(0, 1), (1, 2), (2, 0)], 100, 0))
    assert t.replicas.identical()                 # the probe put every replica back as it was
    return loss, se


DGC_ITERATIONS = 60


@pytest.mark.slow
def test_dgc_models_travel_as_their_partitions_hold_them_so_skew_is_seen(tmp_path):
    """DGC's replicas are identical, so a plain travel always measures 0; with each partition's unsent update
    applied the loss is the accuracy a partition's own model loses on another's data: large under label-exclusive
    partitions, about 0 under IID. (Small here: 60 iterations at 99.9% sparsity leave the models near chance.)"""
    skewed, se = _dgc_loss(tmp_path, "label-exclusive")
    iid, iid_se = _dgc_loss(tmp_path, "iid")
    assert skewed - 2 * se > 0                      # beyond two standard errors of the paired differences
    assert iid <= 2 * iid_se                        # within them


@pytest.mark.slow
def test_gaia_skewscout_tightens_where_a_loose_threshold_misses_the_target(tmp_path):
    """Tuning setting T3 (round 1's E1: Dirichlet α = 0.1 digits on 3 partitions, constant LR, 300 iterations):
    Gaia at the grid's middle knob, T0 = 0.5, misses 95% of BSP's accuracy (76.0% vs 93.7% in round 3's tuning
    run); SkewScout as shipped, started there, measures the skew, tightens and reaches it."""
    from training.runner import run_training
    from training.study.experiments import f4
    from training.study.protocol import SETTINGS, grid_for, start_knobs

    t3 = next(s for s in SETTINGS.values() if s.id == "T3")
    middle = start_knobs(grid_for(t3, "gaia"))["middle"]
    runs = dict(f4(t3, seed=0))
    bsp, static, ss = (run_training(runs[key], tmp_path / str(i), resume=False)
                       for i, key in enumerate([("bsp", None, None), ("gaia", middle, None),
                                                ("gaia", "skewscout", "middle")]))
    target = 0.95 * bsp[-1]["acc_mean"]
    assert static[-1]["acc_mean"] < target
    knobs = [r["knob_after"] for r in ss if "knob_after" in r]
    assert min(knobs) < middle and ss[-1]["acc_mean"] >= target, (knobs, ss[-1]["acc_mean"], target)
