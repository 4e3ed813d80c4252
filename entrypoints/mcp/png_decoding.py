"""Decoding a vendor's PNG for its preview at under half of Pillow's cost.

Pillow inflates a 1024² PNG with zlib-ng and then undoes the row filters one byte at a time:
about 22 ms of CPU on a detailed image, the largest single cost of a call. libdeflate
inflates the same stream in about 5 ms when it is told the exact output size, which the PNG
header gives (``rows × (1 + width × channels)``), and libspng undoes the filters in about
2.5 ms. libspng's own inflate is slow, so it is handed the already inflated rows re-wrapped as
stored deflate blocks (a copy, no compression). The result is the same pixels as Pillow's.

Only what vendors send takes this path: 8-bit greyscale, grey+alpha, RGB or RGBA, not
interlaced, without a transparency key, a colour profile, Exif or animation. Anything else, and any
file this path finds damaged, goes to Pillow, which decides exactly as before.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type → channels, for the types this path takes (3, palette, goes to Pillow).
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
# Ancillary chunks that change what Pillow would show or keep: a colour key, a colour profile
# (Pillow carries it into the preview's JPEG), Exif (orientation) and animation.
_PILLOW_ONLY = frozenset({b"tRNS", b"iCCP", b"eXIf", b"acTL", b"fcTL", b"fdAT"})
# libspng's SPNG_FMT_PNG: the PNG's own layout, which for the 8-bit types taken here is
# Pillow's L, LA, RGB or RGBA (its SPNG_FMT_GA8 is refused for 8-bit grey+alpha sources).
_SPNG_FMT_PNG = 256
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_SPNG_CTX_IGNORE_ADLER32, _SPNG_CRC_USE = 1, 2
# The largest stored deflate block.
_STORED_BLOCK = 0xFFFF
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"

_Checksum = Callable[..., int]  # libdeflate's crc32 and adler32: (data, initial) -> int


def decode(data: bytes, max_pixels: int | None) -> Image.Image | None:
    """The decoded image when ``data`` is a PNG this path takes, else None (use Pillow).

    ``max_pixels`` is Pillow's bomb limit: larger images are left to Pillow to refuse.
    Blocking (libdeflate and libspng run in C without the GIL): call it in a worker thread.
    """
    native = _native()
    if native is None:
        return None
    deflate, spng = native
    layout = _layout(data, max_pixels, deflate.crc32)
    if layout is None:
        return None
    header, idat, (width, height, channels) = layout
    rows_size = height * (1 + width * channels)  # a filter byte, then the row's samples
    try:
        rows = deflate.zlib_decompress(idat, rows_size)
    except deflate.DeflateError:
        return None  # damaged, or more data than the header says: Pillow's verdict stands
    del idat
    if len(rows) != rows_size:
        return None
    png = _stored_png(header, rows, deflate.adler32, deflate.crc32)
    del rows
    pixels = spng.decode(png, _SPNG_FMT_PNG, width * height * channels)
    if pixels is None:
        return None
    from PIL import Image

    return Image.frombytes(_MODES[channels], (width, height), pixels)


class _Spng:
    """The few libspng calls a decode needs, through ctypes (they release the GIL)."""

    def __init__(self, library: ctypes.CDLL) -> None:
        pointer, size, number = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
        self._new = _function(library.spng_ctx_new, pointer, number)
        self._free = _function(library.spng_ctx_free, None, pointer)
        self._crc_action = _function(library.spng_set_crc_action, number, pointer, number, number)
        self._buffer = _function(library.spng_set_png_buffer, number, pointer, ctypes.c_char_p, size)
        self._size = _function(library.spng_decoded_image_size, number, pointer, number, ctypes.POINTER(size))
        self._decode = _function(
            library.spng_decode_image, number, pointer, ctypes.c_void_p, size, number, number
        )

    def decode(self, png: bytes, fmt: int, expected: int) -> bytearray | None:
        """The pixels of ``png`` in ``fmt``, or None when libspng refuses it."""
        context = self._new(_SPNG_CTX_IGNORE_ADLER32)
        if not context:
            return None
        try:
            size = ctypes.c_size_t()
            # libdeflate checked the original stream's Adler-32 and _layout every chunk's CRC:
            # checking the re-wrapped copy again would cost as much as undoing the filters.
            refused = (
                self._crc_action(context, _SPNG_CRC_USE, _SPNG_CRC_USE)
                or self._buffer(context, png, len(png))
                or self._size(context, fmt, ctypes.byref(size))
            )
            if refused:
                return None
            if size.value != expected:
                return None
            out = bytearray(expected)
            target = (ctypes.c_char * expected).from_buffer(out)
            if self._decode(context, ctypes.addressof(target), expected, fmt, 0):
                return None
            del target  # releases the export, so that the bytearray can be used
            return out
        finally:
            self._free(context)


def _function(function: Any, restype: Any, *argtypes: Any) -> Any:
    function.restype, function.argtypes = restype, argtypes
    return function


@functools.cache
def _native() -> tuple[Any, _Spng] | None:
    """libdeflate (the ``deflate`` package) and libspng, or None when either is missing.

    libspng comes compiled into ``pyspng``'s extension, which exports its C API; it is
    loaded directly because ``import pyspng`` would import numpy (15 MB of memory for an
    array this module does not need). Where the symbols are not exported (Windows builds),
    previews are decoded by Pillow as before."""
    try:
        import deflate

        spec = importlib.util.find_spec("pyspng")
        folders = list(spec.submodule_search_locations or ()) if spec else []
        libraries = [path for folder in folders for path in Path(folder).glob("_pyspng_c*")]
        if not libraries:
            return None
        return deflate, _Spng(ctypes.CDLL(str(libraries[0])))
    except (ImportError, OSError, AttributeError):
        return None


def _layout(
    data: bytes, max_pixels: int | None, crc32: _Checksum
) -> tuple[bytes, bytes, tuple[int, int, int]] | None:
    """(the IHDR chunk as it stands, the joined IDAT payload, (width, height, channels)), or
    None when the PNG is not one this path takes."""
    if not data.startswith(_SIGNATURE):
        return None
    view, position, end = memoryview(data), len(_SIGNATURE), len(data)
    header = b""
    idat: list[memoryview] = []
    channels = width = height = 0
    while position + 12 <= end:
        (length,) = struct.unpack_from(">I", data, position)
        kind = data[position + 4 : position + 8]
        payload_end = position + 8 + length
        if payload_end + 4 > end:
            return None
        payload = view[position + 8 : payload_end]
        (crc,) = struct.unpack_from(">I", data, payload_end)
        if crc32(payload, crc32(kind)) != crc:
            return None
        if kind == b"IHDR":
            if position != len(_SIGNATURE) or length != 13:
                return None
            fields = struct.unpack(">IIBBBBB", payload)
            width, height, depth, colour, compression, filtering, interlace = fields
            channels = _CHANNELS.get(colour, 0)
            too_many = max_pixels is not None and width * height > max_pixels
            if not channels or depth != 8 or compression or filtering or interlace or too_many:
                return None
            if not width or not height:
                return None
            header = bytes(view[position : payload_end + 4])
        elif kind == b"IDAT":
            idat.append(payload)
        elif kind == b"IEND":
            break
        elif kind == b"PLTE" and channels >= 3:
            pass  # a suggested palette for an RGB(A) image: nothing to apply
        elif kind in _PILLOW_ONLY or not kind[0] & 0x20:
            # A critical chunk this path does not take (bit 5 of the first letter clear: a
            # palette where the format forbids one, or an unknown one), or one whose meaning
            # Pillow applies.
            return None
        position = payload_end + 4
    else:
        return None  # no IEND: truncated
    if not header or not idat:
        return None
    return header, b"".join(idat), (width, height, channels)


def _stored_png(header: bytes, rows: bytes, adler32: _Checksum, crc32: _Checksum) -> bytes:
    """A PNG of ``rows`` (filtered, inflated) in stored deflate blocks: nothing to inflate.

    One join copies the rows once; the chunk's CRC runs over the pieces."""
    view, size = memoryview(rows), len(rows)
    stream: list[bytes | memoryview] = [b"\x78\x01"]  # zlib: deflate, 32K window, no dictionary
    for start in range(0, size, _STORED_BLOCK):
        block = view[start : start + _STORED_BLOCK]
        final = start + _STORED_BLOCK >= size
        stream += (struct.pack("<BHH", final, len(block), len(block) ^ 0xFFFF), block)
    stream.append(struct.pack(">I", adler32(rows)))
    crc = crc32(b"IDAT")
    for piece in stream:
        crc = crc32(piece, crc)
    length = sum(len(piece) for piece in stream)
    head = (_SIGNATURE, header, struct.pack(">I", length), b"IDAT")
    tail = (struct.pack(">I", crc), _IEND)
    return b"".join((*head, *stream, *tail))
