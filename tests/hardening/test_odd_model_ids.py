"""Any string as ``model``, on any provider, with any knobs: an image, a warning or a coded
error, never ``internal``. Every vendor is configured with a base URL on a closed loopback
port, so a request that gets as far as the wire ends in ``network_error`` (nothing leaves the
machine) and everything before it (routing, the policy, the adapter's request) is exercised.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.create_images import ImageOutcome
from domain.errors import AppError
from domain.images import ImageRequest
from domain.options import Background, Orientation, OutputFormat, Quality, SizeTier
from entrypoints.container import build_container, shutdown
from entrypoints.settings import Settings
from tests.conftest import make_settings

PROPERTY = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def config(tmp_path: Path) -> Settings:
    down = _closed_port()
    return make_settings(
        tmp_path / "out",
        IMAGE_GEN_MCP_RETRIES=1,
        OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=f"{down}/v1",
        AZURE_OPENAI_API_KEY="az-test", AZURE_OPENAI_ENDPOINT=down,
        GEMINI_API_KEY="gm-test", GOOGLE_GEMINI_BASE_URL=down,
        VERTEX_PROJECT="proj", GOOGLE_VERTEX_BASE_URL=down,
        OPENROUTER_API_KEY="or-test", OPENROUTER_BASE_URL=f"{down}/api/v1",
        IMAGE_GEN_MCP_OPENROUTER_MODELS_TTL=3600,
    )  # fmt: skip


PROVIDERS = ["placeholder", "fake", "openai", "azure", "gemini", "vertex", "openrouter"]
odd_models = st.one_of(
    st.sampled_from([
        "", " ", "\t", "placeholder ", "PLACEHOLDER", "../../etc/passwd", "a/b/c", "x" * 200, "é",
        "gpt-image-2", "dall-e-2", "imagen-3.0-capability-001", "gemini-3.1-flash-image-preview",
        "google/gemini-3.1-flash-image", "openai/gpt-5-image", "model\x00id", "new model", "😀",
        "gpt-image-9", "imagen-9.0-generate-001", "gemini-9-image",
    ]),
    st.text(max_size=40),
)  # fmt: skip
knobs = st.fixed_dictionaries(
    {},
    optional={
        "n": st.integers(1, 10),
        "size": st.sampled_from(SizeTier),
        "orientation": st.sampled_from(Orientation),
        "aspect_ratio": st.sampled_from(["1:1", "21:9", "9:21", "8:1", "1:3", "7:4", "3:2", "16:10"]),
        "quality": st.sampled_from(Quality),
        "background": st.sampled_from(Background),
        "output_format": st.sampled_from(OutputFormat),
        "output_compression": st.integers(0, 100),
        "negative_prompt": st.text(max_size=20),
        "strict": st.booleans(),
    },
)


async def _noop(*args: object) -> None:
    return None


async def _generate(config: Settings, request: ImageRequest) -> ImageOutcome:
    container = build_container(config)
    try:
        return await container.generate_image()(request, _noop, lambda *a: None)
    finally:
        await shutdown(container)


# A plain (sync) property with a fresh container and event loop per example: an async version
# sharing one container across examples let a deliberately broken placeholder pass unnoticed
# (cause not pinned down; a minimal async @given test does fail as it should), so each example
# here starts from nothing, and a mutant in the placeholder's sizing was checked to fail it.
@PROPERTY
@given(provider=st.sampled_from(PROVIDERS), model=odd_models, options=knobs)
def test_any_model_id_ends_in_an_image_or_a_coded_error(config, provider, model, options) -> None:
    request = ImageRequest(prompt="a lighthouse", provider=provider, model=model, **options)
    try:
        outcome = asyncio.run(_generate(config, request))
    except AppError as exc:
        assert exc.code != "internal", (provider, model, options, exc.message)
        # Past the policy, a vendor on a closed port says so; the placeholder and fake draw.
        assert provider not in ("placeholder",) or exc.code in (
            "invalid_request", "unsupported_option", "model_not_found",
        ), (model, options, exc.code, exc.message)  # fmt: skip
        return
    assert provider in ("placeholder", "fake")
    assert outcome.items and all(item.image.data for item in outcome.items)

