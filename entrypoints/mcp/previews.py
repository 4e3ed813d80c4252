"""Bounded inline previews: images re-encoded and stepped down until they fit a budget.

Hosts cut off large tool results (Claude Desktop at 1,048,576 characters), so the image
blocks in a result are previews sized to a character budget shared by all images; the full
image stays in the store and is linked.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

from attrs import frozen

if TYPE_CHECKING:
    from PIL import Image

# Quality and size steps: the first (largest scale, then highest quality) that fits is used.
_QUALITIES = (85, 75, 60, 45)
_EDGE_SCALES = (1.0, 0.75, 0.5, 0.35, 0.25, 0.15)
# libwebp's effort knob. 0 encodes about 5x faster than the default 4 at the same quality
# (PSNR within 0.1 dB on photos) for ~10% more bytes: the right trade for a preview that is
# re-encoded on every call (a 1024² photo: ~15 ms instead of ~75 ms).
_WEBP_METHOD = 0


@frozen
class Preview:
    data: bytes
    media_type: str
    width: int
    height: int

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")


def b64_len(byte_count: int) -> int:
    return 4 * ((byte_count + 2) // 3)


def make_preview(
    data: bytes,
    media_type: str,
    *,
    budget_chars: int,
    max_edge: int,
    keep_alpha: bool,
    opaque_format: str = "jpeg",
) -> Preview | None:
    """Re-encode ``data`` within ``budget_chars`` of base64, with the long edge at most
    ``max_edge``: as ``opaque_format`` (jpeg or webp), or as WebP with alpha when
    transparency matters.

    Returns None when the image cannot be decoded or even the smallest step does not fit (the
    full image is still linked).
    Blocking: call it in a worker thread.
    """
    from PIL import Image

    try:
        source = Image.open(io.BytesIO(data))
        source.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # A vendor image whose header reads but whose data does not: the stored file is
        # still linked, there is just nothing to show inline.
        return None
    has_alpha = keep_alpha and _has_transparency(source)
    mode = "RGBA" if has_alpha else "RGB"
    # JPEG encodes ~8x faster than WebP (2 ms against 16 ms for a 1024² photo) and every host
    # renders it; WebP is kept for alpha, which JPEG cannot carry.
    fmt = "webp" if has_alpha else opaque_format
    image = source if source.mode == mode else source.convert(mode)  # no 4 MB copy per 1024² image
    long_edge = max(image.size)
    first = min(1.0, max_edge / long_edge)
    for scale in _EDGE_SCALES:
        factor = first * scale
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        encoded = _best_fitting_quality(resized, budget_chars, fmt)
        if encoded is not None:
            return Preview(encoded, f"image/{fmt}", size[0], size[1])
    return None


def _has_transparency(image: Image.Image) -> bool:
    """True when some pixel is not fully opaque (an RGBA image may well be opaque)."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return False
    alpha = (
        image.convert("RGBA").getchannel("A")
        if image.mode == "PA" or "transparency" in image.info
        else image.getchannel("A")
    )
    return alpha.getextrema()[0] < 255


def _best_fitting_quality(image: Image.Image, budget_chars: int, fmt: str) -> bytes | None:
    """The encoding at the highest of ``_QUALITIES`` that fits the budget, else None.

    Same answer as trying every quality from the top (size falls with quality), in fewer
    encodes: after the best quality misses, the worst is tried, and when even that misses the
    scale is given up at once (2 encodes instead of 4).
    """
    best = _encode(image, fmt, _QUALITIES[0])
    if b64_len(len(best)) <= budget_chars:
        return best
    worst = _encode(image, fmt, _QUALITIES[-1])
    if b64_len(len(worst)) > budget_chars:
        return None
    for quality in _QUALITIES[1:-1]:
        encoded = _encode(image, fmt, quality)
        if b64_len(len(encoded)) <= budget_chars:
            return encoded
    return worst


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "webp":
        image.save(out, format="WEBP", quality=quality, method=_WEBP_METHOD)
    else:
        image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def full_inline(data: bytes, media_type: str, width: int, height: int, budget_chars: int) -> Preview | None:
    """The original bytes when they fit the budget, else None."""
    if b64_len(len(data)) <= budget_chars:
        return Preview(data, media_type, width, height)
    return None
