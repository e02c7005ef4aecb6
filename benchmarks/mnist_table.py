"""The MNIST table in docs/mnist-table.md: BSP, Gaia, FedAvg and DGC × IID vs label-exclusive ×
LeNet-BN vs LeNet-GN, each a `flickr-mammal train` run of training/configs/mnist_bsp.toml with --set
overrides.

    .venv/bin/python benchmarks/mnist_table.py [--mnist ../shared/data/mnist] [--iterations 500] \
        [--out runs/mnist-table]
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ALGORITHMS = {"bsp": [], "gaia": ["algorithm.threshold=0.1"], "fedavg": ["algorithm.iter_local=50"],
              "dgc": ["algorithm.sparsity=0.999"]}
PARTITIONS = {"IID": "iid", "label-exclusive": "label-exclusive"}
MODELS = {"LeNet-BN": "lenet_bn", "LeNet-GN": "lenet_gn"}


def command(mnist: str, iterations: int, out: Path, algo: str, part: str, model: str) -> list[str]:
    sets = [f"data.path={mnist}", f"algorithm.name={algo}", *ALGORITHMS[algo], f"partition.name={part}",
            f"model.name={model}", f"solver.iterations={iterations}", f"run.eval_every={iterations}"]
    return ["flickr-mammal", "train", "training/configs/mnist_bsp.toml", "--no-resume", "--json",
            "--out", str(out), *[a for s in sets for a in ("--set", s)]]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", default="../shared/data/mnist")
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--out", default="runs/mnist-table")
    ap.add_argument("--doc", default=str(REPO / "docs" / "mnist-table.md"))
    a = ap.parse_args()
    exe = Path(sys.executable).parent / "flickr-mammal"
    results, commands = [], []
    for mname, model in MODELS.items():
        for pname, part in PARTITIONS.items():
            for algo in ALGORITHMS:
                out = Path(a.out) / f"{model}-{part}-{algo}"
                cmd = command(a.mnist, a.iterations, out, algo, part, model)
                commands.append(shlex.join(cmd))
                t0 = time.perf_counter()
                res = subprocess.run([str(exe), *cmd[1:]], cwd=REPO, capture_output=True, text=True)
                if res.returncode:
                    sys.exit(f"{shlex.join(cmd)} failed:\n{res.stderr[-2000:]}")
                last = json.loads(res.stdout)
                results.append((mname, pname, algo, last["acc_mean"], last["bytes"], time.perf_counter() - t0))
                print(f"{mname:<9} {pname:<16} {algo:<7} acc {100 * last['acc_mean']:5.1f}%  "
                      f"{last['bytes'] / 1e6:8.1f} MB  {results[-1][-1]:5.1f} s", flush=True)
    bsp = {(m, p): b for m, p, al, _, b, _ in results if al == "bsp"}
    acc = {(m, p, al): x for m, p, al, x, _, _ in results}
    lines = ["# MNIST table: the four algorithms, IID vs label-exclusive, LeNet-BN vs LeNet-GN", "",
             "MNIST's 10k test set (8,000 train / 2,000 shared test, stratified), 5 partitions, "
             f"batch 20 per partition, {a.iterations} iterations, SGD momentum 0.9, wd 5e-4, "
             "LR 0.01 ×0.1 at 50% and 75%, seed 0, CPU. "
             "Accuracy is the mean over partitions of each partition's model on the shared test set; bytes are what "
             "all partitions sent (BN statistics included). Knobs: Gaia T0 = 0.1, FedAvg Iter_local = 50, "
             "DGC sparsity 99.9% after warm-up. Made by `benchmarks/mnist_table.py`, which runs the commands "
             "below.", "",
             "| model | partitions | algorithm | accuracy | MB sent | vs BSP bytes | skew cost (IID − label-excl.) |",
             "|---|---|---|---:|---:|---:|---:|"]
    for m, p, al, x, b, _ in results:
        cost = f"{100 * (acc[(m, 'IID', al)] - x):+.1f} pts" if p == "label-exclusive" else ""
        lines.append(f"| {m} | {p} | {al} | {100 * x:.1f}% | {b / 1e6:.1f} | {b / bsp[(m, p)]:.3f}× | {cost} |")
    lines += ["", "Commands (from the repository root):", "", "```"] + commands + ["```", ""]
    Path(a.doc).write_text("\n".join(lines))
    print(f"wrote {a.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
