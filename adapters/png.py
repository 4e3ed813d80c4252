"""A dependency-free PNG writer for solid images: fakes use it to answer instantly."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def solid_png(width: int, height: int, rgba: tuple[int, int, int, int] = (90, 120, 200, 255)) -> bytes:
    """A valid RGBA PNG of one colour."""
    row = b"\x00" + bytes(rgba) * width
    raw = zlib.compress(row * height, 1)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", raw) + _chunk(b"IEND", b"")
