"""The ImageProvider contract: every adapter, fake or real, passes the same tests.

A subclass supplies ``provider`` (an adapter able to answer), ``failing_provider(kind)`` (the
same adapter made to fail with one vendor error kind) and ``spec_for_generate`` / ``spec_for_edit``.
Kinds a vendor cannot produce are left out of ``failure_kinds`` rather than skipped.
"""

from __future__ import annotations

import pytest

from adapters.png import solid_png
from application.ports import ImageProvider
from domain.catalog import ModelSpec
from domain.errors import AppError
from domain.images import ImageData
from domain.media import sniff_media_type
from domain.normalized import ProviderRequest
from domain.options import Operation, OutputFormat, SizeTier

ALL_FAILURE_KINDS = (
    "auth_failed",
    "permission_denied",
    "model_not_found",
    "rate_limited",
    "quota_exhausted",
    "content_blocked",
    "provider_unavailable",
    "timeout",
    "network_error",
    "no_image",
    "invalid_request",
)


def request_for(spec: ModelSpec, operation: Operation = Operation.GENERATE, n: int = 1) -> ProviderRequest:
    tier = next(iter(spec.size_tiers))
    ratio = spec.aspect_ratios[0]
    width, height = spec.pixel_sizes.get((tier, ratio), (None, None))
    images = (ImageData.from_bytes(solid_png(32, 32)),) if operation is Operation.EDIT else ()
    return ProviderRequest(
        operation=operation,
        spec=spec,
        prompt="a red fox in the snow",
        n=n,
        aspect_ratio=ratio,
        size_tier=tier if isinstance(tier, SizeTier) else SizeTier.S,
        size_label=spec.size_tiers[tier],
        width=width,
        height=height,
        quality=None,
        background=None,
        output_format=spec.output_formats[0] if spec.output_formats else OutputFormat.PNG,
        output_compression=None,
        images=images,
    )


class ImageProviderContract:
    failure_kinds: tuple[str, ...] = ALL_FAILURE_KINDS

    @pytest.fixture
    def provider(self) -> ImageProvider:
        raise NotImplementedError

    @pytest.fixture
    def failing_provider(self):  # -> Callable[[str], ImageProvider]
        raise NotImplementedError

    @pytest.fixture
    def generate_spec(self, provider: ImageProvider) -> ModelSpec:
        return next(s for s in provider.catalog() if s.can_generate)

    @pytest.fixture
    def edit_spec(self, provider: ImageProvider) -> ModelSpec:
        return next(s for s in provider.catalog() if s.can_edit)

    def test_catalog_is_data_in_a_fixed_order(self, provider: ImageProvider) -> None:
        first = [s.model for s in provider.catalog()]
        assert first == [s.model for s in provider.catalog()]
        assert first, "a provider lists at least one model"
        assert all(s.provider == provider.provider_id for s in provider.catalog())

    async def test_models_include_the_catalog(self, provider: ImageProvider) -> None:
        listed = {s.model for s in await provider.models()}
        assert {s.model for s in provider.catalog()} <= listed

    async def test_generate_returns_real_images(
        self, provider: ImageProvider, generate_spec: ModelSpec
    ) -> None:
        result = await provider.generate(request_for(generate_spec))
        assert len(result.images) >= 1
        for image in result.images:
            assert sniff_media_type(image.data) == image.media_type
            assert image.width > 0 and image.height > 0
            assert image.provider == provider.provider_id
            assert image.model == generate_spec.model

    async def test_edit_returns_real_images(self, provider: ImageProvider, edit_spec: ModelSpec) -> None:
        result = await provider.edit(request_for(edit_spec, Operation.EDIT))
        assert result.images
        assert sniff_media_type(result.images[0].data) == result.images[0].media_type

    async def test_each_failure_kind_arrives_with_its_code(
        self, failing_provider, generate_spec: ModelSpec
    ) -> None:
        for kind in self.failure_kinds:
            provider = failing_provider(kind)
            with pytest.raises(AppError) as caught:
                await provider.generate(request_for(generate_spec))
            assert caught.value.code == kind, f"{kind} arrived as {caught.value.code}"
            await provider.aclose()

    async def test_aclose_is_idempotent(self, provider: ImageProvider) -> None:
        await provider.aclose()
        await provider.aclose()
