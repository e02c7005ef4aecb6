"""How replicas talk: all K in one process (rows of one tensor) or one per torch.distributed rank. The trainer,
the algorithms and SkewScout's probes see only the ``Comm`` protocol."""
from __future__ import annotations

from typing import Protocol

import torch


class Comm(Protocol):
    """What every backend provides. Tensors are ``[L, ...]``: one row per replica this process holds."""

    world: int                 # K, the replicas in all
    rank: int                  # this process's rank (0 in one process)
    replicas: list[int]        # the replica ids this process holds, in row order
    is_writer: bool            # whether this process writes metrics.jsonl and shows progress
    checkpoint_name: str       # this process's checkpoint file in the run folder

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """Every row replaced by the mean over all K replicas."""

    def sum_others(self, x: torch.Tensor) -> torch.Tensor:
        """Every row replaced by the sum of the other K - 1 replicas' rows."""

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """The rows of all K replicas, in replica order (the same on every rank)."""

    def all_sum(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` summed over processes (not replicas): values each process filled in for the replicas it holds."""

    def exchange(self, rows: torch.Tensor, pairs: list[tuple[int, int]]) -> dict[int, torch.Tensor]:
        """Point-to-point: for each pair ``(src, dst)`` whose dst is held here and src is not, src's row as it
        arrived, keyed by the pair's index. A pair whose src is held here needs no transfer."""

    def mix(self, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        """Gossip: replica k becomes ``sum_j W[k, j] * x_j`` for a mixing matrix ``W`` [K, K]."""


class LocalComm:
    """All K replicas live in this process as rows of ``[K, n]`` tensors."""

    rank, is_writer, checkpoint_name = 0, True, "checkpoint.pt"

    def __init__(self, world: int):
        self.world, self.replicas = world, list(range(world))

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(0, keepdim=True).expand_as(x)

    def sum_others(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(0, keepdim=True) - x

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def all_sum(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def exchange(self, rows: torch.Tensor, pairs: list[tuple[int, int]]) -> dict[int, torch.Tensor]:
        return {}

    def mix(self, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        return W.to(x.dtype) @ x


class DistComm:
    """One replica per process (``[1, n]`` tensors); collectives over the default process group."""

    def __init__(self):
        import torch.distributed as dist

        self.dist = dist
        self.world, self.rank = dist.get_world_size(), dist.get_rank()
        self.replicas, self.is_writer = [self.rank], self.rank == 0
        self.checkpoint_name = f"checkpoint.rank{self.rank}.pt"

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.all_sum(x) / self.world

    def sum_others(self, x: torch.Tensor) -> torch.Tensor:
        return self.all_sum(x) - x

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        out = [torch.zeros_like(x) for _ in range(self.world)]
        self.dist.all_gather(out, x.contiguous())
        return torch.cat(out)

    def all_sum(self, x: torch.Tensor) -> torch.Tensor:
        y = x.contiguous().clone()
        self.dist.all_reduce(y)
        return y

    def _send_receive(self, row: torch.Tensor, sends: list[int], receives: list[int]) -> dict[int, torch.Tensor]:
        """Sends ``row`` to each rank in ``sends``, receives one from each in ``receives``, in one batch."""
        d = self.dist
        inbox = {src: torch.empty_like(row) for src in receives}
        ops = [d.P2POp(d.isend, row, dst) for dst in sends] + [d.P2POp(d.irecv, buf, src) for src, buf in inbox.items()]
        for req in d.batch_isend_irecv(ops) if ops else []:
            req.wait()
        return inbox

    def exchange(self, rows: torch.Tensor, pairs: list[tuple[int, int]]) -> dict[int, torch.Tensor]:
        row = rows.reshape(-1).contiguous()
        mine = [i for i, (src, dst) in enumerate(pairs) if dst == self.rank and src != self.rank]
        got = self._send_receive(row, [dst for src, dst in pairs if src == self.rank and dst != self.rank],
                                 [pairs[i][0] for i in mine])
        return {i: got[pairs[i][0]] for i in mine}

    def mix(self, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        r = self.rank
        needs_mine = [j for j in range(self.world) if j != r and W[j, r] != 0]
        mine_needs = [j for j in range(self.world) if j != r and W[r, j] != 0]
        got = self._send_receive(x.contiguous(), needs_mine, mine_needs)
        out = W[r, r].to(x.dtype) * x
        for j in mine_needs:
            out = out + W[r, j].to(x.dtype) * got[j]
        return out
