"""Use-case outcomes → compact structured results, bounded previews and resource links.

Shared by the MCP and HTTP entrypoints. Never puts base64 into structured output.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import BaseModel, Field

from application.create_images import ImageOutcome
from domain.images import GeneratedImage
from domain.options import Background
from entrypoints.log_redaction import redact_value
from entrypoints.mcp.previews import Preview, full_inline, make_preview
from entrypoints.mcp.stored_records import image_uri, preview_uri
from entrypoints.settings import InlineMode, Settings


class ImageRecord(BaseModel):
    id: str | None = Field(None, description="Stable id; pass image://{id} to edit_image.")
    uri: str | None = Field(None, description="MCP resource with the full-resolution image.")
    preview_uri: str | None = None
    path: str | None = Field(None, description="File path when the store is a local folder.")
    media_type: str
    width: int
    height: int
    byte_size: int
    sha256: str
    saved: bool
    storage_error: dict[str, Any] | None = None
    inline: Literal["preview", "full", "none"] = "none"


class ToolWarning(BaseModel):
    option: str
    message: str


class ImageToolResult(BaseModel):
    """structuredContent of generate_image/edit_image: success fields when ``ok``, else
    ``code``/``message``/``details``/``retryable``."""

    ok: bool
    operation: str | None = None
    provider: str | None = None
    model: str | None = None
    chosen_by_default: bool | None = Field(
        None, description="True when provider or model came from the server's defaults."
    )
    image_count: int | None = None
    images: list[ImageRecord] | None = None
    warnings: list[ToolWarning] | None = None
    usage: dict[str, Any] | None = Field(
        None,
        description="Tokens the vendor reported, and cost_usd (null when no price is known) with "
        "cost_source: vendor, estimate, free or unknown.",
    )
    used: dict[str, Any] | None = Field(None, description="What the vendor actually used.")
    failures: list[dict[str, Any]] | None = None
    code: str | None = Field(None, description="Stable snake_case error code.")
    message: str | None = None
    details: dict[str, Any] | None = None
    retryable: bool | None = None


@functools.cache
def _preview_pool() -> ThreadPoolExecutor:
    """Previews are CPU-bound (decode + WebP: ~30 ms and ~10 MB each for a 1024² image). More
    threads than cores add no speed, only peak memory under parallel calls, so they get their
    own small pool instead of the default executor (which also runs the store's file writes)."""
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="preview")


class InlineRenderer:
    """The inline images of one call, within the result budget.

    Pass ``images_ready`` to the use case: it starts each preview in the preview pool as soon
    as the vendor has answered, so that previews are made while the store saves the images
    instead of after. ``render(outcome)`` then returns one inline image (or None) per outcome
    item, using those early previews wherever the outcome confirms them (the image was saved,
    and the budget is the one they were made for)."""

    def __init__(self, settings: Settings, mode: InlineMode) -> None:
        self.settings = settings
        self.mode = mode
        self._early: dict[int, tuple[GeneratedImage, tuple[int, bool], asyncio.Future[Preview | None]]] = {}

    def images_ready(self, images: Sequence[GeneratedImage], used: Mapping[str, Any]) -> None:
        if self.mode is InlineMode.NONE or not images:
            return
        loop = asyncio.get_running_loop()
        terms = self._terms(len(images), used)
        for image in images:
            future = loop.run_in_executor(_preview_pool(), self._saved_preview, image, *terms)
            # Nobody awaits it if the call fails while saving: retrieve its outcome anyway.
            future.add_done_callback(_consume)
            self._early[id(image)] = (image, terms, future)

    async def render(self, outcome: ImageOutcome) -> list[Preview | None]:
        items = outcome.items
        unsaved = any(item.stored is None for item in items)
        if (self.mode is InlineMode.NONE and not unsaved) or not items:
            return [None] * len(items)
        count = len(items)
        terms = self._terms(count, outcome.used)
        settings = self.settings

        def one(index: int) -> Preview | None:
            image = items[index].image
            if items[index].stored is None:
                # Not saved, so nothing to link: the original goes inline whatever the mode, with
                # the whole result budget, and a preview only when even that is too small.
                budget = settings.result_budget_chars // count
                full = full_inline(image.data, image.media_type, image.width, image.height, budget)
                if full is not None:
                    return full
            elif self.mode is InlineMode.NONE:
                return None
            return self._saved_preview(image, *terms)

        loop = asyncio.get_running_loop()

        def for_item(index: int) -> asyncio.Future[Preview | None]:
            item = items[index]
            early = self._early.get(id(item.image))
            if item.stored is not None and early is not None and early[0] is item.image and early[1] == terms:
                return early[2]
            return loop.run_in_executor(_preview_pool(), one, index)

        return list(await asyncio.gather(*(for_item(i) for i in range(count))))

    def _terms(self, count: int, used: Mapping[str, Any]) -> tuple[int, bool]:
        """Per-image character budget and whether transparency must survive."""
        per_image = min(self.settings.preview_budget_chars, self.settings.result_budget_chars // count)
        return per_image, used.get("background") == Background.TRANSPARENT.value

    def _saved_preview(self, image: GeneratedImage, per_image: int, keep_alpha: bool) -> Preview | None:
        """The inline image of a saved image (blocking: runs in the preview pool)."""
        settings = self.settings
        small = max(image.width, image.height) <= settings.preview_max_edge
        if self.mode is InlineMode.FULL or small:
            # An image that already fits is sent as is: lossless and no re-encoding cost.
            full = full_inline(image.data, image.media_type, image.width, image.height, per_image)
            if full is not None:
                return full
        return make_preview(
            image.data,
            image.media_type,
            budget_chars=per_image,
            max_edge=settings.preview_max_edge,
            keep_alpha=keep_alpha,
            opaque_format=settings.preview_format,
            alpha=settings.preview_alpha,
        )


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def structured_result(
    outcome: ImageOutcome, inlined: list[Preview | None], *, local_paths: bool = True
) -> ImageToolResult:
    """The structured result; ``local_paths`` False leaves out file paths, which mean nothing
    to a remote client and would only reveal the server's folders."""
    records = []
    for item, preview in zip(outcome.items, inlined, strict=True):
        stored = item.stored
        kind: Literal["preview", "full", "none"] = "none"
        if preview is not None:
            kind = "full" if preview.data is item.image.data else "preview"
        records.append(
            ImageRecord(
                id=stored.id if stored else None,
                uri=image_uri(stored.id) if stored else None,
                preview_uri=preview_uri(stored.id) if stored else None,
                path=stored.path if stored and local_paths else None,
                media_type=stored.media_type if stored else item.image.media_type,
                width=item.image.width,
                height=item.image.height,
                byte_size=len(item.image.data),
                # The store already hashed the bytes (in a worker thread): not again on the loop.
                sha256=stored.sha256 if stored else item.image.sha256,
                saved=stored is not None,
                storage_error=_storage_error(item.storage_error, local_paths),
                inline=kind,
            )
        )
    result = ImageToolResult(
        ok=True,
        operation=outcome.operation.value,
        provider=outcome.provider,
        model=outcome.model,
        chosen_by_default=outcome.chosen_by_default,
        image_count=len(records),
        images=records,
        warnings=[ToolWarning(**w.as_dict()) for w in outcome.warnings],
        usage=outcome.usage.as_dict() | outcome.cost.as_dict(),
        used={k: v for k, v in outcome.used.items() if v is not None},
        failures=[dict(f) for f in outcome.failures] or None,
    )
    # Vendor messages reach warnings and failures of partial fan-outs: mask any secret in them.
    return ImageToolResult.model_validate(redact_value(result.model_dump()))


def _storage_error(error: Mapping[str, Any] | None, local_paths: bool) -> dict[str, Any] | None:
    """The store's error; the output root's path only for a local client (as ``path`` is)."""
    if error is None:
        return None
    details = dict(error.get("details") or {})
    if not local_paths:
        details.pop("root", None)
    return {**error, "details": details}


def summary_text(result: ImageToolResult) -> str:
    """A short human/agent-readable line per image; the JSON stays in structuredContent."""
    lines = [
        f"{result.image_count} image(s) from {result.provider}/{result.model}"
        + (" (default choice)" if result.chosen_by_default else "")
        + "."
    ]
    for record in result.images or []:
        where = record.path or (record.uri or "not saved")
        lines.append(
            f"- {record.uri or '(unsaved)'} {record.width}x{record.height} "
            f"{record.media_type}, {record.byte_size} bytes: {where}"
        )
    for warning in result.warnings or []:
        lines.append(f"warning [{warning.option}]: {warning.message}")
    return "\n".join(lines)


def error_text(payload: dict[str, Any]) -> str:
    return f"Error [{payload['code']}]: {payload['message']}"


async def stored_preview(data: bytes, media_type: str, settings: Settings) -> Preview | None:
    """The preview of a stored image (for the preview resource and REST route)."""
    return await asyncio.to_thread(
        make_preview,
        data,
        media_type,
        budget_chars=settings.preview_budget_chars,
        max_edge=settings.preview_max_edge,
        keep_alpha=True,
        opaque_format=settings.preview_format,
        alpha=settings.preview_alpha,
    )


def capabilities_text(report: dict[str, Any]) -> str:
    """A compact reading of the capabilities report: per provider its default model, and per
    model of the enabled ones its facts with the aspect ratios written out; the full detail is
    in structuredContent (hosts count both against the model's context, so the text does not
    repeat the JSON)."""
    lines = [f"Default provider: {report['default_provider'] or 'none enabled'}."]
    for provider in report["providers"]:
        default = provider.get("default_model")
        if not provider["enabled"]:
            suffix = f" Its default model would be {default}." if default else ""
            lines.append(f"{provider['provider']}: off. {provider['reason']}{suffix}")
            continue
        lines.append(f"{provider['provider']}: enabled, default model {default or 'none'}.")
        for model in provider["models"]:
            if "operations" not in model:  # retired: only its status and replacement
                facts = ["retired " + model.get("retired_on", "")]
                if model.get("replacement"):
                    facts.append(f"use {model['replacement']} instead")
                lines.append(f"  - {model['model']}: " + ", ".join(f.strip() for f in facts))
                continue
            facts = [model["status"], "/".join(model["operations"]), f"n≤{model['max_n']}"]
            facts.append("sizes " + "/".join(model["sizes"]))
            facts.append("ratios " + " ".join(model["aspect_ratios"]))
            if model["supports_mask"]:
                facts.append("mask")
            if model["transparency"]:
                facts.append("transparency")
            if model.get("replacement") and model["status"] != "current":
                facts.append(f"use {model['replacement']} instead")
            mark = " (default)" if model["model"] == default else ""
            lines.append(f"  - {model['model']}{mark}: " + ", ".join(facts))
    return "\n".join(lines)
