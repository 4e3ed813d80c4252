"""The cost of a call: estimated from the plan before any vendor is called, and reported after
from what the vendor billed (its own figure, else its tokens or images × the price table)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Protocol

from domain.images import ProviderResult
from domain.normalized import ProviderRequest
from domain.pricing import Cost, CostSource, Price


class PriceBook(Protocol):
    """The list prices the server knows, by (provider, model id as sent).

    ``price`` returns None for a model whose price was never read from a vendor's page: its
    cost is then reported as unknown (``null``), never guessed. Pure data: no I/O, never raises.
    """

    @abstractmethod
    def price(self, provider: str, model: str) -> Price | None:
        """The model's price, or None when unknown."""


def estimate_calls(calls: Sequence[ProviderRequest], prices: PriceBook) -> Cost:
    """What the planned calls will cost at list price, before any is made: the images each
    call asks for × the price of one image of that quality and size (input tokens are not
    known yet and are left out)."""
    parts: list[Cost] = []
    for call in calls:
        price = prices.price(call.provider, call.model)
        one = None if price is None else price.image_price(call)
        if one is None:
            parts.append(Cost(None, CostSource.UNKNOWN))
        else:
            parts.append(Cost(one * call.n, CostSource.FREE if price and price.free else CostSource.ESTIMATE))
    return Cost.total(parts)


def result_cost(call: ProviderRequest, result: ProviderResult, prices: PriceBook) -> Cost:
    """What one vendor call cost: the vendor's figure when it gave one; else the tokens it
    reported × the token prices; else the images it returned × the per-image price."""
    vendor = result.used.get("cost")
    if isinstance(vendor, int | float) and not isinstance(vendor, bool):
        return Cost(float(vendor), CostSource.VENDOR)
    price = prices.price(call.provider, call.model)
    if price is None:
        return Cost(None, CostSource.UNKNOWN)
    if price.free:
        return Cost(0.0, CostSource.FREE)
    tokens = price.token_cost(result.usage)
    if tokens is not None:
        return Cost(tokens, CostSource.ESTIMATE)
    one = price.image_price(call)
    if one is None:
        return Cost(None, CostSource.UNKNOWN)
    return Cost(one * len(result.images), CostSource.ESTIMATE)


class NoPrices(PriceBook):
    """A price book that knows nothing: every cost is unknown."""

    def price(self, provider: str, model: str) -> Price | None:
        return None
