"""A wire-level fake of OpenRouter: the image API, the chat route, the image models listing and
its error bodies. Usable in process (``http_client()`` on ``httpx2.MockTransport``) or over a
real socket (``asgi`` served by uvicorn), and it records every request it receives.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import httpx2
from attrs import field, frozen
from PIL import Image

API_KEY = "sk-or-v1-test-0123456789abcdef"
BASE_URL = "https://openrouter.test/api/v1"
# Models the image API does not serve: only the chat route answers for them.
CHAT_ONLY = frozenset({"openai/gpt-5-image", "openai/gpt-5-image-mini", "acme/chat-painter"})
_EDGE = {"512": 32, "1K": 64, "2K": 96, "4K": 128}


@frozen
class Recorded:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


@frozen
class Answer:
    """A scripted answer: status, JSON body and headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(factory=dict)


def or_error(status: int, message: str, metadata: Mapping[str, Any] | None = None, **headers: str) -> Answer:
    """OpenRouter's error body: ``{"error": {"code", "message", "metadata"}}``."""
    error: dict[str, Any] = {"code": status, "message": message}
    if metadata is not None:
        error["metadata"] = dict(metadata)
    return Answer(status, {"error": error}, {k.replace("_", "-"): v for k, v in headers.items()})


# One answer per failure kind of the provider contract, shaped as OpenRouter sends them.
FAILURES: dict[str, Answer | type[Exception]] = {
    "auth_failed": or_error(401, "No cookie auth credentials found"),
    "permission_denied": or_error(403, "This model is not available for your key's data policy"),
    "model_not_found": or_error(404, "No endpoints found for this model"),
    "rate_limited": or_error(
        429,
        "Rate limit exceeded: free-models-per-min",
        {"error_type": "rate_limit_exceeded"},
        retry_after="7",
    ),
    "quota_exhausted": or_error(402, "Insufficient credits. Add more using https://openrouter.ai/credits"),
    "content_blocked": or_error(
        403,
        "Your input was flagged by the moderation system",
        {
            "reasons": ["violence"],
            "flagged_input": "a red fox...",
            "provider_name": "OpenAI",
            "model_slug": "x",
        },
    ),
    "provider_unavailable": or_error(
        502, "Provider returned error", {"provider_name": "Google", "raw": None}
    ),
    "timeout": httpx2.ReadTimeout,
    "network_error": httpx2.ConnectError,
    "no_image": Answer(200, {"created": 1767225600, "data": []}),
    "invalid_request": or_error(400, "aspect_ratio: invalid enum value", {"error_type": "invalid_request"}),
}

DEFAULT_LISTING: list[dict[str, Any]] = [
    {
        "id": "google/gemini-3.1-flash-image",
        "name": "Google: Nano Banana 2",
        "description": "Listed with fewer ratios than the curated entry: curated wins.",
        "created": 1767225600,
        "endpoints": "/api/v1/images/models/google/gemini-3.1-flash-image/endpoints",
        "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image", "text"]},
        "supported_parameters": {
            "aspect_ratio": {"type": "enum", "values": ["1:1"]},
            "resolution": {"type": "enum", "values": ["1K", "2K", "4K"]},
            "input_references": {"type": "range", "min": 0, "max": 14},
        },
        "supports_streaming": False,
    },
    {
        "id": "bytedance-seed/seedream-4.5",
        "name": "Seedream 4.5",
        "description": "A text-to-image model.",
        "created": 1767225600,
        "endpoints": "/api/v1/images/models/bytedance-seed/seedream-4.5/endpoints",
        "architecture": {"input_modalities": ["text"], "output_modalities": ["image"]},
        "supported_parameters": {
            "resolution": {"type": "enum", "values": ["1K", "2K", "4K"]},
            "aspect_ratio": {"type": "enum", "values": ["1:1", "16:9", "9:16", "auto"]},
        },
        "supports_streaming": False,
    },
    {
        "id": "sourceful/riverflow-v2",
        "name": "Sourceful: Riverflow V2",
        "description": "Edits and transparent backgrounds.",
        "created": 1767225600,
        "endpoints": "/api/v1/images/models/sourceful/riverflow-v2/endpoints",
        "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image"]},
        "supported_parameters": {
            "n": {"type": "range", "min": 1, "max": 4},
            "input_references": {"type": "range", "min": 0, "max": 4},
            "quality": {"type": "enum", "values": ["low", "high"]},
            "background": {"type": "enum", "values": ["auto", "transparent", "opaque"]},
            "output_format": {"type": "enum", "values": ["webp", "png"]},
            "resolution": {"type": "enum", "values": ["1K", "2K"]},
            "aspect_ratio": {"type": "enum", "values": ["1:1", "3:2", "2:3"]},
        },
        "supports_streaming": True,
    },
    {
        "id": "acme/text-only",
        "name": "Not an image model",
        "description": "Filtered out: it makes no images.",
        "created": 1767225600,
        "endpoints": "/api/v1/images/models/acme/text-only/endpoints",
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
        "supported_parameters": {},
        "supports_streaming": False,
    },
]


# The image API's aspect_ratio enum and the body keys any model takes (fact sheet §5.1).
IMAGE_API_RATIOS = frozenset({
    "1:1", "1:2", "1:4", "1:8", "2:1", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1",
    "9:16", "16:9", "9:19.5", "19.5:9", "9:20", "20:9", "9:21", "21:9", "auto",
})  # fmt: skip
# Output formats of curated models the listing does not describe: BFL's FLUX API writes jpeg or png.
MODEL_FORMATS = {"black-forest-labs/flux.2-pro": frozenset({"png", "jpeg"})}
_ALWAYS_ALLOWED = frozenset({"model", "prompt", "provider", "stream"})


def picture(resolution: str | None, aspect_ratio: str | None, fmt: str = "png") -> bytes:
    edge = _EDGE.get(resolution or "1K", 64)
    w, h = (float(x) for x in (aspect_ratio or "1:1").split(":")) if aspect_ratio != "auto" else (1.0, 1.0)
    size = (max(1, round(edge * w / max(w, h))), max(1, round(edge * h / max(w, h))))
    out = io.BytesIO()
    mode = "RGB" if fmt == "jpeg" else "RGBA"
    Image.new(mode, size, (200, 80, 40) if mode == "RGB" else (200, 80, 40, 255)).save(
        out, format=fmt.upper()
    )
    return out.getvalue()


class FakeOpenRouter:
    """Answers as OpenRouter does. ``fail_with`` makes every generation request fail the same way;
    ``fail_next`` scripts one-shot answers; ``listing`` (None → 404) feeds ``/images/models``."""

    def __init__(
        self, listing: list[dict[str, Any]] | None = DEFAULT_LISTING, api_key: str = API_KEY
    ) -> None:
        self.listing = listing
        self.listing_failure: Answer | None = None
        self.listing_delay = 0.0  # seconds the listing takes to answer
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.sticky: Answer | type[Exception] | None = None
        self.script: deque[Answer | type[Exception]] = deque()
        self.on_request: Callable[[Recorded], None] | None = None

    def fail_with(self, kind: str) -> FakeOpenRouter:
        self.sticky = FAILURES[kind]
        return self

    def fail_next(self, *answers: Answer | type[Exception]) -> FakeOpenRouter:
        self.script.extend(answers)
        return self

    def generation_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def listing_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/images/models")]

    # -- transports -----------------------------------------------------------------------
    def http_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle_async))

    async def handle_async(self, request: httpx2.Request) -> httpx2.Response:
        if self.listing_delay and request.url.path.endswith("/images/models"):
            await asyncio.sleep(self.listing_delay)
        return self.handle(request)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else None
        answer = self.respond(request.method, request.url.path, dict(request.headers), body)
        if isinstance(answer, type):
            raise answer("scripted transport failure", request=request)
        return httpx2.Response(answer.status, json=answer.body, headers=dict(answer.headers))

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        answer = self.respond(scope["method"], scope["path"], headers, json.loads(raw) if raw else None)
        assert not isinstance(answer, type), "transport failures need the in-process transport"
        payload = json.dumps(answer.body).encode()
        out = [(b"content-type", b"application/json")] + [
            (k.encode(), v.encode()) for k, v in answer.headers.items()
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": out})
        await send({"type": "http.response.body", "body": payload})

    # -- OpenRouter -----------------------------------------------------------------------
    def respond(
        self, method: str, path: str, headers: Mapping[str, str], body: Any
    ) -> Answer | type[Exception]:
        record = Recorded(method, path, headers, body)
        self.requests.append(record)
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return or_error(401, "No auth credentials found")
        if method == "GET" and path == "/api/v1/images/models":
            if self.listing_failure is not None:
                return self.listing_failure
            if self.listing is None:
                return or_error(404, "Not Found")
            return Answer(200, {"data": self.listing})
        if method != "POST":
            return or_error(404, "Not Found")
        if self.script:
            return self.script.popleft()
        if self.sticky is not None:
            return self.sticky
        if path == "/api/v1/images":
            return self._image_api(body)
        if path == "/api/v1/chat/completions":
            return self._chat(body)
        return or_error(404, "Not Found")

    def _image_api(self, body: dict[str, Any]) -> Answer:
        model = body["model"]
        if model in CHAT_ONLY:
            return or_error(404, f"Model {model} is not available on the image API")
        if (problem := self._image_api_problem(body)) is not None:
            return or_error(400, problem, {"error_type": "invalid_request"})
        fmt = body.get("output_format", "png")
        picture_bytes = picture(body.get("resolution"), body.get("aspect_ratio"), fmt)
        n = body.get("n", 1)
        data = [
            {"b64_json": base64.b64encode(picture_bytes).decode(), "media_type": f"image/{fmt}"}
            for _ in range(n)
        ]
        usage = {
            "prompt_tokens": 12,
            "completion_tokens": 1290 * n,
            "total_tokens": 12 + 1290 * n,
            "cost": 0.04 * n,
        }
        return Answer(200, {"created": 1767225600, "data": data, "usage": usage})

    def _image_api_problem(self, body: dict[str, Any]) -> str | None:
        """The first documented rule of ``POST /images`` the body breaks (fact sheet §5.1), and
        for a listed model any parameter its listing does not name (a missing key means
        unsupported) or a value outside the listing's enum."""
        listed = {m["id"]: m for m in self.listing or ()}.get(body["model"])
        if listed is not None:
            named = set(listed.get("supported_parameters") or {}) | _ALWAYS_ALLOWED
            if unnamed := sorted(set(body) - named):
                return f"{unnamed[0]}: not supported by {body['model']}"
            for name, rule in (listed.get("supported_parameters") or {}).items():
                # Not aspect_ratio: listings under-report ratios, and the curated entry wins.
                enum = rule.get("values") if rule.get("type") == "enum" and name != "aspect_ratio" else None
                if enum is not None and name in body and body[name] not in enum:
                    return f"{name}: {body[name]!r} is not one of {body['model']}'s values"
        if (formats := MODEL_FORMATS.get(body["model"])) and body.get("output_format", "png") not in formats:
            return f"output_format: {body['model']} writes {' or '.join(sorted(formats))}"
        if not isinstance(body.get("prompt"), str) or not body["prompt"]:
            return "prompt: required"
        if "n" in body and not (isinstance(body["n"], int) and 1 <= body["n"] <= 10):
            return "n: must be between 1 and 10"
        if "aspect_ratio" in body and body["aspect_ratio"] not in IMAGE_API_RATIOS:
            return "aspect_ratio: invalid enum value"
        if "resolution" in body and body["resolution"] not in {"512", "1K", "2K", "4K"}:
            return "resolution: invalid enum value"
        fmt = body.get("output_format", "png")
        if fmt not in {"png", "jpeg", "webp", "svg"}:
            return "output_format: invalid enum value"
        if body.get("background") == "transparent" and fmt not in {"png", "webp"}:
            return "background: transparent needs png or webp"
        references = body.get("input_references", [])
        if not isinstance(references, list) or len(references) > 16:
            return "input_references: at most 16"
        for ref in references:
            url = ref.get("image_url", {}).get("url", "") if isinstance(ref, dict) else ""
            if ref.get("type") != "image_url" or not url.startswith(("https://", "data:image/")):
                return "input_references: each must be an image_url with an https or data URL"
        return None

    def _chat(self, body: dict[str, Any]) -> Answer:
        config = body.get("image_config") or {}
        url = (
            "data:image/png;base64,"
            + base64.b64encode(picture(config.get("image_size"), config.get("aspect_ratio"))).decode()
        )
        message = {
            "role": "assistant",
            "content": "Here is your image.",
            "images": [{"type": "image_url", "image_url": {"url": url}}],
        }
        return Answer(
            200,
            {
                "id": "gen-1767225600-abc",
                "object": "chat.completion",
                "created": 1767225600,
                "model": body["model"],
                "provider": "OpenAI",
                "choices": [
                    {"index": 0, "finish_reason": "stop", "native_finish_reason": "stop", "message": message}
                ],
                "usage": {"prompt_tokens": 20, "completion_tokens": 1300, "total_tokens": 1320, "cost": 0.05},
            },
        )


class Clock:
    """A monotonic clock the tests move by hand (discovery TTLs)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
