"""The OpenAI-compatible images gateway, mounted at ``/openai/v1``.

``OpenAI(base_url="http://host:port/openai/v1", api_key=<a bearer token of this server>)``
works unchanged: the Images API's generations and edits (JSON or multipart, as the SDKs send
them) and the Models API's list, answered in OpenAI's shapes and error envelope. Behind it is
the same use case call as the tools and the native REST API — same routing, normalization
policy, in-flight cap, input checks and store — so this is a translation, not a second path
to a vendor. The security layers in front (Host/Origin, bearer tokens, body cap) are the app's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pybase64
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from domain.errors import InvalidRequest, ModelNotFound
from domain.images import ImageData, ImageRequest
from domain.options import Background
from entrypoints.container import Container
from entrypoints.http.openai_schema import EditFields, EditJsonBody, GenerationFields, ImageUrl
from entrypoints.http.openai_translation import (
    QUALITY,
    QUALITY_LABEL,
    adjusted_header,
    ignored_knobs,
    openai_usage,
    route_names,
    size_request,
)
from entrypoints.http.rest import MalformedBody, UnsupportedMediaType, cancel_on_disconnect, coded, read_json
from entrypoints.http.security import openai_error_response
from entrypoints.mcp.presentation import structured_result

MAX_IMAGES = 16
# Multipart: the images, a mask, and every text field an SDK sends, with room to spare.
MAX_FORM_FILES = MAX_IMAGES + 1
MAX_FORM_FIELDS = 64
IMAGE_FIELDS = ("image", "image[]")


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class OpenAIGateway:
    """Handlers over one container; ``routes()`` are mounted at ``/openai/v1``."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.provider_ids = tuple(container.registry().ordered_ids())
        self.reader = container.image_reader()
        self.max_body_bytes: int = container.settings().max_body_bytes

    def routes(self) -> list[BaseRoute]:
        def route(path: str, handler: Any, method: str) -> Route:
            return Route(path, coded(handler, respond=openai_error_response), methods=[method])

        return [
            route("/images/generations", self.generations, "POST"),
            route("/images/edits", self.edits, "POST"),
            route("/models", self.models, "GET"),
            route("/models/{model:path}", self.model, "GET"),
        ]

    # -- images ----------------------------------------------------------------------------

    async def generations(self, request: Request) -> Response:
        """POST /images/generations: the Images API body, JSON."""
        fields: GenerationFields = await read_json(request, GenerationFields)
        return await self._create(request, fields, ())

    async def edits(self, request: Request) -> Response:
        """POST /images/edits: multipart/form-data as the SDKs send it, or JSON with image URLs."""
        if _media(request) == "multipart/form-data":
            form = await self._form(request)
            try:
                fields, images, mask = await self._read_form(form)
            finally:
                await form.close()
        elif _media(request) in ("", "application/x-www-form-urlencoded"):
            raise UnsupportedMediaType(
                "Send the edit as multipart/form-data (image files) or application/json (image URLs).",
                content_type=_media(request) or None,
            )
        else:
            body: EditJsonBody = await read_json(request, EditJsonBody)
            images, mask = await self._read_json_images(body)
            fields = body
        return await self._create(request, fields, images, mask)

    async def _form(self, request: Request) -> FormData:
        try:
            # The body cap in front already bounds the whole body; a text part (a data URL
            # sent as a field) may use all of it.
            return await request.form(
                max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=self.max_body_bytes
            )
        except HTTPException as exc:  # python-multipart's refusals, raised as a bare 400
            raise MalformedBody(f"The multipart body cannot be read: {exc.detail}") from None

    async def _read_form(self, form: FormData) -> tuple[EditFields, tuple[ImageData, ...], ImageData | None]:
        text: dict[str, str] = {}
        for key, value in form.multi_items():
            if key in (*IMAGE_FIELDS, "mask"):
                continue
            if not isinstance(value, str):
                raise InvalidRequest(f"{key} must be a text field, not a file.", option=key)
            if key in text:
                raise InvalidRequest(f"{key} is given more than once.", option=key)
            text[key] = value
        fields = EditFields.model_validate(text)
        parts = [part for name in IMAGE_FIELDS for part in form.getlist(name)]
        masks = form.getlist("mask")
        if not parts:
            raise InvalidRequest("image is required: one or more files (image or image[]).", option="image")
        if len(masks) > 1:
            raise InvalidRequest("Send at most one mask.", option="mask")
        images = tuple([await self._read_part(part, f"image[{i}]") for i, part in enumerate(parts)])
        mask = await self._read_part(masks[0], "mask") if masks else None
        return fields, images, mask

    async def _read_part(self, part: UploadFile | str, field: str) -> ImageData:
        if isinstance(part, str):  # a data URL, an image://{id} or a URL sent as a text field
            return await self.reader.read(part, field)
        return await self.reader.read_upload(await part.read(), field)

    async def _read_json_images(self, body: EditJsonBody) -> tuple[tuple[ImageData, ...], ImageData | None]:
        given = body.image if isinstance(body.image, list) else [body.image] if body.image else []
        values = [*given, *(body.images or [])]
        if not values:
            raise InvalidRequest(
                "image is required: one or more image URLs (image or images).", option="image"
            )
        if len(values) > MAX_IMAGES:
            raise InvalidRequest(f"At most {MAX_IMAGES} images.", option="image", limit=MAX_IMAGES)

        def text(value: str | ImageUrl, field: str) -> str:
            if isinstance(value, str):
                return value
            if value.image_url is None:
                raise InvalidRequest(
                    f"{field}: give image_url; file_id needs OpenAI's Files API, which this server has not.",
                    option=field,
                )
            return value.image_url

        mask = text(body.mask, "mask") if body.mask is not None else None
        return await self.reader.read_all([text(v, f"image[{i}]") for i, v in enumerate(values)], mask)

    async def _create(
        self,
        request: Request,
        fields: GenerationFields,
        images: tuple[ImageData, ...],
        mask: ImageData | None = None,
    ) -> Response:
        """The one use case call, and its outcome in the Images API's shape."""
        image_request = self._image_request(fields, images, mask)
        use_case = self.container.edit_image() if images else self.container.generate_image()
        outcome = await cancel_on_disconnect(request, use_case(image_request))
        native = structured_result(outcome, [None] * len(outcome.items), local_paths=False)
        result = native.model_dump(exclude_none=True)
        warnings: list[dict[str, str]] = result.setdefault("warnings", [])
        warnings.extend(ignored_knobs(fields))
        as_url = fields.response_format == "url"
        # Megabytes per image: encoded off the event loop.
        encoded = await asyncio.to_thread(
            lambda: [None if as_url and item.stored else _b64(item.image.data) for item in outcome.items]
        )
        revised = result.get("used", {}).get("revised_prompt")
        data: list[dict[str, Any]] = []
        for record, b64 in zip(result.get("images", []), encoded, strict=True):
            datum: dict[str, Any] = {"b64_json": b64} if b64 is not None else {}
            if record.get("id"):
                record["href"] = request.url_for("image_bytes", image_id=record["id"]).path
                if as_url:
                    datum["url"] = str(request.url_for("image_bytes", image_id=record["id"]))
            elif as_url:
                warnings.append({"option": "response_format", "message": "Not saved: sent as b64_json."})
            if revised:
                datum["revised_prompt"] = revised
            data.append(datum)
        first = outcome.items[0].image
        made = f"{first.width}x{first.height}"
        body: dict[str, Any] = {
            "created": int(time.time()),
            "data": data,
            "size": made,
            "output_format": first.media_type.removeprefix("image/"),
            "image_gen": result,
        }
        usage = openai_usage(result.get("usage") or {})
        if usage:
            body["usage"] = usage
        if image_request.quality is not None and not any(w["option"] == "quality" for w in warnings):
            body["quality"] = QUALITY_LABEL[image_request.quality]
        if image_request.background is not None:
            body["background"] = image_request.background.value
        adjusted = adjusted_header(fields.size, made, warnings)
        return JSONResponse(body, headers={"X-Image-Gen-Adjusted": adjusted} if adjusted else None)

    def _image_request(
        self, fields: GenerationFields, images: tuple[ImageData, ...], mask: ImageData | None
    ) -> ImageRequest:
        """The Images API fields in the tools' vocabulary, for the same use case."""
        if fields.stream:
            raise InvalidRequest("Streaming is not offered by this gateway; omit stream.", option="stream")
        provider, model = route_names(fields.model, self.provider_ids)
        tier, ratio = size_request(fields.size)
        return ImageRequest(
            prompt=fields.prompt,
            provider=provider,
            model=model,
            n=fields.n or 1,
            size=tier,
            aspect_ratio=ratio,
            quality=QUALITY[fields.quality or "auto"],
            background=None if fields.background in (None, "auto") else Background(fields.background),
            output_format=fields.output_format,
            output_compression=fields.output_compression,
            images=images,
            mask=mask,
        )

    # -- models ----------------------------------------------------------------------------

    async def _model_entries(self) -> list[dict[str, Any]]:
        report = await self.container.get_model_capabilities()(None)
        return [
            {
                "id": f"{p['provider']}/{m['model']}",
                "object": "model",
                "created": 0,
                "owned_by": p["provider"],
            }
            for p in report["providers"]
            if p["enabled"]
            for m in p["models"]
        ]

    async def models(self, request: Request) -> Response:
        """GET /models: every model of the enabled providers, as ``provider/model``."""
        return JSONResponse({"object": "list", "data": await self._model_entries()})

    async def model(self, request: Request) -> Response:
        """GET /models/{provider/model}: one entry, or 404 ``model_not_found``."""
        wanted = request.path_params["model"]
        entry = next((e for e in await self._model_entries() if e["id"] == wanted), None)
        if entry is None:
            raise ModelNotFound(f"No enabled model is called {wanted[:200]!r}.", model=wanted[:200])
        return JSONResponse(entry)


def _b64(data: bytes) -> str:
    return pybase64.b64encode(data).decode("ascii")
