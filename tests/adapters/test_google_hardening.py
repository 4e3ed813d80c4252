"""Second-pass defects in the Gemini API and Vertex AI adapters: work kept off the event loop,
inputs Imagen cannot read, vendor-side 4xx answers, transport oddities and key redaction."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import httpx2
import pytest

from adapters.png import solid_png
from adapters.providers.gemini_provider import GeminiImageProvider
from adapters.providers.google_errors import redacted
from adapters.providers.vertex_provider import VertexImageProvider
from domain.errors import NetworkError, ProviderUnavailable
from domain.images import ImageData
from domain.options import Operation
from tests.adapters.google_fakes import (
    FakeGoogle,
    TokenServer,
    error_answer,
    write_service_account,
)
from tests.adapters.test_google_wire import KEY, call, spec


@pytest.fixture
def fake() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
async def vertex(fake: FakeGoogle, tmp_path: Path, token_server: TokenServer):
    path = write_service_account(tmp_path, token_server.url)
    provider = VertexImageProvider(
        "test-project", credentials_path=path, timeout_s=30, http_client=fake.client()
    )
    yield provider
    await provider.aclose()


def _record_threads(monkeypatch, target: object, name: str) -> list[int]:
    """Wrap ``target.name`` so every call records the thread it ran on."""
    threads: list[int] = []
    original = getattr(target, name)

    def wrapper(*args, **kwargs):
        threads.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapper)
    return threads


async def test_sdk_client_is_built_off_the_event_loop(fake, monkeypatch) -> None:
    # Importing google.genai and building its clients (SSL contexts, a sync httpx2 client) takes
    # most of a second: on the loop, that would stall every other request of the server.
    from google import genai

    threads = _record_threads(monkeypatch, genai, "Client")
    provider = GeminiImageProvider(KEY, timeout_s=5, http_client=fake.client())
    await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()
    assert threads and threading.get_ident() not in threads


async def test_vertex_token_refresh_runs_in_a_worker_thread(vertex, fake, monkeypatch) -> None:
    # google-auth refreshes over blocking ``requests``; the SDK must do it in a thread.
    from google.genai import _api_client

    threads = _record_threads(monkeypatch, _api_client, "refresh_auth")
    await vertex.generate(call(spec(vertex, "gemini-3.1-flash-image")))
    assert len(threads) == 1 and threads[0] != threading.get_ident()


async def test_imagen_answer_is_decoded_off_the_event_loop(vertex, monkeypatch) -> None:
    import adapters.providers.vertex_provider as module

    threads = _record_threads(monkeypatch, module, "generated_image")
    await vertex.generate(call(spec(vertex, "imagen-4.0-generate-001"), n=2, ratio="1:1"))
    assert len(threads) == 2 and threading.get_ident() not in threads


def _gif(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("P", (width, height)).save(out, format="GIF")
    return out.getvalue()


async def test_imagen_edit_sends_a_gif_base_image_as_png(vertex, fake) -> None:
    import base64

    request = call(
        spec(vertex, "imagen-3.0-capability-001"),
        operation=Operation.EDIT,
        ratio="1:1",
        images=(ImageData.from_bytes(_gif(12, 8)),),
        mask=ImageData.from_bytes(solid_png(12, 8, (255, 255, 255, 255))),
    )
    await vertex.edit(request)
    raw = fake.last.body["instances"][0]["referenceImages"][0]["referenceImage"]
    assert raw["mimeType"] == "image/png"  # Imagen reads PNG and JPEG only
    assert base64.urlsafe_b64decode(raw["bytesBase64Encoded"]).startswith(b"\x89PNG")


@pytest.mark.parametrize(("code", "status"), [(499, "CANCELLED"), (409, "ABORTED")])
async def test_google_side_cancel_or_abort_is_retryable_unavailability(fake, code, status) -> None:
    # Google sends these when it gave up on the request itself (we were still waiting for the
    # answer): the caller's request was fine, and the RPC guidance is to retry.
    fake.answer(error_answer(code, status, "The operation was cancelled."))
    provider = GeminiImageProvider(KEY, timeout_s=5, http_client=fake.client())
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()
    assert caught.value.retryable and caught.value.details["http_status"] == code


async def test_an_undecodable_body_is_provider_unavailable_not_a_raw_exception(fake) -> None:
    body = httpx2.ByteStream(b"not gzip at all")  # a stream, so only the SDK reads (and decodes) it
    fake.answer(httpx2.Response(200, headers={"content-encoding": "gzip"}, stream=body))
    provider = GeminiImageProvider(KEY, timeout_s=5, http_client=fake.client())
    with pytest.raises(ProviderUnavailable):
        await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()


async def test_a_key_pasted_with_a_line_ending_is_still_scrubbed(fake) -> None:
    # A CRLF .env file leaves "\r" on the key. The SDK strips it before sending, so a vendor
    # message echoing the key carries the stripped form, which an exact match of the raw
    # setting misses.
    fake.answer(error_answer(400, "INVALID_ARGUMENT", f"bad request for {KEY}"))
    provider = GeminiImageProvider(KEY + "\r\n", timeout_s=2, http_client=fake.client())
    with pytest.raises(Exception) as caught:
        await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()
    assert fake.last.headers["x-goog-api-key"] == KEY
    assert KEY not in str(caught.value.to_payload())


def test_redaction_catches_a_key_quoted_without_its_whitespace() -> None:
    error = NetworkError(f"Illegal header value b'{KEY}\\r'", provider="gemini", detail=f"{KEY}")
    cleaned = redacted(error, [KEY + "\r\n"])
    assert KEY not in cleaned.message and KEY not in str(cleaned.details)


async def test_imagen_responsible_ai_refusal_is_content_blocked(vertex, fake) -> None:
    from domain.errors import ContentBlocked

    fake.answer(
        error_answer(
            400,
            "INVALID_ARGUMENT",
            "Image generation failed with the following error: The prompt could not be submitted. "
            "This prompt contains sensitive words that violate Google's Responsible AI practices. "
            "Support codes: 42876398",
        )
    )
    with pytest.raises(ContentBlocked) as caught:
        await vertex.generate(call(spec(vertex, "imagen-4.0-generate-001"), ratio="4:3"))
    assert caught.value.details["stage"] == "input"


async def test_an_ordinary_bad_request_stays_invalid_request(fake) -> None:
    from domain.errors import InvalidRequest

    fake.answer(error_answer(400, "INVALID_ARGUMENT", "Unsupported aspect ratio: 7:3."))
    provider = GeminiImageProvider(KEY, timeout_s=5, http_client=fake.client())
    with pytest.raises(InvalidRequest):
        await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()
