"""Gossip topologies: who talks to whom, as a symmetric doubly stochastic mixing matrix ``W`` ``[K, K]``.

Every graph gets Metropolis–Hastings weights, ``w_ij = 1 / (1 + max(d_i, d_j))`` on an edge and
``w_ii = 1 - sum_j w_ij``, so ``W`` is symmetric and doubly stochastic for any undirected graph; on the
complete graph that is the uniform ``1/K`` (gossip = the exact average).

Graphs: ``complete``; ``ring`` (i ~ i ± 1); ``torus`` (2-D periodic grid, ``rows × cols = k``, the most square
factorisation unless ``rows`` is given); ``exponential`` (i ~ i ± 2^j mod k for every 2^j < k);
``social`` (networkx's Davis Southern Women graph, 32 nodes: 18 women then 14 events in networkx's node
order, the 32-node topology of Lin et al. 2021, arXiv 2102.04761).

A graph is a builder ``fn(k, **options) -> edges`` decorated with ``@register_topology`` (its function name is the
``[topology] name``, its keyword arguments that section's valid keys), the same registry style as models and
algorithms; ``mixing_matrix`` turns it into ``W``.
"""
from __future__ import annotations

import math

import torch

from training.registry import Registry, keyword_args

Edges = set[tuple[int, int]]
TOPOLOGIES = Registry("topology")


def register_topology(fn):
    """Function decorator: ``fn(k, **options) -> edges`` becomes ``[topology] name = fn.__name__``."""
    return TOPOLOGIES.register(fn)


def list_topologies(pattern: str = "*") -> list[str]:
    return TOPOLOGIES.names(pattern)


def _link(k: int, i: int, j: int, edges: Edges) -> None:
    i, j = i % k, j % k
    if i != j:
        edges.add((min(i, j), max(i, j)))


@register_topology
def complete(k: int) -> Edges:
    return {(i, j) for i in range(k) for j in range(i + 1, k)}


@register_topology
def ring(k: int) -> Edges:
    edges: Edges = set()
    for i in range(k):
        _link(k, i, i + 1, edges)
    return edges


def torus_shape(k: int, rows: int | None = None) -> tuple[int, int]:
    """``(rows, cols)`` of the torus on ``k`` nodes: ``rows`` if given (it must divide k), else the largest
    divisor of k not above √k (the most square grid; a prime k gives a 1 × k ring)."""
    if rows is None:
        rows = max(r for r in range(1, math.isqrt(k) + 1) if k % r == 0)
    rows = int(rows)
    if rows < 1 or k % rows:
        raise ValueError(f"torus rows={rows} does not divide k={k}; give rows that divide the number of "
                         f"partitions, or leave rows out for the most square grid")
    return rows, k // rows


@register_topology
def torus(k: int, rows: int | None = None) -> Edges:
    r, c = torus_shape(k, rows)
    edges: Edges = set()
    for a in range(r):
        for b in range(c):
            i = a * c + b
            _link(k, i, ((a + 1) % r) * c + b, edges)
            _link(k, i, a * c + (b + 1) % c, edges)
    return edges


@register_topology
def exponential(k: int) -> Edges:
    edges: Edges = set()
    for i in range(k):
        hop = 1
        while hop < k:
            _link(k, i, i + hop, edges)
            _link(k, i, i - hop, edges)
            hop *= 2
    return edges


SOCIAL_NODES = 32


@register_topology
def social(k: int) -> Edges:
    if k != SOCIAL_NODES:
        raise ValueError(f"topology 'social' is the 32-node Davis Southern Women graph, but k={k} partitions "
                         f"were asked for; use num_partitions={SOCIAL_NODES} or another topology "
                         f"(ring, torus, exponential, complete)")
    try:
        import networkx as nx
    except ImportError as e:        # pragma: no cover - networkx is a declared dependency
        raise ImportError("topology 'social' needs networkx: pip install networkx") from e
    g = nx.davis_southern_women_graph()
    index = {node: i for i, node in enumerate(g.nodes)}       # networkx's fixed order: women, then events
    return {(min(index[a], index[b]), max(index[a], index[b])) for a, b in g.edges}



def metropolis_hastings(k: int, edges: Edges) -> torch.Tensor:
    """Symmetric doubly stochastic ``[k, k]`` (float64) weights of an undirected graph."""
    deg = [0] * k
    for i, j in edges:
        deg[i] += 1
        deg[j] += 1
    w = torch.zeros(k, k, dtype=torch.float64)
    for i, j in edges:
        w[i, j] = w[j, i] = 1.0 / (1 + max(deg[i], deg[j]))
    w += torch.diag(1.0 - w.sum(1))
    return w


def mixing_matrix(name: str, k: int, **opts) -> torch.Tensor:
    """The Metropolis–Hastings mixing matrix ``[k, k]`` (float64) of topology ``name`` on ``k`` nodes.

    ``opts`` go to the builder (only ``torus`` takes one: ``rows``)."""
    if name not in TOPOLOGIES:
        raise ValueError(f"unknown topology {name!r}; topologies are {', '.join(list_topologies())}")
    if int(k) < 1:
        raise ValueError(f"a topology needs at least one node, got k={k}")
    build = TOPOLOGIES[name]
    unknown = sorted(set(opts) - set(keyword_args(build, leave_out=("k",))))
    if unknown:
        raise ValueError(f"topology {name!r} does not take {unknown}")
    edges = build(int(k), **opts)
    return metropolis_hastings(int(k), edges)


def neighbours(W: torch.Tensor, i: int) -> list[int]:
    """The nodes ``j != i`` that node ``i`` mixes with (``W[i, j] != 0``), ascending."""
    row = W[i].clone()
    row[i] = 0
    return row.nonzero().flatten().tolist()


def degrees(W: torch.Tensor) -> torch.Tensor:
    """Neighbours per node, ``[K]`` (int64): how many models each node sends per gossip step."""
    return ((W != 0).sum(0) - (W.diagonal() != 0).long()).long()


def spectral_gap(W: torch.Tensor) -> float:
    """``1 - |λ_2|``, λ_2 the second largest eigenvalue of ``W`` in magnitude: 1 on the complete graph
    (one gossip step reaches the average), near 0 on a large ring (consensus is slow)."""
    if W.shape[0] == 1:
        return 1.0
    w = W.to(torch.float64)
    ev = torch.linalg.eigvalsh(w) if torch.equal(w, w.T) else torch.linalg.eigvals(w)
    mags = ev.abs().sort(descending=True).values
    return float(1.0 - mags[1])
