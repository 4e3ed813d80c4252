"""The REST API's contract: request and response models, and the OpenAPI 3.1 document built
from their JSON schemas.

Request bodies reuse the annotated parameter types of the MCP tools, so a field means the same
thing (and is validated the same way) whichever door a caller comes through.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import models_json_schema

from entrypoints.mcp import tool_params as P
from entrypoints.mcp.presentation import ImageRecord, ImageToolResult
from entrypoints.settings import InlineMode

ModelId = Annotated[
    str | None,
    Field(
        description="Model id; any string is passed to the vendor. GET /v1/capabilities lists "
        "the known ones. Omit for the provider's default.",
        max_length=P.MODEL_ID_MAX_CHARS,
    ),
]
RestInline = Annotated[
    InlineMode | None,
    Field(
        description="none (default for REST): links only, fetch the bytes from `href`; preview: "
        "also a small data: URL per image in `inline_data`; full: the original bytes as a data: "
        "URL when they fit the result budget."
    ),
]


class GenerateBody(BaseModel):
    """Body of POST /v1/images/generations: the generate_image tool's parameters."""

    model_config = ConfigDict(extra="forbid")

    prompt: P.Prompt
    model: ModelId = None
    n: P.Count = 1
    size: P.Size = None
    orientation: P.OrientationArg = None
    quality: P.QualityArg = None
    background: P.BackgroundArg = None
    negative_prompt: P.NegativePrompt = None
    directory: P.Directory = None
    aspect_ratio: P.AspectRatio = None
    output_format: P.OutputFormatArg = None
    output_compression: P.Compression = None
    strict: P.Strict = False
    inline: RestInline = None


class EditBody(GenerateBody):
    """Body of POST /v1/images/edits: the edit_image tool's parameters."""

    prompt: P.EditPrompt
    images: P.Images
    mask: P.Mask = None


# GET /v1/images?limit=: how many records at most, and when the query does not say.
MAX_LIST = 200
DEFAULT_LIST = 50
# Paging reads every record above the page, so how deep it may go is bounded.
MAX_OFFSET = 1000


def body_models(provider_ids: tuple[str, ...]) -> tuple[type[GenerateBody], type[EditBody]]:
    """The two body models with ``provider`` an enum of the ids this server knows."""
    provider: Any = (
        Literal[provider_ids] | None,  # type: ignore[valid-type]
        Field(None, description="Provider id; omit for the server's default (reported in the result)."),
    )
    generate = create_model("GenerateImageRequest", __base__=GenerateBody, provider=provider)
    edit = create_model("EditImageRequest", __base__=EditBody, provider=provider)
    return generate, edit


class RestImageRecord(ImageRecord):
    href: str | None = Field(None, description="GET this path for the full-resolution bytes.")
    preview_href: str | None = Field(
        None, description="GET this path for a small preview (JPEG, or WebP when transparent)."
    )
    inline_data: str | None = Field(
        None, description="data: URL of the preview or original, only when inline was asked."
    )


class RestImageResult(ImageToolResult):
    """Response of the generation and edit endpoints: generate_image's structured result,
    with HTTP links to the stored bytes."""

    images: list[RestImageRecord] | None = None


class ErrorBody(BaseModel):
    """Every error response: the same shape as the tools' isError structuredContent."""

    code: str = Field(description="Stable snake_case error code.")
    message: str
    details: dict[str, Any] = Field(description="Small facts: provider, status, retry_after, problems…")
    retryable: bool


class StoredImageInfo(BaseModel):
    id: str
    uri: str = Field(description="MCP resource of the full image (image://{id}).")
    preview_uri: str
    href: str
    preview_href: str
    media_type: str
    width: int
    height: int
    byte_size: int
    sha256: str
    created_at: str
    path: str | None = None
    prompt: str | None = None
    provider: str | None = None
    model: str | None = None
    source_images: list[str] = Field(default_factory=list)


class ImageList(BaseModel):
    """Response of GET /v1/images: the most recent images, newest first (no pixels)."""

    ok: bool
    images: list[StoredImageInfo]
    next_offset: int | None = Field(None, description="offset of the next page; absent on the last")


class StoredImageBody(BaseModel):
    """Response of GET /v1/images/{id}/record: what the listing says of one image."""

    ok: bool
    image: StoredImageInfo


class ProviderCapabilities(BaseModel):
    model_config = ConfigDict(extra="allow")

    provider: str
    enabled: bool
    reason: str | None = None
    missing: list[str] = Field(default_factory=list)
    default_model: str | None = None
    models: list[dict[str, Any]] = Field(default_factory=list)


class CapabilitiesBody(BaseModel):
    """Response of GET /v1/capabilities: get_model_capabilities' structured result."""

    ok: bool
    default_provider: str | None = None
    providers: list[ProviderCapabilities]


_ERROR_STATUSES = {
    "400": "Malformed JSON body.",
    "401": "Missing or invalid bearer token.",
    "403": "Origin not allowed.",
    "404": "Unknown image, model or path.",
    "409": "The provider is not configured on this server.",
    "413": "Request body larger than IMAGE_GEN_MCP_MAX_BODY_BYTES.",
    "415": "Body is not application/json.",
    "421": "Host header does not name this server.",
    "422": "Invalid arguments, unsupported option or content blocked.",
    "429": "Rate limited by the vendor, or too many generations in flight here.",
    "500": "Unexpected server error (logged, details masked).",
    "502": "The vendor failed or rejected our credentials.",
    "503": "The vendor is unavailable, or a shared engine (Redis) cannot be reached.",
    "504": "The vendor did not answer in time.",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}


def openapi_document(
    bodies: tuple[type[GenerateBody], type[EditBody]],
    provider_ids: tuple[str, ...],
    *,
    auth: bool,
    version: str,
) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the REST API and the health probes; ``bodies`` are the
    models ``body_models`` built for ``provider_ids``."""
    generate, edit = bodies
    keys, top = models_json_schema(
        [
            (generate, "validation"),
            (edit, "validation"),
            (RestImageResult, "serialization"),
            (CapabilitiesBody, "serialization"),
            (ImageList, "serialization"),
            (StoredImageBody, "serialization"),
            (ErrorBody, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
    )

    def ref(model: type[BaseModel], mode: Literal["validation", "serialization"]) -> dict[str, Any]:
        return dict(keys[(model, mode)])

    def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    error = ref(ErrorBody, "serialization")
    errors = {
        status: {**json_body(error, text), **({"headers": _RETRY_AFTER} if status in ("429", "503") else {})}
        for status, text in _ERROR_STATUSES.items()
    }

    def operation(op_id: str, summary: str, ok: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"operationId": op_id, "summary": summary, "responses": {"200": ok, **errors}, **extra}

    def create(model: type[BaseModel], op_id: str, summary: str) -> dict[str, Any]:
        body = {"required": True, "content": {"application/json": {"schema": ref(model, "validation")}}}
        made = json_body(ref(RestImageResult, "serialization"), "Images made.")
        return {"post": operation(op_id, summary, made, requestBody=body)}

    image_id_parameter = {"name": "image_id", "in": "path", "required": True, "schema": {"type": "string"}}

    def fetch(op_id: str, summary: str, media: str) -> dict[str, Any]:
        image_id = image_id_parameter
        ok = {
            "description": "The image bytes.",
            "content": {media: {"schema": {"type": "string", "contentMediaType": media}}},
        }
        get = operation(op_id, summary, ok, parameters=[image_id])
        get["responses"]["304"] = {"description": "Unchanged (If-None-Match matched the ETag)."}
        return {"get": get}

    def query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema}

    def probe(op_id: str, summary: str) -> dict[str, Any]:
        responses = {"200": {"description": "OK."}, "503": {"description": "Not ready."}}
        return {"get": {"operationId": op_id, "summary": summary, "security": [], "responses": responses}}

    capabilities = json_body(ref(CapabilitiesBody, "serialization"), "Capabilities.")
    limit = {"type": "integer", "minimum": 1, "maximum": MAX_LIST, "default": DEFAULT_LIST}
    listing = json_body(ref(ImageList, "serialization"), "Images, newest first.")
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "image-gen-mcp",
            "version": version,
            "description": "REST mirror of the MCP tools (the MCP endpoint itself is POST /mcp, "
            "streamable HTTP). Errors always have the ErrorBody shape.",
        },
        "paths": {
            "/v1/images/generations": create(generate, "generateImage", "Generate image(s) from a prompt."),
            "/v1/images/edits": create(edit, "editImage", "Edit image(s), optionally inside a mask."),
            "/v1/capabilities": {
                "get": operation(
                    "getCapabilities",
                    "Providers (enabled or not) and what each model supports.",
                    capabilities,
                    parameters=[
                        query("provider", {"type": "string", "enum": list(provider_ids)}),
                        query("model", {"type": "string", "maxLength": P.MODEL_ID_MAX_CHARS}),
                    ],
                )
            },
            "/v1/images": {
                "get": operation(
                    "listImages",
                    "The most recent stored images; next_offset names the next page.",
                    listing,
                    parameters=[
                        query("limit", limit),
                        query(
                            "offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}
                        ),
                    ],
                )
            },
            "/v1/images/{image_id}": fetch("getImage", "The stored image at full resolution.", "image/*"),
            "/v1/images/{image_id}/preview": fetch(
                "getImagePreview", "A small JPEG preview (transparency on a checkerboard).", "image/*"
            ),
            "/v1/images/{image_id}/record": {
                "get": operation(
                    "getImageRecord",
                    "One image's metadata, as the listing gives it (no pixels).",
                    json_body(ref(StoredImageBody, "serialization"), "The image's metadata."),
                    parameters=[image_id_parameter],
                )
            },
            "/healthz": probe("healthz", "Liveness."),
            "/readyz": probe("readyz", "Readiness: a provider, a writable store or bucket, Redis."),
        },
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    if auth:
        document["security"] = [{"bearer": []}]
    return document
