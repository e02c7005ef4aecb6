"""Downloaded images as a DataLoader: decoding and preprocessing in worker processes, batched."""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from catalog.images import open_image


class PhotoDataset(torch.utils.data.Dataset):
    def __init__(self, rows: list[tuple[int, str]], home: str | Path, transform):
        self.rows, self.home, self.transform = rows, Path(home), transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        pid, path = self.rows[i]
        with Image.open(open_image(self.home, path)) as im:     # a file, or a member of a shard tar
            size = self.transform_size()
            if size:
                im.draft("RGB", (size, size))          # decode at reduced scale when the input is small
            x = self.transform(im.convert("RGB"))
        return pid, x

    def transform_size(self) -> int | None:
        return getattr(self, "_size", None)


def transform_for(data_config: dict):
    from timm.data import create_transform

    return create_transform(**{k: v for k, v in data_config.items()
                               if k in ("input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode")},
                            is_training=False)


def loader(rows, home, data_config: dict, batch_size: int = 64, workers: int = 2):
    ds = PhotoDataset(rows, home, transform_for(data_config))
    ds._size = int(data_config["input_size"][-1]) * 2
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=workers, shuffle=False,
                                       persistent_workers=False)
