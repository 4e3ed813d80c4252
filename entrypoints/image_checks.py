"""Full check of an input image before it is forwarded to a vendor.

Magic bytes only say what a file claims to be. Here the file's own structure is walked to its
end marker (so truncated files and files with something appended, such as a PNG+ZIP or
JPEG+HTML polyglot, are refused), the pixel count is checked from the header before anything
is decoded (decompression bombs), and Pillow then decodes it once. Blocking: run it in a
worker thread. Pillow is imported on first use, not at start-up.

Every walk is linear in the input: it moves an offset through the one buffer (no re-slicing
or re-stripping of what remains), skips entropy-coded JPEG data with one C-level regex search,
and counts its steps against a budget that real images stay far below, so a file built of
hundreds of thousands of tiny segments or sub-blocks is refused after a bounded number of
Python-level steps instead of being walked element by element.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable

from domain.errors import InvalidRequest
from domain.media import MAX_PIXELS

# Pillow walks PNG chunks in Python (several times: open, verify, load), so their count decides
# the cost more than the byte size does. Encoders write IDAT in 8-64 KiB pieces and a few dozen
# other chunks (an APNG two per frame); these caps leave real files far inside.
_MAX_PNG_CHUNKS = 32_768
_MAX_PNG_OTHER_CHUNKS = 4_096
# Real JPEGs have tens of markers (a progressive one a few hundred), and phones append at most
# a handful of further JPEGs (MPF: depth map, preview, gain map).
_MAX_JPEG_MARKERS = 20_000
_MAX_APPENDED_JPEGS = 16
# GIF data comes in sub-blocks of up to 255 bytes: encoders fill them, so a real file has about
# one per 255 bytes plus a few per frame. The fixed part covers animations of tiny frames.
_GIF_BLOCKS_BASE = 100_000
_GIF_BYTES_PER_BLOCK = 128
# In entropy-coded data a 0xFF is stuffing (FF 00), a restart marker (FF D0-D7) or fill (FF FF);
# the first FF followed by anything else is the next real marker.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Pillow's format names that may carry each media type (MPO: a JPEG with extra pictures).
_PILLOW_FORMATS = {
    "image/png": {"PNG"},
    "image/jpeg": {"JPEG", "MPO"},
    "image/gif": {"GIF"},
    "image/webp": {"WEBP"},
}


class _Truncated(Exception):
    pass


class CheckAbandoned(Exception):
    """The call that wanted this check was cancelled or ran out of time; nobody awaits it."""


def verify_image(
    data: bytes, media_type: str, max_pixels: int = MAX_PIXELS, *, stop: threading.Event | None = None
) -> tuple[int, int]:
    """Return (width, height) of an image that decodes fully and is no larger than
    ``max_pixels``; raise InvalidRequest for a truncated, corrupt, oversized or polyglot one.
    ``stop``, once set, makes the check give up (CheckAbandoned) at its next stage."""

    def checkpoint() -> None:
        if stop is not None and stop.is_set():
            raise CheckAbandoned

    try:
        end = _structure_end(data, media_type)
    except (_Truncated, IndexError):
        raise InvalidRequest("The image is truncated or damaged.", reason="truncated") from None
    checkpoint()
    if end < len(data) and not _harmless_trailer(data, end, media_type):
        raise InvalidRequest(
            f"The image has {len(data) - end} unexpected bytes after its end (a polyglot file or "
            "appended data); re-save it as a plain image.",
            reason="trailing_data",
        )
    checkpoint()
    return _decode(data, media_type, max_pixels, checkpoint)


def _decode(
    data: bytes, media_type: str, max_pixels: int, checkpoint: Callable[[], None] = lambda: None
) -> tuple[int, int]:
    from PIL import Image

    bomb = (Image.DecompressionBombError, Image.DecompressionBombWarning)
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            if image.format not in _PILLOW_FORMATS.get(media_type, set()):
                raise InvalidRequest(
                    f"The image's content ({image.format}) does not match its signature ({media_type}).",
                    reason="mismatch",
                )
            width, height = image.size
            _check_pixels(width, height, max_pixels)
            image.verify()  # checksums (PNG CRCs) without decoding
        checkpoint()  # the full decode below is the costly part: skip it for an abandoned call
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except bomb:
        raise InvalidRequest(
            f"The image declares more than {max_pixels} pixels.", reason="too_many_pixels", limit=max_pixels
        ) from None
    except (InvalidRequest, CheckAbandoned):
        raise
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, struct.error...)
        raise InvalidRequest(
            f"The image cannot be decoded ({type(exc).__name__}).", reason="undecodable"
        ) from None
    return width, height


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise InvalidRequest(
            f"The image is {width}x{height}; at most {max_pixels} pixels are allowed.",
            reason="too_many_pixels",
            limit=max_pixels,
        )


def _harmless_trailer(data: bytes, end: int, media_type: str) -> bool:
    """Whether the bytes from ``end`` on may follow the image. Appended JPEGs are walked in
    place, and each zero-padding test stops at the first non-zero byte (which, but for the
    last, is the next JPEG's first byte), so the whole check stays one pass."""
    # Some encoders pad with zeros; phone JPEGs append further JPEGs (MPF: depth map, preview).
    if _zeros_from(data, end):
        return True
    if media_type != "image/jpeg":
        return False
    # Every appended JPEG must be a whole one, up to its own end marker; anything else after
    # them (an archive, a script), or more of them than a camera writes, is refused.
    budget = [_MAX_JPEG_MARKERS]
    for _ in range(_MAX_APPENDED_JPEGS):
        if not data.startswith(b"\xff\xd8\xff", end):
            return False
        try:
            end = _jpeg_end(data, end, budget)
        except (_Truncated, IndexError):
            return False
        if _zeros_from(data, end):
            return True
    return False


def _zeros_from(data: bytes, start: int) -> bool:
    # One memcmp that stops at the first non-zero byte (bytes.rstrip tests byte by byte).
    return data.endswith(bytes(len(data) - start))


def _structure_end(data: bytes, media_type: str) -> int:
    """Offset just past the format's end marker; raises _Truncated/IndexError if missing."""
    walkers = {"image/png": _png_end, "image/jpeg": _jpeg_end, "image/gif": _gif_end, "image/webp": _webp_end}
    walker = walkers.get(media_type)
    if walker is None:
        raise InvalidRequest(f"{media_type} images are not accepted.", reason="unsupported_type")
    end = walker(data)
    if end > len(data):
        raise _Truncated
    return end


def _png_end(data: bytes) -> int:
    pos = 8
    others = 0
    for _ in range(_MAX_PNG_CHUNKS):
        if pos + 12 > len(data):
            raise _Truncated
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos
        if kind != b"IDAT":
            others += 1
            if others > _MAX_PNG_OTHER_CHUNKS:
                break
    raise _Truncated


def _jpeg_end(data: bytes, start: int = 0, budget: list[int] | None = None) -> int:
    """Offset just past the EOI of the JPEG starting at ``start``. ``budget`` (shared by the
    JPEGs of one file) counts the markers walked; running out means the file is refused."""
    budget = budget if budget is not None else [_MAX_JPEG_MARKERS]
    pos = start + 2
    while True:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Truncated
        if data[pos] != 0xFF:
            raise _Truncated
        while data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos + 1]
        if marker == 0xD9:  # EOI
            return pos + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            raise _Truncated
        pos += 2 + length
        if marker == 0xDA:  # start of scan: skip entropy-coded data to the next real marker
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                raise _Truncated
            pos = found.start()


def _gif_end(data: bytes) -> int:
    packed = data[10]
    pos = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    budget = [_GIF_BLOCKS_BASE + len(data) // _GIF_BYTES_PER_BLOCK]
    while True:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Truncated
        block = data[pos]
        if block == 0x3B:  # trailer
            return pos + 1
        if block == 0x21:  # extension: introducer, label, sub-blocks
            pos = _skip_sub_blocks(data, pos + 2, budget)
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW size, data
            local = data[pos + 9]
            pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1, budget)
        else:
            raise _Truncated


def _skip_sub_blocks(data: bytes, pos: int, budget: list[int]) -> int:
    while True:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Truncated
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _webp_end(data: bytes) -> int:
    if len(data) < 12:
        raise _Truncated
    return 8 + int.from_bytes(data[4:8], "little")
