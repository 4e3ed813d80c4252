"""Caps before spending: the per-call cap and the daily budget refuse a call before the vendor
sees a request. The vendor is the OpenAI fake behind the real SDK; the daily budget is kept in
the store's records (default) or on a real Redis shared by two limiter instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import attrs
import pytest

from adapters.memory import InMemoryImageStore
from adapters.png import solid_png
from adapters.providers.openai_provider import OpenAIImageProvider
from adapters.providers.prices import GPT_IMAGE_1_MINI, PriceTable
from adapters.redis_budget import RedisSpendBudget
from adapters.store_budget import FIRST_READ, StoreSpendBudget
from application.budget import NoBudget, SpendBudget, utc_day
from application.create_images import CreateImages
from application.routing import ProviderRegistry
from domain.errors import BackendUnavailable, BudgetExceeded
from domain.images import GeneratedImage, ImageRequest
from domain.options import Quality
from tests.adapters.openai_fake import FakeImagesAPI
from tests.engines import free_port

HIGH = ImageRequest(prompt="a fox", provider="openai", model="gpt-image-1-mini", quality=Quality.HIGH)
ONE_HIGH_IMAGE = GPT_IMAGE_1_MINI.per_image["high/1024x1024"]  # what the plan asks for by default


@pytest.fixture
async def vendor() -> AsyncIterator[tuple[FakeImagesAPI, OpenAIImageProvider]]:
    fake = FakeImagesAPI()
    provider = OpenAIImageProvider(api_key="sk-caps-test-0123456789abcdef", http_client=fake.client())
    yield fake, provider
    await provider.aclose()


def use_case(
    provider, *, cap: float | None = None, budget: SpendBudget | None = None, store=None
) -> CreateImages:
    return CreateImages(
        registry=ProviderRegistry(enabled={"openai": provider}),
        store=store or InMemoryImageStore(),
        prices=PriceTable(),
        max_cost_per_call=cap,
        budget=budget or NoBudget(),
    )


async def test_a_call_above_the_per_call_cap_is_refused_before_the_vendor_is_called(vendor) -> None:
    fake, provider = vendor
    with pytest.raises(BudgetExceeded) as refused:
        await use_case(provider, cap=ONE_HIGH_IMAGE * 2.5)(attrs.evolve(HIGH, n=3))
    assert fake.seen == []  # nothing was sent, so nothing was billed
    error = refused.value
    assert error.code == "budget_exceeded" and not error.retryable
    assert error.details["estimate_usd"] == pytest.approx(3 * ONE_HIGH_IMAGE)
    assert error.details["limit_usd"] == ONE_HIGH_IMAGE * 2.5 and error.details["scope"] == "per_call"


async def test_a_call_within_the_cap_goes_through_and_reports_its_cost(vendor) -> None:
    fake, provider = vendor
    outcome = await use_case(provider, cap=ONE_HIGH_IMAGE)(HIGH)
    assert len(fake.seen) == 1 and outcome.cost.usd is not None and outcome.cost.usd > 0


async def test_an_unknown_price_cannot_be_capped_and_says_so(vendor) -> None:
    fake, provider = vendor
    outcome = await use_case(provider, cap=0.0001)(
        ImageRequest(prompt="a fox", provider="openai", model="gpt-image-2")
    )
    assert len(fake.seen) == 1 and outcome.cost.usd is None
    assert any(w.option == "cost" and "could not be checked" in w.message for w in outcome.warnings)


async def test_the_store_kept_daily_budget_counts_earlier_calls_of_the_tenant(vendor) -> None:
    fake, provider = vendor
    store = InMemoryImageStore()
    first_cost_bound = ONE_HIGH_IMAGE  # the first call's estimate fits; its actual is billed tokens
    budget = StoreSpendBudget(store, lambda: "", first_cost_bound * 1.5)
    run = use_case(provider, budget=budget, store=store)
    first = await run(HIGH)
    assert first.cost.usd is not None and await budget.spent_today() == pytest.approx(first.cost.usd)
    with pytest.raises(BudgetExceeded) as refused:
        await run(HIGH)
    assert len(fake.seen) == 1  # the second call never reached the vendor
    assert refused.value.details["spent_usd"] == pytest.approx(first.cost.usd)
    assert refused.value.details["scope"] == "daily" and refused.value.details["retry_after"] > 0


async def test_the_store_kept_budget_is_per_tenant(vendor) -> None:
    _, provider = vendor
    store = InMemoryImageStore()
    acme, beta = store.for_tenant("acme"), store.for_tenant("beta")
    limit = ONE_HIGH_IMAGE * 1.5
    await use_case(provider, budget=StoreSpendBudget(acme, lambda: "acme", limit), store=acme)(HIGH)
    # beta has spent nothing today: its first call passes though acme's second would not.
    await use_case(provider, budget=StoreSpendBudget(beta, lambda: "beta", limit), store=beta)(HIGH)
    with pytest.raises(BudgetExceeded):
        await use_case(provider, budget=StoreSpendBudget(acme, lambda: "acme", limit), store=acme)(HIGH)


async def test_concurrent_calls_in_one_process_cannot_overspend_together(vendor) -> None:
    fake, provider = vendor
    store = InMemoryImageStore()
    run = use_case(provider, budget=StoreSpendBudget(store, lambda: "", ONE_HIGH_IMAGE * 1.5), store=store)
    outcomes = await asyncio.gather(run(HIGH), run(HIGH), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["BudgetExceeded", "ImageOutcome"]
    assert len(fake.seen) == 1


# -- on Redis: two limiter instances (two servers) share one ledger -----------------------------


async def test_daily_budget_on_redis_spans_two_instances_and_settles_the_actual(vendor, redis_url) -> None:
    fake, provider = vendor
    limit = ONE_HIGH_IMAGE * 1.5
    budgets = [
        RedisSpendBudget.from_url(redis_url, lambda: "acme", limit, timeout_s=1.0, prefix="test:")
        for _ in range(2)
    ]
    try:
        first = await use_case(provider, budget=budgets[0])(HIGH)
        # The reservation (the estimate) was replaced by what the call cost.
        ledger = await budgets[1].client.get(budgets[1].key("acme", utc_day()))
        assert first.cost.usd is not None and float(ledger) == pytest.approx(first.cost.usd)
        with pytest.raises(BudgetExceeded) as refused:
            await use_case(provider, budget=budgets[1])(HIGH)
        assert len(fake.seen) == 1
        assert refused.value.details["spent_usd"] == pytest.approx(first.cost.usd)
        # Another tenant's counter is its own.
        other = RedisSpendBudget(budgets[0].client, budgets[0].guard, lambda: "beta", limit, "test:")
        await other.reserve(ONE_HIGH_IMAGE)
        ttl = await budgets[0].client.ttl(budgets[0].key("acme", utc_day()))
        assert 0 < ttl <= 2 * 86_400
    finally:
        for budget in budgets:
            await budget.aclose()


async def test_two_instances_racing_for_the_last_dollars_get_one_reservation(redis_url) -> None:
    budgets = [
        RedisSpendBudget.from_url(redis_url, lambda: "acme", 1.0, timeout_s=1.0, prefix="race:")
        for _ in range(2)
    ]
    try:
        for _ in range(5):  # the race, repeated on a fresh counter each time
            await budgets[0].client.delete(budgets[0].key("acme", utc_day()))
            results = await asyncio.gather(*(b.reserve(0.6) for b in budgets), return_exceptions=True)
            assert sorted(type(r).__name__ for r in results) == ["BudgetExceeded", "Reservation"]
    finally:
        for budget in budgets:
            await budget.aclose()


async def test_a_daily_budget_on_an_unreachable_redis_fails_fast_before_the_vendor(vendor) -> None:
    fake, provider = vendor
    budget = RedisSpendBudget.from_url(
        f"redis://127.0.0.1:{free_port()}/0", lambda: "acme", 5.0, timeout_s=0.5, prefix="down:"
    )
    try:
        with pytest.raises(BackendUnavailable) as down:
            await use_case(provider, budget=budget)(HIGH)
    finally:
        await budget.aclose()
    assert down.value.details["engine"] == "redis" and down.value.retryable
    assert fake.seen == []


async def test_the_store_ledger_reads_past_its_first_page_on_a_busy_day() -> None:
    store = InMemoryImageStore()
    image = GeneratedImage(solid_png(4, 4), "image/png", 4, 4, "openai", "gpt-image-1-mini")
    count = FIRST_READ + 10
    for _ in range(count):
        await store.save(image, metadata={"cost_usd": 0.01, "cost_source": "estimate"})
    await store.save(image, metadata={"cost_usd": None, "cost_source": "unknown"})  # counts nothing
    assert await StoreSpendBudget(store, lambda: "", 1.0).spent_today() == pytest.approx(count * 0.01)
