"""REPORT.md from a StudySummary alone: the prose lives in report_template.md, this module only picks the
blocks, formats the tables and fills in the numbers, so a summary.json renders the same report again."""
from __future__ import annotations

import math
import statistics

from training.skewscout.settings import LONGEST_SHARE, SHORTEST_SHARE, SkewScoutConfig
from training.study import render_beyond
from training.study.experiments import (
    F1_ITERATIONS,
    SKEWS,
)
from training.study.metrics import (
    F1_WITHIN,
    F4_BAR,
    F5_TEST_PHOTOS,
    TARGET_REL,
    AccuracyGap,
    F4Result,
    F4Run,
    Spread,
    StudyMeta,
    StudySummary,
    f1_check,
    f1_verdict,
    f2_reproduced,
    f3_trend,
    f5_check,
    f5_verdict,
    within_bar,
)
from training.study.protocol import DGC_GRID, FEDAVG_GRID, GAIA_GRID, MIN_AVERAGINGS
from training.study.template import fill, parse_blocks, pct, points

__all__ = ["fill", "parse_blocks", "render"]
FINDINGS = ("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8")


def render(summary: StudySummary) -> str:
    """The whole report: each part followed by one blank line; each finding with the header of the invocation
    whose runs it shows."""
    parts = [fill("header")]
    if summary.previous:
        parts.append(fill("previous", findings=", ".join(summary.previous)))
    m = summary.meta_of
    if summary.f1 is not None:
        parts.append(f1_section(summary.f1, m("F1")))
    if summary.f2 is not None:
        parts.append(f2_section(summary.f2, m("F2")))
    if summary.f3 is not None:
        parts.append(f3_section(summary.f3, m("F3")))
    if summary.f4 is not None:
        parts += f4_parts(summary.f4, m("F4"))
    if summary.f5 is not None:
        parts.append(f5_section(summary.f5, m("F5")))
    if summary.f6 is not None:
        parts.append(render_beyond.f6_section(summary.f6, m("F6")))
    if summary.f7 is not None:
        parts.append(render_beyond.f7_section(summary.f7, m("F7")))
    if summary.f8 is not None:
        parts.append(render_beyond.f8_section(summary.f8, m("F8")))
    for name in summary.skipped:
        parts.append(fill(f"{name.lower()}_skipped"))
    unfinished = [f"{n}: {summary.meta_of(n).pending_runs}" for n in FINDINGS
                  if getattr(summary, n.lower()) is not None and summary.meta_of(n).pending_runs]
    if unfinished:
        parts.append(fill("unfinished", runs="; ".join(unfinished)))
    if note_list := notes(summary):
        parts.append(fill("notes", notes="\n".join(note_list)))
    parts.append(closing(summary))
    return "".join(p + "\n\n" for p in parts)


def setup(meta: StudyMeta) -> str:
    """F2's and F3's data, run length and seeds, from the invocation that made them."""
    return fill("setup", data=meta.data_name, quick=fill("quick") + " " if meta.quick else "",
                iterations=meta.iterations, seeds=meta.seeds)


def _gap_row(name: str, g: AccuracyGap, geographic_first: bool = False) -> str:
    first, second = (g.skew, g.iid) if geographic_first else (g.iid, g.skew)
    return f"| {name} | {pct(first)} | {pct(second)} | {points(g.loss_points)} |"


def f1_section(f1: dict[str, AccuracyGap], meta: StudyMeta) -> str:
    rows = []
    for a, g in f1.items():
        check = f1_check(f1, a)
        pre = "—" if check is None else (f"{check.values['below_bsp_points']:.1f} "
                                         f"({'holds' if check.holds else 'fails'})")
        rows.append(f"| {a} | {pct(g.iid)} | {pre} | {pct(g.skew)} | {points(g.loss_points)} | "
                    f"{'—' if a == 'bsp' else f'**{f1_verdict(f1, a)}**'} |")
    data = fill("f1_mnist") if meta.mnist else meta.data_name
    return fill("f1", data=data, iterations=F1_ITERATIONS if meta.mnist else meta.iterations, seeds=meta.seeds,
                within=F1_WITHIN, rows="\n".join(rows))


def f5_section(f5: dict[str, AccuracyGap], meta: StudyMeta) -> str:
    check = f5_check(meta)
    photos = meta.manifest_photos
    rows = "\n".join(_gap_row(a, g, geographic_first=True) + f" **{f5_verdict(f5, a, meta)}** |"
                     for a, g in f5.items())
    return fill("f5", iterations=meta.iterations, seeds=meta.seeds, need=F5_TEST_PHOTOS,
                test_n=f"{photos['test']} photos" if "test" in photos else "size not recorded",
                partitions=", ".join(f"{k} {v}" for k, v in photos.items() if k != "test") or "not recorded",
                pre="not checked" if check is None else "holds" if check.holds else "fails",
                manifest_how=meta.manifest_how or "not recorded", rows=rows)


def closing(summary: StudySummary) -> str:
    """One row per invocation behind the report: its findings, portable command, engine version and cost."""
    groups: dict[tuple, list[str]] = {}
    for name in FINDINGS:
        if getattr(summary, name.lower()) is not None:
            m = summary.meta_of(name)
            groups.setdefault((m.command, tuple(sorted(m.engine.items()))), []).append(name)
    rows, runs, minutes = [], 0, 0.0
    for (command, engine), names in groups.items():
        per: list[StudyMeta] = []
        for m in (summary.meta_of(n) for n in names):       # one invocation's header shared by its findings: once
            if m not in per:
                per.append(m)
        n_runs, n_min = sum(m.runs for m in per), sum(m.run_minutes for m in per)
        runs, minutes = runs + n_runs, minutes + n_min
        rows.append(f"| {', '.join(names)} | `{command}` | {', '.join(f'{k} {v}' for k, v in engine)} | "
                    f"{n_runs} | {n_min:.1f} |")
    return fill("closing", rows="\n".join(rows), runs=runs, minutes=minutes)


def f2_section(f2: dict[str, AccuracyGap], meta: StudyMeta) -> str:
    return fill("f2", setup=setup(meta), rows="\n".join(_gap_row(m, g) for m, g in f2.items()),
                verdict="reproduced" if f2_reproduced(f2) else "not reproduced",
                bn=f2["lenet_bn"].loss_points, gn=f2["lenet_gn"].loss_points)


def f3_section(f3: dict[float, Spread], meta: StudyMeta) -> str:
    drop, mono = f3_trend(f3)
    return fill("f3", setup=setup(meta), skews=" | ".join(f"{int(100 * s)}%" for s in SKEWS),
                align="---:|" * len(SKEWS),
                accs=" | ".join(pct(v) for v in f3.values()),
                verdict="reproduced" if drop > 2 and mono else "not reproduced", drop=drop,
                trend=fill("f3_monotone" if mono else "f3_not_monotone"))


def _opt(v, fmt: str = "{:.1f}") -> str:
    return "—" if v is None else fmt.format(v)


def _ratio(run: F4Run | None) -> str:
    """The exact ratio (Python's shortest repr of the float: nothing rounded away), the final accuracy, and a mark
    where it misses the bar or BSP."""
    if run is None:
        return "—"
    acc = f"{100 * run.final:.1f}%"
    if run.ratio is None:
        return f"below target ({acc})"
    mark = "" if run.passes else (" **over bar**" if run.ratio > F4_BAR else " **≥ BSP**")
    return f"{run.ratio!r}× ({acc}){mark}"


def _f4_table(results: dict[str, F4Result]) -> str:
    rows = []
    for r in results.values():
        for algo, a in r.algos.items():
            by = {(x.controller, x.start): x for x in a.runs}
            oracle = "—" if a.oracle_knob is None else f"{a.oracle_knob} ({a.oracle_place})"
            cells = [_ratio(by.get(("skewscout", st))) for st in ("tightest", "middle", "loosest")]
            rows.append(f"| {r.name} | {algo} | {100 * r.target:.1f} | {r.bsp_mb:.1f} | {oracle} | "
                        f"{_opt(a.oracle_mb)} | " + " | ".join(cells) +
                        f" | {_ratio(by.get(('skewscout-paper', 'middle')))} |")
    return "\n".join(rows)


def f4_parts(f4: dict[str, F4Result], meta: StudyMeta) -> list[str]:
    d = SkewScoutConfig()
    rule = d.rule
    parts = [fill("f4", seeds=meta.seeds, target_pct=int(100 * TARGET_REL), gaia_grid=", ".join(map(str, GAIA_GRID)),
                  fedavg_grid=", ".join(map(str, FEDAVG_GRID)), dgc_grid=", ".join(map(str, DGC_GRID)),
                  min_averagings=MIN_AVERAGINGS, shortest=SHORTEST_SHARE, longest=LONGEST_SHARE,
                  budget_pct=100 * d.travel_budget, backoff=d.backoff, z=d.z, sample=d.sample_size,
                  bar=F4_BAR, rule=rule,
                  rule_text=fill(f"f4_rule_{rule}", z=d.z),
                  engine=", ".join(f"{k} runs {v}" for k, v in meta.engine.items()) or "not recorded")]
    for group in ("evaluation", "tuning"):
        results = {k: r for k, r in f4.items() if r.group == group}
        if results:
            parts.append(fill(f"f4_{group}", rows=_f4_table(results),
                              seeds=max(r.seeds for r in results.values()) or meta.seeds))
    parts.append(f4_verdict(f4))
    parts.append(fill("f4_figures"))
    return parts


def f4_verdict(f4: dict[str, F4Result]) -> str:
    """SkewScout as shipped against the bar (exact ratio ≤ F4_BAR, fewer bytes than BSP) on every setting, algorithm
    and start knob, per group; the Oracles on a grid end."""
    lines = []
    for group in ("evaluation", "tuning"):
        runs = [(r, algo, x) for r in f4.values() if r.group == group for algo, a in r.algos.items()
                for x in a.runs if x.controller == "skewscout"]
        if runs:
            ratios = sorted(math.inf if x.ratio is None else x.ratio for *_, x in runs)
            lines.append(fill("f4_verdict", group=group, n=len(runs), bar=F4_BAR,
                              reach=sum(x.ratio is not None for *_, x in runs),
                              below=sum(x.below_bsp for *_, x in runs),
                              within=sum(within_bar(x.ratio) for *_, x in runs),
                              ok=sum(x.passes for *_, x in runs),
                              goal=sum(1 for *_, x in runs if x.ratio is not None and x.ratio <= 1.2 and x.below_bsp),
                              median=repr(float(statistics.median(ratios)))))
    ends = [f"{r.name} {algo} ({a.oracle_place}: {a.oracle_knob})" for r in f4.values()
            for algo, a in r.algos.items() if a.oracle_place != "inside"]
    if ends:
        lines.append(fill("f4_grid_ends", ends="; ".join(ends)))
    return "\n\n".join(lines)


def notes(summary: StudySummary) -> list[str]:
    """Where a finding does not reproduce, each with the runs' own figures for why."""
    out = []
    for r in (summary.f4 or {}).values():
        for algo, a in r.algos.items():
            for x in a.runs:
                if x.controller == "skewscout" and not x.passes:
                    out.append(miss_note(r, algo, a, x))
    return out


def miss_note(r: F4Result, algo: str, a, x: F4Run) -> str:
    """Where SkewScout as shipped misses the bar on one run, with the run's own numbers: what the start knob costs
    run statically, when SkewScout's knob first reached the Oracle's (or looser), what it had sent by then, and the
    loss it measured at each evaluation."""
    walk = _walk(x)
    knobs = ", ".join(f"{it}: {k}" + (f" (loss {loss:.3f})" if loss is not None else "") for it, k, loss, _ in walk)
    # summary.json turns the knob keys into strings: compare as numbers so a re-render matches the first one
    start_mb = next((mb for k, (_, mb) in a.static.items() if float(k) == float(x.start_knob)), 0.0)
    reached = next(((it, mb) for it, k, _, mb in walk if a.oracle_knob is not None
                    and float(k) >= float(a.oracle_knob)), None)
    why = (fill("note_f4_below", final_pct=100 * x.final, target_pct=100 * r.target) if x.ratio is None else
           fill("note_f4_over", ratio=repr(x.ratio), bar=F4_BAR, mb=x.mb, oracle_mb=a.oracle_mb or 0,
                oracle_knob=a.oracle_knob, travel_pct=100 * x.travel_share, bsp_mb=r.bsp_mb))
    text = fill("note_f4_walk", start_knob=x.start_knob, start_mb=start_mb,
                first="never" if reached is None else f"first at iteration {reached[0]}", iterations=r.iterations)
    if x.walk_seed0 and a.oracle_mb:         # bytes per evaluation (summaries written before them have none)
        it, mb = reached or (walk[-1][0], walk[-1][3])
        losses = [(loss, i) for i, _, loss, _ in walk if loss is not None and i <= it]
        text += " " + fill("note_f4_cost", until="the end" if reached is None else f"iteration {it}", mb=mb,
                           times=mb / a.oracle_mb, worst=f"{max(losses)[0]:.3f} at iteration {max(losses)[1]}"
                           if losses else "none measured")
    return fill("note_f4_miss", setting=r.name, group=r.group, algo=algo, start=x.start, start_knob=x.start_knob,
                why=why + " " + text, knobs=knobs)


def _walk(x: F4Run) -> list:
    """Seed 0 at each evaluation: (iteration, knob after the controller's move, measured loss or None, MB so far);
    from a summary written before losses and bytes were kept, the knob at each evaluation alone."""
    return x.walk_seed0 or [(it, k, None, None) for it, k in x.knobs_seed0]
