from __future__ import annotations

import attrs
import pytest

from adapters.memory import FakeImageProvider
from adapters.placeholder_provider import PlaceholderImageProvider
from domain import errors
from domain.options import Background, OutputFormat
from tests.contract.provider_contract import ImageProviderContract, request_for

_ERRORS = {
    "auth_failed": errors.AuthFailed, "permission_denied": errors.PermissionDenied,
    "model_not_found": errors.ModelNotFound, "rate_limited": errors.RateLimited,
    "quota_exhausted": errors.QuotaExhausted, "content_blocked": errors.ContentBlocked,
    "provider_unavailable": errors.ProviderUnavailable, "timeout": errors.ProviderTimeout,
    "network_error": errors.NetworkError, "no_image": errors.NoImage,
    "invalid_request": errors.InvalidRequest,
}  # fmt: skip


class TestFakeImageProvider(ImageProviderContract):
    @pytest.fixture
    def provider(self) -> FakeImageProvider:
        return FakeImageProvider()

    @pytest.fixture
    def failing_provider(self):
        return lambda kind: FakeImageProvider().fail_next(_ERRORS[kind]("scripted"))


class TestPlaceholderImageProvider(ImageProviderContract):
    failure_kinds = ()  # offline and deterministic: it has no failure modes to script

    @pytest.fixture
    def provider(self) -> PlaceholderImageProvider:
        return PlaceholderImageProvider()

    @pytest.fixture
    def failing_provider(self):
        return None

    async def test_same_request_draws_the_same_bytes(self, provider) -> None:
        spec = provider.catalog()[0]
        first = await provider.generate(request_for(spec))
        second = await provider.generate(request_for(spec))
        assert first.images[0].data == second.images[0].data

    async def test_transparent_webp_has_alpha(self, provider) -> None:
        from io import BytesIO

        from PIL import Image

        spec = provider.catalog()[0]
        request = attrs.evolve(
            request_for(spec), background=Background.TRANSPARENT, output_format=OutputFormat.WEBP
        )
        image = (await provider.generate(request)).images[0]
        assert image.media_type == "image/webp"
        decoded = Image.open(BytesIO(image.data))
        assert decoded.mode == "RGBA"
        assert decoded.getpixel((0, 0))[3] == 0
