"""Image types told apart by their magic bytes, never by what a caller or vendor claimed."""

from __future__ import annotations

# Decoded pixels accepted from any input image: 50 MP covers 8K photos and refuses bombs early.
MAX_PIXELS = 50_000_000

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
)

EXTENSIONS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
}


def sniff_media_type(data: bytes) -> str | None:
    """Return the image media type the bytes really hold, or None if they are no known image."""
    for magic, offset, media_type in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def extension_for(media_type: str) -> str:
    return EXTENSIONS.get(media_type, "bin")
