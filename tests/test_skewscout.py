"""SkewScout's controller and its travel accounting (the Oracle and the study: tests/test_study.py)."""
from __future__ import annotations

import copy

import pytest

from training.config import SkewScoutConfig
from training.skewscout import Controller, SkewScout, probes


def test_controller_tightens_above_sigma_loosens_below_half_and_holds_inside():
    c = Controller(grid=[5, 10, 20, 50, 100], sigma=0.1, position=2)
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


def _end(position=2, **kw):
    return Controller(grid=[5, 10, 20, 50, 100], sigma=0.05, position=position, horizon="end", **kw)


def test_horizon_end_confirms_a_high_loss_before_tightening():
    c = _end()
    assert c.update(0.30, iteration=100, end=1000, n=500) == 0 and c.confirming      # first look: measure again
    assert c.update(0.29, iteration=110, end=1000, n=500) == -1 and c.value == 10    # no real fall: tighten
    assert not c.confirming and c.update(0.01, iteration=120, end=1000, n=500) == 1  # low: loosen at once


def test_horizon_end_holds_a_knob_whose_loss_falls_beyond_noise_and_tightens_on_noise():
    falling = _end()
    falling.update(0.40, iteration=100, end=2000, n=500)
    assert falling.update(0.25, iteration=200, end=2000, n=500) == 1     # 0.40 → 0.25 carried on: tiny at the end
    assert falling.judged < 0.025
    noisy = _end()
    noisy.update(0.40, iteration=100, end=2000, n=500)
    assert noisy.update(0.37, iteration=200, end=2000, n=500) == -1      # within two standard errors: tighten
    assert noisy.judged == pytest.approx(0.37)


def test_horizon_end_scales_a_knob_that_follows_the_lr_and_projects_a_rise():
    gaia = Controller(grid=[0.02, 0.05, 0.1], sigma=0.05, position=2, horizon="end")
    assert gaia.update(0.5, iteration=10, end=100, lr=0.1, shrink=0.01, n=500) == 1   # T will shrink 100×: loosen
    assert gaia.judged == pytest.approx(0.005) and gaia.value == 0.1                   # (clamped at the loosest)
    for n, step in ((5000, -1), (500, 0)):
        rising = _end()
        assert rising.update(0.03, iteration=100, end=2000, n=n) == 0        # in the band
        assert rising.update(0.045, iteration=200, end=2000, n=n) == step    # still in the band, but a rise beyond
        assert rising.judged == pytest.approx(0.06 if step else 0.045)       # noise is carried one stay ahead


def test_horizon_end_waits_longer_before_retrying_a_knob_that_failed():
    c = _end(position=1)
    assert c.update(0.3, iteration=1, end=10**6, n=10**6) == 0
    assert c.update(0.3, iteration=2, end=10**6, n=10**6) == -1 and c.value == 5   # 10 failed once
    assert c.update(0.0, iteration=3, end=10**6, n=10**6) == 1 and c.value == 5    # blocked: 2 measurements
    assert c.update(0.0, iteration=4, end=10**6, n=10**6) == 1 and c.value == 10   # then tried again
    c.update(0.3, iteration=5, end=10**6, n=10**6)
    assert c.update(0.3, iteration=6, end=10**6, n=10**6) == -1                     # failed twice:
    waits = 0
    while c.update(0.0, iteration=7 + waits, end=10**6, n=10**6) and c.value == 5:
        waits += 1
    assert waits == 3                                                               # 4 measurements at 5


def test_direct_controller_acts_at_once_but_only_beyond_sampling_noise():
    c = _end(position=4, direct=True)                        # 100; n = 500 scored samples per measurement
    assert c.update(0.06, n=500) == 0 and not c.confirming   # 0.06 − 2 SE (0.021) is inside the band
    assert c.update(0.11, n=500) == -1 and c.value == 50     # beyond it: tightens at once, no confirmation
    assert c.update(0.02, n=500) == 0                        # 0.02 + 2 SE (0.013) is not below σ/2
    assert c.update(0.005, n=500) == 1 and c.value == 100    # 0.005 + 0.006 is
    assert c.update(0.06, n=50) == 0                         # fewer samples, wider margin


def test_horizon_now_is_the_papers_controller_and_bad_horizons_are_refused():
    now = Controller(grid=[5, 10, 20], sigma=0.05, position=1, horizon="now")
    assert now.update(0.3, iteration=1, end=10) == -1                              # no confirmation, no trend
    with pytest.raises(ValueError, match="skewscout.horizon 'later'"):
        Controller(grid=[5], sigma=0.05, position=0, horizon="later")


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
    from training.trainer import Trainer

    cfg = _fedavg_cfg(travel_budget=0)                           # 0: no cap on travel
    t = Trainer(cfg, tmp_path / "ss")
    travels = _spy_travels(t, monkeypatch)
    rows = t.run(resume=False)
    assert len(travels) >= 3
    assert rows[-1]["bytes_travel"] == len(travels) * 3 * t.replicas.travel_bytes
    assert rows[-1]["bytes"] == rows[-1]["bytes_algorithm"] + rows[-1]["bytes_travel"]
    assert any("skewscout_loss" in r for r in rows)
    assert t.algo.get_knob() < 20                            # label-exclusive partitions: it tightened
    # FedAvg: every travel happens on the last local step before an averaging, where the replicas have
    # drifted furthest under the current knob, and at least travel_every iterations after the previous one
    assert all(since == local - 1 or local == 1 for _, since, local in travels), travels
    assert all(b - a >= 10 for (a, *_), (b, *_) in zip(travels, travels[1:]))
    plain = copy.deepcopy(cfg)
    plain["skewscout"]["enabled"] = False
    rows2 = Trainer(plain, tmp_path / "plain").run(resume=False)
    assert rows2[-1]["bytes_travel"] == 0


def test_travel_budget_caps_model_travel_at_a_share_of_the_algorithms_bytes(tmp_path, monkeypatch):
    from training.trainer import Trainer

    free = Trainer(_fedavg_cfg(travel_budget=0, sigma=1.0), tmp_path / "free")    # σ = 1: the knob stays put
    free_travels = _spy_travels(free, monkeypatch)
    free_rows = free.run(resume=False)
    capped = Trainer(_fedavg_cfg(travel_budget=0.5, travel_at_least_every=1000, sigma=1.0), tmp_path / "capped")
    capped_travels = _spy_travels(capped, monkeypatch)
    rows = capped.run(resume=False)
    assert 0 < len(capped_travels) < len(free_travels)
    assert free_rows[-1]["bytes_travel"] > 0.5 * free_rows[-1]["bytes_algorithm"]   # uncapped it costs more
    assert rows[-1]["bytes_travel"] <= 0.5 * rows[-1]["bytes_algorithm"]
    assert rows[-1]["bytes_algorithm"] == free_rows[-1]["bytes_algorithm"]


def test_travel_budget_never_leaves_the_controller_blind_longer_than_travel_at_least_every(tmp_path, monkeypatch):
    """A loose knob sends little, so the budget alone would stop travel exactly where drift grows unseen."""
    from training.trainer import Trainer

    blind = Trainer(_fedavg_cfg(travel_budget=0.01, travel_at_least_every=1000, sigma=1.0), tmp_path / "blind")
    assert not _spy_travels_run(blind, monkeypatch)
    floor = Trainer(_fedavg_cfg(travel_budget=0.01, travel_at_least_every=20, sigma=1.0), tmp_path / "floor")
    its = [it for it, *_ in _spy_travels_run(floor, monkeypatch)]
    assert its == [39, 59]          # due 20 after the last, and on the step before an averaging (every 20)


def _spy_travels_run(trainer, monkeypatch):
    seen = _spy_travels(trainer, monkeypatch)
    trainer.run(resume=False)
    return seen


def test_bad_skewscout_settings_are_one_line_errors(tmp_path):
    from catalog.errors import UserError
    from training.trainer import Trainer

    with pytest.raises(UserError, match=r"\[skewscout\] skewscout.travel_budget must be > 0"):
        Trainer(_fedavg_cfg(travel_budget=-0.1), tmp_path / "x")
    with pytest.raises(UserError, match=r"travel_at_least_every \(5\) must be >= travel_every \(10\)"):
        Trainer(_fedavg_cfg(travel_at_least_every=5), tmp_path / "z")
    with pytest.raises(UserError, match=r"travel_every must be >= 1"):
        Trainer(_fedavg_cfg(travel_every=0), tmp_path / "y")


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
         "skewscout": {"enabled": True, "travel_every": 4, "sigma": 0.02, "sample_size": 60, "horizon": "now",
                        "travel_budget": 1.0}}          # a cap, so the byte totals are gathered across ranks
    # (horizon "now": with "end" a first loss above σ is confirmed first, and 12 iterations leave no room)
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
    from training.trainer import Trainer

    t = Trainer(_fedavg_cfg(measure="average", travel_budget=0.01), tmp_path / "avg")   # the budget does not apply
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
            assert kept == float(state.evaluate(x, y, model=before)[k])
            assert avg == float(state.evaluate(x, y)[k])
        seen.append(scores)
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


def test_hold_never_tightens_and_loosens_only_beyond_sampling_noise():
    c = _end(position=2, direct=True)                        # 20
    assert [c.hold(x, n=500) for x in (0.9, 0.3, 0.06)] == [0, 0, 0] and c.value == 20   # high: never tightens
    assert c.hold(0.02, n=500) == 0                          # 0.02 + 2 SE (0.013) is not below σ/2
    assert c.hold(0.005, n=500) == 1 and c.value == 50       # 0.005 + 0.006 is
    assert c.hold(0.0, n=500, ceiling=3) == 0 and c.value == 50          # no looser than the ceiling
    assert [v for _, v in c.history] == [20, 20, 20, 20, 50, 50]


@pytest.mark.parametrize("lr_steps, settle", [([0.25, 0.75], 15), ([], 30)])
def test_horizon_end_holds_fedavg_until_the_first_lr_drop_then_acts_on_the_loss(tmp_path, lr_steps, settle):
    """FedAvg under horizon "end": until the first LR drop (half-way with a constant LR) SkewScout records the loss
    and never tightens, however high it is; from there it acts on it, as measured."""
    from training.trainer import Trainer

    cfg = _fedavg_cfg(measure="average", travel_every=5, grid=[2, 5, 10])
    cfg["algorithm"]["iter_local"] = 5
    cfg["solver"]["lr_steps"] = lr_steps
    t = Trainer(cfg, tmp_path / "hold")
    hook = next(h.fn for h in t.hooks if isinstance(h.fn, SkewScout))
    assert hook.holds and t.algo.get_knob() == 5               # starts where configured
    seen = []
    for name in ("hold", "update"):
        real = getattr(hook.controller, name)

        def spy(loss, *a, _real=real, _name=name, **kw):
            seen.append((_name, t.iteration, loss, hook.controller.value))
            return _real(loss, *a, **kw)
        setattr(hook.controller, name, spy)
    t.run(resume=False)
    held = [x for x in seen if x[1] <= settle]                # a loss measured at the drop was made before it
    acted = [x for x in seen if x[1] > settle]
    assert held and all(name == "hold" and knob >= 5 for name, _, _, knob in held)
    assert max(loss for _, _, loss, _ in held) > 0.05          # far above σ = 0.01, and still not tightened
    assert acted and all(name == "update" for name, *_ in acted)
    assert t.algo.get_knob() < 5                               # from the drop on it tightens on the loss


def test_fedavg_hold_never_leaves_skewscout_blind_longer_than_travel_at_least_every():
    class FedAvgLike:
        name, knob, knob_grid, delivers_average = "fedavg", "iter_local", [5, 10, 20, 50, 100, 200, 500, 1000], True
        knob_tighter_is_lower = True
        v = 50
        def get_knob(self): return self.v
        def set_knob(self, v): self.v = v
    def hook(start, **kw):
        algo = FedAvgLike()
        algo.v = start
        return SkewScout(algo, SkewScoutConfig(**kw)), algo
    s, algo = hook(50, travel_every=25, travel_at_least_every=125)
    assert s.holds and algo.v == 50 and s.controller.grid[s.ceiling] == 100    # loosens to 100 at most, not 1000
    assert hook(1000, travel_every=25, travel_at_least_every=125)[1].v == 100   # 1000 might never average
    assert hook(50, travel_every=25, travel_at_least_every=30)[1].v == 20
    assert hook(50, travel_every=2, travel_at_least_every=3)[1].v == 5           # the tightest
    s, algo = hook(1000, horizon="now")
    assert not s.holds and algo.v == 1000


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
    from training.trainer import Trainer

    cfg = _fedavg_cfg(measure="average")
    cfg["algorithm"] = {"name": "gaia", "threshold": 0.1}
    cfg["skewscout"]["grid"] = [0.05, 0.1, 0.2]
    with pytest.raises(UserError, match=r'measure "average" needs an algorithm that averages \(fedavg\), not gaia'):
        Trainer(cfg, tmp_path / "g")
    class FedAvgLike:
        knob, knob_grid, name, v, delivers_average = "iter_local", (5, 10), "fedavg", 5, True
        knob_tighter_is_lower = True
        def get_knob(self): return self.v
        def set_knob(self, v): self.v = v
    assert SkewScout(FedAvgLike()).measure == "average"                  # "auto" scores what FedAvg delivers
    with pytest.raises(UserError, match=r"skewscout.measure 'both'"):
        Trainer(_fedavg_cfg(measure="both"), tmp_path / "b")


def test_skewscout_resumed_from_a_checkpoint_ends_as_an_uninterrupted_run(tmp_path):
    """The hook's state (round, last travel, the controller's) is checkpointed under its key and restored."""
    from training.trainer import Trainer

    cfg = _fedavg_cfg(travel_budget=0)
    cfg["run"]["checkpoint_every"] = 20
    whole = Trainer(cfg, tmp_path / "whole").run(resume=False)

    def crash(state):
        raise KeyboardInterrupt
    broken = Trainer(cfg, tmp_path / "resumed")
    broken.add_hook(45, crash)                   # dies after the checkpoint at 40
    with pytest.raises(KeyboardInterrupt):
        broken.run(resume=False)
    resumed = Trainer(cfg, tmp_path / "resumed").run(resume=True)
    assert any("knob_after" in r for r in whole[2:])
    assert [r | {"wall_s": 0} for r in resumed] == [r | {"wall_s": 0} for r in whole]
