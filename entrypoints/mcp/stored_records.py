"""A stored image's public summary, shared by the MCP listing and the REST API."""

from __future__ import annotations

from typing import Any

from domain.images import StoredImage


def image_uri(image_id: str) -> str:
    return f"image://{image_id}"


def preview_uri(image_id: str) -> str:
    return f"image://{image_id}/preview"


def stored_summary(record: StoredImage, *, local_paths: bool = True) -> dict[str, Any]:
    """Metadata only (never pixels): ids, links, size, hash, prompt and lineage; the file path
    only for local clients, and only when the store has one (an object store has none)."""
    summary = {
        "id": record.id,
        "uri": image_uri(record.id),
        "preview_uri": preview_uri(record.id),
        "media_type": record.media_type,
        "width": record.width,
        "height": record.height,
        "byte_size": record.byte_size,
        "sha256": record.sha256,
        "created_at": record.created_at.isoformat(),
        "path": record.path,
        "prompt": record.metadata.get("prompt"),
        "provider": record.metadata.get("provider"),
        "model": record.metadata.get("model"),
        "source_images": record.metadata.get("source_images") or [],
    }
    if not local_paths or record.path is None:
        del summary["path"]
    return summary
