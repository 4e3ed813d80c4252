"""Bounded inline previews: images re-encoded, at a predicted scale and quality, within a budget.

Hosts cut off large tool results (Claude Desktop at 1,048,576 characters), so the image
blocks in a result are previews sized to a character budget shared by all images; the full
image stays in the store and is linked.

A preview costs a bounded amount whatever the image: one decode, at most one mode conversion,
at most one resize and at most two encodes of the preview. Instead of walking a grid of scales
and qualities until one fits (up to a dozen encodes on a detailed image), the size the encoder
will produce is predicted from a probe: bands of the image at full resolution, a fifth of its
rows at most, encoded at the top quality, and at the lowest only when the top one does not fit
(JPEG and WebP code 16-row blocks independently, so a band costs what it costs inside the
whole image; the probe costs at most two fifths of one encode). The first encode then usually
fits; when it does not, or lands far below the budget, the one correction is computed from
that encode's exact size.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import pybase64
from attrs import frozen

from entrypoints.mcp import png_decoding

if TYPE_CHECKING:
    from PIL import Image

# The quality range of today's previews: the highest that fits is used, at the largest scale
# where the lowest one fits.
_TOP_QUALITY, _LOW_QUALITY = 85, 45
# Only a correction goes below the range, when the first encode overshot at the lowest quality;
# sizes then fall by at most this fraction of the lowest quality's a step (JPEG, 45 down to 20).
_FLOOR_QUALITY, _BELOW_RANGE_STEP = 20, 0.011
# Where a quality sits between the two probed sizes: (size(q) - size(45)) / (size(85) - size(45)).
# The upper envelope of photos, fine detail, noise and text (measured with libjpeg-turbo and
# libwebp method 0; the real value is at most this much, so a prediction errs on fitting).
_QUALITY_SHAPE = ((45, 0.0), (55, 0.16), (65, 0.34), (75, 0.58), (85, 1.0))
# The first encode aims a little under the budget, so that prediction errors of a few percent
# still fit; the correction, made from an exact size, aims closer.
_FIRST_AIM, _CORRECTION_AIM = 0.92, 0.96
# A first encode this far under the budget (at less than the top quality) is re-encoded once
# at the quality that fills it.
_UNDERSHOOT = 0.7
# WebP codes alpha losslessly, as one plane rather than in blocks: bands of a detailed RGBA
# image came out 12-23% smaller per pixel than the whole (colour alone: within 4%).
_ALPHA_PROBE_FACTOR = 1.3
# Probe bands: 16 rows (one block row of 4:2:0 JPEG), up to 12 of them, spread over the image.
_BAND_ROWS, _MAX_BANDS = 16, 12
# The checkerboard under transparent pixels: squares of 16 pixels, white and light grey.
_CHECKER_TILE, _CHECKER_LIGHT, _CHECKER_DARK = 16, 255, 204
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
        return pybase64.b64encode(self.data).decode("ascii")


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
    alpha: str = "checkerboard",
) -> Preview | None:
    """Re-encode ``data`` within ``budget_chars`` of base64, with the long edge at most
    ``max_edge``: as ``opaque_format`` (jpeg or webp). When transparency matters
    (``keep_alpha``) and the image has some, it is drawn over a checkerboard
    (``alpha="checkerboard"``) or kept as WebP's alpha (``alpha="webp"``). The largest scale at
    which the lowest quality fits, at the highest quality that fits there.

    Returns None when the image cannot be decoded, when not even a preview of one pixel fits,
    or when both the prediction and the correction miss (never seen on photos, fine detail,
    noise, text or flat images; the full image is still linked).
    Blocking: call it in a worker thread.
    """
    source = _decoded(data)
    if source is None:
        # A vendor image whose header reads but whose data does not: the stored file is
        # still linked, there is just nothing to show inline.
        return None
    has_alpha = keep_alpha and _has_transparency(source)
    # JPEG encodes ~10x faster than WebP (3 ms against 32 ms for a detailed 1024² image) and
    # every host renders it. Transparency is shown the way image editors show it, on a
    # checkerboard, rather than carried as WebP's alpha: a vision model shown an RGBA image may
    # see whatever colours lie under the transparent pixels, or black, and the WebP preview
    # of a transparent image cost 140 ms of CPU, twice 1.4.0's whole call.
    if has_alpha and alpha != "webp":
        has_alpha, source = False, _on_checkerboard(source)
    fmt = "webp" if has_alpha else opaque_format
    image = _in_encodable_mode(source, fmt, has_alpha)
    limit = 3 * (budget_chars // 4)  # the most bytes whose base64 fits the budget
    fit = min(1.0, max_edge / max(image.size))
    plan = _Plan(image, fmt, fit)
    scale, quality = plan.choose(limit * _FIRST_AIM)
    if scale is None:
        return None
    preview = _resized(image, plan.size(scale))
    encoded = _encode(preview, fmt, quality)
    fits = len(encoded) <= limit
    if not fits or (len(encoded) < limit * _UNDERSHOOT and quality < _TOP_QUALITY):
        # The one correction: same size (no second resize), quality from this exact size.
        better = plan.requality(len(encoded), quality, limit)
        if better != quality:
            again = _encode(preview, fmt, better)
            if len(again) <= limit:
                encoded, fits = again, True
    if not fits:
        return None  # two predictions missed: a wrong preview costs more than none
    return Preview(encoded, f"image/{fmt}", preview.width, preview.height)


def _decoded(data: bytes) -> Image.Image | None:
    """``data`` decoded once: a vendor's PNG by libdeflate and libspng, anything else (and
    anything that path declines) by Pillow. None when it cannot be decoded."""
    from PIL import Image

    fast = png_decoding.decode(data, Image.MAX_IMAGE_PIXELS)
    if fast is not None:
        return fast
    try:
        source = Image.open(io.BytesIO(data))
        source.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return source


class _Plan:
    """Predicts the encoded size of ``image`` at a scale and quality from a probe of its bands."""

    def __init__(self, image: Image.Image, fmt: str, fit: float) -> None:
        self.image, self.fmt, self.fit = image, fmt, fit
        self.probe = _bands(image)
        self.header = _header_bytes(fmt, image.mode)
        # Bytes per source pixel at the top quality, headers aside; the lowest quality's is
        # probed only when the top one does not fit (an easy image costs one probe).
        self.top = self._per_pixel(_TOP_QUALITY)

    def _per_pixel(self, quality: int) -> float:
        encoded = _encode(self.probe, self.fmt, quality)
        per_pixel = max(0, len(encoded) - self.header) / (self.probe.width * self.probe.height)
        return per_pixel * (_ALPHA_PROBE_FACTOR if self.image.mode == "RGBA" else 1.0)

    @functools.cached_property
    def low(self) -> float:
        return self._per_pixel(_LOW_QUALITY)

    def size(self, scale: float) -> tuple[int, int]:
        width, height = self.image.size
        return max(1, round(width * scale)), max(1, round(height * scale))

    def per_pixel(self, quality: int) -> float:
        """Bytes per pixel at ``quality``, at the source's scale, headers aside."""
        if quality >= _TOP_QUALITY:
            return self.top
        if quality >= _LOW_QUALITY:
            return self.low + _shape(quality) * (self.top - self.low)
        # Below the range (a correction only) sizes fall slowly: at most 1.1% a step (JPEG).
        return self.low * (1 - _BELOW_RANGE_STEP * (_LOW_QUALITY - quality))

    def growth(self, scale: float) -> float:
        """How much bytes per pixel grow when the image is shrunk to ``scale``.

        Fine detail keeps its bytes per pixel (measured 0.86-1.08 from 0.9 down to 0.15 of
        the size: the filter smooths away about what shrinking packs in), noise and text lose
        some (0.3-0.8), but a smooth image gains: few bytes per pixel at the lowest quality
        means a per-block floor and detail that shrinking concentrates (a photo: 1.2 at half
        size, 2.2 at a quarter). So the exponent rises from 0 to 0.6 as the probe's bytes per
        pixel at the lowest quality fall from 0.15 to 0.03: an upper bound of both."""
        if scale >= 1:
            return 1.0
        smooth = min(1.0, max(0.0, (0.15 - self.low) / 0.12))
        return float(scale ** (-0.6 * smooth))

    def predicted(self, scale: float, quality: int) -> float:
        """Bytes at ``scale`` (of the source) and ``quality``."""
        width, height = self.size(scale)
        return self.header + self.per_pixel(quality) * self.growth(scale) * width * height

    def choose(self, aim: float) -> tuple[float | None, int]:
        """The largest scale (up to ``fit``) at which the lowest quality fits ``aim``, and the
        highest quality that fits there."""
        scale = self.fit
        if self.predicted(scale, _TOP_QUALITY) <= aim:
            return scale, _TOP_QUALITY
        if self.predicted(scale, _LOW_QUALITY) > aim:
            # header + low * pixels * s**2 * s**-e <= aim, with growth s**-e (e in [0, 0.6])
            exponent = 2 - math.log(self.growth(0.5), 2)
            room = (aim - self.header) / max(self.low * self.image.width * self.image.height, 1e-12)
            if room <= 0:
                return None, _LOW_QUALITY
            scale = min(scale, room ** (1 / exponent))
            if min(self.size(scale)) < 1 or self.predicted(scale, _LOW_QUALITY) > aim * 1.01:
                scale *= 0.97  # rounding to whole pixels: one step further in
        return scale, self._best_quality(lambda q: self.predicted(scale, q), aim, _TOP_QUALITY, _LOW_QUALITY)

    def requality(self, measured: int, quality: int, limit: int) -> int:
        """The quality that fills the budget at the size just encoded (``measured`` bytes at
        ``quality``): the predicted curve, rescaled through that exact point."""
        ratio = max(0, measured - self.header) / max(self.per_pixel(quality), 1e-12)

        def at(q: int) -> float:
            return self.header + self.per_pixel(q) * ratio

        if measured > limit:  # below ``quality``, and below the usual range if need be
            return self._best_quality(at, limit * _CORRECTION_AIM, quality - 1, _FLOOR_QUALITY)
        return self._best_quality(at, limit * _CORRECTION_AIM, _TOP_QUALITY, quality)

    @staticmethod
    def _best_quality(size_at: Callable[[int], float], aim: float, top: int, bottom: int) -> int:
        """The highest quality from ``top`` down to ``bottom`` that ``size_at`` says fits."""
        for quality in range(top, bottom, -1):
            if size_at(quality) <= aim:
                return quality
        return bottom


def _shape(quality: int) -> float:
    """Linear between the knots of ``_QUALITY_SHAPE``."""
    for (q0, t0), (q1, t1) in itertools.pairwise(_QUALITY_SHAPE):
        if quality <= q1:
            return t0 + (t1 - t0) * (max(quality, q0) - q0) / (q1 - q0)
    return 1.0


def _bands(image: Image.Image) -> Image.Image:
    """Up to ``_MAX_BANDS`` bands of ``_BAND_ROWS`` rows spread over ``image``, stacked.

    Cropping copies rows and resamples nothing: each band encodes as it does inside the
    whole image. A small image is its own probe."""
    from PIL import Image

    rows = image.height // _BAND_ROWS
    count = min(_MAX_BANDS, rows // 5)  # a fifth of the rows at most
    if count < 2:
        return image
    probe = Image.new(image.mode, (image.width, count * _BAND_ROWS))
    for i in range(count):
        top = (rows * (2 * i + 1) // (2 * count)) * _BAND_ROWS  # band centres, evenly spread
        probe.paste(image.crop((0, top, image.width, top + _BAND_ROWS)), (0, i * _BAND_ROWS))
    return probe


@functools.cache
def _header_bytes(fmt: str, mode: str) -> int:
    """Bytes an encode costs whatever the pixels (markers, tables): a 16×16 flat image's."""
    from PIL import Image

    return len(_encode(Image.new(mode, (16, 16)), fmt, _TOP_QUALITY))


def _in_encodable_mode(source: Image.Image, fmt: str, has_alpha: bool) -> Image.Image:
    """``source`` in a mode the encoder takes, converted at most once (never a 4 MB copy when
    it is already right): RGBA for alpha, L or RGB for JPEG, RGB for opaque WebP."""
    if has_alpha:
        wanted = ("RGBA",)
    elif fmt == "jpeg":
        wanted = ("RGB", "L")
    else:
        wanted = ("RGB",)
    if source.mode in wanted:
        return source
    if not has_alpha:
        # Transparency that is not kept (or that no pixel uses) would only make Pillow warn
        # while it converts; the colours underneath are what an opaque preview shows.
        source.info.pop("transparency", None)
    return source.convert(wanted[0])


def _on_checkerboard(source: Image.Image) -> Image.Image:
    """``source`` (with some transparency) composited as RGB over the white and light grey
    checkerboard that image editors draw under transparent pixels: one mode conversion at
    most (none for RGBA), no resize."""
    from PIL import Image

    rgba = source if source.mode == "RGBA" else source.convert("RGBA")
    board = Image.frombytes("RGB", rgba.size, _checker_bytes(*rgba.size))
    board.paste(rgba, (0, 0), rgba)  # the alpha band is the mask: a blend where it is partial
    return board


def _checker_bytes(width: int, height: int) -> bytes:
    """RGB rows of 16-pixel squares: a multiple of JPEG's 8×8 blocks, so that at full size
    every block is flat and costs almost nothing to encode."""
    tile = _CHECKER_TILE
    light, dark = bytes((_CHECKER_LIGHT,)) * 3 * tile, bytes((_CHECKER_DARK,)) * 3 * tile
    pairs = -(-width // (2 * tile))
    band = ((light + dark) * pairs)[: width * 3] * tile + ((dark + light) * pairs)[: width * 3] * tile
    return (band * -(-height // (2 * tile)))[: width * height * 3]


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """One resize: whole-factor steps by ``reduce()`` (box averaging, cheap), the rest by a
    bilinear filter, about a third the cost of LANCZOS and as good for an inline preview."""
    from PIL import Image

    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _has_transparency(image: Image.Image) -> bool:
    """True when some pixel is not fully opaque (an RGBA image may well be opaque), without
    converting the image: a palette image's used colours are checked against its alpha."""
    if image.mode in ("RGBA", "LA", "PA"):
        return image.getchannel("A").getextrema()[0] < 255
    transparency = image.info.get("transparency")
    if transparency is None:
        return False
    if image.mode == "P":
        used = {index for _, index in image.getcolors(256) or ()}
        if isinstance(transparency, bytes):
            return any(index < len(transparency) and transparency[index] < 255 for index in used)
        return transparency in used
    return True  # a colour key on an L or RGB image: rare enough to treat as transparent


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
