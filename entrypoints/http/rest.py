"""The REST JSON API under ``/v1``: the same use cases, results and errors as the MCP tools,
for callers that do not speak MCP.

Results carry links, not pixels: each image has ``href`` (full bytes) and ``preview_href``;
base64 appears only when the body asks ``inline: "preview"`` or ``"full"``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from application.create_images import InputLoader
from domain.errors import AppError, ImageNotFound, InvalidRequest
from domain.images import ImageRequest, StoredImage
from domain.media import extension_for
from entrypoints.container import Container
from entrypoints.http.rest_schema import (
    DEFAULT_LIST,
    MAX_LIST,
    MAX_OFFSET,
    EditBody,
    GenerateBody,
    body_models,
)
from entrypoints.http.security import error_response
from entrypoints.mcp import tool_params as P
from entrypoints.mcp.error_payload import validation_message
from entrypoints.mcp.presentation import InlineRenderer, stored_preview, structured_result
from entrypoints.mcp.stored_records import stored_summary
from entrypoints.settings import InlineMode, Settings

Handler = Callable[[Request], Awaitable[Response]]
# How often a running generation checks that its REST client is still there.
DISCONNECT_POLL_S = 0.25
T = TypeVar("T")


class UnsupportedMediaType(AppError):
    """The request body is not JSON."""

    code = "unsupported_media_type"


class MalformedBody(InvalidRequest):
    """The body is not parseable JSON (answered 400, unlike argument problems: 422)."""


def _invalid_body(exc: PydanticValidationError) -> InvalidRequest:
    message, problems = validation_message(exc, subject="request body", root="body")
    return InvalidRequest(message, problems=problems)


def coded(handler: Handler, respond: Callable[..., Response] = error_response) -> Handler:
    """Every failure of ``handler`` becomes the coded JSON error with its HTTP status.
    ``respond(exc, status=None)`` shapes it (the OpenAI gateway passes its own envelope)."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except MalformedBody as exc:
            return respond(exc, status=400)
        except ClientDisconnect:
            # Nobody will read the answer; not worth an "unexpected error" traceback.
            return respond(MalformedBody("The client disconnected mid-body."), status=400)
        except PydanticValidationError as exc:
            return respond(_invalid_body(exc))
        except Exception as exc:  # AppErrors keep their code; the rest is logged and masked
            return respond(exc)

    return wrapped


async def read_json(request: Request, model: type[BaseModel]) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.", content_type=media or None)
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise MalformedBody("The body is not valid JSON.") from None
    except RecursionError:
        # A body of nothing but brackets (a JSON bomb) would otherwise log a traceback per request.
        raise MalformedBody("The body is nested too deeply.") from None
    return model.model_validate(data)


def _stored_info(record: StoredImage, href: str) -> dict[str, Any]:
    return {**stored_summary(record, local_paths=False), "href": href, "preview_href": f"{href}/preview"}


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Run ``work``, cancelling it (and so the vendor calls under it) if the client hangs up:
    nobody would read the result, and the use case leaves no half-written file behind."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise ClientDisconnect()
    finally:
        if not task.done():
            task.cancel()


class RestApi:
    """Handlers over one container; ``routes()`` are mounted at ``/v1``."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.settings: Settings = container.settings()
        self.store = container.store()
        registry = container.registry()
        self.provider_ids = tuple(registry.ordered_ids())
        self.generate_body, self.edit_body = body_models(self.provider_ids)
        self.reader = container.remote_image_reader()  # HTTP callers are remote

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/images/generations", coded(self.generations), methods=["POST"]),
            Route("/images/edits", coded(self.edits), methods=["POST"]),
            Route("/capabilities", coded(self.capabilities), methods=["GET"]),
            Route("/images", coded(self.recent), methods=["GET"]),
            Route("/images/{image_id}", coded(self.image), methods=["GET"], name="image_bytes"),
            Route("/images/{image_id}/preview", coded(self.preview), methods=["GET"]),
            Route("/images/{image_id}/record", coded(self.record), methods=["GET"]),
        ]

    async def generations(self, request: Request) -> Response:
        body: GenerateBody = await read_json(request, self.generate_body)
        return await self._create(request, body, self._request(body), edit=False)

    async def edits(self, request: Request) -> Response:
        body: EditBody = await read_json(request, self.edit_body)
        # Read and checked only once the call is admitted (in-flight cap, input deadline).
        inputs = functools.partial(self.reader.read_all, body.images, body.mask)
        return await self._create(request, body, self._request(body), edit=True, inputs=inputs)

    def _request(self, body: GenerateBody, **inputs: Any) -> ImageRequest:
        return ImageRequest(
            prompt=body.prompt,
            provider=getattr(body, "provider", None),
            model=body.model,
            n=body.n or 1,
            size=body.size,
            orientation=body.orientation,
            aspect_ratio=body.aspect_ratio,
            quality=body.quality,
            background=body.background,
            negative_prompt=body.negative_prompt,
            output_format=body.output_format,
            output_compression=body.output_compression,
            strict=body.strict,
            directory=body.directory,
            **inputs,
        )

    async def _create(
        self,
        request: Request,
        body: GenerateBody,
        image_request: ImageRequest,
        edit: bool,
        inputs: InputLoader | None = None,
    ) -> Response:
        mode = body.inline or InlineMode.NONE
        renderer = InlineRenderer(self.settings, mode)
        if edit:
            call = self.container.edit_image()(image_request, None, renderer.images_ready, inputs)
        else:
            call = self.container.generate_image()(image_request, None, renderer.images_ready)
        outcome = await cancel_on_disconnect(request, call)
        inlined = await renderer.render(outcome)
        data = structured_result(outcome, inlined, local_paths=False).model_dump(exclude_none=True)
        for record, preview in zip(data.get("images", []), inlined, strict=True):
            if record.get("id"):
                record["href"] = self._href(request, record["id"])
                record["preview_href"] = f"{record['href']}/preview"
            if preview is not None:
                record["inline_data"] = f"data:{preview.media_type};base64,{preview.base64()}"
        return JSONResponse(data)

    def _href(self, request: Request, image_id: str) -> str:
        # A path, not an absolute URL: behind a proxy the scheme and host seen here may differ
        # from what the client used.
        return request.url_for("image_bytes", image_id=image_id).path

    async def capabilities(self, request: Request) -> Response:
        provider = request.query_params.get("provider") or None
        model = request.query_params.get("model") or None
        if model is not None and len(model) > P.MODEL_ID_MAX_CHARS:
            raise InvalidRequest(f"model is at most {P.MODEL_ID_MAX_CHARS} characters.", option="model")
        report = await self.container.get_model_capabilities()(provider, model)
        return JSONResponse({"ok": True, **report})

    async def recent(self, request: Request) -> Response:
        raw = request.query_params.get("limit", str(DEFAULT_LIST))
        # isdigit() alone admits "²" and "٣" (int() refuses the first), and int() refuses
        # more than 4300 digits: ASCII digits of bounded length only.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= MAX_LIST:
            raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIST}.", option="limit")
        limit = int(raw)
        raw_offset = request.query_params.get("offset", "0")
        if not raw_offset.isdigit() or int(raw_offset) > MAX_OFFSET:
            raise InvalidRequest(f"offset must be an integer from 0 to {MAX_OFFSET}.", option="offset")
        offset = int(raw_offset)
        # The stores list newest first from the top only, so a page is the tail of a longer
        # listing; one record more tells whether another page follows.
        records = await self.store.list_recent(offset + limit + 1)
        images = [_stored_info(r, self._href(request, r.id)) for r in records[offset : offset + limit]]
        body: dict[str, Any] = {"ok": True, "images": images}
        if len(records) > offset + limit:
            body["next_offset"] = offset + limit
        return JSONResponse(body)

    async def image(self, request: Request) -> Response:
        record, data = await self.store.get(request.path_params["image_id"])
        name = f"{record.id}.{extension_for(record.media_type)}"
        return self._bytes(request, data, record.media_type, f'"{record.sha256}"', name)

    async def record(self, request: Request) -> Response:
        """One image's metadata, as in the listing (a gallery link opened on its own needs it).
        The stores read records with their bytes; the bytes are dropped here."""
        record, _ = await self.store.get(request.path_params["image_id"])
        return JSONResponse({"ok": True, "image": _stored_info(record, self._href(request, record.id))})

    async def preview(self, request: Request) -> Response:
        image_id = request.path_params["image_id"]
        record, data = await self.store.get(image_id)
        preview = await stored_preview(data, record.media_type, self.settings)
        if preview is None:
            raise ImageNotFound("No preview fits the budget for this image.", image_id=image_id)
        # Every setting stored_preview reads is in the tag: changing one changes the preview.
        settings = self.settings
        shape = (
            f"{settings.preview_max_edge}-{settings.preview_budget_chars}"
            f"-{settings.preview_format}-{settings.preview_alpha}"
        )
        etag = f'"{record.sha256}-preview-{shape}"'
        name = f"{record.id}-preview.{extension_for(preview.media_type)}"
        return self._bytes(request, preview.data, preview.media_type, etag, name)

    @staticmethod
    def _bytes(request: Request, data: bytes, media_type: str, etag: str, filename: str) -> Response:
        headers = {
            # An id always names the same bytes, so clients and proxies may keep them.
            "Cache-Control": "private, max-age=31536000, immutable",
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{filename}"',
        }
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=media_type, headers=headers)
