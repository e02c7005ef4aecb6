"""Choose SkewScout's default controller on the F4 protocol's TUNING settings only, and print the candidates side by
side. Evaluation settings are refused: they judge the choice and must not make it.

    python benchmarks/skewscout_tuning.py --runs RUNS_DIR [--settings T1,T11] [--seeds 1] [--jobs 2]

Each candidate is a set of [skewscout] keys; it runs from the tightest, the middle and the loosest knob of every
chosen tuning setting, against the same static grid (the Oracle) and BSP as the study. The rule for choosing, fixed
before any candidate ran: most cases (setting x algorithm x start) within the 1.5x bar and below BSP; ties go to the
lower geometric mean of the exact ratios over the cases all candidates bring to the target."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.study import experiments, metrics  # noqa: E402
from training.study.protocol import TUNING, grid_for, start_knobs  # noqa: E402
from training.study.report import plan  # noqa: E402
from training.study.running import run_all  # noqa: E402

TRAVELS_PER_RUN = 40      # the schedule rounds 1-2 ran (a travel due every 1/40 of the run) unless a candidate says
CANDIDATES = {
    "scaled": {"rule": "scaled"},                                # round 2's default
    "drift": {"rule": "drift", "exponent": 1.0},                 # loss in proportion to the knob's drift
    "drift-sq": {"rule": "drift", "exponent": 2.0},              # loss as the drift squared: moves half as far
    "drift-800": {"rule": "drift", "exponent": 1.0, "sample_size": 800},   # 4x the examples per pair
    # round 2 of this script: the round-1 winners, measuring 3x as often (a travel due every 1/120 of the run
    # instead of 1/40; the budget still caps travel bytes and the floor stays at 5/40 of the run)
    "scaled-120": {"rule": "scaled", "travels_per_run": 120},
    "drift-sq-120": {"rule": "drift", "exponent": 2.0, "travels_per_run": 120},
}


def candidate_runs(settings, seeds: int, runs_root: Path, names: list[str]):
    """The study's static grid and BSP for each setting (shared by all candidates) and each candidate's SkewScout
    runs from the three start knobs."""
    jobs = [j for j in plan(["F4"], seeds, {}, 0, None, settings, runs_root)
            if j[0][1][2] not in experiments.F4_CONTROLLERS]
    for st in settings:
        for seed in range(seeds):
            base = experiments.f4_base(st, seed)
            for algo, knob in experiments.F4_KNOBS.items():
                grid = grid_for(st, algo)
                for name in names:
                    keys = dict(CANDIDATES[name])
                    ss = experiments.f4_skewscout(st, grid, keys.pop("travels_per_run", TRAVELS_PER_RUN))
                    for where, v in start_knobs(grid).items():
                        cfg = experiments.with_(base, algorithm={"name": algo, knob: v},
                                                skewscout=ss | {"measure": "auto"} | keys)
                        jobs.append((("F4", (st.id, algo, name, where), seed), cfg,
                                     str(runs_root / "tune" / f"{st.id}-{algo}-{name}-{where}-seed{seed}")))
    return jobs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", required=True)
    p.add_argument("--settings", help="tuning setting ids (default all)")
    p.add_argument("--candidates", default="scaled,drift,drift-sq,drift-800")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1)
    a = p.parse_args(argv)
    ids = a.settings.split(",") if a.settings else [s.id for s in TUNING]
    settings = [s for s in TUNING if s.id in ids]
    if len(settings) != len(ids):
        p.error(f"--settings: only tuning settings may choose a controller ({', '.join(s.id for s in TUNING)})")
    names = a.candidates.split(",")
    jobs = candidate_runs(settings, a.seeds, Path(a.runs), names)
    rows = run_all([(cfg, out) for _, cfg, out in jobs], a.jobs)
    results = {key: r for (key, _, _), r in zip(jobs, rows)}
    cases: dict[str, dict] = {n: {} for n in names}
    for st in settings:
        bsp = metrics.f4_runs(results, st.id, ("bsp", None, None), a.seeds)
        target, bsp_mb = metrics.TARGET_REL * metrics.mean_final(bsp), metrics.mean_bytes(bsp) / 1e6
        for algo in experiments.F4_KNOBS:
            grid = grid_for(st, algo)
            o = metrics.f4_algo(results, st.id, algo, a.seeds, target, bsp_mb, grid)
            print(f"{st.id} {algo}: Oracle {o.oracle_knob} ({o.oracle_place}) {o.oracle_mb} MB, BSP {bsp_mb:.1f} MB")
            for name in names:
                cells = []
                for where in start_knobs(grid):
                    ss = metrics.f4_runs(results, st.id, (algo, name, where), a.seeds)
                    final, mb = metrics.mean_final(ss), metrics.mean_bytes(ss) / 1e6
                    ratio = mb / o.oracle_mb if o.oracle_mb and final >= target else None
                    cases[name][(st.id, algo, where)] = (ratio, mb < bsp_mb)
                    cells.append(f"{where} {'miss' if ratio is None else f'{ratio:.2f}x'} ({100 * final:.1f}%)")
                print(f"    {name:10s} " + " | ".join(cells))
    common = [k for k in cases[names[0]] if all(cases[n][k][0] is not None for n in names)]
    print("\ncandidate   passes (<=1.5x, below BSP)   within 1.2x   geo-mean ratio on the cases all reach")
    for n in names:
        passes = sum(metrics.within_bar(r) and below for r, below in cases[n].values())
        tight = sum(r is not None and r <= 1.2 and below for r, below in cases[n].values())
        gm = math.exp(sum(math.log(cases[n][k][0]) for k in common) / len(common)) if common else float("nan")
        print(f"{n:10s}  {passes:3d} of {len(cases[n])}                {tight:3d}          {gm:.3f} ({len(common)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
