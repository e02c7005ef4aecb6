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


def _f4_results():
    """One setting, two seeds: BSP; Gaia at three static thresholds; SkewScout as shipped and the paper's."""
    res = {}
    for seed in range(2):
        def put(key, rows, seed=seed):
            res[("F4", ("toy",) + key, seed)] = rows
        put(("bsp", None), _rows([0.5, 0.9, 1.0], [10, 20, 30], lr=(0.1, 0.1, 0.01)))
        put(("gaia", 0.02), _rows([0.5, 0.6, 0.9], [0.5, 1, 1.5], knob=0.02))                  # misses the target
        put(("gaia", 0.1), _rows([0.6, 0.96, 0.97], [2, 4, 6], knob=0.1))
        # whole run: seed-mean final 0.96 reaches 0.95 at 3 MB; to target: seed 1 never gets there
        put(("gaia", 0.3), _rows([0.5, 0.8, (0.99, 0.93)[seed]], [1, 2, 3], knob=0.3))
        put(("gaia", "skewscout"), _rows([0.6, 0.96, 0.98], [1.5, 3, 4.5], knob=0.3, travel_mb=0.45,
                                         losses=[0.0, 0.01, 0.2]))
        put(("gaia", "skewscout-paper"), _rows([0.6, 0.97, 0.98], [2, 4, 6], knob=0.1, losses=[0, 0, 0]))
    return res


def test_f4_oracle_ratio_and_savings_under_both_measures():
    s = metrics.f4_summary(_f4_results(), seeds=2)["toy"]
    assert s.target == pytest.approx(0.95) and s.iterations == 30 and s.lr_drops
    whole, to_target = s.whole_run.rows["gaia"], s.to_target.rows["gaia"]
    assert (whole.oracle_knob, whole.oracle_mb, whole.skewscout_mb) == (0.3, 3.0, 4.5)
    assert whole.ratio == pytest.approx(1.5) and metrics.within_bar(whole.ratio)
    assert whole.savings_vs_bsp == pytest.approx(30 / 4.5)
    assert (to_target.oracle_knob, to_target.oracle_mb, to_target.ratio) == (0.1, 4.0, 0.75)
    assert s.whole_run.rows["gaia, paper's SkewScout"].ratio == pytest.approx(2.0)
    row = s.rows["gaia"]
    assert row.iso.knob is None and row.iso.ratio is None                # no static knob ends at 0.98 - 0.005
    assert row.travel_share == pytest.approx(0.1)
    assert row.trajectory_worst[-1] == (30, 0.3, 0.2) and row.loosened_at == [10, 10]
    assert row.oracle_mean_acc == pytest.approx((0.5 + 0.8 + 0.96) / 3)


def test_within_bar_forgives_float_noise_only():
    assert metrics.within_bar(1.5000000000000002) and not metrics.within_bar(1.5001) and not metrics.within_bar(None)


# ---- the report from its summary ---------------------------------------------------------------------------------

def test_template_blocks_join_wrapped_prose_but_keep_tables_lists_and_images_whole():
    text = "comment\n@@ a\n# Title\n\nOne\ntwo.\n- item\ngoes on\n| x |\n| y |\n![i](p)\n@@ b\nz\n"
    blocks = render.parse_blocks(text)
    assert blocks == {"a": "# Title\n\nOne two.\n- item goes on\n| x |\n| y |\n![i](p)", "b": "z"}


def _summary():
    results = _f4_results()
    for seed in range(2):
        for m, (iid, skew) in {"lenet_bn": (0.99, 0.95), "lenet_gn": (0.99, 0.985)}.items():
            results[("F2", (m, "iid"), seed)] = _rows([iid], [1])
            results[("F2", (m, "label-exclusive"), seed)] = _rows([skew], [1])
    meta = _meta(f4_fedavg_loss=False)
    return metrics.summarize(results, ["F2", "F4", "F5"], meta)


def test_report_renders_the_summary_and_its_json_renders_the_same_report():
    s = _summary()
    report = render.render(s)
    assert "quick mode, 30 iterations" in report and "the 10 runs behind the report took 1.5 run-minutes" in report
    assert "| lenet_bn | 99.0 ± 0.0 | 95.0 ± 0.0 | 4.0 |" in report and "Verdict: **reproduced**" in report
    assert "| gaia | 30.0 | 0.3 | 3.0 | 4.5 | 1.50× | 6.7× | 0.1, 0.75× | —, — |" in report
    assert "within 1.5× of the Oracle on 1 of 1 settings × algorithms, each at the target accuracy" in report
    assert "whole-run ratio toy gaia 2.00×" in report and "Skipped: no export manifest" in report
    assert "f4_fedavg_loss.png" not in report
    again = metrics.StudySummary.from_json(json.loads(json.dumps(s.to_json(), default=str)))
    assert render.render(again) == report


def test_over_the_bar_the_report_says_why_with_the_runs_figures():
    results = _f4_results()
    for seed in range(2):               # SkewScout now spends 9 MB: 3x the Oracle
        results[("F4", ("toy", "gaia", "skewscout"), seed)] = _rows([0.6, 0.96, 0.98], [3, 6, 9], knob=0.1)
    s = metrics.summarize(results, ["F4"], _meta())
    notes = render.notes(s)
    assert notes[0].startswith("- F4 on toy, gaia: over the whole run SkewScout spends 3.00× the Oracle's bytes")
    assert "only after the LR drops; accuracy averaged over the run: Oracle 75.3%, SkewScout 84.7%." in notes[0]
    assert "not on toy gaia (3.00×) (why: below)" in render.f4_verdict(s.f4)


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
    running.run_cached(cfg, tmp_path, version="v2")
    (tmp_path / "done.json").write_text(json.dumps([{"acc_mean": 0.1}]))      # the format before versions
    running.run_cached(cfg, tmp_path, version="v2")
    assert len(fake_training) == 3


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
    assert "### digits, 120 iterations" in report and "![F4](f4_skewscout.png)" in report
    for png in ("f4_skewscout.png", "f4_accuracy_over_time.png"):
        assert (tmp_path / "study" / png).stat().st_size > 20_000
    r = s["F4"]["digits"]
    assert r["gaia"]["travel_share"] > 0                      # Gaia's SkewScout did travel
    assert set(s["F4"]) == {"digits", "digits, constant LR"}
    for algo in ("gaia", "fedavg"):
        a = r[algo]
        assert a["skewscout_mean_acc"] > 0 and 0 <= a["travel_share"] < 0.5
        assert a["bsp_mb"] > 0 and a["oracle_mean_acc"] is None or 0 < a["oracle_mean_acc"] <= 1
        if a["ratio"] is not None:          # the ratio is what the table says it is
            assert abs(a["ratio"] - a["skewscout_mb"] / a["oracle_mb"]) < 1e-9
    # the report renders from summary.json alone
    again = metrics.StudySummary.from_json(json.loads((tmp_path / "study" / "summary.json").read_text()))
    assert render.render(again) == report
