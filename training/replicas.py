"""The L replicas this process trains, as one grouped model whose tensors view as ``[L, n]`` rows, and the
single model they all start from (which also scores them at once when they are identical)."""
from __future__ import annotations

import copy

import torch
from torch import nn

from training.models import create_model

BN_STATISTICS = ("running_mean", "running_var")


def bn_statistics(model: nn.Module) -> list[torch.Tensor]:
    """The BatchNorm statistics that travel and are shared like weights."""
    return [b for n, b in model.named_buffers() if n.endswith(BN_STATISTICS)]


class Replicas:
    def __init__(self, name: str, num_classes: int, input_shape: tuple, count: int, seed: int, device):
        kw = dict(num_classes=num_classes, in_chans=input_shape[0], img_size=input_shape[1])
        torch.manual_seed(seed)
        single = create_model(name, **kw, replicas=1)
        self.count = count
        self.model = create_model(name, **kw, replicas=count).to(device)
        self.single = single.to(device)
        with torch.no_grad():   # every replica starts from the same model
            for pk, p1 in zip(self.model.state_dict().values(), single.state_dict().values()):
                if pk.dim() == 0:
                    pk.copy_(p1)
                else:
                    pk.view(count, -1).copy_(p1.reshape(1, -1).expand(count, -1))
        self.params = list(self.model.parameters())
        self.buffers = bn_statistics(self.model)
        # per-replica tensor rank decides DGC compression (dim > 1 only); a model states it with param_dims()
        dims = single.param_dims() if hasattr(single, "param_dims") else [
            p.dim() - 1 if n.startswith("classifier") else p.dim() for n, p in single.named_parameters()]
        self.compress = [d > 1 for d in dims]
        self.model_bytes = 4 * sum(p.numel() for p in single.parameters())
        self.buffer_bytes = 4 * sum(b.numel() for b in bn_statistics(single))

    @property
    def state(self) -> list[torch.Tensor]:
        """What makes a replica: weights and BN statistics."""
        return self.params + self.buffers

    @property
    def bytes_per_travel(self) -> int:
        """What one replica sends when its model travels: weights and BN statistics."""
        return self.model_bytes + self.buffer_bytes

    def rows(self, model: nn.Module | None = None) -> torch.Tensor:
        """The replicas' state (of ``model``, a grouped copy; default the trained ones) flattened, ``[L, n]``:
        what travels."""
        state = self.state if model is None else list(model.parameters()) + bn_statistics(model)
        return torch.cat([t.detach().view(self.count, -1) for t in state], dim=1)

    @torch.no_grad()
    def minus(self, deltas: list[torch.Tensor]) -> nn.Module:
        """A grouped copy of the replicas with ``deltas`` (``[L, n]`` per parameter) subtracted from their
        parameters; the replicas themselves are left as they are."""
        model = copy.deepcopy(self.model)
        for p, d in zip(model.parameters(), deltas):
            p.view(self.count, -1).sub_(d)
        return model

    def identical(self) -> bool:
        if self.count == 1:
            return False
        return all(torch.equal(v[1:], v[:1].expand(self.count - 1, -1))
                   for v in (t.detach().view(self.count, -1) for t in self.state))

    @torch.no_grad()
    def replica_as_single(self, k: int, model: nn.Module | None = None) -> nn.Module:
        """The single model set to replica ``k`` of ``model`` (a grouped model laid out as the replicas, default
        the trained ones): evaluation scores replica 0 alone when all are equal, and each alone when a grouped pass
        would not fit its budget."""
        model = self.model if model is None else model
        for t1, tk in zip(list(self.single.parameters()) + bn_statistics(self.single),
                          list(model.parameters()) + bn_statistics(model)):
            t1.copy_(tk.view(self.count, -1)[k].view_as(t1))
        return self.single

    @torch.no_grad()
    def visitor(self, row: torch.Tensor) -> nn.Module:
        """A copy of this (one-replica) model holding a flattened replica that travelled here."""
        model = copy.deepcopy(self.model)
        offset = 0
        for t in list(model.parameters()) + bn_statistics(model):
            t.copy_(row[offset: offset + t.numel()].view_as(t))
            offset += t.numel()
        return model
