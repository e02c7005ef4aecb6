"""F6–F8 (training/study/beyond.py): plan, verdicts on hand-built runs, and a report that keeps F1–F5 intact."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.study import beyond


def rows(final: float, spread: float = 0.1, evals=(50, 100, 150), mb: float = 10.0) -> list[dict]:
    """A run's metrics rows ending at ``final`` accuracy, partitions ``spread`` apart."""
    return [{"iteration": it, "acc_mean": final * (i + 1) / len(evals), "bytes": mb * 1e6 * (i + 1) / len(evals),
             "acc": [final - spread / 2, final + spread / 2]} for i, it in enumerate(evals)]


def results_f6(qgm_gain: float) -> dict:
    out = {}
    for seed, noise in enumerate((-0.005, 0.0, 0.005)):
        for topo in ("ring", "social"):
            for alpha in beyond.ALPHAS:
                gain = qgm_gain if alpha == 0.1 else qgm_gain / 4
                out[("F6", (topo, alpha, "dsgdm"), seed)] = rows(0.7 + noise)
                out[("F6", (topo, alpha, "qgm"), seed)] = rows(0.7 + gain + noise)
    return out


def test_plan_shares_identical_runs_and_puts_geographic_last(tmp_path):
    planned = beyond.plan(("F6", "F7", "F8"), 1, {"name": "digits"}, "m.parquet", tmp_path)
    folders = {key: f for key, _, f in planned}
    assert folders[("F6", ("ring", 0.1, "qgm"), 0)] == folders[("F8", ("dirichlet 0.1", "QGM + GN (ring)"), 0)]
    assert folders[("F7", ("iid", 0), 0)] != folders[("F7", ("label-exclusive", 0), 0)]
    geo = [c["data"]["name"] == "manifest" for _, c, _ in planned]
    assert any(geo) and geo == sorted(geo)                       # every geographic run after every digits run
    configs = {key: c for key, c, _ in planned}
    geo_control = configs[("F8", ("geographic", beyond.CONTROL), 0)]
    assert geo_control["data"]["shuffle_partitions"] and geo_control["model"]["name"] == "lenet_gn"
    assert folders[("F8", ("label-exclusive", beyond.CONTROL), 0)] == folders[("F8", ("dirichlet 0.1",
                                                                                      beyond.CONTROL), 0)]
    assert configs[("F8", ("label-exclusive", beyond.CONTROL), 0)]["partition"]["name"] == "iid"
    social = next(c for (n, k, _), c, _ in planned if n == "F6" and k[0] == "social")
    assert social["partition"]["num_partitions"] == 32 and social["solver"]["batch_size"] * 32 == 160


def test_f6_verdict_needs_a_gain_beyond_noise_at_strong_skew():
    yes = beyond.f6_summary(results_f6(0.05))
    assert yes["reproduced"] and yes["gain_grows_with_skew"]
    assert [round(r["gain"], 6) for r in yes["rows"]] == [1.25, 5.0, 1.25, 5.0]
    no = beyond.f6_summary(results_f6(0.005))                   # half a point: within the bar's 1 point
    assert not no["reproduced"]
    text = beyond.render({"F6": no, "beyond_meta": {}})
    assert "**Verdict: not reproduced.**" in text and "Why, from the runs" in text and "50, 100, 150" in text


def test_f7_extra_cost_of_staleness_under_skew():
    res = {}
    for seed in range(3):
        for s in beyond.STALENESS:
            res[("F7", ("iid", s), seed)] = rows(0.9 - 0.001 * s)
            res[("F7", ("label-exclusive", s), seed)] = rows(0.9 - (0.03 + 0.004 * s if s else 0) + 0.001 * seed)
    f7 = beyond.f7_summary(res)
    assert f7["extra_cost_under_skew"][32] == pytest.approx(3 + 100 * 0.003 * 32)
    assert f7["reproduced"] and f7["grows_with_staleness"] and f7["diverged"] == []
    flat = {k: rows(0.9) for k in res}
    assert not beyond.f7_summary(flat)["reproduced"]
    unstable = res | {("F7", ("iid", 2), seed): rows(0.15) for seed in range(3)}     # IID itself diverges at s = 2
    f7 = beyond.f7_summary(unstable)
    assert f7["diverged"] == [["iid", 2]] and not f7["reproduced"]
    assert "iid s = 2" in beyond.render({"F7": f7})


def test_write_keeps_f1_to_f5_and_replaces_only_the_beyond_part(tmp_path):
    (tmp_path / "REPORT.md").write_text("# F1-F5 report\n\nkept text\n")
    (tmp_path / "summary.json").write_text(json.dumps({"F1": {"bsp": 1}}))
    res = results_f6(0.05)
    for seed in range(3):
        for skew in ("label-exclusive", "dirichlet 0.1"):
            for i, name in enumerate(beyond.REMEDIES):
                res[("F8", (skew, name), seed)] = rows(0.6 + 0.02 * i, mb=10.0 * (i + 1))
    summary = {"F6": beyond.f6_summary(res), "F8": beyond.f8_summary(res),
               "beyond_meta": {"data": "digits", "seeds": 3, "iterations": 150}}
    for _ in range(2):                                           # twice: the second replaces the first
        beyond.write(tmp_path, summary)
    text = (tmp_path / "REPORT.md").read_text()
    assert text.startswith("# F1-F5 report\n\nkept text\n") and text.count(beyond.MARKER) == 1
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["F1"] == {"bsp": 1} and saved["F8"]["best"]["label-exclusive"]["best"] == "SkewScout (FedAvg + GN)"
    assert "| SkewScout (FedAvg + GN) | 72.0 ± 0.0 / 70 | 72.0 ± 0.0 / 70 |" in text
    assert all(Path(tmp_path / f).stat().st_size > 10_000 for f in ("f6_qgm.png", "f8_remedies.png"))
    assert beyond.kept(tmp_path).keys() == {"F6", "F8", "beyond_meta"}


def test_study_command_dispatches_f6_to_f8_to_beyond(monkeypatch, capsys, tmp_path):
    """`flickr-mammal study --experiments …`: F1-F5 go to run_study, F6-F8 to beyond.run_beyond, with the shared
    options; unknown names and options one half cannot honour are one error line (no training here)."""
    import training.study
    from flows.cli import main
    from flows.commands.study import split_experiments

    calls = []
    monkeypatch.setattr(training.study, "run_study", lambda out, **kw: calls.append(("paper", out, kw)) or {"F2": 1})
    monkeypatch.setattr(beyond, "run_beyond", lambda out, **kw: calls.append(("beyond", out, kw)) or {"F8": 2})
    assert split_experiments("f8, F2,F6") == (["F2"], ["F6", "F8"])
    assert split_experiments("all") == (["F1", "F2", "F3", "F4", "F5"], ["F6", "F7", "F8"])

    out = str(tmp_path / "study")
    assert main(["study", "--out", out, "--experiments", "F2,F8,F6", "--seeds", "2", "--runs", "R",
                 "--manifest", "m.parquet", "--mnist", "D"]) == 0
    (p, p_out, p_kw), (b, b_out, b_kw) = calls
    assert (p, p_out, p_kw["experiments"], p_kw["seeds"], p_kw["runs_dir"]) == ("paper", out, ["F2"], 2, "R")
    assert (b, b_out, b_kw["names"], b_kw["seeds"], b_kw["runs_dir"], b_kw["manifest"]) == \
        ("beyond", out, ("F6", "F8"), 2, "R", "m.parquet")
    assert b_kw["data"]["path"] == "D" and not b_kw["render_only"]

    calls.clear()
    assert main(["study", "--out", out, "--experiments", "F7", "--render-only"]) == 0
    assert [c[0] for c in calls] == ["beyond"] and calls[0][2]["render_only"] and calls[0][2]["data"] is None
    assert "(F7)" in capsys.readouterr().out

    calls.clear()
    for argv, words in ((["--experiments", "F9"], "unknown F9"), (["--experiments", "F6", "--quick"], "no quick"),
                        (["--experiments", "F1,F6", "--render-only"], "--render-only is for F6-F8")):
        assert main(["study", "--out", out, *argv]) == 2
        assert words in capsys.readouterr().err
    assert calls == []


def test_only_trains_the_named_runs_and_the_report_lists_engine_versions(tmp_path, monkeypatch):
    """``only``: the geographic runs train (today's engine), the others are read as they finished (an older engine);
    the header names both versions with their runs, the F8 table gets its geographic column."""
    from training.study import running

    manifest = "m.parquet"
    planned = beyond.plan(("F8",), 1, {"name": "digits", "test_fraction": 0.25}, manifest, tmp_path / "runs")

    def finish(folder, version, acc):
        Path(folder).mkdir(parents=True, exist_ok=True)
        r = [row | {"wall_s": 60.0} for row in rows(acc)]
        (Path(folder) / "done.json").write_text(json.dumps({"code_version": version, "rows": r}))

    for key, _, folder in planned:
        if key[1][0] != "geographic":
            finish(folder, "old", 0.8)
    trained = []
    monkeypatch.setattr(running, "code_version", lambda with_hooks=True: "new")
    monkeypatch.setattr(running, "run_all", lambda runs, jobs: [
        trained.append(folder) or finish(folder, "new", 0.5) for _, folder in runs])
    s = beyond.run_beyond(tmp_path / "out", seeds=1, manifest=manifest, runs_dir=tmp_path / "runs", names=("F8",),
                          only=("geographic",), versions_note="Only SkewScout changed.",
                          manifest_how="built by `flickr-mammal demo`")
    assert sorted(trained) == sorted(f for k, _, f in planned if k[1][0] == "geographic") and len(trained) == 8
    assert s["beyond_meta"]["run_versions"] == {"old": 15, "new": 8}        # the digits IID control serves two skews
    assert s["F8"]["controls"]["geographic"]["mean"] == 0.5 and s["F8"]["best"]["geographic"]["skew_cost"] == 0
    assert s["F8"]["geo_partitions"] == 2 and list(s["F8"]["table"]) == list(beyond.F8_SKEWS)
    text = (tmp_path / "out" / "REPORT.md").read_text()
    assert ("the current one is new; old: 15 runs, 15.0 run-minutes; new: 8 runs, 8.0 run-minutes (Only "
            "SkewScout changed)") in text
    assert ("Control: FedAvg + GN on the same data split IID 80.0 ± 0.0%, so the skew costs FedAvg + GN 0.0 points "
            "here; the best remedy ends level with that control.") in text
    assert "geographic: best" in text and "ends 0.0 points" not in text
    assert "built by `flickr-mammal demo` (`m.parquet`)" in text and "(2: the continents" in text
    assert beyond.strip_session_flags(["--out", "d", "--only", "geo", "--render-only", "--versions-note=x",
                                       "--seeds", "3"]) == ["--out", "d", "--seeds", "3"]
