"""REPORT.md's F6-F8 sections from their typed summaries (the prose: report_template.md's f6*, f7*, f8* blocks)."""
from __future__ import annotations

from training.study.experiments import (
    F6_ITERATIONS,
    F6_SETTINGS,
    F7_DELAYS,
    F7_GRID,
    F7_ITERATIONS,
    F7_K,
    F7_STABLE,
    F7_STALENESS,
    F8_ITERATIONS,
    F8_K,
    FEDPROX_MU,
    GEO_IMG_SIZE,
    GOSSIP_LR,
    ITER_LOCAL,
    REMEDIES,
    SAMPLES_PER_ITERATION,
)
from training.study.metrics import StudyMeta
from training.study.metrics_beyond import (
    F6_GAP,
    F6_SHARE,
    F7_GROWTH,
    F6Setting,
    F7Summary,
    F8Summary,
    RunStats,
    f6_check,
    f6_verdict,
    f7_check,
    f7_extras,
    f7_verdict,
    f8_best,
)
from training.study.template import fill, pct, points


def _share(r: F6Setting) -> str:
    if r.share_of_means is None:
        return "—"
    return f"{100 * r.share_of_means:.0f}%" + (f" ± {100 * r.share.std:.0f}" if r.share else "")


def f6_section(rows: list[F6Setting], meta: StudyMeta) -> str:
    lines = []
    for r in rows:
        check = f6_check(r)
        pre = "—" if check is None else f"{points(r.gap_points)} ({'holds' if check.holds else 'fails'})"
        lines.append(f"| {r.topology} ({r.nodes}) | {r.partition} | {pct(r.bsp)} | {pct(r.dsgdm)} | {pre} | "
                     f"{pct(r.qgm)} | {_share(r)} | **{f6_verdict(r)}** | "
                     f"{'—' if r.qgm_mb is None else f'{r.qgm_mb:.0f}'} |")
    settings = "; ".join(f"{t}: {k} nodes, {p['name']}" + (f" α = {p['alpha']:g}" if "alpha" in p else "")
                         for t, (k, p) in F6_SETTINGS.items())
    return fill("f6", iterations=F6_ITERATIONS, lr=GOSSIP_LR, samples=SAMPLES_PER_ITERATION, seeds=meta.seeds,
                settings=settings, gap=F6_GAP, share_pct=int(100 * F6_SHARE), rows="\n".join(lines))


def _tuning(f7: F7Summary) -> str:
    return "; ".join(f"momentum {t.momentum:g}, LR {t.lr:g}: {100 * t.acc_s0:.1f}% → {100 * t.acc_smax:.1f}% "
                     f"({100 * t.acc_smax / t.acc_s0:.0f}%)" for t in f7.tuning) or "not run"


def _f7_verdict_line(f7: F7Summary, delay: str) -> str:
    check = f7_check(f7, delay)
    if check is None:
        pre = fill("f7_pre_pending")
    else:
        pre = fill("f7_pre", ratios=", ".join(f"s = {s}: {100 * v:.0f}%" for s, v in check.values["ratios"].items()),
                   holds="holds" if check.holds else "fails")
    extra = ", ".join(f"s = {e.staleness}: {round(e.points.mean, 1) + 0.0:+.1f} ± {e.points.std:.1f}"
                      for e in f7_extras(f7, delay))
    return fill("f7_verdict", delay=delay, pre=pre, extra=extra or "—", verdict=f7_verdict(f7, delay))


def f7_section(f7: F7Summary, meta: StudyMeta) -> str:
    lines = []
    for part in ("iid", "label-exclusive"):
        for delay in F7_DELAYS:
            base = f7.cell(part, delay, 0)
            cells = []
            for s in F7_STALENESS:
                a = f7.cell(part, delay, s)
                drop = None if a is None or base is None or not s else round(100 * (a.mean - base.mean), 1) + 0.0
                cells.append(pct(a) + (f" ({drop:+.1f})" if drop is not None else ""))
            lines.append(f"| {part} | {delay} | " + " | ".join(cells) + " |")
    grid = ", ".join(f"({m:g}, {lr:g})" for m, lr in F7_GRID)
    return fill("f7", k=F7_K, iterations=F7_ITERATIONS, inflight_pct=100 * F7_STALENESS[-1] / F7_ITERATIONS,
                samples=SAMPLES_PER_ITERATION, seeds=meta.seeds, grid=grid, smax=F7_STALENESS[-1],
                stable_pct=int(100 * F7_STABLE), tuning=_tuning(f7),
                momentum="—" if f7.momentum is None else f"{f7.momentum:g}",
                lr="—" if f7.lr is None else f"{f7.lr:g}", growth=F7_GROWTH,
                head=" | ".join(f"s = {s}" for s in F7_STALENESS), align="---:|" * len(F7_STALENESS),
                rows="\n".join(lines), verdicts="\n".join(_f7_verdict_line(f7, d) for d in F7_DELAYS))


def _cell(r: RunStats | None) -> str:
    return "—" if r is None else f"{100 * r.mean:.1f} ± {100 * r.std:.1f} / {r.mb:.0f}"


def _f8_verdict(f8: F8Summary, skew: str) -> str:
    rows = f8.table[skew]
    best, cheap = f8_best(rows)
    text = fill("f8_best", skew=skew, best=best, best_pct=100 * rows[best].mean, cheapest=cheap,
                cheapest_mb=rows[cheap].mb)
    c, start = f8.controls.get(skew), rows.get("FedAvg + GN")
    if c is None or start is None:
        return text
    gap = round(100 * (rows[best].mean - c.mean), 1) + 0.0
    where = f"{abs(gap):.1f} points " + ("below" if gap < 0 else "above") if gap else "level with"
    return text + " " + fill("f8_control", control=f"{100 * c.mean:.1f} ± {100 * c.std:.1f}",
                             cost=round(100 * (c.mean - start.mean), 1) + 0.0, where=where)


def f8_section(f8: F8Summary, meta: StudyMeta) -> str:
    skews = list(f8.table)
    lines = [f"| {name} | " + " | ".join(_cell(f8.table[s].get(name)) for s in skews) + " |" for name in REMEDIES]
    photos = meta.manifest_photos
    geo = fill("f8_geo", k_geo=f8.geo_partitions or "?", img=GEO_IMG_SIZE, test_n=photos.get("test", "?"),
               train_n=sum(v for k, v in photos.items() if k != "test") or "?",
               manifest_how=meta.manifest_how or "not recorded") if "geographic" in skews else fill("f8_no_geo")
    return fill("f8", k=F8_K, iterations=F8_ITERATIONS, iter_local=ITER_LOCAL, mu=FEDPROX_MU, lr=GOSSIP_LR,
                samples=SAMPLES_PER_ITERATION, seeds=meta.seeds, head=" | ".join(skews),
                align="---:|" * len(skews), rows="\n".join(lines),
                verdicts="\n".join(_f8_verdict(f8, s) for s in skews), geo=geo)
