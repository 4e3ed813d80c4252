"""Every place that shortens a vendor message removes the configured secrets first, so no
prefix of a key can survive the cut; access tokens obtained at run time count as secrets."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from google.genai import types

from adapters.providers.azure_provider import AzureOpenAIImageProvider
from adapters.providers.google_common import parse_content_response
from adapters.providers.openai_provider import OpenAIImageProvider
from adapters.providers.openrouter_errors import ErrorContext
from adapters.providers.vertex_provider import VertexImageProvider
from domain import errors, secrets
from tests.adapters.google_fakes import (
    ACCESS_TOKEN,
    FakeGoogle,
    content_answer,
    image_part,
    png_for_ratio,
    write_service_account,
)
from tests.adapters.test_google_wire import call, spec
from tests.adapters.test_openai_wire import planned

# Configured elsewhere (another vendor's key), so only the process-wide set knows it.
OTHER = "Zq9Wv7Kp3Lm8Rt2Xy6Bn4Hd"


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_secrets", ())
    monkeypatch.setattr(secrets, "_order", [])
    monkeypatch.setattr(secrets, "_configured", set())
    secrets.register_secrets([OTHER])


def planted(cut: int) -> list[str]:
    """The key at every offset from wholly before the cut to wholly after it."""
    return ["x" * offset + OTHER + " tail" * 40 for offset in range(max(0, cut - len(OTHER) - 3), cut + 4)]


def assert_no_fragment(text: str) -> None:
    # Four characters of a random key are already a fragment worth refusing.
    fragments = [OTHER[i : i + 4] for i in range(len(OTHER) - 3)]
    assert not [f for f in fragments if f in text], text


@pytest.mark.parametrize("message", planted(300))
def test_openrouter_messages_are_redacted_then_cut(message: str) -> None:
    assert_no_fragment(ErrorContext(model="m", route="r", secret="sk-or-own-key-0123").clean(message))


@pytest.mark.parametrize("message", planted(500))
async def test_openai_error_messages_are_redacted_then_cut(message: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(400, json={"error": {"message": message, "type": "invalid_request_error"}})

    provider = OpenAIImageProvider(
        api_key="sk-own-0123456789", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    )
    with pytest.raises(errors.AppError) as caught:
        await provider.generate(planned(provider, "gpt-image-1.5"))
    await provider.aclose()
    assert "x" * 10 in caught.value.message  # the vendor's text was passed on, shortened
    assert_no_fragment(caught.value.message)


@pytest.mark.parametrize("message", planted(300))
def test_google_no_image_text_is_redacted_then_cut(message: str) -> None:
    fake = FakeGoogle()
    vertex = VertexImageProvider("p", timeout_s=5, http_client=fake.client())
    response = types.GenerateContentResponse(
        candidates=[
            types.Candidate(content=types.Content(parts=[types.Part(text=message)]), finish_reason="STOP")
        ]
    )
    with pytest.raises(errors.NoImage) as caught:
        parse_content_response(response, call(spec(vertex, "gemini-3.1-flash-image")), "vertex")
    assert_no_fragment(caught.value.message)


@pytest.mark.parametrize("message", planted(200))
async def test_vertex_credentials_errors_are_redacted_then_cut(
    message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.oauth2 import service_account

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError(message)

    monkeypatch.setattr(service_account.Credentials, "from_service_account_file", broken)
    fake = FakeGoogle()
    vertex = VertexImageProvider(
        "p", credentials_path=tmp_path / "sa.json", timeout_s=5, http_client=fake.client()
    )
    with pytest.raises(errors.AuthFailed) as caught:
        await vertex.generate(call(spec(vertex, "gemini-3.1-flash-image")))
    await vertex.aclose()
    assert_no_fragment(caught.value.message)


# -- tokens obtained at run time ---------------------------------------------------------------


async def test_vertex_oauth_tokens_are_registered_as_secrets(tmp_path: Path, token_server) -> None:
    service_account = write_service_account(tmp_path, token_server.url)
    fake = FakeGoogle().answer(content_answer(image_part(png_for_ratio("1:1"))))
    vertex = VertexImageProvider(
        "p", credentials_path=service_account, timeout_s=30, http_client=fake.client()
    )
    assert ACCESS_TOKEN not in secrets.registered_secrets()
    await vertex.generate(call(spec(vertex, "gemini-3.1-flash-image"), ratio="1:1"))
    await vertex.aclose()
    assert ACCESS_TOKEN in secrets.registered_secrets()
    assert secrets.redact(f"Bearer {ACCESS_TOKEN}") == "Bearer [REDACTED]"


async def test_azure_entra_tokens_are_registered_as_secrets() -> None:
    entra = "eyJ0eXAiOiJKV1QiLCJhbGciOi-entra-token-value"

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["authorization"] == f"Bearer {entra}"
        return httpx2.Response(400, json={"error": {"code": "x", "message": f"bad token {entra}"}})

    provider = AzureOpenAIImageProvider(
        endpoint="https://contoso.openai.azure.com",
        token_provider=lambda: entra,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
        timeout_s=5,
    )
    with pytest.raises(errors.AppError) as caught:
        await provider.generate(planned(provider, "gpt-image-1.5"))
    await provider.aclose()
    assert entra in secrets.registered_secrets()
    assert entra not in secrets.redact(caught.value.message)


def test_building_a_container_installs_the_log_filter(
    monkeypatch: pytest.MonkeyPatch, output_root: Path
) -> None:
    # `fastmcp run entrypoints/stdio/server.py:create_server` never passes through the CLI.
    import logging

    from entrypoints import log_redaction
    from entrypoints.stdio.server import create_server

    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())
    monkeypatch.setattr(log_redaction, "_installed", False)
    monkeypatch.setenv("IMAGE_GEN_MCP_OUTPUT_DIR", str(output_root))
    monkeypatch.setenv("IMAGE_GEN_MCP_FAST_START", "false")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fastmcp-run-0123456789")
    create_server()
    record = logging.getLogger("x").makeRecord(
        "x", logging.INFO, __file__, 1, "key %s", ("sk-fastmcp-run-0123456789",), None
    )
    assert record.getMessage() == "key [REDACTED]"


def test_runtime_tokens_are_bounded_but_configured_keys_stay() -> None:
    secrets.register_secrets(
        [f"runtime-token-{i:06d}" for i in range(secrets._MAX_RUNTIME_TOKENS + 50)], runtime=True
    )
    kept = secrets.registered_secrets()
    assert OTHER in kept  # configured: never dropped
    assert (
        "runtime-token-000000" not in kept and f"runtime-token-{secrets._MAX_RUNTIME_TOKENS + 49:06d}" in kept
    )
