"""Photo-like JPEGs whose content a small CNN can learn: each class has its own shape, colour and backdrop."""
from __future__ import annotations

import colorsys
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SHAPES = ("ellipse", "rectangle", "triangle", "stripes", "spots", "ring", "cross")


def _class_style(label: int) -> tuple[str, tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    """(shape, animal colour, sky colour, ground colour) for a label; -1 (no mammal) has no animal."""
    shape = SHAPES[label % len(SHAPES)] if label >= 0 else "none"
    hue = ((label // len(SHAPES)) * 0.161 + label * 0.037) % 1.0 if label >= 0 else 0.0

    def rgb(h, s, v):
        return tuple(int(255 * x) for x in colorsys.hsv_to_rgb(h % 1.0, s, v))

    return shape, rgb(hue, 0.85, 0.9), rgb(hue + 0.5, 0.35, 0.85), rgb(hue + 0.3, 0.5, 0.45)


def render(photo_id: int, true_label: int, size: tuple[int, int], quality: int = 88) -> bytes:
    """A JPEG of ``size`` (w, h), deterministic from the photo id and what it really shows."""
    rng = np.random.default_rng(int(photo_id) & 0xFFFFFFFFFFFF)
    w, h = size
    sw, sh = max(w // 4, 8), max(h // 4, 8)
    shape, fg, sky, ground = _class_style(true_label)
    horizon = int(sh * rng.uniform(0.35, 0.65))
    img = Image.new("RGB", (sw, sh), sky)
    d = ImageDraw.Draw(img)
    d.rectangle([0, horizon, sw, sh], fill=ground)
    if shape != "none":
        cx, cy = rng.uniform(0.3, 0.7) * sw, rng.uniform(0.35, 0.7) * sh
        r = rng.uniform(0.16, 0.3) * min(sw, sh)
        box = [cx - r * 1.3, cy - r, cx + r * 1.3, cy + r]
        if shape == "ellipse":
            d.ellipse(box, fill=fg)
        elif shape == "rectangle":
            d.rectangle(box, fill=fg)
        elif shape == "triangle":
            d.polygon([(cx, cy - r), (cx - r * 1.2, cy + r), (cx + r * 1.2, cy + r)], fill=fg)
        elif shape == "stripes":
            for k in range(-3, 4):
                x = cx + k * r * 0.35
                d.rectangle([x - r * 0.1, cy - r, x + r * 0.1, cy + r], fill=fg)
        elif shape == "spots":
            for _ in range(7):
                px, py = cx + rng.uniform(-r, r) * 1.2, cy + rng.uniform(-r, r)
                q = r * 0.25
                d.ellipse([px - q, py - q, px + q, py + q], fill=fg)
        elif shape == "ring":
            d.ellipse(box, outline=fg, width=max(2, int(r * 0.3)))
        elif shape == "cross":
            d.rectangle([cx - r, cy - r * 0.2, cx + r, cy + r * 0.2], fill=fg)
            d.rectangle([cx - r * 0.2, cy - r, cx + r * 0.2, cy + r], fill=fg)
    img = img.resize((w, h), Image.BILINEAR).filter(ImageFilter.GaussianBlur(1.2))
    arr = np.asarray(img, dtype=np.int16)
    grain = rng.integers(-18, 19, size=(h, w, 1), dtype=np.int16)   # film grain: realistic JPEG sizes
    arr = np.clip(arr + grain, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=quality)
    return out.getvalue()
