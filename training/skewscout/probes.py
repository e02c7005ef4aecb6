"""What SkewScout measures, through the ``TrainState`` a hook receives: a model scored after travelling to another
partition, and the local models scored against the average that replaced them. Both return per-example correctness
of the two models on the same fixed sample, so that the controller can gate on the paired differences' noise."""
from __future__ import annotations

import copy

import torch
from torch import nn

Pair = tuple[torch.Tensor, torch.Tensor]     # (local model's, other model's) 0/1 correctness on the same examples


def sample_sizes(state, partitions, sample_size: int, seed: int) -> list[int]:
    """How many examples each partition's fixed sample holds (fewer than asked when the partition is small)."""
    return [len(state.sample(k, sample_size, seed)[1]) for k in partitions]


def held_models(state) -> nn.Module | None:
    """Each replica as its partition holds it, when that differs from the replica (``Algorithm.travel_view``; DGC:
    minus the accumulated velocity top-k has not sent, times the LR now), as a grouped copy; None where the
    replicas are the partitions' models. DGC's replicas apply only the exchanged average and stay identical, so
    without this a travelled model would always score as the local one: the skew lives in what each partition
    holds back. The replicas themselves are never changed."""
    view = state.algorithm.travel_view(state.lr)
    return None if view is None else state.replicas.minus(view)


def travel_and_score(state, pairs: list[tuple[int, int]], sample_size: int, seed: int) -> list[Pair]:
    """src's model visits dst; both are scored on a fixed sample of dst's training data. Returns, per pair, (the
    local model's, the travelled model's) per-example correctness, the same on every rank. A src held in this
    process is scored where it is; any other arrives point-to-point (``Comm.exchange``)."""
    held = state.comm.replicas
    sizes = sample_sizes(state, [dst for _, dst in pairs], sample_size, seed)
    scores = torch.zeros(len(pairs), 2, max(sizes, default=0), dtype=torch.float64,
                         device=state.replicas.params[0].device)
    own = held_models(state)
    arrived = state.comm.exchange(state.replicas.rows(own), pairs)
    for i, (src, dst) in enumerate(pairs):
        if src in held:
            state.count_travel(src)
        if dst not in held:
            continue
        x, y = state.sample(dst, sample_size, seed)
        correct = state.correctness(x, y, model=own)
        scores[i, 0, :len(y)] = correct[:, held.index(dst)].to(scores)
        if src in held:
            scores[i, 1, :len(y)] = correct[:, held.index(src)].to(scores)
        else:
            visitor = state.replicas.visitor(arrived[i])
            scores[i, 1, :len(y)] = state.correctness(x, y, model=visitor)[:, 0].to(scores)
    scores = state.comm.all_sum(scores).cpu()
    return [(scores[i, 0, :n], scores[i, 1, :n]) for i, n in enumerate(sizes)]


def snapshot_replicas(state) -> nn.Module:
    """The local replicas as they are now, kept by SkewScout's average measure across the averaging."""
    return copy.deepcopy(state.replicas.model)


@torch.no_grad()
def score_against_average(state, before: nn.Module, sample_size: int, seed: int) -> list[Pair]:
    """Per partition, (per-example correctness of ``before`` — the local models one step before the averaging —,
    of the average now in place) on the partition's own fixed sample, the same on every rank. Costs no bytes:
    every partition has just received the average and kept its own model."""
    held = state.comm.replicas
    sizes = sample_sizes(state, range(state.num_partitions), sample_size, seed)
    width = max(sizes, default=0)
    out = torch.zeros(len(held), 2, width, dtype=torch.float64)
    for i, k in enumerate(held):
        x, y = state.sample(k, sample_size, seed)
        out[i, 0, :len(y)] = state.correctness(x, y, model=before)[:, i].double()
        out[i, 1, :len(y)] = state.correctness(x, y)[:, i].double()
    both = state.comm.gather(out.view(-1)).view(-1, 2, width)
    return [(both[k, 0, :n], both[k, 1, :n]) for k, n in enumerate(sizes)]
