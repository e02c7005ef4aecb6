"""Choose SkewScout's default controller on the F4 protocol's TUNING settings only, and print the candidates side by
side. Evaluation settings are refused: they judge the choice and must not make it.

    python benchmarks/skewscout_tuning.py --runs RUNS_DIR [--settings T1,T11] [--seeds 1] [--jobs 2] [--mnist DIR]

Each candidate is a set of [skewscout] keys; it runs from the tightest, the middle and the loosest knob of every
chosen tuning setting, against the same static grid (the Oracle) and BSP as the study. The rule for choosing, fixed
before any candidate ran (round 4, issue 23): fewest cases (setting x algorithm x start) below the target; then most
cases within the 1.5x bar and below BSP; ties go to the lower geometric mean of the exact ratios over the cases all
candidates bring to the target."""
from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.study import experiments, metrics  # noqa: E402
from training.study.protocol import TUNING, grid_for, start_knobs  # noqa: E402
from training.study.report import plan, with_mnist  # noqa: E402
from training.study.running import run_all  # noqa: E402

CANDIDATES = {                       # [skewscout] keys on top of the study's section (SkewScoutConfig's defaults)
    "sized": {},                                         # round 4's default: sized moves, the loss-led schedule
    "sized-fixed": {"backoff": 1.0},                     # the same, measuring every 1/100 of the run throughout
    "scaled": {"rule": "scaled"},                        # round 3's rule under round 4's schedule
    "paper": {"rule": "paper", "measure": "travel"},     # the paper's rule and measure, round 4's schedule
}


def candidate_runs(settings, seeds: int, runs_root: Path, names: list[str], algos: list[str]):
    """The study's static grid and BSP for each setting (shared by all candidates) and each candidate's SkewScout
    runs from the three start knobs."""
    jobs = [j for j in plan(["F4"], seeds, {}, 0, None, settings, runs_root)
            if j[0][1][2] not in experiments.F4_CONTROLLERS and j[0][1][1] in ("bsp", *algos)]
    for st in settings:
        for seed in range(seeds):
            base = experiments.f4_base(st, seed)
            for algo in algos:
                knob, grid = experiments.F4_KNOBS[algo], grid_for(st, algo)
                for name in names:
                    ss = experiments.f4_skewscout(st, grid) | CANDIDATES[name]
                    for where, v in start_knobs(grid).items():
                        cfg = experiments.with_(base, algorithm={"name": algo, knob: v}, skewscout=ss)
                        jobs.append((("F4", (st.id, algo, name, where), seed), cfg,
                                     str(runs_root / "tune" / f"{st.id}-{algo}-{name}-{where}-seed{seed}")))
    return jobs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", required=True)
    p.add_argument("--settings", help="tuning setting ids (default all)")
    p.add_argument("--candidates", default="sized,sized-fixed,scaled")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--algorithms", default=",".join(experiments.F4_KNOBS), help="a subset of gaia,fedavg,dgc")
    p.add_argument("--mnist", help="MNIST-10k idx folder for the MNIST tuning settings (e.g. ../shared/data/mnist)")
    a = p.parse_args(argv)
    ids = a.settings.split(",") if a.settings else [s.id for s in TUNING]
    settings = [s for s in TUNING if s.id in ids]
    if len(settings) != len(ids):
        p.error(f"--settings: only tuning settings may choose a controller ({', '.join(s.id for s in TUNING)})")
    settings = with_mnist(settings, a.mnist)
    names = a.candidates.split(",")
    algos = a.algorithms.split(",")
    if not set(algos) <= set(experiments.F4_KNOBS):
        p.error(f"--algorithms: F4's are {','.join(experiments.F4_KNOBS)}")
    jobs = candidate_runs(settings, a.seeds, Path(a.runs), names, algos)
    rows = run_all([(cfg, out) for _, cfg, out in jobs], a.jobs)
    results = {key: r for (key, _, _), r in zip(jobs, rows)}
    cases: dict[str, dict] = {n: {} for n in names}
    for st in settings:
        bsp = metrics.f4_runs(results, st.id, ("bsp", None, None), a.seeds)
        target, bsp_mb = metrics.TARGET_REL * metrics.mean_final(bsp), metrics.mean_bytes(bsp) / 1e6
        for algo in algos:
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
    print("\ncandidate    below target   passes (<=1.5x, below BSP)   within 1.2x   median ratio   geo-mean ratio on "
          "the cases all reach")
    for n in names:
        misses = sum(r is None for r, _ in cases[n].values())
        passes = sum(metrics.within_bar(r) and below for r, below in cases[n].values())
        tight = sum(r is not None and r <= 1.2 and below for r, below in cases[n].values())
        median = statistics.median(math.inf if r is None else r for r, _ in cases[n].values())
        gm = math.exp(sum(math.log(cases[n][k][0]) for k in common) / len(common)) if common else float("nan")
        print(f"{n:11s}  {misses:3d}            {passes:3d} of {len(cases[n])}                {tight:3d}          "
              f"{median:.3f}          {gm:.3f} ({len(common)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
