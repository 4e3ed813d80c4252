"""A wire-level fake of the OpenAI and Azure OpenAI Images API, for ``httpx2.MockTransport`` or a
loopback server.

It answers as the vendors do (base64 images, echoed size/quality/background/output_format,
usage, their real error bodies and headers) and enforces their documented request rules
(providers.md §1, §2) on its own, independently of the catalog: a request the vendor would
reject gets the vendor's 400, so a test fails when the adapter sends something wrong.
"""

from __future__ import annotations

import base64
import io
import json
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx2
from PIL import Image

FIXED = {"1024x1024", "1536x1024", "1024x1536", "auto"}
FLEXIBLE_PREFIXES = ("gpt-image-2-", "gpt-image-2.5-", "gpt-image-2.6-")
RETIRED_ON_OPENAI = {"gpt-image-1", "dall-e-2", "dall-e-3"}


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Seen:
    """One request as the vendor received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: httpx2.Headers
    json: dict[str, Any] | None = None
    fields: dict[str, str] = field(default_factory=dict)
    files: list[Part] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        """JSON body, or the multipart text fields."""
        return self.json if self.json is not None else dict(self.fields)

    def parts(self, name: str) -> list[Part]:
        return [p for p in self.files if p.name == name]


def _error(message: str, *, param: str | None = None, code: str | None = "invalid_value") -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


OPENAI_ERRORS: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "auth_failed": (401, _error("Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.", code="invalid_api_key"), {}),
    "permission_denied": (403, _error("Your organization must be verified to use the model `{model}`. Please go to: https://platform.openai.com/settings/organization/general and click on Verify Organization.", code=None), {}),
    "model_not_found": (404, _error("The model `{model}` does not exist or you do not have access to it.", code="model_not_found"), {}),
    "rate_limited": (429, {"error": {"message": "Rate limit reached for {model} in organization org-abc on images per minute (IPM): Limit 5, Used 5, Requested 1. Please try again in 12s.", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}, {"retry-after": "12", "x-ratelimit-reset-requests": "12s"}),
    # A token-budget 429 sent with no Retry-After: only the two reset durations say when to come back.
    "rate_limited_tokens": (429, {"error": {"message": "Rate limit reached for {model} in organization org-abc on tokens per min (TPM): Limit 100000, Used 99000, Requested 4160.", "type": "tokens", "param": None, "code": "rate_limit_exceeded"}}, {"x-ratelimit-reset-requests": "120ms", "x-ratelimit-reset-tokens": "1m30s"}),
    "quota_exhausted": (429, {"error": {"message": "You exceeded your current quota, please check your plan and billing details.", "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}}, {}),
    "content_blocked": (400, {"error": {"message": "Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID req_123.", "type": "image_generation_user_error", "param": None, "code": "moderation_blocked", "moderation_details": {"moderation_stage": "input", "categories": ["violence"]}}}, {}),
    "provider_unavailable": (500, {"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": None, "code": None}}, {}),
    "invalid_request": (400, _error("Invalid value: '1000x1000'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'.", param="size"), {}),
    "no_image": (200, {"created": 1_764_000_000, "data": []}, {}),
}  # fmt: skip


def _flags(flagged: str) -> dict[str, Any]:
    names = ("hate", "sexual", "violence", "self_harm") + (("jailbreak",) if flagged == "jailbreak" else ())
    return {
        n: {
            "filtered": n == flagged,
            **({"severity": "high" if n == flagged else "safe"} if n != "jailbreak" else {"detected": True}),
        }
        for n in names
    }


_FLAGS = {name: _flags(name) for name in ("", "sexual", "violence", "jailbreak")}
_TINY = io.BytesIO()
Image.new("RGB", (4, 4)).save(_TINY, format="PNG")
_TINY_PNG = base64.b64encode(_TINY.getvalue()).decode()
AZURE_ERRORS: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "auth_failed": (401, {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint ({key}). Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}, {}),
    "permission_denied": (403, {"error": {"code": "PermissionDenied", "message": "The principal `0b7e` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/images/generations/action` to perform `POST /openai/deployments/{model}/images/generations` operation."}}, {}),
    "model_not_found": (404, {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}, {}),
    "rate_limited": (429, {"error": {"code": "429", "message": "Requests to the Images_Generations Operation under Azure OpenAI API version 2025-04-01-preview have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after 20 seconds."}}, {"retry-after": "20", "retry-after-ms": "20000"}),
    "quota_exhausted": (429, {"error": {"code": "insufficient_quota", "message": "The quota of this resource is exhausted."}}, {}),
    "content_blocked": (400, {"error": {"code": "contentFilter", "message": "Your task failed as a result of our safety system.", "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}, "violence": {"filtered": True, "severity": "high"}}}}}, {}),
    "provider_unavailable": (503, {"error": {"code": "ServiceUnavailable", "message": "The service is temporarily unable to process your request. Please try again later."}}, {}),
    "invalid_request": (400, {"error": {"code": "invalid_value", "message": "Invalid size: 1000x1000.", "param": "size", "type": "invalid_request_error"}}, {}),
    "no_image": (200, {"created": 1_764_000_000, "data": []}, {}),
    # Filters reported inside an HTTP 200: per data item (output or prompt), or as a body error.
    "filtered_output_in_200": (200, {"created": 1_764_000_000, "data": [{"content_filter_results": _FLAGS["sexual"], "prompt_filter_results": _FLAGS[""]}]}, {}),
    "filtered_prompt_in_200": (200, {"created": 1_764_000_000, "data": [{"prompt_filter_results": _FLAGS["jailbreak"]}]}, {}),
    "one_of_two_filtered_in_200": (200, {"created": 1_764_000_000, "data": [{"b64_json": _TINY_PNG, "content_filter_results": _FLAGS[""]}, {"content_filter_results": _FLAGS["violence"]}]}, {}),
    "error_in_200": (200, {"error": {"code": "contentFilter", "message": "Generated image was filtered as a result of our safety system."}}, {}),
}  # fmt: skip
RAISED = {"timeout": httpx2.ReadTimeout, "network_error": httpx2.ConnectError}


class FakeImagesAPI:
    """Records every request in ``seen``; ``fail_next(kind)`` scripts the vendor's answer.

    ``flavour`` is ``openai`` (``/v1/images/...``, bearer key) or ``azure``
    (``/openai/deployments/{d}/images/...?api-version=``, ``api-key``). ``deployments`` maps
    Azure deployment names back to models. Images come back at ``1/scale`` of the size asked,
    so tests stay fast; ``serve_retired`` makes retired models answer instead of 404;
    ``refuse_transparency`` lists models whose transparency preview answers 400.
    """

    def __init__(
        self,
        flavour: str = "openai",
        *,
        deployments: dict[str, str] | None = None,
        scale: int = 8,
        serve_retired: bool = False,
        refuse_transparency: set[str] | None = None,
    ) -> None:
        self.flavour = flavour
        self.deployments = deployments or {}
        self.scale = scale
        self.serve_retired = serve_retired
        self.refuse_transparency = refuse_transparency or set()
        self.seen: list[Seen] = []
        self.script: deque[str] = deque()

    def fail_next(self, *kinds: str) -> FakeImagesAPI:
        self.script.extend(kinds)
        return self

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        seen = _read(request)
        self.seen.append(seen)
        model = self._model(seen)
        kind = self.script.popleft() if self.script else None
        if kind in RAISED:
            raise RAISED[kind]("scripted", request=request)
        if kind is not None:
            table = AZURE_ERRORS if self.flavour == "azure" else OPENAI_ERRORS
            status, body, headers = table[kind]
            key = request.headers.get("api-key") or request.headers.get("authorization", "")
            text = json.dumps(body).replace("{key}", key.removeprefix("Bearer ")).replace("{model}", model)
            return self._answer(status, json.loads(text), headers)
        if self.flavour == "openai" and model in RETIRED_ON_OPENAI and not self.serve_retired:
            return self._answer(404, OPENAI_ERRORS["model_not_found"][1] | {}, {}, model=model)
        problem = self._problem(seen, model)
        if problem is not None:
            return self._answer(400, _error(problem[1], param=problem[0]), {})
        return self._answer(200, self._images(seen, model), {})

    def _answer(
        self, status: int, body: dict[str, Any], headers: dict[str, str], model: str = ""
    ) -> httpx2.Response:
        rid = f"req_{len(self.seen)}"
        extra = {"x-request-id": rid} | ({"apim-request-id": rid} if self.flavour == "azure" else {})
        text = json.dumps(body).replace("{model}", model)
        return httpx2.Response(
            status, content=text.encode(), headers={"content-type": "application/json", **extra, **headers}
        )

    def _model(self, seen: Seen) -> str:
        if self.flavour == "azure":
            deployment = seen.path.split("/")[3]
            return self.deployments.get(deployment, deployment)
        return str(seen.body.get("model", ""))

    def _problem(self, seen: Seen, model: str) -> tuple[str, str] | None:
        """The first documented rule the request breaks, as (param, message)."""
        b = seen.body
        if self.flavour == "azure" and seen.query.get("api-version") is None:
            return "api-version", "Missing required query parameter api-version."
        n = int(b.get("n", 1))
        if not 1 <= n <= 10:
            return "n", "n must be between 1 and 10."
        if model.startswith("dall-e"):
            return _dall_e_problem(seen, model, n)
        for legacy in ("response_format", "style"):
            if legacy in b:
                return legacy, f"Unknown parameter: '{legacy}'."
        size = str(b.get("size", "auto"))
        if model.startswith(FLEXIBLE_PREFIXES) or model == "gpt-image-2":
            if size not in FIXED and not _flexible_size_ok(size, azure=self.flavour == "azure"):
                return "size", f"Invalid size '{size}'."
        elif size not in FIXED:
            return (
                "size",
                f"Invalid size '{size}'. Supported values are 1024x1024, 1536x1024, 1024x1536 and auto.",
            )
        qualities = {"low", "medium", "high", "auto"} | ({"xhigh", "max"} if "2.5" in model else set())
        if "quality" in b and b["quality"] not in qualities:
            return "quality", f"Invalid quality '{b['quality']}'."
        fmt = b.get("output_format", "png")
        formats = {"png", "jpeg"} if self.flavour == "azure" else {"png", "jpeg", "webp"}
        if fmt not in formats:
            return "output_format", f"Invalid output_format '{fmt}'."
        if b.get("background") == "transparent" and model in self.refuse_transparency:
            return "background", f"Transparent backgrounds are not supported for {model}."
        if b.get("background") == "transparent" and fmt not in ("png", "webp"):
            return "background", "Transparent background requires output_format png or webp."
        if "output_compression" in b and (fmt == "png" or not 0 <= int(b["output_compression"]) <= 100):
            return "output_compression", "output_compression is only supported for jpeg and webp."
        if "input_fidelity" in b:
            allowed = {
                "gpt-image-1.5": {"high", "low"},
                "gpt-image-1-mini": {"low"},
                "gpt-image-1": {"high", "low"},
            }
            if b["input_fidelity"] not in allowed.get(model, set()):
                return "input_fidelity", f"input_fidelity is not supported for {model}."
        if seen.path.endswith("/edits"):
            return self._edit_problem(seen)
        return None

    def _edit_problem(self, seen: Seen) -> tuple[str, str] | None:
        images = seen.parts("image") + seen.parts("image[]")
        if not 1 <= len(images) <= 16:
            return "image", "Provide between 1 and 16 images."
        types = (
            {"image/png", "image/jpeg"}
            if self.flavour == "azure"
            else {"image/png", "image/jpeg", "image/webp"}
        )
        for part in images:
            real = Image.open(io.BytesIO(part.data)).get_format_mimetype()
            if not part.filename or part.content_type not in types or real != part.content_type:
                return "image", f"Invalid image file or mode for image {part.filename!r}."
        masks = seen.parts("mask")
        if masks:
            mask = Image.open(io.BytesIO(masks[0].data))
            first = Image.open(io.BytesIO(images[0].data))
            if mask.format != "PNG" or "A" not in mask.getbands():
                return "mask", "Invalid mask: must be a PNG with an alpha channel."
            if mask.size != first.size:
                return "mask", "Invalid mask: mask size does not match image size."
        return None

    def _images(self, seen: Seen, model: str) -> dict[str, Any]:
        b = seen.body
        size = str(b.get("size", "1024x1024"))
        size = "1024x1024" if size == "auto" else size
        width, height = (int(x) for x in size.split("x"))
        fmt = "png" if model.startswith("dall-e") else b.get("output_format", "png")
        transparent = b.get("background") == "transparent"
        data = []
        for index in range(int(b.get("n", 1))):
            picture = Image.new(
                "RGBA",
                (max(1, width // self.scale), max(1, height // self.scale)),
                (40 * index % 256, 90, 160, 0 if transparent else 255),
            )
            out = io.BytesIO()
            (picture if fmt != "jpeg" else picture.convert("RGB")).save(out, format=fmt.upper())
            data.append({"b64_json": base64.b64encode(out.getvalue()).decode()})
        if model.startswith("dall-e"):
            for item in data:
                item["revised_prompt"] = "A revised " + str(b.get("prompt", ""))
            return {"created": 1_764_000_000, "data": data}
        quality = b.get("quality", "auto")
        return {
            "created": 1_764_000_000,
            "data": data,
            "size": size,
            "quality": "medium" if quality == "auto" else quality,
            "background": "transparent" if transparent else "opaque",
            "output_format": fmt,
            "usage": {"input_tokens": 50, "input_tokens_details": {"image_tokens": 40, "text_tokens": 10},
                      "output_tokens": 4160, "total_tokens": 4210},
        }  # fmt: skip


def _dall_e_problem(seen: Seen, model: str, n: int) -> tuple[str, str] | None:
    b = seen.body
    for param in ("output_format", "background", "output_compression", "input_fidelity"):
        if param in b:
            return param, f"Unknown parameter for {model}: '{param}'."
    if model == "dall-e-3":
        if seen.path.endswith("/edits"):
            return "model", "dall-e-3 does not support image edits."
        if n != 1:
            return "n", "dall-e-3 only supports n=1."
        if b.get("size", "1024x1024") not in ("1024x1024", "1792x1024", "1024x1792"):
            return "size", "Invalid size for dall-e-3."
        if b.get("quality", "standard") not in ("standard", "hd"):
            return "quality", "Invalid quality for dall-e-3."
    elif b.get("size", "1024x1024") not in ("256x256", "512x512", "1024x1024"):
        return "size", "Invalid size for dall-e-2."
    elif seen.path.endswith("/edits") and len(seen.parts("image") + seen.parts("image[]")) != 1:
        return "image", "dall-e-2 edits take exactly one square PNG image."
    return None


def _flexible_size_ok(size: str, *, azure: bool) -> bool:
    try:
        width, height = (int(x) for x in size.split("x"))
    except ValueError:
        return False
    long_edge_ok = max(width, height) < 3840 if azure else max(width, height) <= 3840
    return (
        width % 16 == 0 and height % 16 == 0 and 1 / 3 <= width / height <= 3
        and 655_360 <= width * height <= 8_294_400 and long_edge_ok
    )  # fmt: skip


def _read(request: httpx2.Request) -> Seen:
    seen = Seen(
        method=request.method,
        path=request.url.path,
        query=dict(request.url.params),
        headers=request.headers,
    )
    content = request.read()
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        seen.json = json.loads(content)
    elif ctype.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + content
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is None:
                seen.fields[str(name)] = payload.decode()
            else:
                seen.files.append(Part(str(name), part.get_filename(), part.get_content_type(), payload))
    return seen
