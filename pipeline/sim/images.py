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


def render(photo_id: int, true_label: int, size: tuple[int, int], quality: int = 88,
           burst_of: int | None = None) -> bytes:
    """A JPEG of ``size`` (w, h), deterministic from the photo id and what it really shows. A burst copy
    (``burst_of``: the original's photo id) is the original's image, slightly shifted, re-lit and re-encoded."""
    if burst_of is not None and burst_of >= 0:
        return _burst_copy(photo_id, render(burst_of, true_label, size, quality), size)
    rng = np.random.default_rng(int(photo_id) & 0xFFFFFFFFFFFF)
    w, h = size
    sw, sh = max(w // 4, 8), max(h // 4, 8)
    shape, fg, sky, ground = _class_style(true_label)
    horizon = int(sh * rng.uniform(0.35, 0.65))
    img = Image.new("RGB", (sw, sh), sky)
    d = ImageDraw.Draw(img)
    d.rectangle([0, horizon, sw, sh], fill=ground)
    _scenery(d, photo_id, sw, sh, horizon, sky, ground)
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
    arr = (arr * _light(photo_id, w, h)[:, :, None]).astype(np.int16)
    grain = rng.integers(-18, 19, size=(h, w, 1), dtype=np.int16)   # film grain: realistic JPEG sizes
    arr = np.clip(arr + grain, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _scenery(d: ImageDraw.ImageDraw, photo_id: int, sw: int, sh: int, horizon: int, sky, ground) -> None:
    """Each photo's own backdrop: clouds in the sky and bushes or rocks on the ground, in lighter and darker shades
    of the class's backdrop colours (so the animal's shape and colour still tell the class). Without it two photos
    of one class differ only by horizon and animal position, and unrelated photos look like near-copies."""
    rng = np.random.default_rng([int(photo_id) & 0xFFFFFFFFFFFF, 0x5CE2E])
    for _ in range(int(rng.integers(4, 9))):
        in_sky = rng.random() < 0.5
        base = sky if in_sky else ground
        shade = rng.uniform(0.55, 1.35)
        colour = tuple(int(min(255, c * shade)) for c in base)
        x = rng.uniform(0, sw)
        y = rng.uniform(0, horizon) if in_sky else rng.uniform(horizon, sh)
        rx, ry = rng.uniform(0.06, 0.22) * sw, rng.uniform(0.04, 0.14) * sh
        d.ellipse([x - rx, y - ry, x + rx, y + ry], fill=colour)


def _light(photo_id: int, w: int, h: int) -> np.ndarray:
    """A gentle per-photo illumination gradient (0.75-1.25 across the frame), as sun and shade give real photos."""
    rng = np.random.default_rng([int(photo_id) & 0xFFFFFFFFFFFF, 0x1167])
    angle, amp = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.25)
    ys, xs = np.mgrid[0:h, 0:w]
    t = ((xs / w - 0.5) * np.cos(angle) + (ys / h - 0.5) * np.sin(angle)) * 2
    return (1.0 + amp * t).astype(np.float32)


def _burst_copy(photo_id: int, original: bytes, size: tuple[int, int]) -> bytes:
    """The next shot of a burst: up to 3% cropped off each side (a small reframing), brightness ±8%, contrast ±5%,
    re-encoded at JPEG quality 75-92; deterministic from the copy's photo id."""
    from PIL import ImageEnhance

    rng = np.random.default_rng([int(photo_id) & 0xFFFFFFFFFFFF, 0xB0A5])
    w, h = size
    left, top, right, bottom = rng.uniform(0, 0.03, 4)
    box = (round(left * w), round(top * h), w - round(right * w), h - round(bottom * h))
    with Image.open(io.BytesIO(original)) as img:
        img = img.crop(box).resize((w, h), Image.BILINEAR)
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.92, 1.08))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.95, 1.05))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=int(rng.integers(75, 93)))
    return out.getvalue()
