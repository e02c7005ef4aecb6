"""Decode (with a decompression-bomb guard), optionally resize, encode. Returns an error string, never raises."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

MAX_PIXELS = 64_000_000       # far above any Flickr size we fetch; bigger headers are bombs


@dataclass
class Resized:
    data: bytes | None
    width: int | None
    height: int | None
    error: str | None


class Resizer:
    def __init__(self, shorter_side: int | None = None, longest_side: int | None = None, quality: int = 95):
        if shorter_side and longest_side:
            raise ValueError("give --shorter-side or --longest-side, not both")
        for name, v in (("shorter_side", shorter_side), ("longest_side", longest_side)):
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        self.shorter_side, self.longest_side, self.quality = shorter_side, longest_side, quality

    def target(self, w: int, h: int) -> tuple[int, int] | None:
        if self.shorter_side:
            s = self.shorter_side / min(w, h)
        elif self.longest_side:
            s = self.longest_side / max(w, h)
        else:
            return None
        if s >= 1.0:
            return None                 # never upscale
        return max(1, round(w * s)), max(1, round(h * s))

    def __call__(self, body: bytes) -> Resized:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im = Image.open(io.BytesIO(body))
                w, h = im.size
                if w * h > MAX_PIXELS:
                    return Resized(None, None, None, f"decompression bomb: {w}x{h} pixels declared")
                size = self.target(w, h)
                if size is None:
                    im.draft(im.mode, (max(1, w // 8), max(1, h // 8)))   # cheap full-stream check
                    im.load()
                    return Resized(body, w, h, None)
                if im.format == "JPEG" and size[0] * 2 <= w:
                    im.draft("RGB", size)          # DCT-domain downscale: decode at 1/2, 1/4 or 1/8
                im = im.convert("RGB")
                im = im.resize(size, Image.BILINEAR, reducing_gap=2.0)   # antialiased; ~40% cheaper than bicubic
                out = io.BytesIO()
                im.save(out, "JPEG", quality=self.quality)
                return Resized(out.getvalue(), size[0], size[1], None)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            return Resized(None, None, None, f"decompression bomb: {e}")
        except Image.UnidentifiedImageError:
            return Resized(None, None, None, "cannot decode: not a recognised image format")
        except Exception as e:    # any decoder failure is this photo's error, not the run's
            return Resized(None, None, None, f"cannot decode: {type(e).__name__}: {e}"[:200])
