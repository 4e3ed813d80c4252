"""The Gemini API and Vertex AI adapters join the ImageProvider contract, driving the real
google-genai SDK against wire-level fakes that answer (and fail) the way Google does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from adapters.providers.gemini_provider import GeminiImageProvider
from adapters.providers.vertex_provider import VertexImageProvider
from domain.catalog import ModelSpec
from tests.adapters.google_fakes import (
    FakeGoogle,
    TokenServer,
    failure_answers,
    write_service_account,
)
from tests.contract.provider_contract import ImageProviderContract, request_for


def gemini(fake: FakeGoogle) -> GeminiImageProvider:
    return GeminiImageProvider("test-gemini-key", timeout_s=30, http_client=fake.client())


@pytest.fixture
def service_account(tmp_path: Path, token_server: TokenServer) -> Path:
    return write_service_account(tmp_path, token_server.url)


class TestGeminiImageProvider(ImageProviderContract):
    @pytest.fixture
    def provider(self) -> GeminiImageProvider:
        return gemini(FakeGoogle())

    @pytest.fixture
    def failing_provider(self) -> Callable[[str], GeminiImageProvider]:
        return lambda kind: gemini(FakeGoogle().answer(failure_answers(vertex=False)[kind]))


class TestVertexGeminiModels(ImageProviderContract):
    @pytest.fixture
    def provider(self, service_account: Path) -> VertexImageProvider:
        return vertex(FakeGoogle(), service_account)

    @pytest.fixture
    def failing_provider(self, service_account: Path) -> Callable[[str], VertexImageProvider]:
        return lambda kind: vertex(FakeGoogle().answer(failure_answers(vertex=True)[kind]), service_account)


def imagen_failures() -> dict[str, httpx2.Response | Exception]:
    answers = failure_answers(vertex=True)
    # Imagen reports safety through raiFilteredReason on :predict, and an empty answer otherwise.
    answers["content_blocked"] = httpx2.Response(
        200,
        json={"predictions": [{"raiFilteredReason": "Your current safety filter threshold prohibited..."}]},
    )
    answers["no_image"] = httpx2.Response(200, json={})
    return answers


class TestVertexImagenModels(ImageProviderContract):
    """The retired Imagen route (:predict) fails with the same codes as generateContent."""

    @pytest.fixture
    def provider(self, service_account: Path) -> VertexImageProvider:
        return vertex(FakeGoogle(), service_account)

    @pytest.fixture
    def generate_spec(self, provider: VertexImageProvider) -> ModelSpec:
        return next(s for s in provider.catalog() if s.model == "imagen-4.0-generate-001")

    @pytest.fixture
    def failing_provider(self, service_account: Path) -> Callable[[str], VertexImageProvider]:
        return lambda kind: vertex(FakeGoogle().answer(imagen_failures()[kind]), service_account)

    async def test_several_images_in_one_predict_call(self, service_account, generate_spec) -> None:
        fake = FakeGoogle()
        provider = vertex(fake, service_account)
        result = await provider.generate(request_for(generate_spec, n=3))
        await provider.aclose()
        assert len(result.images) == 3
        assert len(fake.seen) == 1 and fake.last.body["parameters"]["sampleCount"] == 3


def vertex(fake: FakeGoogle, service_account: Path) -> VertexImageProvider:
    return VertexImageProvider(
        "test-project", credentials_path=service_account, timeout_s=30, http_client=fake.client()
    )
