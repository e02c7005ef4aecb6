"""The study in parts: the shared run cache, the statistics on hand-built runs, the report rendered from its
summary, the Oracle, and (slow) the quick study end to end."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.study import metrics, render, running
from training.sweep import bytes_to_target, oracle, sweep


def _rows(accs, mb, knob=None, travel_mb=0.0, losses=None, lr=(0.1,)):
    """Metrics rows of one run: one per evaluation, bytes in MB, travel counted in the last row."""
    n = len(accs)
    rows = []
    for i, (a, b) in enumerate(zip(accs, mb)):
        r = {"iteration": 10 * (i + 1), "acc_mean": a, "bytes": b * 1e6, "lr": lr[min(i, len(lr) - 1)],
             "knob": knob, "bytes_travel": travel_mb * 1e6 * (i == n - 1), "wall_s": 1.0}
        if losses is not None:
            r["skewscout_loss"] = losses[i]
        rows.append(r)
    return rows


def _meta(seeds=2, **kw):
    return metrics.StudyMeta(data_name="toy", quick=True, iterations=30, seeds=seeds, command="study", seconds=60,
                             runs=10, run_minutes=1.5, **kw)


# ---- statistics --------------------------------------------------------------------------------------------------

def test_a_skew_cost_counts_only_beyond_two_points_and_the_seed_spread():
    results = {}
    for seed, (iid, skew) in enumerate([(0.90, 0.80), (0.92, 0.84)]):       # fedavg: 9 points lost, spread ~2
        results[("F1", ("fedavg", "iid"), seed)] = _rows([iid], [1])
        results[("F1", ("fedavg", "label-exclusive"), seed)] = _rows([skew], [1])
    for seed, (iid, skew) in enumerate([(0.90, 0.80), (0.90, 0.98)]):       # gaia: 1 point lost, spread 11
        results[("F1", ("gaia", "iid"), seed)] = _rows([iid], [1])
        results[("F1", ("gaia", "label-exclusive"), seed)] = _rows([skew], [1])
    f1 = {a: metrics.gap(results, "F1", (a, "iid"), (a, "label-exclusive"), 2) for a in ("fedavg", "gaia")}
    assert f1["fedavg"].iid == metrics.Spread(0.91, pytest.approx(0.0141421, abs=1e-6))
    assert f1["fedavg"].loss_points == pytest.approx(9.0) and f1["fedavg"].beyond_noise
    assert f1["gaia"].loss_points == pytest.approx(1.0) and not f1["gaia"].beyond_noise
    assert metrics.Spread.of([0.5]) == metrics.Spread(0.5, 0.0)          # one seed: no spread, not NaN


def test_f2_needs_bn_to_lose_and_gn_to_recover_most_of_it():
    def gap(iid, skew):
        return metrics.AccuracyGap(metrics.Spread(iid, 0), metrics.Spread(skew, 0))
    assert metrics.f2_reproduced({"lenet_bn": gap(0.99, 0.95), "lenet_gn": gap(0.99, 0.98)})
    assert not metrics.f2_reproduced({"lenet_bn": gap(0.99, 0.95), "lenet_gn": gap(0.99, 0.965)})
    assert not metrics.f2_reproduced({"lenet_bn": gap(0.99, 0.98), "lenet_gn": gap(0.99, 0.99)})


def test_f3_trend_is_monotone_only_within_the_spread():
    falling = {s: metrics.Spread(m, 0.002) for s, m in zip((0.0, 0.5, 1.0), (0.98, 0.981, 0.90))}
    assert metrics.f3_trend(falling) == (pytest.approx(8.0), True)       # 0.1 point up is inside 0.5 points
    bumpy = {s: metrics.Spread(m, 0.002) for s, m in zip((0.0, 0.5, 1.0), (0.90, 0.95, 0.85))}
    assert metrics.f3_trend(bumpy) == (pytest.approx(5.0), False)


E9 = "E9 digits, label-exclusive, K=10, constant LR, σ=0.05, 1200 iterations"


def _f4_results(middle_mb=5.0):
    """Evaluation setting E9, two seeds: BSP; Gaia at four static thresholds (0.2 the Oracle, inside the grid);
    SkewScout as shipped from the tightest (1.5× exactly), the middle and the loosest knob (below the target) and
    the paper's from the middle (2×)."""
    res = {}
    for seed in range(2):
        def put(key, rows, seed=seed):
            res[("F4", ("E9",) + key, seed)] = rows
        put(("bsp", None, None), _rows([0.5, 0.9, 1.0], [10, 20, 30]))
        put(("gaia", 0.05, None), _rows([0.6, 0.9, 0.99], [3, 6, 9], knob=0.05))
        put(("gaia", 0.1, None), _rows([0.6, 0.9, 0.97], [2, 4, 6], knob=0.1))
        put(("gaia", 0.2, None), _rows([0.6, 0.9, (0.97, 0.95)[seed]], [1, 2, 4], knob=0.2))  # seed mean 0.96
        put(("gaia", 0.3, None), _rows([0.5, 0.8, 0.9], [0.5, 1, 2], knob=0.3))               # misses the target
        put(("gaia", "skewscout", "tightest"), _rows([0.6, 0.96, 0.97], [2, 4, 6], knob=0.1, travel_mb=0.6))
        put(("gaia", "skewscout", "middle"), _rows([0.6, 0.96, 0.97], [2, 4, middle_mb], knob=0.2))
        put(("gaia", "skewscout", "loosest"), _rows([0.3, 0.6, 0.9], [0.5, 1, 2], knob=2.0))
        put(("gaia", "skewscout-paper", "middle"), _rows([0.6, 0.97, 0.98], [2, 4, 8], knob=0.1))
    return res


def test_f4_oracle_its_place_in_the_grid_and_exact_ratios_per_start_knob():
    s = metrics.f4_summary(_f4_results(), seeds=2)["E9"]
    assert s.target == pytest.approx(0.95) and s.iterations == 30 and s.group == "evaluation" and s.name == E9
    g = s.algos["gaia"]
    assert (g.oracle_knob, g.oracle_mb, g.oracle_place) == (0.2, 4.0, "inside")
    by = {(r.controller, r.start): r for r in g.runs}
    tight = by[("skewscout", "tightest")]
    assert tight.ratio == 1.5 and tight.passes and tight.travel_share == pytest.approx(0.1)
    assert by[("skewscout", "middle")].ratio == 1.25 and by[("skewscout", "middle")].passes
    assert by[("skewscout", "loosest")].ratio is None and not by[("skewscout", "loosest")].passes
    assert by[("skewscout-paper", "middle")].ratio == 2.0
    assert s.algos["fedavg"].oracle_place == "not run"                   # no static FedAvg run in the toy
    assert metrics.oracle_place((1, 2, 3), 1) == "tightest end" and metrics.oracle_place((1, 2, 3), 3) == "loosest end"


def test_within_bar_compares_the_exact_ratio():
    assert metrics.within_bar(1.5) and not metrics.within_bar(1.5000000000000002) and not metrics.within_bar(None)
    over = metrics.f4_summary(_f4_results(middle_mb=4 * 1.5 * (1 + 2 ** -52)), seeds=2)["E9"].algos["gaia"]
    middle = next(r for r in over.runs if r.start == "middle" and r.controller == "skewscout")
    assert middle.ratio > 1.5 and not middle.passes            # float noise above the bar is above the bar


# ---- the report from its summary ---------------------------------------------------------------------------------

def test_template_blocks_join_wrapped_prose_but_keep_tables_lists_and_images_whole():
    text = "comment\n@@ a\n# Title\n\nOne\ntwo.\n- item\ngoes on\n| x |\n| y |\n![i](p)\n@@ b\nz\n"
    blocks = render.parse_blocks(text)
    assert blocks == {"a": "# Title\n\nOne two.\n- item goes on\n| x |\n| y |\n![i](p)", "b": "z"}


def _f2_results():
    results = {}
    for seed in range(2):
        for m, (iid, skew) in {"lenet_bn": (0.99, 0.95), "lenet_gn": (0.99, 0.985)}.items():
            results[("F2", (m, "iid"), seed)] = _rows([iid], [1])
            results[("F2", (m, "label-exclusive"), seed)] = _rows([skew], [1])
    return results


def _summary():
    return metrics.summarize(_f4_results() | _f2_results(), ["F2", "F4", "F5"], _meta())


def test_report_renders_the_summary_and_its_json_renders_the_same_report():
    s = _summary()
    report = render.render(s)
    assert "quick mode, 30 iterations" in report and "the 10 runs behind the report took 1.5 run-minutes" in report
    assert "| lenet_bn | 99.0 ± 0.0 | 95.0 ± 0.0 | 4.0 |" in report and "Verdict: **reproduced**" in report
    assert "### Evaluation settings" in report and "### Tuning settings" not in report
    assert (f"| {E9} | gaia | 95.0 | 30.0 | 0.2 (inside) | 4.0 | 1.5× (97.0%) | 1.25× (97.0%) | "
            "below target (90.0%) | 2.0× (98.0%) **over bar** |") in report
    assert "evaluation settings (SkewScout as shipped): 2 of 3 runs" in report
    assert "Skipped: no export manifest" in report
    again = metrics.StudySummary.from_json(json.loads(json.dumps(s.to_json(), default=str)))
    assert render.render(again) == report


def test_where_the_bar_is_missed_the_report_says_why_with_the_runs_numbers():
    s = metrics.summarize(_f4_results(middle_mb=9.0), ["F4"], _meta())
    notes = render.notes(s)
    assert any(n.startswith(f"- F4 {E9} (evaluation), gaia from the middle knob (0.5): 2.25× the Oracle's bytes "
                            "(9.0 MB against 4.0 MB at knob 0.2; BSP 30.0 MB)") for n in notes), notes
    assert any("gaia from the loosest knob (20.0): final accuracy 90.0% is below the target 95.0%" in n for n in notes)


def test_findings_not_rerun_are_kept_from_the_previous_summary(tmp_path):
    from training.study.report import write

    write(tmp_path, _f2_results(), ["F2"], _meta())
    assert "## F2" in (tmp_path / "REPORT.md").read_text()
    write(tmp_path, _f4_results(), ["F4"], _meta())
    report = (tmp_path / "REPORT.md").read_text()
    assert "## F2" in report and "## F4" in report and "Not rerun by this invocation: F2" in report


# ---- the run cache shared with sweep -----------------------------------------------------------------------------

@pytest.fixture
def fake_training(monkeypatch):
    """run_training replaced by a counter that returns one metrics row per call."""
    calls = []

    def run_training(config, out, resume=True):
        calls.append(config)
        Path(out).mkdir(parents=True, exist_ok=True)
        return [{"iteration": 1, "acc_mean": 0.9, "bytes": 1e6 * (config["algorithm"].get("threshold") or 10)}]

    monkeypatch.setattr("training.runner.run_training", run_training)
    return calls


def test_a_run_cached_by_other_training_code_is_rerun(tmp_path, fake_training):
    cfg = {"algorithm": {"name": "bsp"}}
    running.run_cached(cfg, tmp_path, version="v1")
    running.run_cached(cfg, tmp_path, version="v1")
    assert len(fake_training) == 1
    assert json.loads((tmp_path / "done.json").read_text())["code_version"] == "v1"
    running.run_cached(cfg | {"solver": {"lr": 0.1}}, tmp_path, version="v1")     # same code, another config
    assert len(fake_training) == 2
    running.run_cached(cfg, tmp_path, version="v2")
    (tmp_path / "done.json").write_text(json.dumps([{"acc_mean": 0.1}]))      # the format before versions
    running.run_cached(cfg, tmp_path, version="v2")
    assert len(fake_training) == 4


def test_code_version_follows_the_engine_not_the_analysis(tmp_path, monkeypatch):
    (tmp_path / "study").mkdir()
    (tmp_path / "trainer.py").write_text("x = 1\n")
    (tmp_path / "study" / "report.py").write_text("y = 1\n")
    monkeypatch.setattr(running, "TRAINING", tmp_path)
    v = running.code_version()
    (tmp_path / "study" / "report.py").write_text("y = 2\n")
    assert running.code_version() == v
    (tmp_path / "trainer.py").write_text("x = 2\n")
    assert running.code_version() != v


def test_code_version_ignores_comments_and_docstrings(tmp_path, monkeypatch):
    monkeypatch.setattr(running, "TRAINING", tmp_path)
    (tmp_path / "trainer.py").write_text('"""Module."""\ndef f(x):\n    """Old, wrong text."""\n    return x + 1\n')
    v = running.code_version()
    (tmp_path / "trainer.py").write_text('"""Module, fixed."""\n\n# a comment\ndef f(x):\n'
                                         '    """New, right text."""\n    return x + 1  # same code\n')
    assert running.code_version() == v                      # docstring, comment and blank-line edits keep runs
    (tmp_path / "trainer.py").write_text('def f(x):\n    return x + 2\n')
    assert running.code_version() != v                      # a code edit does not
    (tmp_path / "trainer.py").write_text('def f(x):\n    "a docstring where there was none"\n'
                                         '    return x + 1\n')
    assert running.code_version() == v                      # a docstring added where there was none


def test_a_run_without_skewscout_is_keyed_without_its_code(tmp_path, monkeypatch):
    (tmp_path / "skewscout").mkdir()
    (tmp_path / "trainer.py").write_text("x = 1\n")
    (tmp_path / "skewscout" / "controller.py").write_text("rule = 1\n")
    monkeypatch.setattr(running, "TRAINING", tmp_path)
    static, scouted = {"algorithm": {"name": "gaia"}}, {"skewscout": {"enabled": True}}
    before = running.version_of(static), running.version_of(scouted)
    (tmp_path / "skewscout" / "controller.py").write_text("rule = 2\n")
    assert running.version_of(static) == before[0]           # a controller change keeps the static runs
    assert running.version_of(scouted) != before[1]          # and reruns the SkewScout ones
    (tmp_path / "trainer.py").write_text("x = 2\n")
    assert running.version_of(static) != before[0]           # an engine change reruns everything


def test_sweep_runs_through_the_shared_cache(tmp_path, fake_training):
    cfg = {"algorithm": {"name": "gaia", "threshold": 0.2}, "solver": {}}
    res = sweep(cfg, tmp_path, [0.1, 0.3], target=0.5, echo=lambda s: None)
    assert [r["label"] for r in res["runs"]] == ["gaia threshold=0.1", "gaia threshold=0.3", "bsp"]
    assert res["oracle"]["knob"] == 0.1 and res["oracle"]["bytes_to_target"] == 0.1e6
    again = sweep(cfg, tmp_path, [0.1, 0.3], target=0.5, echo=lambda s: None)
    assert len(fake_training) == 3 and again == res
    assert "code_version" in json.loads((tmp_path / "bsp" / "done.json").read_text())


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


# ---- end to end (slow) -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_study_quick_writes_a_report_with_figures(tmp_path):
    from training.study import run_study

    s = run_study(tmp_path / "study", quick=True, seeds=2, experiments=["F2"], runs_dir=tmp_path / "runs")
    report = (tmp_path / "study" / "REPORT.md").read_text()
    assert "## F2" in report and "![F2](f2_bn_vs_gn.png)" in report
    assert (tmp_path / "study" / "f2_bn_vs_gn.png").stat().st_size > 10_000
    assert set(s["F2"]) == {"lenet_bn", "lenet_gn"}


@pytest.mark.slow
def test_study_quick_f4_compares_skewscout_with_the_oracle_in_a_report(tmp_path):
    from training.study import run_study

    s = run_study(tmp_path / "study", quick=True, seeds=1, experiments=["F4"], runs_dir=tmp_path / "runs")
    report = (tmp_path / "study" / "REPORT.md").read_text()
    assert "### Evaluation settings" in report and "### Tuning settings" in report
    assert "![F4](f4_skewscout.png)" in report and (tmp_path / "study" / "f4_skewscout.png").stat().st_size > 20_000
    assert set(s["F4"]) == {"E9", "T1"}
    for r in s["F4"].values():
        for a in r["algos"].values():
            for run in a["runs"]:
                assert 0 <= run["travel_share"] < 0.5
                if run["ratio"] is not None:          # the ratio is what the table says it is, exactly
                    assert run["ratio"] == run["mb"] / a["oracle_mb"]
    assert sum(len(a["runs"]) for a in s["F4"]["E9"]["algos"].values()) == 8      # 3 starts + the paper's, × 2
    again = metrics.StudySummary.from_json(json.loads((tmp_path / "study" / "summary.json").read_text()))
    assert render.render(again) == report


def test_f4_runs_a_chosen_subset_of_settings_and_fewer_tuning_seeds(tmp_path):
    from catalog.errors import UserError
    from training.study.report import f4_settings, plan

    chosen = f4_settings(False, ["T1", "E9"])
    assert [s.id for s in chosen] == ["E9", "T1"]                      # the protocol's order: evaluation first
    runs = plan(["F4"], 3, {"name": "digits"}, 400, None, chosen, tmp_path, tuning_seeds=1)
    per_setting = {(key[0], seed) for (_, key, seed), *_ in runs}
    assert per_setting == {("E9", 0), ("E9", 1), ("E9", 2), ("T1", 0)}
    # evaluation: BSP, 11 Gaia + 8 FedAvg static knobs (1200 iterations: Iter_local up to 200, at least 3
    # averagings), 3 starts × 2 algorithms, the paper's × 2; tuning (300: up to 100): the middle start only
    ids = [key[0] for (_, key, _), *_ in runs]
    assert ids.count("E9") == 3 * 28 and ids.count("T1") == 23
    with pytest.raises(UserError, match=r"^--f4-settings: unknown setting\(s\) E1; the protocol's are E9, E10, E11, "):
        f4_settings(False, ["E1", "T1"])


def test_the_protocols_mnist_settings_need_the_idx_folder(tmp_path):
    from catalog.errors import UserError
    from training.study.report import f4_settings, with_mnist

    chosen = f4_settings(False, ["E10", "E9"])
    with pytest.raises(UserError, match=r"^F4 settings E10 train on MNIST-10k: pass --f4-mnist DIR"):
        with_mnist(chosen, None)
    placed = with_mnist(chosen, str(tmp_path))
    assert [s.data.get("path") for s in placed] == [None, str(tmp_path.resolve())]    # E9 is digits


def test_f5_configs_are_valid_training_configs():
    """F5's runs replace the data section whole: a digits key left in it would be refused at train time."""
    from training.config import parse_config
    from training.study.experiments import base_config, f5

    runs = list(f5(base_config({"name": "digits", "test_fraction": 0.25}, 40, 0), "export/manifest.parquet"))
    assert len(runs) == 6
    for _, cfg in runs:
        assert cfg["data"] == {"name": "manifest", "path": "export/manifest.parquet", "img_size": 32} | (
            {"shuffle_partitions": True} if cfg["data"].get("shuffle_partitions") else {})
        parse_config(cfg)
