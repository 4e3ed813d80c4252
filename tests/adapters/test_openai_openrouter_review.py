"""Regressions found in the second review of the OpenAI, Azure OpenAI and OpenRouter adapters:
Retry-After parsing, Retry-After on 5xx, the SDK's own retries, and OpenAI-only headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest

from adapters.providers.azure_provider import AzureOpenAIImageProvider
from adapters.providers.openai_errors import retry_after
from adapters.providers.openai_provider import OpenAIImageProvider
from adapters.vendor_errors import retry_after_header
from application.policy import PolicyLimits, plan_request
from domain import errors
from domain.images import ImageRequest
from domain.normalized import ProviderRequest

KEY = "sk-review-0123456789abcdef"
ENDPOINT = "https://contoso.openai.azure.com"
PARSERS = [pytest.param(retry_after, id="openai"), pytest.param(retry_after_header, id="shared")]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "12"}, 12.0),
        # A malformed millisecond header must not hide a sound Retry-After.
        ({"retry-after-ms": "soon", "retry-after": "12"}, 12.0),
        ({"retry-after-ms": "nan", "retry-after": "4"}, 4.0),
        # Not a delay at all: no retry_after rather than inf/nan/negative seconds.
        ({"retry-after": "inf"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "tomorrow"}, None),
    ],
)
def test_retry_after_reads_each_header_on_its_own(parse, headers, expected) -> None:
    assert parse(httpx2.Headers(headers)) == expected


@pytest.mark.parametrize("parse", PARSERS)
def test_retry_after_http_date_is_seconds_from_now(parse) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    wait = parse(httpx2.Headers({"retry-after": when}))
    assert wait is not None and 27 <= wait <= 31


class Recorder:
    """A vendor that always answers with one scripted response, recording every request."""

    def __init__(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}
        self.requests: list[httpx2.Request] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(
            self.status,
            content=json.dumps(self.body).encode(),
            headers={"content-type": "application/json", "x-request-id": "req_1", **self.headers},
        )

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))


def _request(provider, model: str = "gpt-image-1.5") -> ProviderRequest:
    spec = next(s for s in provider.catalog() if s.model == model)
    return plan_request(ImageRequest(prompt="a fox"), spec, PolicyLimits()).calls[0]


def _providers(vendor: Recorder) -> list:
    return [
        OpenAIImageProvider(api_key=KEY, http_client=vendor.client()),
        AzureOpenAIImageProvider(endpoint=ENDPOINT, api_key=KEY, http_client=vendor.client()),
    ]


UNAVAILABLE = {"error": {"code": "ServiceUnavailable", "message": "Try again later.", "type": "server_error"}}
LIMITED = {"error": {"code": "rate_limit_exceeded", "message": "Slow down.", "type": "requests"}}


@pytest.mark.parametrize("index", [0, 1], ids=["openai", "azure"])
async def test_a_503_carries_its_retry_after_and_is_sent_once(index: int) -> None:
    vendor = Recorder(503, UNAVAILABLE, {"retry-after": "5"})
    provider = _providers(vendor)[index]
    with pytest.raises(errors.ProviderUnavailable) as caught:
        await provider.generate(_request(provider))
    await provider.aclose()
    assert caught.value.details["retry_after"] == 5.0 and caught.value.details["status"] == 503
    # The SDK's own retries are off: application.retry is the one policy.
    assert len(vendor.requests) == 1 and vendor.requests[0].headers["x-stainless-retry-count"] == "0"


@pytest.mark.parametrize("index", [0, 1], ids=["openai", "azure"])
async def test_a_429_is_sent_once_by_the_sdk(index: int) -> None:
    vendor = Recorder(429, LIMITED, {"retry-after": "1"})
    provider = _providers(vendor)[index]
    with pytest.raises(errors.RateLimited):
        await provider.generate(_request(provider))
    await provider.aclose()
    assert len(vendor.requests) == 1 and vendor.requests[0].headers["x-stainless-retry-count"] == "0"


async def test_azure_requests_carry_no_openai_organization_or_project(monkeypatch) -> None:
    # The SDK reads OPENAI_ORG_ID / OPENAI_PROJECT_ID: they belong to the OpenAI vendor.
    monkeypatch.setenv("OPENAI_ORG_ID", "org-of-the-openai-account")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-of-the-openai-account")
    vendor = Recorder(503, UNAVAILABLE)
    provider = AzureOpenAIImageProvider(endpoint=ENDPOINT, api_key=KEY, http_client=vendor.client())
    with pytest.raises(errors.ProviderUnavailable):
        await provider.generate(_request(provider))
    await provider.aclose()
    headers = vendor.requests[0].headers
    assert "openai-organization" not in headers and "openai-project" not in headers
    assert headers["api-key"] == KEY


def test_a_bare_string_error_in_a_200_body_is_mapped_not_no_image() -> None:
    from adapters.providers.openrouter_errors import ErrorContext
    from adapters.providers.openrouter_wire import read_image_payload
    from domain.errors import AppError

    ctx = ErrorContext(model="acme/x", route="images", secret="or-key")
    with pytest.raises(AppError) as caught:
        read_image_payload({"error": "Upstream provider overloaded"}, ctx)
    assert caught.value.code != "no_image"
    assert "overloaded" in caught.value.message


def _in_30s() -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)


@pytest.mark.parametrize("index", [0, 1], ids=["openai", "azure"])
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"retry-after-ms": "1500"}, 1.5, id="ms-only"),
        pytest.param({"retry-after-ms": "250", "retry-after": "1"}, 0.25, id="ms-first"),
        pytest.param({"retry-after": "http-date"}, 30.0, id="http-date"),
        pytest.param({}, None, id="none"),
    ],
)
async def test_a_429_over_the_wire_reads_each_retry_after_form(index, headers, expected) -> None:
    headers = {k: _in_30s() if v == "http-date" else v for k, v in headers.items()}
    vendor = Recorder(429, LIMITED, headers)
    provider = _providers(vendor)[index]
    with pytest.raises(errors.RateLimited) as caught:
        await provider.generate(_request(provider))
    await provider.aclose()
    wait = caught.value.details.get("retry_after")
    if expected == 30.0:  # an HTTP date has one-second resolution and the clock moves on
        assert wait is not None and 28.0 <= wait <= 30.0
    else:
        assert wait == expected
    assert len(vendor.requests) == 1
