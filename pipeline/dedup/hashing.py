"""64-bit DCT perceptual hash (pHash), computed for a batch of images at once.

The recipe is the usual pHash (as in ``imagehash.phash``): greyscale, 32×32, 2-D DCT-II, keep the 8×8 lowest
frequencies, one bit per coefficient: above the median of those 64 or not. A JPEG is decoded at 1/8 scale or
smaller by libjpeg (``Image.draft``) since only 32×32 pixels are needed, which makes decoding, not the DCT, the cost.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.fft import dctn

HASH_SIZE = 8                 # 8×8 = 64 bits
HIGHFREQ_FACTOR = 4           # DCT over a 32×32 image
METHOD = "phash-dct-32x8"     # recorded with every hash: hashes of different methods never compare
_SIDE = HASH_SIZE * HIGHFREQ_FACTOR


def pixels(source) -> np.ndarray:
    """The 32×32 greyscale float32 pixels pHash reads, from anything ``PIL.Image.open`` takes or an open Image."""
    img = source if isinstance(source, Image.Image) else Image.open(source)
    with img:
        img.draft("L", (_SIDE, _SIDE))          # JPEG: libjpeg decodes at 1/2..1/8 scale, never below 32 px
        small = img.convert("L").resize((_SIDE, _SIDE), Image.Resampling.LANCZOS)
        return np.asarray(small, dtype=np.float32)


def phash_pixels(batch: np.ndarray) -> np.ndarray:
    """uint64 pHash of each 32×32 image in ``batch`` (shape [n, 32, 32]); bit 63 is coefficient (0, 0)."""
    batch = np.asarray(batch, dtype=np.float32).reshape(-1, _SIDE, _SIDE)
    low = dctn(batch, type=2, axes=(1, 2))[:, :HASH_SIZE, :HASH_SIZE].reshape(len(batch), -1)
    bits = low > np.median(low, axis=1, keepdims=True)
    return np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)


def phash(sources) -> np.ndarray:
    """uint64 pHash of each image (paths, file objects or PIL images)."""
    sources = list(sources)
    if not sources:
        return np.zeros(0, np.uint64)
    return phash_pixels(np.stack([pixels(s) for s in sources]))


def hamming(a, b) -> np.ndarray:
    """Bitwise Hamming distance between uint64 hashes (broadcasting)."""
    return np.bitwise_count(np.bitwise_xor(np.asarray(a, np.uint64), np.asarray(b, np.uint64))).astype(np.int8)
