"""The OpenAI-compatible gateway's contract: request bodies in the Images API's vocabulary, the
responses, and their part of the OpenAPI document.

Fields an OpenAI SDK may send are declared (and refused with a 400 naming the field when a
value is wrong); anything else is refused too, as OpenAI does, so a typo is not silently lost.
Prompt, count and compression reuse the tools' annotated types, so they are validated alike.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from entrypoints.http.openai_errors import OPENAI_PREFIX
from entrypoints.mcp import tool_params as P

_SIZE = re.compile(r"^(auto|[1-9][0-9]{0,4}x[1-9][0-9]{0,4})$")


def _size(value: str | None) -> str | None:
    if value is not None and not _SIZE.match(value):
        raise ValueError("size must be auto or WIDTHxHEIGHT, e.g. 1024x1024")
    return value


GatewayModel = Annotated[
    str | None,
    Field(
        description="provider/model (e.g. gemini/gemini-3.1-flash-image), a bare model id the "
        "catalog knows, or a provider id alone for its default model. Omit for the server's "
        "default. GET /openai/v1/models lists them.",
        max_length=P.MODEL_ID_MAX_CHARS,
    ),
]
ImageSize = Annotated[
    str | None,
    AfterValidator(_size),
    Field(
        description="auto, or WIDTHxHEIGHT: mapped to the model's nearest supported size and "
        "ratio; what changed is in the X-Image-Gen-Adjusted header and image_gen.warnings.",
        max_length=16,
        examples=["auto", "1024x1024", "1536x1024"],
    ),
]
EndUser = Annotated[
    str | None, Field(description="Accepted for compatibility; not forwarded.", max_length=256)
]


class ImageUrl(BaseModel):
    """One image of a JSON edit, as OpenAI's JSON edit body gives it: ``image_url`` (a
    ``file_id`` is recognised, and refused: this server has no Files API)."""

    model_config = ConfigDict(extra="forbid")

    image_url: str | None = Field(
        None,
        description="https URL, data: URL, base64, or image://{id} of an image this server made.",
        max_length=P.MAX_IMAGE_ARG_CHARS,
    )
    file_id: str | None = Field(None, description="Not supported: send image_url.", max_length=200)


ImageArg = Annotated[str, Field(max_length=P.MAX_IMAGE_ARG_CHARS)] | ImageUrl


class GenerationFields(BaseModel):
    """Body of POST /openai/v1/images/generations (OpenAI Images API)."""

    model_config = ConfigDict(extra="forbid")

    prompt: P.Prompt
    model: GatewayModel = None
    n: P.Count = None
    size: ImageSize = None
    quality: Literal["auto", "low", "medium", "high", "standard", "hd"] | None = Field(
        None, description="low/medium/high map to draft/standard/high; standard and hd (DALL·E) too."
    )
    background: Literal["auto", "transparent", "opaque"] | None = None
    output_format: P.OutputFormatArg = None
    output_compression: P.Compression = None
    moderation: Literal["auto", "low"] | None = Field(
        None, description="auto is each vendor's own filter; low is not forwarded (a warning says so)."
    )
    response_format: Literal["b64_json", "url"] | None = Field(
        None,
        description="b64_json (default): the image bytes; url: GET it from the native "
        "/v1/images/{id} with the same bearer token.",
    )
    style: Literal["vivid", "natural"] | None = Field(None, description="DALL·E 3 only; not forwarded.")
    stream: bool | None = Field(None, description="Streaming is not offered: false or omitted.")
    partial_images: int | None = Field(None, ge=0, le=3, description="Only with streaming; ignored.")
    user: EndUser = None
    safety_identifier: EndUser = None


class EditFields(GenerationFields):
    """The non-file fields of POST /openai/v1/images/edits (multipart text parts)."""

    prompt: P.EditPrompt
    input_fidelity: Literal["high", "low"] | None = Field(None, description="Accepted; not forwarded.")


class EditJsonBody(EditFields):
    """POST /openai/v1/images/edits as JSON: images by URL, data URL or image://{id}."""

    image: ImageArg | list[ImageArg] | None = None
    images: list[ImageArg] | None = Field(None, max_length=16)
    mask: ImageArg | None = None


class ImageDatum(BaseModel):
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    """OpenAI's ImagesResponse, plus ``image_gen``: this server's own result for the call
    (provider, model, warnings, stored ids and links), which OpenAI SDKs ignore."""

    model_config = ConfigDict(extra="allow")

    created: int
    data: list[ImageDatum]
    usage: dict[str, Any] | None = None
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    image_gen: dict[str, Any] = Field(description="The native REST result of the call, without pixels.")


class ModelEntry(BaseModel):
    id: str = Field(description="provider/model")
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelEntry]


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None
    code: str = Field(description="This server's stable error code.")
    details: dict[str, Any] | None = None


class OpenAIErrorBody(BaseModel):
    error: OpenAIError


_GATEWAY_ERRORS = {
    "400": "Invalid parameter or malformed body (BadRequestError).",
    "401": "Missing or invalid bearer token.",
    "403": "Origin not allowed.",
    "404": "Unknown model or path.",
    "409": "The provider is not configured on this server.",
    "413": "Request body larger than IMAGE_GEN_MCP_MAX_BODY_BYTES.",
    "415": "Body is neither JSON nor multipart/form-data.",
    "422": "The vendor's safety system refused (content_blocked).",
    "429": "Rate limited, quota exhausted, or too many generations in flight.",
    "500": "Unexpected server error.",
    "502": "The vendor failed or rejected our credentials.",
    "503": "The vendor is unavailable.",
    "504": "The vendor did not answer in time.",
}


def gateway_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """``(paths, schemas)`` of the gateway for the OpenAPI document."""
    keys, top = models_json_schema(
        [
            (GenerationFields, "validation"),
            (EditJsonBody, "validation"),
            (ImagesResponse, "serialization"),
            (ModelList, "serialization"),
            (ModelEntry, "serialization"),
            (OpenAIErrorBody, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    ref = {model: dict(schema) for (model, _), schema in keys.items()}

    def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    retry_after = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
    errors = {
        status: {
            **json_body(ref[OpenAIErrorBody], text),
            **({"headers": retry_after} if status == "429" else {}),
        }
        for status, text in _GATEWAY_ERRORS.items()
    }
    adjusted = {
        "X-Image-Gen-Adjusted": {
            "description": "Present when an option was remapped: e.g. `size=1000x700->1536x1024; quality`.",
            "schema": {"type": "string"},
        }
    }
    made = {**json_body(ref[ImagesResponse], "Images made (OpenAI ImagesResponse)."), "headers": adjusted}
    multipart = {
        "type": "object",
        "required": ["prompt", "image"],
        "properties": {
            "image": {
                "description": "One or more image files (also sent as image[]).",
                "oneOf": [
                    {"type": "string", "contentMediaType": "application/octet-stream"},
                    {
                        "type": "array",
                        "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                    },
                ],
            },
            "mask": {"type": "string", "contentMediaType": "application/octet-stream"},
            **{name: {"type": "string"} for name in EditFields.model_fields if name not in ("prompt",)},
            "prompt": {"type": "string"},
        },
    }
    generations = {
        "operationId": "openaiCreateImage",
        "summary": "OpenAI Images API: generate image(s) on any configured provider.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref[GenerationFields]}}},
        "responses": {"200": made, **errors},
    }
    edits = {
        "operationId": "openaiEditImage",
        "summary": "OpenAI Images API: edit image(s), optionally inside a mask.",
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": multipart},
                "application/json": {"schema": ref[EditJsonBody]},
            },
        },
        "responses": {"200": made, **errors},
    }
    models = {
        "operationId": "openaiListModels",
        "summary": "The enabled models as provider/model ids (OpenAI Models API).",
        "responses": {"200": json_body(ref[ModelList], "Models."), **errors},
    }
    model_param = {
        "name": "model",
        "in": "path",
        "required": True,
        "description": "provider/model; the slash is part of the id and is sent as is.",
        "schema": {"type": "string"},
    }
    model = {
        "operationId": "openaiRetrieveModel",
        "summary": "One enabled model (OpenAI Models API).",
        "parameters": [model_param],
        "responses": {"200": json_body(ref[ModelEntry], "The model."), **errors},
    }
    paths = {
        f"{OPENAI_PREFIX}/images/generations": {"post": generations},
        f"{OPENAI_PREFIX}/images/edits": {"post": edits},
        f"{OPENAI_PREFIX}/models": {"get": models},
        f"{OPENAI_PREFIX}/models/{{model}}": {"get": model},
    }
    return paths, top.get("$defs", {})
