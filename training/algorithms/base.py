"""What every algorithm implements: apply one iteration's update to the replicas and say what it sent; and what it
declares for SkewScout (its knob, grid, which way is tighter, how far a knob value lets replicas drift) and for the
factory (``training.algorithms.factory.create_algorithm``: whether it gossips or compresses).

Parameters arrive as ``[L, n]`` views (L replicas held by this process: all K in the simulator, one per
process under torch.distributed); ``comm`` averages or sums across all K replicas wherever they live.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch

from training.registry import Registry, keyword_args
from training.solver import SolverConfig

BYTES_DENSE = 4        # one float32 value
BYTES_SPARSE = 8       # a 4-byte index and a 4-byte value
WIRED = ("compress_mask", "topology")   # constructor arguments the factory supplies, never config keys


class Algorithm(ABC):
    """One decentralized algorithm. Its keyword arguments beyond the base's are its ``[algorithm]`` keys; the
    ClassVars tell SkewScout how to steer it (``knob``, ``knob_grid``, ``knob_tighter_is_lower``, ``drift``,
    ``delivers_average``, ``travel_view``), ``sweep`` what to grid (``sweep_knob``) and the factory what to wire
    (``gossips``: a mixing matrix ``topology``; ``compresses``: a ``compress_mask``)."""
    name: ClassVar[str]
    knob: ClassVar[str | None] = None           # the communication knob SkewScout moves
    knob_grid: ClassVar[tuple] = ()             # the paper's static grid, loosest last
    grid_only_knob: ClassVar[str | None] = None  # a setting `sweep` may grid (over knob_grid) but SkewScout cannot
                                                # move within a run (SSP's staleness sizes its gradient ring)
    delivers_average: ClassVar[bool] = False    # replicas become their equal average at each sync (FedAvg)
    knob_tighter_is_lower: ClassVar[bool] = True   # a lower knob value communicates more
    syncs_every_iteration: ClassVar[bool] = True
    compresses: ClassVar[bool] = False          # takes ``compress_mask``: which tensors may be sparsified (dim > 1)
    gossips: ClassVar[bool] = False             # takes ``topology``: a [K, K] mixing matrix from [topology]

    def __init__(self, params: list[torch.Tensor], comm, momentum: float = SolverConfig.momentum,
                 weight_decay: float = SolverConfig.weight_decay, lr0: float = SolverConfig.lr,
                 end_iteration: int | None = None, **knobs):
        self.params, self.comm = params, comm
        self.momentum, self.weight_decay, self.lr0 = momentum, weight_decay, lr0
        self.end_iteration = end_iteration      # the run's length (FedAvg ends on an average)
        self.mom = [torch.zeros_like(p) for p in params]
        if knobs:
            raise ValueError(f"{self.name} does not take {sorted(knobs)}")

    @classmethod
    def sweep_knob(cls) -> str | None:
        """What a static grid (``flickr-mammal sweep``) varies: the knob, else the grid-only setting."""
        return cls.knob or cls.grid_only_knob

    @classmethod
    def drift(cls, knob_value: float) -> float:
        """How far a partition's model may drift from the others between synchronisations at this knob value, up
        to a factor common to the grid: the value itself unless the class says otherwise (Gaia lets an unsent
        update grow to T × the weight — the factor lr / lr0 of the T in effect cancels between two knobs —,
        FedAvg lets a replica take Iter_local steps alone, gossip lets it go gossip_every steps; DGC overrides).
        SkewScout's rule "drift" takes the skew-induced loss to scale as this."""
        return float(knob_value)

    @classmethod
    def config_keys(cls) -> list[str]:
        """The ``[algorithm]`` keys this algorithm takes besides ``name``: its own keyword arguments (the solver
        gives momentum, weight decay and lr0; the factory gives the ``WIRED`` ones)."""
        return keyword_args(cls, leave_out=tuple(keyword_args(Algorithm)) + WIRED)

    def get_knob(self):
        return getattr(self, self.knob) if self.knob else None

    def set_knob(self, value) -> None:
        if not self.knob:
            raise ValueError(f"{self.name} has no communication knob")
        setattr(self, self.knob, type(getattr(self, self.knob))(value))

    def grad_with_decay(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return g + self.weight_decay * p if self.weight_decay else g

    @abstractmethod
    def step(self, grads: list[torch.Tensor], lr: float, iteration: int) -> torch.Tensor:
        """Update ``self.params`` in place; return bytes sent this iteration per local replica, ``[L]``."""

    def syncs_at(self, iteration: int) -> bool:
        """Whether replicas exchange models (and shared BN statistics) after this iteration."""
        return self.syncs_every_iteration

    def sync_buffers(self, buffers: list[torch.Tensor], bytes_per_replica: float) -> torch.Tensor:
        """Share BN running statistics (``[L, n]`` views) the way models are shared at a sync: here every row
        becomes the mean over all K replicas. Returns the bytes each local replica sent (``bytes_per_replica`` is
        one replica's statistics, dense)."""
        for b in buffers:
            b.copy_(self.comm.mean(b))
        return torch.full((self.params[0].shape[0],), float(bytes_per_replica))

    def steps_to_sync(self) -> int:
        """Iterations until replicas next exchange what they drifted apart by (1: the next step does).
        SkewScout measures just before that moment, where the knob's drift is largest."""
        return 1

    def travel_view(self, lr: float) -> list[torch.Tensor] | None:
        """What SkewScout must subtract from each local replica's parameters (``[L, n]`` per tensor, not applied)
        for a travelled model to be the model its partition holds; None where the replicas already are (every
        algorithm but DGC, whose replicas apply only the exchanged average and keep the rest back)."""
        return None

    def state_dict(self) -> dict:
        return {"mom": self.mom, "knob": self.get_knob()}

    def load_state_dict(self, state: dict) -> None:
        for m, s in zip(self.mom, state["mom"]):
            m.copy_(s)
        if self.knob and state.get("knob") is not None:
            self.set_knob(state["knob"])


ALGORITHMS = Registry("algorithm")


def register_algorithm(cls: type[Algorithm]) -> type[Algorithm]:
    """Class decorator: the algorithm becomes ``[algorithm] name = cls.name``, and its constructor's keyword
    arguments become that section's valid keys."""
    return ALGORITHMS.register(cls)


def list_algorithms(pattern: str = "*") -> list[str]:
    return ALGORITHMS.names(pattern)
