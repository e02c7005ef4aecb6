"""What SkewScout measures, through ``TrainState``: a model scored after travelling to another partition, and
the local models scored against the average that replaced them."""
from __future__ import annotations

import copy

import torch
from torch import nn


def travel_and_score(state, pairs: list[tuple[int, int]], sample_size: int, seed: int) -> list[tuple[float, float]]:
    """src's model visits dst; both are scored on a fixed sample of dst's training data. Returns (local accuracy,
    travelled accuracy) per pair, the same on every rank. A src held in this process is scored where it is;
    any other arrives point-to-point (``Comm.exchange``)."""
    held = state.comm.replicas
    arrived = state.comm.exchange(state.replicas.rows(), pairs)
    scores = torch.zeros(len(pairs), 2, dtype=torch.float64, device=state.replicas.params[0].device)
    for i, (src, dst) in enumerate(pairs):
        if src in held:
            state.count_travel(src)
        if dst not in held:
            continue
        x, y = state.sample(dst, sample_size, seed)
        acc = state.evaluate(x, y)
        scores[i, 0] = float(acc[held.index(dst)])
        if src in held:
            scores[i, 1] = float(acc[held.index(src)])
        else:
            scores[i, 1] = float(state.evaluate(x, y, model=state.replicas.visitor(arrived[i]))[0])
    return [(float(a), float(b)) for a, b in state.comm.all_sum(scores).cpu()]


def snapshot_replicas(state) -> nn.Module:
    """The local replicas as they are now, kept by SkewScout's average measure across the averaging."""
    return copy.deepcopy(state.replicas.model)


@torch.no_grad()
def score_against_average(state, before: nn.Module, sample_size: int, seed: int) -> list[tuple[float, float]]:
    """(accuracy of ``before`` — the local models one step before the averaging —, accuracy of the average now in
    place) on each partition's own fixed sample, the same on every rank. Costs no bytes: every partition has just
    received the average and kept its own model."""
    held = state.comm.replicas
    out = torch.zeros(len(held), 2, dtype=torch.float64)
    for i, k in enumerate(held):
        x, y = state.sample(k, sample_size, seed)
        out[i, 0] = float(state.evaluate(x, y, model=before)[i])
        out[i, 1] = float(state.evaluate(x, y)[i])
    both = state.comm.gather(out.view(-1)).view(-1, 2)
    return [(float(a), float(b)) for a, b in both]
