"""REPORT.md from a StudySummary alone: the prose lives in report_template.md, this module only picks the
blocks, formats the tables and fills in the numbers, so a summary.json renders the same report again."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from training.study.experiments import (
    F4_BUDGET,
    F4_FEDAVG_GRID,
    F4_FLOOR,
    F4_GAIA_GRID,
    F4_SIGMA,
    F4_START,
    F4_TRAVELS_PER_RUN,
    SKEWS,
)
from training.study.metrics import (
    F4_BAR,
    TARGET_REL,
    AccuracyGap,
    F4Row,
    F4Setting,
    Spread,
    StudyMeta,
    StudySummary,
    f2_reproduced,
    f3_trend,
    within_bar,
)

TEMPLATE = Path(__file__).with_name("report_template.md")     # *.md: shipped as package data
NEVER_CONTINUED = ("|", "#", "![")            # table rows, headings and images stay whole lines
STARTS_A_LINE = NEVER_CONTINUED + ("- ",)


def parse_blocks(text: str) -> dict[str, str]:
    """``@@ name`` blocks of a template; wrapped prose lines are joined back into one line each."""
    blocks: dict[str, list[str]] = {}
    lines = None
    for raw in text.splitlines():
        if raw.startswith("@@ "):
            lines = blocks.setdefault(raw[3:].strip(), [])
        elif lines is not None:
            line = raw.rstrip()
            prev = lines[-1] if lines else ""
            if line and prev and not line.startswith(STARTS_A_LINE) and not prev.startswith(NEVER_CONTINUED):
                lines[-1] = f"{prev} {line}"
            else:
                lines.append(line)
    return {name: "\n".join(lines).strip("\n") for name, lines in blocks.items()}


@cache
def _blocks() -> dict[str, str]:
    return parse_blocks(TEMPLATE.read_text())


def fill(block: str, **values) -> str:
    return _blocks()[block].format(**values)


def render(summary: StudySummary) -> str:
    """The whole report: each part followed by one blank line."""
    parts = [header(summary.meta)]
    if summary.f1 is not None:
        parts.append(fill("f1", rows="\n".join(_f1_row(a, g) for a, g in summary.f1.items())))
    if summary.f2 is not None:
        parts.append(f2_section(summary.f2))
    if summary.f3 is not None:
        parts.append(f3_section(summary.f3))
    if summary.f4 is not None:
        parts += f4_parts(summary.f4, summary.meta)
    if summary.skipped_f5:
        parts.append(fill("f5_skipped"))
    if summary.f5 is not None:
        parts.append(fill("f5", manifest=summary.meta.manifest,
                          rows="\n".join(_gap_row(a, g, geographic_first=True) for a, g in summary.f5.items())))
    if note_list := notes(summary):
        parts.append(fill("notes", notes="\n".join(note_list)))
    return "".join(p + "\n\n" for p in parts)


def header(meta: StudyMeta) -> str:
    return fill("header", data=meta.data_name, quick=fill("quick") + " " if meta.quick else "",
                iterations=meta.iterations, seeds=meta.seeds, command=meta.command, minutes=meta.seconds / 60,
                runs=meta.runs, run_minutes=meta.run_minutes)


def pct(s: Spread) -> str:
    return f"{100 * s.mean:.1f} ± {100 * s.std:.1f}"


def _gap_row(name: str, g: AccuracyGap, geographic_first: bool = False) -> str:
    first, second = (g.skew, g.iid) if geographic_first else (g.iid, g.skew)
    return f"| {name} | {pct(first)} | {pct(second)} | {g.loss_points:.1f} |"


def _f1_row(algo: str, g: AccuracyGap) -> str:
    return _gap_row(algo, g) + f" {'—' if algo == 'bsp' else ('yes' if g.beyond_noise else 'no')} |"


def f2_section(f2: dict[str, AccuracyGap]) -> str:
    return fill("f2", rows="\n".join(_gap_row(m, g) for m, g in f2.items()),
                verdict="reproduced" if f2_reproduced(f2) else "not reproduced",
                bn=f2["lenet_bn"].loss_points, gn=f2["lenet_gn"].loss_points)


def f3_section(f3: dict[float, Spread]) -> str:
    drop, mono = f3_trend(f3)
    return fill("f3", skews=" | ".join(f"{int(100 * s)}%" for s in SKEWS), align="---:|" * len(SKEWS),
                accs=" | ".join(pct(v) for v in f3.values()),
                verdict="reproduced" if drop > 2 and mono else "not reproduced", drop=drop,
                trend=fill("f3_monotone" if mono else "f3_not_monotone"))


def _opt(v, fmt: str = "{:.1f}") -> str:
    return "—" if v is None else fmt.format(v)


def _f4_row(name: str, r: F4Row, s: F4Setting) -> str:
    w, t, iso = r.whole, s.to_target.rows[name], r.iso
    oracle_pct = r.oracle_mean_acc and 100 * r.oracle_mean_acc
    return (f"| {name} | {_opt(s.whole_run.bsp_mb)} | {_opt(w.oracle_knob, '{}')} | {_opt(w.oracle_mb)} | "
            f"{_opt(w.skewscout_mb)} | {_opt(w.ratio, '{:.2f}×')} | {_opt(w.savings_vs_bsp, '{:.1f}×')} | "
            f"{_opt(t.oracle_knob, '{}')}, {_opt(t.ratio, '{:.2f}×')} | {_opt(iso.knob, '{}')}, "
            f"{_opt(iso.ratio, '{:.2f}×')} | {_opt(oracle_pct)} / {100 * r.skewscout_mean_acc:.1f} |")


def f4_parts(f4: dict[str, F4Setting], meta: StudyMeta) -> list[str]:
    parts = [fill("f4", seeds=meta.seeds, target_pct=int(100 * TARGET_REL), gaia_grid=", ".join(map(str, F4_GAIA_GRID)),
                  fedavg_grid=", ".join(map(str, F4_FEDAVG_GRID)), gaia_start=F4_START["gaia"],
                  fedavg_start=F4_START["fedavg"], sigma=F4_SIGMA, travels=F4_TRAVELS_PER_RUN,
                  budget_pct=100 * F4_BUDGET, floor=F4_FLOOR)]
    for setting, s in f4.items():
        parts.append(fill("f4_setting", setting=setting, iterations=s.iterations, target_pct=100 * s.target,
                          rows="\n".join(_f4_row(name, r, s) for name, r in s.rows.items())))
    parts.append(f4_verdict(f4))
    parts.append(fill("f4_figures"))
    if meta.f4_fedavg_loss:
        parts.append(fill("f4_loss_figure"))
    return parts


def f4_verdict(f4: dict[str, F4Setting]) -> str:
    """SkewScout as shipped against the F4_BAR over every setting × algorithm, whole run and to target."""
    shipped = [(st, a, s.rows[a].whole.ratio) for st, s in f4.items() for a in ("gaia", "fedavg") if a in s.rows]
    ok = [(st, a) for st, a, v in shipped if within_bar(v)]
    savings = [v for st, a, _ in shipped if (v := f4[st].rows[a].whole.savings_vs_bsp)]
    missed = ", ".join(f"{st} {a} ({'below target' if v is None else f'{v:.2f}×'})"
                       for st, a, v in shipped if (st, a) not in ok)
    return fill("f4_verdict", bar=F4_BAR, ok=len(ok), n=len(shipped),
                reached=fill("f4_verdict_reached") if all(v is not None for *_, v in shipped) else "",
                savings=fill("f4_verdict_savings", low=min(savings), high=max(savings)) if savings else "",
                missed=fill("f4_verdict_missed", missed=missed) if len(ok) < len(shipped) else "",
                ok_to_target=sum(within_bar(f4[st].to_target.rows[a].ratio) for st, a, _ in shipped))


def trajectory(traj) -> str:
    return ", ".join(f"{it}: {k}" + (f" (loss {loss:.2f})" if loss is not None else "") for it, k, loss in traj)


def _quarters(q) -> str:
    return ", ".join(f"{v:.2f}" for v in q)


def notes(summary: StudySummary) -> list[str]:
    """Where a finding does not reproduce, each with the runs' own figures for why."""
    out = []
    f1 = summary.f1 or {}
    weak = [a for a in ("gaia", "dgc", "fedavg") if a in f1 and f1[a].loss_points <= 2]
    if weak:
        out.append(fill("note_f1", weak=", ".join(weak), data=summary.meta.data_name,
                        bsp_pct=100 * f1["bsp"].iid.mean if "bsp" in f1 else 0))
    f4 = summary.f4 or {}
    for setting, s in f4.items():
        for algo in ("gaia", "fedavg"):
            r = s.rows.get(algo)
            if r and r.whole.ratio and not within_bar(r.whole.ratio):
                out.append(over_bar_note(setting, algo, s, r, f4))
            elif r and r.whole.skewscout_mb is None:
                out.append(below_target_note(setting, algo, s, r))
    paper = {(st, a): r.whole.ratio for st, s in f4.items() for a in ("gaia", "fedavg")
             if (r := s.rows.get(f"{a}, paper's SkewScout")) and r.whole.ratio}
    if paper:
        out.append(fill("note_f4_paper", ratios=", ".join(f"{st} {a} {v:.2f}×" for (st, a), v in paper.items())))
    return out


def below_target_note(setting: str, algo: str, s: F4Setting, r: F4Row) -> str:
    worst = r.trajectory_worst
    late_jump = (len(worst) > 2 and (worst[-1][2] or 0) > F4_SIGMA
                 and all((x[2] or 0) <= F4_SIGMA for x in worst[-3:-1]))
    return fill("note_f4_below_target", setting=setting, algo=algo, target_pct=100 * s.target,
                finals=", ".join(f"{100 * a:.1f}%" for a in r.finals), trajectory=trajectory(worst),
                late_jump=" " + fill("note_f4_late_jump") if late_jump else "")


def over_bar_note(setting: str, algo: str, s: F4Setting, r: F4Row, f4: dict[str, F4Setting]) -> str:
    """Why SkewScout as shipped spends more than F4_BAR × the Oracle on one setting, from the runs' own figures."""
    parts = [fill("note_f4_over_bar", setting=setting, algo=algo, ratio=r.whole.ratio, bar=F4_BAR,
                  travel_pct=100 * r.travel_share)]
    accs = {"oracle_pct": 100 * (r.oracle_mean_acc or 0), "skewscout_pct": 100 * r.skewscout_mean_acc}
    seen = r.oracle_loss_by_quarter
    if algo == "fedavg" and seen:
        parts.append(fill("note_f4_fedavg_hold", start=F4_START["fedavg"], oracle_knob=r.whole.oracle_knob,
                          loosened_at="/".join(str(i) if i is not None else "never" for i in r.loosened_at),
                          quarters=_quarters(seen), sigma=F4_SIGMA))
        unsafe = next(((other, knob, q) for other, o in f4.items() if other != setting and "fedavg" in o.rows
                       for knob, q in o.rows["fedavg"].failing_knobs_loss_by_quarter.items()
                       if q[0] >= max(seen[:2]) * 0.8), None)
        if unsafe:
            parts.append(fill("note_f4_unsafe", other=unsafe[0], knob=unsafe[1], quarters=_quarters(unsafe[2])))
    elif s.lr_drops:
        parts.append(fill("note_f4_after_drops", oracle_knob=r.whole.oracle_knob, **accs))
    else:
        parts.append(fill("note_f4_mean_acc", **accs))
    iso = r.iso
    spends = (fill("note_f4_same_accuracy_spends", mb=iso.mb, ratio=iso.ratio) if iso.ratio
              else fill("note_f4_same_accuracy_none"))
    parts.append(fill("note_f4_same_accuracy", knob=iso.knob, spends=spends, trajectory=trajectory(r.trajectory_seed0)))
    return " ".join(parts)
