"""Vendors that answer with garbage (HTTP 200 with a body that is no valid answer, or an
unreadable error page) produce a coded error, never an unhandled exception."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest

from adapters.providers.gemini_provider import GeminiImageProvider
from adapters.providers.openai_provider import OpenAIImageProvider
from adapters.providers.openrouter_provider import OpenRouterImageProvider
from application.ports import ImageProvider
from domain.errors import AppError
from tests.contract.provider_contract import request_for

GARBAGE = [
    (200, b"not json at all", "text/plain"),
    (200, b"", "application/json"),
    (200, b'{"data": "weird"}', "application/json"),
    (200, b'{"data": [{"b64_json": 12}]}', "application/json"),
    (200, b'{"candidates": "weird", "choices": 7}', "application/json"),
    (200, b"[1, 2, 3]", "application/json"),
    (200, b"null", "application/json"),
    (502, b"<html>bad gateway</html>", "text/html"),
]

Factory = Callable[[httpx2.AsyncClient], ImageProvider]
PROVIDERS: dict[str, Factory] = {
    "openai": lambda http: OpenAIImageProvider(
        api_key="sk-garbage-key-123", base_url="https://api.test/v1", http_client=http
    ),
    "openrouter": lambda http: OpenRouterImageProvider(
        api_key="or-garbage-key-123", base_url="https://or.test/api/v1", timeout_s=5, http_client=http
    ),
    "gemini": lambda http: GeminiImageProvider(
        "gm-garbage-key-123", timeout_s=5, base_url="https://gm.test/", http_client=http
    ),
}


@pytest.mark.parametrize("vendor", sorted(PROVIDERS))
@pytest.mark.parametrize(("status", "body", "content_type"), GARBAGE)
async def test_garbage_answers_become_coded_errors(
    vendor: str, status: int, body: bytes, content_type: str
) -> None:
    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/models"):  # discovery: an empty listing is fine
            return httpx2.Response(200, json={"data": []})
        return httpx2.Response(status, content=body, headers={"content-type": content_type})

    provider = PROVIDERS[vendor](httpx2.AsyncClient(transport=httpx2.MockTransport(answer)))
    spec = next(s for s in provider.catalog() if s.can_generate)
    with pytest.raises(AppError) as caught:
        await provider.generate(request_for(spec))
    # The vendor's fault, never the caller's: invalid_request would tell the agent to change its call.
    assert caught.value.code in {"provider_unavailable", "no_image"}, caught.value.code
    assert "garbage-key" not in str(caught.value.to_payload())
    await provider.aclose()
