"""MCP resources: stored images by id (full and preview) and the recent listing."""

from __future__ import annotations

import json

from fastmcp import FastMCP
from fastmcp.resources import ResourceContent, ResourceResult
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR

from application.ports import ImageStore
from domain.errors import ImageNotFound
from domain.images import StoredImage
from entrypoints.mcp.errors import resource_not_found
from entrypoints.mcp.presentation import stored_preview
from entrypoints.mcp.stored_records import stored_summary
from entrypoints.settings import Settings


def register_image_resources(
    mcp: FastMCP, store: ImageStore, settings: Settings, *, local_paths: bool = True
) -> None:
    """``image://{id}``, ``image://{id}/preview`` and ``images://recent``."""

    async def load(image_id: str) -> tuple[StoredImage, bytes]:
        try:
            return await store.get(image_id)
        except ImageNotFound as exc:
            raise resource_not_found(exc, image_id) from None

    @mcp.resource(
        "image://{image_id}",
        name="stored_image",
        description="A generated or edited image at full resolution, by id.",
    )
    async def read_image(image_id: str) -> ResourceResult:
        record, data = await load(image_id)
        return ResourceResult([ResourceContent(data, mime_type=record.media_type)])

    @mcp.resource(
        "image://{image_id}/preview",
        name="stored_image_preview",
        description="A small JPEG (WebP when transparent) preview of a stored image, within budget.",
    )
    async def read_preview(image_id: str) -> ResourceResult:
        record, data = await load(image_id)
        preview = await stored_preview(data, record.media_type, settings)
        if preview is None:
            raise MCPError(code=INTERNAL_ERROR, message="No preview fits the budget for this image.")
        return ResourceResult([ResourceContent(preview.data, mime_type=preview.media_type)])

    @mcp.resource(
        "images://recent",
        name="recent_images",
        mime_type="application/json",
        description="The 50 most recent images with their metadata (no pixels).",
    )
    async def recent_images() -> str:
        return json.dumps([stored_summary(r, local_paths=local_paths) for r in await store.list_recent(50)])
