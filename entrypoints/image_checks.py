"""Full check of an input image before it is forwarded to a vendor.

Magic bytes only say what a file claims to be. Here the file's own structure is walked to its
end marker (so truncated files and files with something appended, such as a PNG+ZIP or
JPEG+HTML polyglot, are refused), the pixel count is checked from the header before anything
is decoded (decompression bombs), and Pillow then decodes it once. Blocking: run it in a
worker thread. Pillow is imported on first use, not at start-up.
"""

from __future__ import annotations

import io

from domain.errors import InvalidRequest
from domain.media import MAX_PIXELS

_MAX_PNG_CHUNKS = 200_000
# Pillow's format names that may carry each media type (MPO: a JPEG with extra pictures).
_PILLOW_FORMATS = {
    "image/png": {"PNG"},
    "image/jpeg": {"JPEG", "MPO"},
    "image/gif": {"GIF"},
    "image/webp": {"WEBP"},
}


class _Truncated(Exception):
    pass


def verify_image(data: bytes, media_type: str, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Return (width, height) of an image that decodes fully and is no larger than
    ``max_pixels``; raise InvalidRequest for a truncated, corrupt, oversized or polyglot one."""
    try:
        end = _structure_end(data, media_type)
    except (_Truncated, IndexError):
        raise InvalidRequest("The image is truncated or damaged.", reason="truncated") from None
    extra = data[end:]
    if extra and not _harmless_trailer(extra, media_type):
        raise InvalidRequest(
            f"The image has {len(extra)} unexpected bytes after its end (a polyglot file or "
            "appended data); re-save it as a plain image.",
            reason="trailing_data",
        )
    return _decode(data, media_type, max_pixels)


def _decode(data: bytes, media_type: str, max_pixels: int) -> tuple[int, int]:
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
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except bomb:
        raise InvalidRequest(
            f"The image declares more than {max_pixels} pixels.", reason="too_many_pixels", limit=max_pixels
        ) from None
    except InvalidRequest:
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


def _harmless_trailer(extra: bytes, media_type: str) -> bool:
    # Some encoders pad with zeros; phone JPEGs append further JPEGs (MPF: depth map, preview).
    if not extra.strip(b"\x00"):
        return True
    if media_type != "image/jpeg":
        return False
    # Every appended JPEG must be a whole one, up to its own end marker; anything else after
    # them (an archive, a script) is a polyglot.
    while extra.startswith(b"\xff\xd8\xff"):
        try:
            extra = extra[_jpeg_end(extra) :]
        except (_Truncated, IndexError):
            return False
        if not extra.strip(b"\x00"):
            return True
    return False


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
    for _ in range(_MAX_PNG_CHUNKS):
        if pos + 12 > len(data):
            raise _Truncated
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos
    raise _Truncated


def _jpeg_end(data: bytes) -> int:
    pos = 2
    while True:
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
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0:
                    raise _Truncated
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    pos += 1 if following == 0xFF else 2
                    continue
                break


def _gif_end(data: bytes) -> int:
    packed = data[10]
    pos = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    while True:
        block = data[pos]
        if block == 0x3B:  # trailer
            return pos + 1
        if block == 0x21:  # extension: introducer, label, sub-blocks
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW size, data
            local = data[pos + 9]
            pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1)
        else:
            raise _Truncated


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    while True:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _webp_end(data: bytes) -> int:
    if len(data) < 12:
        raise _Truncated
    return 8 + int.from_bytes(data[4:8], "little")
