"""The cost arithmetic: fan-out totals, unknown parts, and which per-image row a call takes."""

from __future__ import annotations

from datetime import date

import attrs
import pytest

from adapters.providers.google_catalog import gemini_catalog, vertex_catalog
from adapters.providers.openai_catalog import openai_catalog
from adapters.providers.prices import GPT_IMAGE_1_MINI, PriceTable
from application.costs import estimate_calls
from application.policy import PolicyLimits, plan_request
from domain.images import ImageRequest
from domain.options import SizeTier
from domain.pricing import Cost, CostSource, Price
from tests.contract.provider_contract import request_for


def test_a_fan_out_with_one_unknown_part_is_unknown_as_a_whole() -> None:
    known = Cost(0.04, CostSource.ESTIMATE)
    assert Cost.total([known, known]) == Cost(0.08, CostSource.ESTIMATE)
    assert Cost.total([known, Cost(None, CostSource.UNKNOWN)]).as_dict() == {
        "cost_usd": None,
        "cost_source": "unknown",
    }
    assert Cost.total([Cost(0.05, CostSource.VENDOR)] * 2).source is CostSource.VENDOR


def test_an_image_takes_its_own_row_else_the_highest_one() -> None:
    mini = next(s for s in openai_catalog() if s.model == "gpt-image-1-mini")
    call = attrs.evolve(request_for(mini), quality="low", width=1024, height=1536)
    assert GPT_IMAGE_1_MINI.image_price(call) == GPT_IMAGE_1_MINI.per_image["low/1024x1536"]
    unlisted = attrs.evolve(call, quality=None)
    assert GPT_IMAGE_1_MINI.image_price(unlisted) == max(GPT_IMAGE_1_MINI.per_image.values())


def test_a_price_without_rows_or_token_rates_knows_nothing() -> None:
    bare = Price(source="https://example.org", read_on=date(2026, 1, 1))
    mini = next(s for s in openai_catalog() if s.model == "gpt-image-1-mini")
    assert bare.image_price(request_for(mini)) is None and bare.range_per_image() is None


def test_gemini_31_flash_image_estimates_follow_the_tokens_each_size_bills() -> None:
    # The fact sheet's Vertex token counts per size, × $60 per million image tokens.
    tokens = {SizeTier.S: 1120, SizeTier.M: 1680, SizeTier.L: 2520}
    for provider, catalog in (("gemini", gemini_catalog()), ("vertex", vertex_catalog())):
        spec = next(s for s in catalog if s.model == "gemini-3.1-flash-image")
        for tier, count in tokens.items():
            plan = plan_request(ImageRequest(prompt="x", size=tier, n=2), spec, PolicyLimits())
            estimate = estimate_calls(plan.calls, PriceTable())
            assert estimate.usd == pytest.approx(2 * count * 60 / 1e6), (provider, tier)
