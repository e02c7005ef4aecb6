"""``create_algorithm``: the one place an algorithm is built from a typed config (timm's ``create_model``): the
registered class, its solver defaults, its mixing matrix (built once, from ``[topology]``), its compress mask,
the run's length, and the SkewScout hook that steers it. It owns the ``[algorithm]``, ``[topology]`` and
``[skewscout]`` errors; the trainer calls it and wires nothing itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from catalog.errors import UserError
from training.algorithms.base import ALGORITHMS, Algorithm
from training.state import Hook
from training.topology import mixing_matrix

if TYPE_CHECKING:
    from training.config import TrainConfig
    from training.replicas import Replicas


@dataclass
class AlgorithmSetup:
    """What ``create_algorithm`` returns: the algorithm, its mixing matrix (None unless it gossips) and the hooks
    that steer it (SkewScout when ``[skewscout] enabled``)."""
    algorithm: Algorithm
    topology: torch.Tensor | None = None
    hooks: list[Hook] = field(default_factory=list)


def create_algorithm(cfg: TrainConfig, replicas: Replicas, comm) -> AlgorithmSetup:
    """Build ``cfg.algorithm`` over ``replicas`` (their parameters as ``[L, n]`` views) talking through ``comm``.

    Example:
        >>> setup = create_algorithm(parse_config({"algorithm": {"name": "dsgd"}}), replicas, LocalComm(5))
        >>> setup.algorithm.W is setup.topology.to(torch.float32)   # the [topology] ring, built here once
    """
    a, solver = cfg.algorithm, cfg.solver
    try:
        cls = ALGORITHMS.lookup(a.name)
    except ValueError as e:
        raise UserError(f"[algorithm] {e}") from None
    views = [p.data.view(replicas.count, -1) for p in replicas.params]
    wiring: dict = {}
    topology = None
    if cls.compresses:
        wiring["compress_mask"] = replicas.compress
    if cls.gossips:
        t = cfg.topology
        try:
            topology = wiring["topology"] = mixing_matrix(t.name, comm.world, **t.options)
        except ValueError as e:
            raise UserError(f"[topology] {e}") from None
    try:
        algo = cls(views, comm, momentum=solver.momentum, weight_decay=solver.weight_decay, lr0=solver.lr,
                   end_iteration=solver.iterations, **wiring, **a.knobs)
    except (TypeError, ValueError) as e:
        raise UserError(f"[algorithm] {e}") from None
    return AlgorithmSetup(algo, topology, skewscout_hooks(cfg, algo))


def skewscout_hooks(cfg: TrainConfig, algo: Algorithm) -> list[Hook]:
    """The SkewScout hook (called after every iteration) when ``[skewscout] enabled``, else none."""
    if not cfg.skewscout.enabled:
        return []
    from training.skewscout.skewscout import SkewScout

    try:
        scout = SkewScout(algo, cfg.skewscout)
    except ValueError as e:
        raise UserError(f"[skewscout] {e}") from None
    return [Hook(1, scout, scout.key)]
