"""Which classifier decides: a timm model with real weights, or the refusal to decide with random ones."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from catalog.errors import UserError

CATALOGUE = "catalogue"     # kind of a classifier trained on the class catalogue itself (`filter train`)
IMAGENET = "imagenet"


@dataclass
class Classifier:
    model: object
    name: str
    kind: str                     # imagenet | catalogue
    weights_sha256: str
    data_config: dict             # input_size, mean, std, interpolation, crop_pct
    label_ids: list[int] | None   # catalogue classifiers: output index → label id


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_classifier(name: str, weights: str | None) -> Classifier:
    """``weights``: a local checkpoint (a ``filter train`` output, or ImageNet weights for ``name``), or None
    for timm's cache. Anything that would leave the model with random weights is refused."""
    import timm

    if weights:
        p = Path(weights)
        if not p.is_file():
            raise UserError(f"--weights {p} not found")
        sidecar = p.with_suffix(".json")
        if sidecar.is_file():                                   # a catalogue classifier from `filter train`
            meta = json.loads(sidecar.read_text())
            try:
                m = timm.create_model(meta["model"], num_classes=len(meta["label_ids"]), checkpoint_path=str(p))
            except RuntimeError as e:
                raise UserError(f"--weights {p} does not fit {meta['model']}: {str(e).splitlines()[0]}; refusing "
                                f"to score with random weights") from None
            return Classifier(m.eval(), meta["model"], CATALOGUE, sha256_file(p), meta["data_config"],
                              meta["label_ids"])
        try:
            m = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=str(p)))
        except (RuntimeError, KeyError) as e:
            raise UserError(f"--weights {p} does not fit {name}: {str(e).splitlines()[0]}; refusing to score "
                            f"with random weights") from None
        digest = sha256_file(p)
    else:
        try:
            m = timm.create_model(name, pretrained=True)
        except Exception as e:   # offline, no cache: timm/hf raise various errors
            raise UserError(f"no pretrained weights for {name!r} in timm's cache and no network "
                            f"({type(e).__name__}); pass --weights FILE, or train one with `flickr-mammal filter "
                            f"train`. Refusing to score with random weights.") from None
        digest = "timm-cache:" + str(getattr(m, "pretrained_cfg", {}).get("hf_hub_id") or name)
    if getattr(m, "num_classes", 0) != 1000:
        raise UserError(f"{name} has {m.num_classes} outputs; an ImageNet-1k classifier (1000) is needed, or a "
                        f"`filter train` checkpoint with its .json sidecar")
    from timm.data import resolve_model_data_config

    return Classifier(m.eval(), name, IMAGENET, digest, resolve_model_data_config(m), None)
