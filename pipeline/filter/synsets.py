"""Class → ImageNet-1k output indices, from the catalogue's synsets and timm's ImageNetInfo."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def imagenet_index() -> dict[str, int]:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return {name: i for i, name in enumerate(info.label_names())}


def class_indices(synsets) -> list[int]:
    """ImageNet-1k indices of a class's synsets; synsets ImageNet-1k lacks are skipped."""
    idx = imagenet_index()
    return sorted({idx[s] for s in synsets if s in idx})


def catalogue_mammal_indices(classes) -> list[int]:
    """Every ImageNet-1k index any catalogue class maps to: the mass a class without synsets of its own
    (Deer, Goat, Mule, ...) is judged by. Without a WordNet hierarchy offline this is the mammal set we can
    derive from data rather than guess."""
    return sorted({i for c in classes for i in class_indices(c.imagenet_synsets)})
