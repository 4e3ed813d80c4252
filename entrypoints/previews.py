"""Bounded inline previews: images re-encoded and stepped down until they fit a budget.

Hosts cut off large tool results (Claude Desktop at 1,048,576 characters), so the image
blocks in a result are previews sized to a character budget shared by all images; the full
image stays in the store and is linked.
"""

from __future__ import annotations

import base64
import io

from attrs import frozen

# Quality and size steps tried in order until the base64 fits the budget.
_QUALITIES = (85, 75, 60, 45)
_EDGE_SCALES = (1.0, 0.75, 0.5, 0.35, 0.25, 0.15)


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
    data: bytes, media_type: str, *, budget_chars: int, max_edge: int, keep_alpha: bool
) -> Preview | None:
    """Re-encode ``data`` as WebP (lossy, or lossless-alpha when transparency matters)
    within ``budget_chars`` of base64, with the long edge at most ``max_edge``.

    Returns None when even the smallest step does not fit (the full image is still linked).
    Blocking: call it in a worker thread.
    """
    from PIL import Image

    source = Image.open(io.BytesIO(data))
    source.load()
    has_alpha = keep_alpha and (source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info)
    image = source.convert("RGBA" if has_alpha else "RGB")
    long_edge = max(image.size)
    first = min(1.0, max_edge / long_edge)
    for scale in _EDGE_SCALES:
        factor = first * scale
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        for quality in _QUALITIES:
            out = io.BytesIO()
            resized.save(out, format="WEBP", quality=quality, method=4)
            if b64_len(out.tell()) <= budget_chars:
                return Preview(out.getvalue(), "image/webp", size[0], size[1])
    return None


def full_inline(data: bytes, media_type: str, width: int, height: int, budget_chars: int) -> Preview | None:
    """The original bytes when they fit the budget, else None."""
    if b64_len(len(data)) <= budget_chars:
        return Preview(data, media_type, width, height)
    return None
