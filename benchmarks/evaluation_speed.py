"""Scoring K LeNets on MNIST test images: the old grouped evaluation (1,000 images × K replicas per forward), the
chunked one (``training/evaluation.py``), each replica as a single model within the same budget, and the plain
per-model loop (``benchmarks/simulate.py --ring``'s: one model at a time, all images at once).

Each variant runs in a fresh process, so its peak resident memory (``ru_maxrss``) is its own; the variants take
turns, so a machine shared with other jobs loads them alike. Wall and CPU seconds, the process's resident memory
before scoring and its peak (``ru_maxrss``), and the load average are printed; the variants must agree.

    .venv/bin/python benchmarks/evaluation_speed.py [--mnist ../shared/data/mnist] [--k 32 8] [--n 2000]
                                                    [--threads 1] [--repeats 1]
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")     # as simulate.py: idle OpenMP threads sleep, not spin

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

VARIANTS = ("old", "new", "singles", "plain")


@torch.no_grad()
def old_correctness(model, reps, x, y, device, batch: int = 1000) -> torch.Tensor:
    """``training/evaluation.py:correctness`` before issue 22: 1,000 examples × all replicas per forward."""
    model.eval()
    out = torch.zeros(len(y), reps)
    for i in range(0, len(y), batch):
        xb = x[i:i + batch].to(device).repeat(1, reps, 1, 1).contiguous(memory_format=torch.channels_last)
        pred = model(xb).argmax(-1).cpu()
        out[i:i + batch] = (pred == y[i:i + batch, None]).float()
    return out


def setup(mnist: str, k: int, n: int):
    """K LeNet replicas that differ (the initial model, each perturbed), and the first n MNIST test images."""
    from training.data import load_data
    from training.replicas import Replicas

    data = load_data({"name": "mnist", "path": mnist, "test_fraction": 0.2}, 0)
    x, y = data.x_test[:n], data.y_test[:n]
    r = Replicas("lenet", 10, tuple(x.shape[1:]), k, 0, "cpu")
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in r.params:
            p.add_(0.05 * p.abs().mean() * torch.randn(p.shape, generator=g))
    return r, x, y


def rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def one(variant: str, mnist: str, k: int, n: int, threads: int) -> dict:
    """Scores once in this process; what it cost."""
    from training.evaluation import chunk_size, replica_accuracy

    torch.set_num_threads(threads)
    r, x, y = setup(mnist, k, n)
    if variant == "plain":
        models = [copy.deepcopy(r.replica_as_single(i)).to(memory_format=torch.channels_last) for i in range(k)]
    before = rss_mb()
    w, c = time.perf_counter(), time.process_time()
    if variant == "old":
        acc = old_correctness(r.model, k, x, y, "cpu").mean(0)
    elif variant == "new":
        acc = replica_accuracy(r, x, y, "cpu")
    elif variant == "singles":                        # the budget's fallback: each replica alone, chunked
        acc = torch.cat([replica_accuracy(r, x, y, "cpu", model=r.replica_as_single(i)) for i in range(k)])
    else:                                             # simulate.py's PlainRing.evaluate
        with torch.no_grad():
            acc = torch.stack([(m.eval()(x)[:, 0].argmax(-1) == y).float().mean() for m in models])
    w, c = time.perf_counter() - w, time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"variant": variant, "k": k, "wall": w, "cpu": c, "rss_mb": before, "peak_mb": peak,
            "chunk": chunk_size(r.model, k, x, "cpu") if variant == "new" else None,
            "acc": [round(float(a), 6) for a in acc], "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    ap.add_argument("--k", type=int, nargs="+", default=[32, 8])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)   # the child process's job
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one, a.mnist, a.k[0], a.n, a.threads)))
        return
    load0 = os.getloadavg()
    rows = []
    for k in a.k:
        for _ in range(a.repeats):
            for v in a.variants:
                cmd = [sys.executable, __file__, "--one", v, "--k", str(k), "--n", str(a.n), "--threads",
                       str(a.threads), "--mnist", a.mnist]
                rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
                print(json.dumps({key: rows[-1][key] for key in rows[-1] if key != "acc"}), flush=True)
    print(f"\nLeNet, {a.n} MNIST test images, {a.threads} thread(s), OMP_WAIT_POLICY="
          f"{os.environ['OMP_WAIT_POLICY']}; load average {load0[0]:.1f} → {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'K':>3} {'variant':<9}{'wall s':>9}{'CPU s':>9}{'RSS MB':>9}{'peak MB':>9}{'chunk':>7}  "
          f"same accuracies as {a.variants[0]}")
    for k in a.k:
        ref = next(r["acc"] for r in rows if r["k"] == k and r["variant"] == a.variants[0])
        for r in (r for r in rows if r["k"] == k):
            print(f"{k:>3} {r['variant']:<9}{r['wall']:>9.1f}{r['cpu']:>9.1f}{r['rss_mb']:>9.0f}{r['peak_mb']:>9.0f}"
                  f"{r['chunk'] or '':>7}  {r['acc'] == ref}")


if __name__ == "__main__":
    main()
